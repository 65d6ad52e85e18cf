"""Data sets shipped with gradmix."""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

__all__ = ["load_old_faithful"]


def load_old_faithful(*, as_frame: bool = False) -> Any:
    """The Old Faithful geyser data: 272 eruptions.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame (requires pandas) instead of an array.

    Returns
    -------
    ndarray of shape (272, 2) or DataFrame
        Columns: eruption duration (minutes), waiting time to the next
        eruption (minutes).
    """
    path = resources.files("gradmix.datasets").joinpath("old_faithful.csv")
    with path.open("r") as fh:
        header = [h.strip().strip('"') for h in fh.readline().split(",")]
        data = np.loadtxt(fh, delimiter=",", dtype=np.float64)
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("as_frame=True requires pandas") from exc
        return pd.DataFrame(data, columns=header)
    return data
