"""Reading numeric tables from CSV files, the way the command line needs them.

A header row names the columns.  Without a choice of columns, every column
whose non-empty cells are mostly numbers is data, and columns of text only
(labels) are left out; a column mixing numbers and text is an error.  A cell
of a data column that is not a number is an error naming the file, the line,
the column and the text — a column is never dropped silently.  Empty cells,
``NaN`` and ``NA`` are missing values: an error saying how many there are and
where the first one is, unless the caller drops their rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CSVError", "Table", "read_table"]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MISSING = {"", "nan", "na", "n/a", "null"}
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


class CSVError(ValueError):
    """A problem with a CSV file, in one line."""


@dataclass
class Table:
    """Data columns of a CSV file.

    Attributes
    ----------
    X : ndarray, shape (n_rows, n_columns)
        float64; NaN where a cell was missing (when missing values are kept).
    names : list of str
    lines : ndarray of int
        The file's line number of every row of ``X``.
    skipped : list of str
        Text columns left out.
    dropped : int
        Rows left out because of missing values.
    labels : ndarray of str, shape (n_rows,) or None
        The label column's cells, stripped (when a label column was asked for).
    """

    X: np.ndarray
    names: list[str]
    lines: np.ndarray
    skipped: list[str]
    dropped: int
    labels: np.ndarray | None = None


def _cell(text: str) -> float | None:
    """The cell's number, NaN if it is missing, None if it is text."""
    t = text.strip()
    if t.lower() in _MISSING:
        return float("nan")
    if _NUMBER.fullmatch(t):
        value = float(t)
        return value if np.isfinite(value) else None
    return None


def _separator(path: Path) -> str:
    """The field separator: ``,``, or ``;`` or a tab when the header has no comma but
    one of those (spreadsheets in many locales write ``;``)."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = next((line for line in fh if line.strip()), "")
    except (UnicodeDecodeError, OSError):
        return ","  # the reader says what is wrong
    if "," not in header:
        for sep in (";", "\t"):
            if sep in header:
                return sep
    return ","


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows with their line numbers."""
    if not path.exists():
        raise CSVError(f"cannot read {path}: no such file")
    if path.is_dir():
        raise CSVError(f"{path} is a directory, not a CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=_separator(path))
            # blank lines are skipped; a line of separators only is a row of empty cells
            rows = [(reader.line_num, r) for r in reader if len(r) > 1 or any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise CSVError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise CSVError(f"{path} is not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise CSVError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not rows:
        raise CSVError(f"{path} is empty (a header row and data are expected)")
    header = [h.strip() for h in rows[0][1]]
    seen = set()
    for h in header:
        if h in seen:
            raise CSVError(f"{path}: the column name {h!r} appears twice in the header")
        seen.add(h)
    body = rows[1:]
    if not body:
        raise CSVError(f"{path} has no data rows (a header row and data are expected)")
    for line, r in body:
        if len(r) != len(header):
            raise CSVError(f"{path} line {line}: {len(r)} fields, the header has {len(header)}")
    return header, body


def read_table(path: str | Path, columns: Sequence[str] | None = None, *,
               drop_missing: bool = False, keep_missing: bool = False,
               note: Callable[[str], None] | None = None,
               label: str | None = None) -> Table:  # fmt: skip
    """The numeric columns of a CSV file with a header row.

    Parameters
    ----------
    path : str or Path
    columns : sequence of str, optional
        Columns to read, in this order; each must hold numbers only.
        Default: every mostly numeric column, in the file's order.
    drop_missing : bool
        Leave out rows with a missing value in a data column (and say how
        many) instead of raising.
    keep_missing : bool
        Keep missing values as NaN (for a fit that handles them; say how many).
    note : callable, optional
        Receives one-line remarks (text columns left out, rows dropped).
    label : str, optional
        A column of class labels (text or numbers, kept as text): never data,
        returned as ``Table.labels``; an empty label cell is a missing value.

    Raises
    ------
    CSVError
        For a missing or unreadable file, a malformed table, a bad cell, a
        named column that does not exist, or missing values.
    """
    path = Path(path)
    header, body = _rows(path)
    if label is not None and label not in header:
        raise CSVError(f"{path} has no label column {label!r} (columns: {', '.join(header)})")
    if label is not None and columns is not None and label in columns:
        raise CSVError(f"{label} is the label column; it cannot be a data column too")
    cells = [[_cell(r[j]) for _, r in body] for j in range(len(header))]
    for j, col in enumerate(cells):  # a number too large for float64 is not text
        for (line, r), v in zip(body, col, strict=True):
            if v is None and _NUMBER.fullmatch(r[j].strip()):
                raise CSVError(f"{path} line {line}, column {header[j]}: {r[j].strip()} is "
                               "beyond the range of float64 numbers")  # fmt: skip
    if label is not None:  # the labels' missing cells count as missing values of the row
        cells[header.index(label)] = [np.nan if r[header.index(label)].strip() == "" else 0.0
                                      for _, r in body]  # fmt: skip

    def bad(j: int) -> None:
        for (line, r), v in zip(body, cells[j], strict=True):
            if v is None:
                raise CSVError(f"{path} line {line}, column {header[j]}: "
                               f"{r[j].strip()!r} is not a number")  # fmt: skip

    skipped: list[str] = []
    empty: list[str] = []
    if columns is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise CSVError(f"{path} has no column {missing[0]!r} (columns: {', '.join(header)})")
        picked = [header.index(c) for c in columns]
        for j in picked:
            bad(j)
    else:
        picked = []
        for j, col in enumerate(cells):
            if header[j] == label:
                continue
            numbers = sum(1 for v in col if v is not None and not np.isnan(v))
            texts = sum(1 for v in col if v is None)
            if numbers == 0 and texts > 0:
                skipped.append(header[j])
            elif numbers == 0:
                empty.append(header[j])
            elif numbers > texts:
                bad(j) if texts else None
                picked.append(j)
            elif numbers:
                raise CSVError(f"{path}: column {header[j]} mixes numbers ({numbers}) and text "
                               f"({texts}); name the data columns with --columns")  # fmt: skip
        if not picked:
            comma = next((r[j].strip() for _, r in body for j in range(len(header))
                          if _DECIMAL_COMMA.fullmatch(r[j].strip())), None)  # fmt: skip
            hint = "" if comma is None else (
                f" (cells such as {comma!r} look like numbers with a decimal comma; "
                "gradmix reads a decimal point)")  # fmt: skip
            raise CSVError(f"{path} has no numeric column{hint}")
        if skipped and note is not None:
            note(f"{path}: text columns left out: {', '.join(skipped)}")
        if empty and note is not None:
            note(f"{path}: columns with no value left out: {', '.join(empty)}")
        skipped += empty
    text = None
    if label is not None:
        text = np.array([r[header.index(label)].strip() for _, r in body])
        picked = [*picked, header.index(label)]  # its holes are checked with the data's
    X = np.array([cells[j] for j in picked], dtype=np.float64).T.reshape(len(body), len(picked))
    lines = np.array([line for line, _ in body])
    holes = np.isnan(X)
    dropped = 0
    if holes.any():
        rows_with = np.flatnonzero(holes.any(axis=1))
        first = int(rows_with[0])
        where = f"line {lines[first]}, column {header[picked[int(np.argmax(holes[first]))]]}"
        counted = f"{_count(int(holes.sum()), 'missing value')} in {_count(len(rows_with), 'row')}"
        if keep_missing and (text is None or not holes[:, -1].any()):
            if note is not None:
                note(f"{path}: {counted} (the first at {where})")
            return _table(X, header, picked, lines, skipped, 0, text)
        if not drop_missing:
            # (a classifier's rows need their labels: only a fit takes --missing em)
            remedy = "--drop-missing leaves those rows out" + (
                ", --missing em fits with them" if label is None else "")  # fmt: skip
            raise CSVError(f"{path} has {counted} (empty or NaN cells), the first at "
                           f"{where}; {remedy}")  # fmt: skip
        keep = ~holes.any(axis=1)
        X, lines, dropped = X[keep], lines[keep], int(len(rows_with))
        text = None if text is None else text[keep]
        if note is not None:
            note(f"{path}: dropped {_count(dropped, 'row')} with missing values (the first at "
                 f"{where})")  # fmt: skip
    return _table(X, header, picked, lines, skipped, dropped, text)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _table(X: np.ndarray, header: list[str], picked: list[int], lines: np.ndarray,
           skipped: list[str], dropped: int, labels: np.ndarray | None) -> Table:  # fmt: skip
    """The Table, with the label column (the last picked, when there is one) split off."""
    if labels is not None:
        X, picked = X[:, :-1], picked[:-1]
    return Table(X, [header[j] for j in picked], lines, skipped, dropped, labels)
