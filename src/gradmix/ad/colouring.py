"""Graph colourings that compress a sparse Jacobian or Hessian into a few columns.

Columns of a Jacobian that share no row can be seeded together: one forward
sweep with their summed seed gives all of them, each nonzero read back from the
row it sits in.  Finding few such groups is colouring the *column
intersection graph* (columns adjacent when they share a row; a distance-2
colouring of the bipartite row/column graph).  Rows are coloured the same way
for reverse mode.  A symmetric Hessian needs less: a *star colouring* of its
adjacency graph (adjacent vertices differ, and no path on four vertices uses
only two colours) still lets every nonzero be read directly from one product
``H @ seed`` (Gebremedhin, Manne & Pothen, 2005, "What color is your Jacobian?
Graph coloring for computing derivatives", SIAM Review 47(4)).

Colourings are greedy, in several vertex orders (largest-first, smallest-last,
incidence-degree, and DSATUR, which orders as it colours); the one with fewest
colours is kept.  Written with numpy and scipy.sparse; the loops are over
Python lists, which for graphs of a few hundred thousand edges take well under
a second per order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

__all__ = [
    "ORDERS",
    "column_colouring",
    "column_reader",
    "greedy_colouring",
    "recover",
    "row_colouring",
    "row_reader",
    "star_colouring",
    "symmetric_reader",
]

Adjacency = tuple[list[int], list[int]]  # CSR indptr and indices, as lists


def _adjacency(graph: sp.sparray) -> Adjacency:
    g = sp.csr_array(graph, dtype=bool, copy=True)  # the caller's matrix stays as it is
    g.setdiag(False)
    g.eliminate_zeros()
    g.sort_indices()
    return g.indptr.tolist(), g.indices.tolist()


def _largest_first(adj: Adjacency) -> list[int]:
    ip = adj[0]
    deg = np.diff(ip)
    return np.argsort(-deg, kind="stable").tolist()


def _smallest_last(adj: Adjacency) -> list[int]:
    """Repeatedly remove a vertex of least remaining degree; colour in reverse order."""
    ip, ix = adj
    n = len(ip) - 1
    deg = [ip[v + 1] - ip[v] for v in range(n)]
    buckets: list[set[int]] = [set() for _ in range(max(deg, default=0) + 1)]
    for v in range(n):
        buckets[deg[v]].add(v)
    removed = [False] * n
    order = []
    low = 0
    for _ in range(n):
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()
        removed[v] = True
        order.append(v)
        for w in ix[ip[v] : ip[v + 1]]:
            if not removed[w]:
                buckets[deg[w]].discard(w)
                deg[w] -= 1
                buckets[deg[w]].add(w)
                if deg[w] < low:
                    low = deg[w]
    return order[::-1]


def _incidence_degree(adj: Adjacency) -> list[int]:
    """Next, a vertex with the most neighbours already ordered."""
    ip, ix = adj
    n = len(ip) - 1
    inc = [0] * n
    buckets: list[set[int]] = [set() for _ in range(max(np.diff(ip), default=0) + 1)]
    buckets[0].update(range(n))
    done = [False] * n
    order = []
    high = 0
    for _ in range(n):
        while high > 0 and not buckets[high]:
            high -= 1
        v = buckets[high].pop()
        done[v] = True
        order.append(v)
        for w in ix[ip[v] : ip[v + 1]]:
            if not done[w]:
                buckets[inc[w]].discard(w)
                inc[w] += 1
                buckets[inc[w]].add(w)
                if inc[w] > high:
                    high = inc[w]
    return order


def _colour_in_order(adj: Adjacency, order: list[int]) -> np.ndarray:
    """Greedy: each vertex in turn gets the smallest colour none of its neighbours has."""
    ip, ix = adj
    n = len(ip) - 1
    colour = [-1] * n
    mark = [-1] * (n + 1)
    for v in order:
        for w in ix[ip[v] : ip[v + 1]]:
            c = colour[w]
            if c >= 0:
                mark[c] = v
        c = 0
        while mark[c] == v:
            c += 1
        colour[v] = c
    return np.asarray(colour, dtype=np.intp)


def _dsatur(adj: Adjacency) -> np.ndarray:
    """DSATUR (Brélaz 1979): next, the vertex whose neighbours have the most distinct
    colours (ties: most neighbours), given the smallest colour it can take."""
    ip, ix = adj
    n = len(ip) - 1
    colour = [-1] * n
    seen: list[set[int]] = [set() for _ in range(n)]
    heap = [(0, -(ip[v + 1] - ip[v]), v) for v in range(n)]
    heapq.heapify(heap)
    while heap:
        negsat, negdeg, v = heapq.heappop(heap)
        if colour[v] >= 0 or -negsat != len(seen[v]):
            continue  # coloured already, or a stale entry
        c = 0
        while c in seen[v]:
            c += 1
        colour[v] = c
        for w in ix[ip[v] : ip[v + 1]]:
            if colour[w] < 0 and c not in seen[w]:
                seen[w].add(c)
                heapq.heappush(heap, (-len(seen[w]), -(ip[w + 1] - ip[w]), w))
    return np.asarray(colour, dtype=np.intp)


_ORDERED: dict[str, Callable[[Adjacency], list[int]]] = {
    "largest_first": _largest_first,
    "smallest_last": _smallest_last,
    "incidence_degree": _incidence_degree,
}
#: the vertex orders tried; "best" tries them all and keeps the fewest colours
ORDERS = (*_ORDERED, "dsatur")


def greedy_colouring(graph: sp.sparray, order: str = "best") -> np.ndarray:
    """A proper colouring of an undirected graph (adjacent vertices differ).

    Parameters
    ----------
    graph : sparse array, shape (n, n)
        Adjacency (symmetric; the diagonal is ignored).
    order : str
        One of :data:`ORDERS`, or "best": all of them, keeping the fewest colours.

    Returns
    -------
    ndarray of int, shape (n,)
        Colours 0, 1, ..., k-1.
    """
    return _best(_adjacency(graph), order, _colour_in_order)


def _best(adj: Adjacency, order: str,
          colour: Callable[[Adjacency, list[int]], np.ndarray]) -> np.ndarray:  # fmt: skip
    if order != "best" and order not in ORDERS:
        raise ValueError(f"order must be 'best' or one of {ORDERS}, got {order!r}")
    names = ORDERS if order == "best" else (order,)
    found = []
    for name in names:
        if name == "dsatur":
            if colour is not _colour_in_order:
                continue  # DSATUR colours as a proper colouring only
            found.append(_dsatur(adj))
        else:
            found.append(colour(adj, _ORDERED[name](adj)))
    if not found:
        raise ValueError(f"order {order!r} does not apply to this colouring")
    return min(found, key=lambda c: int(c.max(initial=-1)))


def column_colouring(pattern: sp.sparray, order: str = "best") -> np.ndarray:
    """Colour the columns of a Jacobian pattern so that columns of one colour share no row.

    Parameters
    ----------
    pattern : sparse array, shape (m, n)
    order : str
        As for :func:`greedy_colouring`.

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from gradmix.ad.colouring import column_colouring
    >>> tridiagonal = sp.diags_array([1, 1, 1], offsets=[-1, 0, 1], shape=(6, 6), dtype=bool)
    >>> colours = column_colouring(tridiagonal)
    >>> int(colours.max()) + 1, bool(np.all(colours[:3] == colours[3:]))
    (3, True)
    """
    p = sp.csr_array(pattern, dtype=bool)
    return greedy_colouring(sp.csr_array(p.T @ p), order)


def row_colouring(pattern: sp.sparray, order: str = "best") -> np.ndarray:
    """Colour the rows of a Jacobian pattern so that rows of one colour share no column."""
    return column_colouring(sp.csr_array(pattern).T, order)


def _star_in_order(adj: Adjacency, order: list[int]) -> np.ndarray:
    """Greedy star colouring (Gebremedhin, Manne & Pothen 2005, Algorithm 4.1): besides
    the neighbours' colours, forbid a colour that would close a two-coloured path of
    four vertices."""
    ip, ix = adj
    n = len(ip) - 1
    colour = [-1] * n
    mark = [-1] * (n + 1)
    for v in order:
        for w in ix[ip[v] : ip[v + 1]]:
            cw = colour[w]
            if cw >= 0:
                mark[cw] = v
        for w in ix[ip[v] : ip[v + 1]]:
            cw = colour[w]
            for x in ix[ip[w] : ip[w + 1]]:
                cx = colour[x]
                if x == v or cx < 0:
                    continue
                if cw < 0:
                    mark[cx] = v
                else:
                    for y in ix[ip[x] : ip[x + 1]]:
                        if y != w and colour[y] == cw:
                            mark[cx] = v
                            break
        c = 0
        while mark[c] == v:
            c += 1
        colour[v] = c
    return np.asarray(colour, dtype=np.intp)


def star_colouring(pattern: sp.sparray, order: str = "best") -> np.ndarray:
    """A star colouring of a symmetric (Hessian) pattern, for direct recovery.

    Parameters
    ----------
    pattern : sparse array, shape (n, n)
        Symmetric pattern; the diagonal may be present or not.
    order : str
        As for :func:`greedy_colouring` (DSATUR is not used here).

    Returns
    -------
    ndarray of int, shape (n,)
        Colours such that :func:`recover_symmetric` reads every nonzero directly.
    """
    p = sp.csr_array(pattern, dtype=bool)
    if p.shape[0] != p.shape[1]:
        raise ValueError(f"a Hessian pattern is square, got shape {p.shape}")
    adj = _adjacency(sp.csr_array(p + p.T))
    colours = _best(adj, "smallest_last" if order == "dsatur" else order, _star_in_order)
    if not _directly_recoverable(sp.csr_array(p + p.T), colours):
        # the greedy rules guarantee this; a distance-2 colouring is the safe fallback
        colours = column_colouring(p + p.T, order)  # pragma: no cover
    return colours


def _colour_counts(pattern: sp.csr_array, colours: np.ndarray) -> np.ndarray:
    """(rows × colours): how many nonzeros of each row lie in columns of each colour."""
    n = pattern.shape[1]
    k = int(colours.max(initial=-1)) + 1
    onehot = sp.csr_array((np.ones(n, dtype=np.int32), (np.arange(n), colours)), shape=(n, k))
    return np.asarray((sp.csr_array(pattern, dtype=np.int32) @ onehot).toarray())


def _directly_recoverable(sym: sp.csr_array, colours: np.ndarray) -> bool:
    with_diag = sp.csr_array(sym + sp.identity(sym.shape[0], dtype=bool, format="csr"))
    counts = _colour_counts(with_diag, colours)
    rows, cols = with_diag.nonzero()
    ok = (counts[rows, colours[cols]] == 1) | (counts[cols, colours[rows]] == 1)
    return bool(np.all(ok))


def _entries(pattern: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every stored entry, in CSR order."""
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    return rows, pattern.indices


def column_reader(pattern: sp.csr_array, colours: np.ndarray) -> np.ndarray:
    """Where each stored entry of a Jacobian sits in the forward sweeps' output.

    Parameters
    ----------
    pattern : csr_array, shape (m, n)
    colours : ndarray, shape (n,)
        From :func:`column_colouring`.

    Returns
    -------
    ndarray of int, shape (nnz,)
        Flat positions in ``T`` of shape (k, m), ``T[c] = J @ (colours == c)``
        (one row per colour, the layout of a batched ``jvp``), in CSR order.
    """
    rows, cols = _entries(pattern)
    return colours[cols] * pattern.shape[0] + rows


def row_reader(pattern: sp.csr_array, colours: np.ndarray) -> np.ndarray:
    """Flat positions of a Jacobian's entries in ``T`` of shape (k, n),
    ``T[c] = (colours == c) @ J`` (one reverse sweep per row colour)."""
    rows, cols = _entries(pattern)
    return colours[rows] * pattern.shape[1] + cols


def symmetric_reader(pattern: sp.csr_array, colours: np.ndarray) -> np.ndarray:
    """Flat positions of a symmetric matrix's entries in ``T`` of shape (k, n),
    ``T[c] = H @ (colours == c)``, under a star colouring (direct recovery).

    ``H[i, j]`` is read from row i of the colour group of j when no other column of
    that group has a nonzero in row i; otherwise from row j of the group of i (a
    star colouring guarantees one of the two).
    """
    counts = _colour_counts(pattern, colours)
    rows, cols = _entries(pattern)
    n = pattern.shape[0]
    direct = counts[rows, colours[cols]] == 1
    return np.where(direct, colours[cols] * n + rows, colours[rows] * n + cols)


def recover(pattern: sp.csr_array, reader: np.ndarray, compressed: np.ndarray) -> sp.csr_array:
    """The sparse matrix with ``pattern``'s structure read from the sweeps' output.

    Parameters
    ----------
    pattern : csr_array
        Canonical (sorted indices, no duplicates).
    reader : ndarray of int
        From :func:`column_reader`, :func:`row_reader` or :func:`symmetric_reader`.
    compressed : ndarray
        The sweeps' output in the layout the reader describes.

    Returns
    -------
    scipy.sparse.csr_array
        With the structure of ``pattern`` (entries that are zero at this point kept).
    """
    vals = np.reshape(compressed, -1)[reader]
    out = sp.csr_array((vals, pattern.indices, pattern.indptr), shape=pattern.shape)
    out.has_sorted_indices = pattern.has_sorted_indices
    return out
