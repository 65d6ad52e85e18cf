"""gradmix.csvdata: no cell, column or row vanishes without a word (issue 27)."""

import numpy as np
import pytest

from gradmix.csvdata import CSVError, read_table

RNG = np.random.default_rng(0)
X = RNG.normal(size=(70, 2))


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def body(sep=",", extra=""):
    return "".join(f"{a}{sep}{b}{extra}\n" for a, b in X)


def test_a_column_of_empty_cells_is_left_out_with_a_note(tmp_path):
    path = write(tmp_path, "a,b,c\n" + body(extra=","))
    notes = []
    table = read_table(path, note=notes.append)
    assert table.names == ["a", "b"]
    np.testing.assert_array_equal(table.X, X)
    assert notes == [f"{path}: columns with no value left out: c"]
    # named explicitly, it is a column of missing values
    with pytest.raises(CSVError, match="70 missing values"):
        read_table(path, columns=["a", "c"])


@pytest.mark.parametrize("row", [",", " , "])
def test_a_row_of_empty_cells_is_a_row_of_missing_values(tmp_path, row):
    lines = body().splitlines(keepends=True)
    path = write(tmp_path, "a,b\n" + "".join(lines[:10]) + row + "\n\n" + "".join(lines[10:]))
    with pytest.raises(CSVError, match="2 missing values in 1 row .*, the first at line 12"):
        read_table(path)
    notes = []
    kept = read_table(path, keep_missing=True, note=notes.append)
    assert kept.X.shape == (71, 2) and np.isnan(kept.X[10]).all()
    assert notes == [f"{path}: 2 missing values in 1 row (the first at line 12, column a)"]
    dropped = read_table(path, drop_missing=True, note=notes.append)
    np.testing.assert_array_equal(dropped.X, X)
    assert dropped.dropped == 1


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path, sep):
    path = write(tmp_path, f"a{sep}b\n" + body(sep))
    table = read_table(path)
    assert table.names == ["a", "b"]
    np.testing.assert_array_equal(table.X, X)


def test_a_semicolon_file_with_decimal_commas_names_the_cell(tmp_path):
    path = write(tmp_path, "a;b\n1,5;2,5\n3,0;4,0\n")
    with pytest.raises(CSVError, match="'1,5' look like numbers with a decimal comma"):
        read_table(path)


@pytest.mark.parametrize("named", [None, ["a", "b"]])
def test_a_number_beyond_float64_is_named_not_taken_for_text(tmp_path, named):
    # 1e400 overflows to inf: it was reported as text in a numeric column ("mixes
    # numbers and text"), or as "not a number" when the columns were named
    lines = body().splitlines(keepends=True)
    path = write(tmp_path, "a,b\n" + "".join(lines[:3]) + "1e400,2\n" + "".join(lines[3:]))
    with pytest.raises(CSVError, match=r"line 5, column a: 1e400 is beyond the range of float64"):
        read_table(path, columns=named)
