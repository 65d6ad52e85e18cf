"""The user-facing transforms: jvp, vjp, grad, Jacobians, Hessians, derivatives.

Conventions follow JAX: ``argnums`` is an int or a tuple of ints, ``has_aux``
lets a function return ``(output, auxiliary)`` where only ``output`` is
differentiated, and arguments and outputs may be pytrees (nested tuples,
lists and dicts of arrays).  Integer inputs are differentiated as float64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradmix.ad.allocator import paused_cycle_collector, tune_allocator
from gradmix.ad.errors import call_traced
from gradmix.ad.forward import Dual
from gradmix.ad.pytree import flatten, split_aux, unflatten, vector_space_zeros
from gradmix.ad.reverse import Node, backward
from gradmix.ad.taylor import MAX_ORDER
from gradmix.ad.tracer import Tracer, ndim_of, new_level, pack, strip

__all__ = [
    "jvp",
    "vjp",
    "grad",
    "value_and_grad",
    "jacfwd",
    "jacrev",
    "jacobian",
    "hessian",
    "hessian_blocks",
    "hvp",
    "derivative",
]

ArgNums = int | Sequence[int]


def _as_float(x: Any) -> Any:
    """An input leaf as a float array (or float scalar), tracers untouched."""
    t = type(x)
    if t is np.float64 or t is np.float32:
        return x
    if t is float:
        return np.float64(x)
    if isinstance(x, Tracer) or vector_space_zeros(x) is not None:
        return x
    x = pack(x)
    if isinstance(x, Tracer):
        return x
    a = np.asarray(x)
    if a.dtype.kind not in "fc":
        if a.dtype == object:
            raise TypeError(f"cannot differentiate with respect to a value of type {type(x)}")
        a = a.astype(np.float64)
    return a[()] if a.ndim == 0 and not isinstance(x, np.ndarray) else a


def _dtype(x: Any) -> np.dtype[Any]:
    return np.result_type(strip(x))


def _finish(g: Any, like: Any, shape: tuple[int, ...] | None = None) -> Any:
    """Give a cotangent or tangent the dtype (and shape) of ``like``, as a writable array."""
    if type(g) is np.float64 and type(like) is np.float64:
        return g
    if vector_space_zeros(like) is not None:
        return g
    if shape is not None and np.shape(strip(g)) != shape:
        g = np.broadcast_to(g, shape)
    if isinstance(g, Tracer):
        return g.astype(_dtype(like)) if _dtype(g) != _dtype(like) else g
    g = np.asarray(g)
    if g.dtype != _dtype(like):
        g = g.astype(_dtype(like))
    elif not g.flags.writeable:
        g = g.copy()
    return g[()] if g.ndim == 0 else g


def _array_ids(leaves: Sequence[Any]) -> set[int]:
    """The ids of the arrays among ``leaves`` and of the arrays whose memory they view."""
    ids: set[int] = set()
    for a in leaves:
        if type(a) is np.ndarray:
            ids.add(id(a))
            if a.base is not None:
                ids.add(id(a.base))
    return ids


def _not_given(g: Any, given: set[int]) -> Any:
    """``g``, copied where it is one of the caller's own arrays or a view of one (``given``:
    :func:`_array_ids`): the derivative of the identity is the tangent it was given, and
    the caller may change what it gets back in place."""
    if type(g) is np.ndarray and (id(g) in given or (g.base is not None and id(g.base) in given)):
        return g.copy()
    return g


def _conj_if_complex(x: Any) -> Any:
    """Between the user's convention and the machinery's (see :func:`vjp`)."""
    if type(x) is np.float64 or type(x) is float:
        return x
    return np.conjugate(x) if np.iscomplexobj(strip(x)) else x


def _at_level(x: Any, level: int) -> bool:
    return isinstance(x, Tracer) and x._level == level


def _lower(tree: Any, level: int) -> Any:
    """Strip this level's tracers from a pytree (for outputs and aux)."""
    leaves, td = flatten(tree)
    out = []
    for leaf in leaves:
        leaf = pack(leaf)
        out.append(leaf.value if _at_level(leaf, level) else leaf)
    return unflatten(td, out)


def _alias(argnums: ArgNums, argnum: int | None) -> ArgNums:
    """autograd spells ``argnums`` as ``argnum``: accepted as an alias."""
    if argnum is None:
        return argnums
    if argnums != 0:
        raise TypeError("pass argnums or its alias argnum, not both")
    return argnum


def _nums(argnums: ArgNums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"argnums {argnums} out of range for {nargs} positional arguments")
    return tuple(i % nargs for i in nums)


def _partial(f: Callable[..., Any], args: tuple[Any, ...], nums: tuple[int, ...],
             kwargs: dict[str, Any]) -> Callable[..., Any]:  # fmt: skip
    def g(*dargs: Any) -> Any:
        full = list(args)
        for i, d in zip(nums, dargs, strict=True):
            full[i] = d
        return f(*full, **kwargs)

    return g


# forward mode --------------------------------------------------------------------------
def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> Any:  # fmt: skip
    """Forward mode: the value of ``f`` and its directional derivative.

    Parameters
    ----------
    f : callable
        Function of ``len(primals)`` positional arguments (pytrees of arrays).
    primals : tuple
        Point of evaluation.
    tangents : tuple
        Directions, same structure and shapes as ``primals``; each leaf may
        carry one extra leading axis of length B to push B directions at once.
    has_aux : bool
        ``f`` returns ``(output, aux)``; aux is returned undifferentiated.

    Returns
    -------
    (out, out_tangent) or (out, out_tangent, aux)
        ``out_tangent = J(primals) · tangents``, shaped like ``out`` (with the
        leading B axis for batched tangents).

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.jvp(np.sin, (0.0,), (1.0,))
    (np.float64(0.0), np.float64(1.0))
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp expects primals and tangents as tuples, e.g. jvp(f, (x,), (v,))")
    p_leaves: list[Any]
    p_leaves, tree = flatten(tuple(primals))
    t_leaves, tree_t = flatten(tuple(tangents))
    if tree != tree_t:
        raise ValueError("primals and tangents must have the same structure")
    for p in p_leaves:
        if vector_space_zeros(p) is not None:
            raise TypeError(
                f"forward mode needs arrays: {type(p).__name__} is registered as a vector "
                "space for reverse mode (gm.grad, gm.vjp) only"
            )
    p_leaves = [_as_float(p) for p in p_leaves]
    nbatch: int | None = None
    seeds: list[Any] = []
    for p, t in zip(p_leaves, t_leaves, strict=True):
        t = t if isinstance(t, Tracer) else np.asarray(t, dtype=_dtype(p))
        p = strip(p)
        extra = ndim_of(t) - np.ndim(p)
        if extra not in (0, 1) or np.shape(strip(t))[extra:] != np.shape(p):
            raise ValueError(
                f"tangent of shape {np.shape(t)} does not match primal of shape {np.shape(p)} "
                "(one extra leading axis of directions is allowed)"
            )
        b = np.shape(t)[0] if extra else None
        if seeds and b != nbatch:
            raise ValueError("all tangents must carry the same number of directions")
        nbatch = b
        seeds.append(t)
    nb = 0 if nbatch is None else 1
    given = _array_ids(t_leaves)
    with new_level() as level:
        duals = [Dual(p, t, level, nb) for p, t in zip(p_leaves, seeds, strict=True)]
        out, aux = split_aux(call_traced(f, unflatten(tree, duals)), has_aux)
        o_leaves, o_tree = flatten(out)
        values, tans = [], []
        for o in o_leaves:
            o = pack(o)
            if _at_level(o, level):
                values.append(o.primal)
                tans.append(_not_given(_finish(o.tangent, o.primal), given))
            else:
                values.append(o)
                shape = np.shape(strip(o)) if nbatch is None else (nbatch,) + np.shape(strip(o))
                zero_dt = np.result_type(_dtype(o), np.float32)
                tans.append(_finish(np.zeros(shape, zero_dt), o))
        aux = _lower(aux, level) if has_aux else None
    result = (unflatten(o_tree, values), unflatten(o_tree, tans))
    return result + (aux,) if has_aux else result


# reverse mode -------------------------------------------------------------------------
def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Reverse mode: the value of ``f`` and a function pulling cotangents back.

    Parameters
    ----------
    f : callable
        Function of the positional arguments ``primals`` (pytrees of arrays).
    *primals
        Point of evaluation.
    has_aux : bool
        ``f`` returns ``(output, aux)``.

    Returns
    -------
    (out, vjp_fn) or (out, vjp_fn, aux)
        ``vjp_fn(cotangent)``, with ``cotangent`` shaped like ``out``, returns a
        tuple with one cotangent per primal: ``cotangentᵀ · J``.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> y, pullback = gm.vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
    >>> pullback(np.ones(2))
    (array([2., 4.]),)
    """
    tune_allocator()
    leaves, tree = flatten(primals)
    leaves = [_as_float(x) for x in leaves]
    with new_level() as level, paused_cycle_collector():
        nodes = [Node(x, level) for x in leaves]
        out, aux = split_aux(call_traced(f, unflatten(tree, nodes)), has_aux)
        o_leaves, o_tree = flatten(out)
        o_leaves = [pack(o) for o in o_leaves]
        aux = _lower(aux, level) if has_aux else None
    value = unflatten(o_tree, [o.value if _at_level(o, level) else o for o in o_leaves])

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        c_leaves, c_tree = flatten(cotangent)
        if c_tree != o_tree:
            raise ValueError("the cotangent must have the structure of the function's output")
        roots = []
        for o, c in zip(o_leaves, c_leaves, strict=True):
            if np.shape(strip(c)) != np.shape(strip(o)):
                raise ValueError(
                    f"cotangent shape {np.shape(strip(c))} does not match output shape "
                    f"{np.shape(strip(o))}"
                )
            if _at_level(o, level):
                roots.append((o, _conj_if_complex(c)))
        with paused_cycle_collector():
            grads = backward(roots) if roots else {}
        res = []
        arrays = _array_ids(c_leaves)  # the caller's cotangents, then each gradient given
        for x, n in zip(leaves, nodes, strict=True):
            g = grads.get(id(n))
            if type(g) is np.float64 and type(x) is np.float64:  # scalar code's: as it is
                res.append(g)
                continue
            shape = np.shape(strip(x))
            if g is None:
                zero = vector_space_zeros(x)
                g = np.zeros(shape, _dtype(x)) if zero is None else zero
            else:
                g = _conj_if_complex(g)
            # one array in two places (x + y: both gradients are the cotangent), or the
            # caller's own cotangent (the identity's), would change with the other
            g = _finish(g, x, shape)
            if type(g) is np.ndarray:  # (scalar code's gradients are numbers: no check)
                g = _not_given(g, arrays)
                arrays.add(id(g) if g.base is None else id(g.base))
            res.append(g)
        return tuple(unflatten(tree, res))

    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def value_and_grad(f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False, *,
                   argnum: int | None = None) -> Callable[..., Any]:  # fmt: skip
    """A function returning ``f``'s value and its gradient (reverse mode).

    Parameters
    ----------
    f : callable
        Scalar-valued function.
    argnums : int or tuple of int
        Which positional arguments to differentiate.
    has_aux : bool
        ``f`` returns ``(value, aux)``; the result is then ``((value, aux), grad)``.
    argnum : int, optional
        Alias of ``argnums`` (autograd's spelling).

    Returns
    -------
    callable
        ``(*args, **kwargs) -> (value, gradient)``; the gradient has the
        structure, shapes and float dtypes of the chosen arguments (a tuple of
        them when ``argnums`` is a tuple).

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    (np.float64(5.0), array([2., 4.]))
    """
    argnums = _alias(argnums, argnum)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        # the graph is made and freed within the pause: the cycle collector never
        # scans its nodes (nor moves them to an older generation, whose full passes
        # over every object of the process then come sooner)
        with paused_cycle_collector():
            return _value_and_grad_at(f, args, kwargs, argnums, has_aux)

    return wrapped


def _value_and_grad_at(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                       argnums: ArgNums, has_aux: bool) -> Any:  # fmt: skip
    """:func:`value_and_grad`'s result at ``args``."""
    nums = _nums(argnums, len(args))
    g = _partial(f, args, nums, kwargs)
    res = vjp(g, *(args[i] for i in nums), has_aux=has_aux)
    out, pullback = res[0], res[1]
    o_leaves, _ = flatten(out)
    if len(o_leaves) != 1 or np.size(strip(o_leaves[0])) != 1:
        shape = [np.shape(strip(o)) for o in o_leaves]
        raise TypeError(
            f"grad requires a function with a scalar output, got output of shape "
            f"{shape[0] if len(shape) == 1 else shape}; use gm.jacobian (jacrev/jacfwd) "
            "for vector outputs, or gm.vjp for a given cotangent"
        )
    o = strip(o_leaves[0])
    if np.iscomplexobj(o):
        raise TypeError("grad requires a real-valued output")
    # [()]: a scalar, not a 0-d array, so scalar code keeps its fast path backwards
    cot = np.ones(np.shape(o), dtype=np.result_type(o, np.float32))[()]
    grads = pullback(cot if not isinstance(out, list | tuple | dict) else _like(out, cot))
    grads = grads[0] if isinstance(argnums, int) else grads
    return ((out, res[2]) if has_aux else out), grads


def _like(tree: Any, leaf: Any) -> Any:
    _, td = flatten(tree)
    return unflatten(td, [leaf])


def grad(f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False, *,
         argnum: int | None = None) -> Callable[..., Any]:  # fmt: skip
    """The gradient of a scalar function (reverse mode).

    Parameters
    ----------
    f : callable
        Scalar-valued function of plain numpy code.
    argnums : int or tuple of int
        Which positional arguments to differentiate.
    has_aux : bool
        ``f`` returns ``(value, aux)``; the result is then ``(grad, aux)``.
    argnum : int, optional
        Alias of ``argnums`` (autograd's spelling).

    Returns
    -------
    callable
        Same signature as ``f``, returning the gradient with the structure,
        shapes and dtypes of the chosen arguments.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> f = lambda x1, x2: x1 * x2 + np.sin(x1)
    >>> gm.grad(f, argnums=(0, 1))(1.5, 2.0)
    (np.float64(2.070737201667703), np.float64(1.5))
    """
    argnums = _alias(argnums, argnum)
    vg = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


def ravel_pytree(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """One flat vector holding every leaf of ``tree``, and the function that undoes it.

    Parameters
    ----------
    tree : pytree
        Nested tuples, lists and dicts (keys in sorted order) of arrays,
        scalars or traced values.

    Returns
    -------
    flat : ndarray, shape (total size,)
        The leaves raveled and joined, in the order of ``tree_flatten``, with
        their common float dtype (integer leaves are promoted to float, since
        the vector is meant for optimisers and derivatives).
    unravel : callable
        ``unravel(v)`` with ``v`` of shape (total size,) rebuilds ``tree``'s
        structure and shapes from ``v``.  Traced vectors stay traced, so the
        two can sit inside a differentiated function.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> flat, unravel = gm.ravel_pytree({"w": np.ones((2, 2)), "b": 0.5})
    >>> flat
    array([0.5, 1. , 1. , 1. , 1. ])
    >>> unravel(np.arange(5.0))["w"]
    array([[1., 2.],
           [3., 4.]])
    """
    leaves, treedef = flatten(tree)
    shapes = [np.shape(strip(x)) for x in leaves]
    sizes = [int(np.prod(s)) for s in shapes]
    # as arrays: a Python float is float64 here, not a "weak" scalar (NEP 50)
    dtype = np.result_type(*[np.asarray(strip(x)) for x in leaves], np.int8)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    flat = (
        np.concatenate([np.reshape(x, (-1,)) for x in leaves]).astype(dtype, copy=False)
        if leaves
        else np.zeros(0, dtype)
    )
    total = sum(sizes)
    ends = np.cumsum(sizes).tolist()
    dtypes = [np.result_type(strip(x)) for x in leaves]

    def unravel(v: Any) -> Any:
        if np.shape(strip(v)) != (total,):
            raise ValueError(
                f"unravel expects a vector of shape ({total},), got shape {np.shape(strip(v))}"
            )
        parts = [
            np.reshape(v[end - size : end], shape)
            for end, size, shape in zip(ends, sizes, shapes, strict=True)
        ]
        if not isinstance(v, Tracer):  # plain leaves get back their own float dtypes
            kept = zip(parts, dtypes, strict=True)
            parts = [p.astype(d) if d.kind in "fc" else p for p, d in kept]
        return unflatten(treedef, parts)

    return flat, unravel


def elementwise_grad(f: Callable[..., Any], argnums: ArgNums = 0, *,
                     argnum: int | None = None) -> Callable[..., Any]:  # fmt: skip
    """The gradient of ``sum(f(x))``: for an elementwise ``f``, its derivative at every entry.

    One reverse pass with a cotangent of ones, so the cost is one evaluation
    of ``f`` and one backward pass whatever the size of ``x``.  For a function
    that mixes entries (``np.cumsum``, a matrix product) the result is still the
    gradient of the sum of the outputs, not a derivative per entry.

    Parameters
    ----------
    f : callable
        Array-valued function of plain numpy code, real-valued.
    argnums : int or tuple of int
        Which positional arguments to differentiate.
    argnum : int, optional
        Alias of ``argnums`` (autograd's spelling).

    Returns
    -------
    callable
        Same signature as ``f``, returning arrays shaped like the chosen
        arguments (a tuple of them when ``argnums`` is a tuple).

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.elementwise_grad(np.tanh)(np.array([0.0, 1.0]))
    array([1.        , 0.41997434])
    """
    argnums = _alias(argnums, argnum)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _nums(argnums, len(args))
        out, pullback = vjp(_partial(f, args, nums, kwargs), *(args[i] for i in nums))
        leaves, tree = flatten(out)
        if any(np.iscomplexobj(strip(o)) for o in leaves):
            raise TypeError("elementwise_grad requires a real-valued output")
        ones = [np.ones(np.shape(strip(o)), np.result_type(strip(o), np.float32)) for o in leaves]
        grads = pullback(unflatten(tree, ones))
        return grads[0] if isinstance(argnums, int) else grads

    return wrapped


# Jacobians and Hessians -------------------------------------------------------------------
def _arg_tree(args: tuple[Any, ...], nums: tuple[int, ...], argnums: ArgNums) -> Any:
    return args[nums[0]] if isinstance(argnums, int) else tuple(args[i] for i in nums)


def _check_complex(leaves: Sequence[Any], holomorphic: bool, who: str, what: str) -> None:
    if not holomorphic and any(np.iscomplexobj(strip(x)) for x in leaves):
        raise TypeError(
            f"{who} of a function with complex {what}: pass holomorphic=True for the complex "
            "derivative f'(z) of a holomorphic function; otherwise treat the real and "
            "imaginary parts as separate real inputs (gm.jvp, gm.vjp and gm.grad take "
            "complex values directly)"
        )


def jacfwd(
    f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
    holomorphic: bool = False, *, argnum: int | None = None,
) -> Callable[..., Any]:  # fmt: skip
    """The Jacobian by forward mode, in one sweep with batched tangents.

    ``holomorphic=True`` allows complex inputs and gives the complex
    derivative of a holomorphic function (as in JAX).

    Returns
    -------
    callable
        ``(*args) -> J`` with ``J.shape == out.shape + in.shape``; for pytrees,
        the output's structure holding the input's structure of blocks.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.jacfwd(lambda v: np.array([v[0] * v[1], v[0] + v[1]]))(np.array([2.0, 3.0]))
    array([[3., 2.],
           [1., 1.]])
    """
    argnums = _alias(argnums, argnum)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _nums(argnums, len(args))
        in_tree = _arg_tree(args, nums, argnums)
        leaves, td = flatten(in_tree)
        leaves = [_as_float(x) for x in leaves]
        _check_complex(leaves, holomorphic, "jacfwd", "inputs")
        sizes = [int(np.size(strip(x))) for x in leaves]
        n = sum(sizes)
        dt = np.result_type(*[_dtype(x) for x in leaves]) if leaves else np.float64
        eye = np.eye(n, dtype=dt)
        seeds, off = [], 0
        for x, s in zip(leaves, sizes, strict=True):
            seeds.append(eye[:, off : off + s].reshape((n,) + np.shape(strip(x))))
            off += s
        g = _partial(f, args, nums, kwargs)
        if isinstance(argnums, int):

            def h(x: Any) -> Any:
                return g(x)

            prim_tree, tan_tree = (unflatten(td, leaves),), (unflatten(td, seeds),)
        else:
            h = g
            prim_tree, tan_tree = tuple(unflatten(td, leaves)), tuple(unflatten(td, seeds))
        res = jvp(h, prim_tree, tan_tree, has_aux=has_aux)
        o_leaves, o_tree = flatten(res[0])
        t_leaves, _ = flatten(res[1])
        blocks = []
        for o, t in zip(o_leaves, t_leaves, strict=True):
            oshape = np.shape(strip(o))
            per_in, off = [], 0
            for x, s in zip(leaves, sizes, strict=True):
                part = t[off : off + s]
                part = np.moveaxis(part, 0, -1) if np.ndim(strip(part)) > 1 else part
                # a complex output of a real input has a complex Jacobian (d Re + i d Im)
                like = x if _dtype(x) == np.result_type(_dtype(x), _dtype(o)) else o
                per_in.append(_finish(np.reshape(part, oshape + np.shape(strip(x))), like))
                off += s
            blocks.append(unflatten(td, per_in))
        jac = unflatten(o_tree, blocks)
        return (jac, res[2]) if has_aux else jac

    return wrapped


def jacrev(
    f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
    holomorphic: bool = False, *, argnum: int | None = None,
) -> Callable[..., Any]:  # fmt: skip
    """The Jacobian by reverse mode: one backward sweep per output element.

    ``holomorphic=True`` allows complex inputs and outputs and gives the
    complex derivative of a holomorphic function (as in JAX).

    Returns
    -------
    callable
        ``(*args) -> J`` with ``J.shape == out.shape + in.shape``; for pytrees,
        the output's structure holding the input's structure of blocks.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.jacrev(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """
    argnums = _alias(argnums, argnum)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _nums(argnums, len(args))
        g = _partial(f, args, nums, kwargs)
        res = vjp(g, *(args[i] for i in nums), has_aux=has_aux)
        out, pullback = res[0], res[1]
        o_leaves, o_tree = flatten(out)
        in_tree = _arg_tree(args, nums, argnums)
        in_leaves, td = flatten(in_tree)
        _check_complex(in_leaves, holomorphic, "jacrev", "inputs")
        _check_complex(o_leaves, holomorphic, "jacrev", "outputs")
        zeros = [np.zeros(np.shape(strip(o)), np.result_type(_dtype(o), np.float32))
                 for o in o_leaves]  # fmt: skip
        blocks = []
        for j, o in enumerate(o_leaves):
            rows: list[list[Any]] = [[] for _ in in_leaves]
            for k in range(int(np.size(strip(o)))):
                cot = list(zeros)
                cot[j] = np.zeros_like(zeros[j])
                cot[j].reshape(-1)[k] = 1
                gl = _pull(pullback, o_tree, cot, argnums)
                if np.iscomplexobj(zeros[j]):
                    # a real input's cotangent is Re(conj(c) J): the pullback of 1 gives
                    # Re J, that of i gives Im J, and J = Re J + i Im J
                    cot[j] = cot[j] * 1j
                    im = _pull(pullback, o_tree, cot, argnums)
                    gl = [g if np.iscomplexobj(strip(x)) else g + 1j * gi
                          for g, gi, x in zip(gl, im, in_leaves, strict=True)]  # fmt: skip
                for r, gi in zip(rows, gl, strict=True):
                    r.append(gi)
            oshape = np.shape(strip(o))
            per_in = []
            for r, x in zip(rows, in_leaves, strict=True):
                xs = np.shape(strip(x))
                block = (np.reshape(np.stack(r), oshape + xs) if r else  # (an empty output)
                         np.zeros(oshape + xs, np.result_type(_dtype(x), np.float32)))  # fmt: skip
                like = _as_float(x)
                if np.iscomplexobj(like):
                    # vjp conjugates (cotangentᴴ·J); a holomorphic Jacobian is J itself
                    per_in.append(_finish(np.conjugate(block), like))
                else:  # a real input's block is real, or J = Re J + i Im J
                    per_in.append(_finish(block, block))
            blocks.append(unflatten(td, per_in))
        jac = unflatten(o_tree, blocks)
        return (jac, res[2]) if has_aux else jac

    return wrapped


def _pull(pullback: Callable[[Any], Any], o_tree: Any, cot: list[Any], argnums: ArgNums
          ) -> list[Any]:  # fmt: skip
    """The input cotangents of one output cotangent, as a flat list of leaves."""
    grads = pullback(unflatten(o_tree, cot))
    return flatten(grads[0] if isinstance(argnums, int) else grads)[0]


jacobian = jacrev


def hessian(f: Callable[..., Any], argnums: ArgNums = 0, *,
            argnum: int | None = None) -> Callable[..., Any]:  # fmt: skip
    """The Hessian of a scalar function, forward-over-reverse (one batched sweep).

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    argnums = _alias(argnums, argnum)
    return jacfwd(grad(f, argnums), argnums)


def hessian_blocks(f: Callable[[Any], Any], x: np.ndarray, batch_size: int) -> np.ndarray:
    """The Hessian of a scalar function of a vector, ``batch_size`` directions per sweep.

    Forward-over-reverse like :func:`hessian`, in several batched sweeps so
    that memory grows with ``batch_size`` rather than with ``x.size``.

    Parameters
    ----------
    f : callable
        Scalar function of a 1-D array.
    x : ndarray, shape (n,)
    batch_size : int

    Returns
    -------
    ndarray, shape (n, n)
    """
    x = _as_float(np.asarray(x))
    _check_complex([x], False, "hessian_blocks", "inputs")
    g = grad(f)
    eye = np.eye(x.size)
    rows = [jvp(g, (x,), (eye[s : s + batch_size],))[1] for s in range(0, x.size, batch_size)]
    return np.concatenate([np.reshape(r, (-1, x.size)) for r in rows], axis=0)


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """Hessian-vector product ``H(x) @ v`` without forming ``H`` (forward-over-reverse).

    Parameters
    ----------
    f : callable
        Scalar function of one argument (a pytree).
    x, v : pytree
        Point and direction, same structure and shapes.
    """
    return jvp(grad(f), (x,), (v,))[1]


#: nested forward mode (for functions without Taylor rules) costs 2^order passes
MAX_NESTED_ORDER = 12


def derivative(f: Callable[[Any], Any], order: int = 1) -> Callable[[Any], Any]:
    """The ``order``-th derivative of ``f: R -> R`` (elementwise on arrays).

    Order 1 is forward mode.  Higher orders use Taylor mode (O(order²) work,
    see :func:`gradmix.taylor`), up to order ``MAX_ORDER`` (170); a function
    using a primitive without a Taylor rule falls back to nested forward mode
    (2^order work), up to order ``MAX_NESTED_ORDER`` (12).

    Raises
    ------
    ValueError
        For an order that is not a non-negative integer or exceeds those limits.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> bool(gm.derivative(np.sin, order=2)(0.5) == -np.sin(0.5))
    True
    """
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    if order > MAX_ORDER:
        raise ValueError(
            f"order {order} is above {MAX_ORDER}: Taylor coefficients f^(n)/n! of higher "
            "orders leave float64's range (n! > 1.8e308)"
        )
    if order == 0:
        return f
    if order > 1:

        @functools.wraps(f)
        def d_n(x: Any) -> Any:
            from gradmix.ad.errors import NoDerivativeRuleError
            from gradmix.ad.taylor import taylor

            try:
                return taylor(f, _as_float(x), order)[order]
            except NoDerivativeRuleError as exc:
                if order > MAX_NESTED_ORDER:
                    raise NoDerivativeRuleError(
                        f"{exc} Without Taylor rules an order-{order} derivative needs nested "
                        f"forward mode, 2^{order} passes: at most order {MAX_NESTED_ORDER}"
                    ) from None
                g = f
                for _ in range(order):  # built in a loop: no recursion at definition
                    g = derivative(g, 1)
                return g(x)

        return d_n

    @functools.wraps(f)
    def d(x: Any) -> Any:
        x = _as_float(x)
        one = np.ones(np.shape(strip(x)), dtype=_dtype(x))
        return jvp(f, (x,), (one[()] if one.ndim == 0 else one,))[1]

    return d
