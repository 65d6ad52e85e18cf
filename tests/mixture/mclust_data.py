"""mclust's reference data sets and stored results, as the tests read them."""

import csv
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_iris

from gradmix.datasets import load_old_faithful

DATA = Path(__file__).with_name("data")


def reference_rows(name: str) -> list[dict[str, str]]:
    """The rows of a stored CSV of mclust's results (its ``#`` lines are provenance)."""
    with open(DATA / name) as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def data_set(name: str):
    """faithful, iris[, 1:4], diabetes[, 2:4] or banknote[, 2:7], as R ships them."""
    if name == "faithful":
        return load_old_faithful()
    if name == "iris":
        return load_iris().data
    return pd.read_csv(DATA / f"{name}.csv", comment="#").iloc[:, 1:].to_numpy(float)
