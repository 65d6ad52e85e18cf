"""The primitive table: every derivative rule gradmix knows, by family.

Importing this package registers the rules for numpy's (and scipy.special's)
functions.  To find the rule for a function, search for its name here.
"""

from gradmix.ad.rules import elementwise, fft, linalg, numerical, reductions, shape
from gradmix.ad.rules.linalg import solve_triangular
from gradmix.ad.rules.reductions import logsumexp

__all__ = [
    "elementwise", "fft", "linalg", "numerical", "reductions", "shape", "logsumexp",
    "solve_triangular",
]  # fmt: skip
