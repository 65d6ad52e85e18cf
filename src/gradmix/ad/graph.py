"""A traced program as a graph: its nodes scheduled parents first, its names, its picture."""

from __future__ import annotations

from typing import Any

from gradmix.ad.emit import python_source
from gradmix.ad.recording import FUNC, INFIX
from gradmix.ad.reverse import Node


class Graph:
    """A traced straight-line program.

    Attributes
    ----------
    inputs : list of TraceNode
    outputs : list of TraceNode or constants
    nodes : list of TraceNode
        Every recorded application reachable from the outputs, in execution order.
    dependencies : list of list of TraceNode
        The values each of ``nodes`` reads, in argument order.
    """

    def __init__(self, inputs: list[Any], outputs: list[Any], names: list[str] | None = None,
                 out_names: list[str] | None = None) -> None:  # fmt: skip
        self.inputs = inputs
        self.outputs = outputs
        self.input_names = names or [f"x{i + 1}" for i in range(len(inputs))]
        self.output_names = out_names
        # the generated function's parameters and first lines, where they differ from
        # the inputs (arrays unpacked entry by entry, see EntrywiseInput)
        self.params = list(self.input_names)
        self.prologue: list[str] = []
        sizes: list[int] = []
        self.nodes, self.dependencies = schedule(outputs, inputs, sizes)
        # for a compiled graph: how many of `nodes` belong to the forward sweep
        self.forward_size = len(self.nodes)
        #: how many of `nodes` the first output needs (they come first)
        self.first_output_size = sizes[0] if sizes else 0

    def __len__(self) -> int:
        return len(self.nodes)

    def names(self) -> dict[int, str]:
        """Variable names by node id: the inputs' own, then w1, w2, ... as in the lecture."""
        return node_names(self)

    @staticmethod
    def label(node: Node) -> str:
        """The operation a node applies, as it reads in the source (``*``, ``sin``)."""
        return node_label(node)

    def source(self, name: str = "f", fuse: bool = False) -> str:
        """The program as readable Python, one statement per primitive (``w3 = x1 * x2``)."""
        return python_source(self, name, fuse=fuse)[0]

    def to_dot(self) -> str:
        """Graphviz text of the computational graph (inputs, operations, outputs)."""
        names = node_names(self)
        lines = ["digraph G {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
        for node, nm in zip(self.inputs, self.input_names, strict=True):
            lines.append(f'  "{nm}" [shape=ellipse];')
            names[id(node)] = nm
        for node, deps in zip(self.nodes, self.dependencies, strict=True):
            nm = names[id(node)]
            label = f"{nm} = {node_label(node)}"
            lines.append(f'  "{nm}" [label="{label}"];')
            for parent in deps:
                lines.append(f'  "{names[id(parent)]}" -> "{nm}";')
        for k, out in enumerate(self.outputs):
            if isinstance(out, Node) and id(out) in names:
                lines.append(f'  "out{k}" [shape=doublecircle, label="output {k}"];')
                lines.append(f'  "{names[id(out)]}" -> "out{k}";')
        lines.append("}")
        return "\n".join(lines)


def node_label(node: Node) -> str:
    """The operation a traced node applies, as it reads in the source (``*``, ``sin``)."""
    prim = node.prim
    assert prim is not None
    return INFIX.get(prim) or FUNC.get(prim) or str(prim.name).replace("np.", "")


def schedule(outputs: list[Any], inputs: list[Any],
              sizes: list[int] | None = None) -> tuple[list[Node], list[list[Node]]]:  # fmt: skip
    """Nodes reachable from the outputs, in an order where parents come first (those of
    each output after the earlier outputs'; ``sizes`` gets the count after each), and
    each one's :func:`_dependencies` (inlined: its call was a third of the time here)."""
    seen: set[int] = {id(n) for n in inputs}
    order: list[Node] = []
    order_deps: list[list[Node]] = []
    for out in outputs:
        # (node, None): to visit; (node, its dependencies): its parents are scheduled
        stack: list[tuple[Node, list[Node] | None]] = [(out, None)] if isinstance(out, Node) else []
        while stack:
            node, deps = stack.pop()
            if deps is not None:
                order.append(node)
                order_deps.append(deps)
                continue
            nid = id(node)
            if nid in seen:
                continue
            seen.add(nid)
            lvl = node._level
            deps = [a for a in node.args if isinstance(a, Node) and a._level == lvl]
            stack.append((node, deps))
            for parent in reversed(deps):
                if id(parent) not in seen:
                    stack.append((parent, None))
        if sizes is not None:
            sizes.append(len(order))
    return order, order_deps


def node_names(graph: Graph) -> dict[int, str]:
    """Variable names by node id: the inputs' own, then w1, w2, ... as in the lecture."""
    names = {id(n): nm for n, nm in zip(graph.inputs, graph.input_names, strict=True)}
    k = len(graph.inputs)
    for node in graph.nodes:
        k += 1
        names[id(node)] = f"w{k}"
    return names
