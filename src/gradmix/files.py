"""Writing output files safely: checked before the work, never overwritten unasked.

A new file is created exclusively (``O_EXCL``: an existing file or a symlink
planted at the path makes it fail rather than write through it).  When
overwriting is allowed, the content goes to a temporary file in the same
folder that then replaces the path atomically — a symlink at the path is
replaced itself, its target is never written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["OutputError", "check_writable", "create"]


class OutputError(ValueError):
    """An output path that cannot (or may not) be written."""


def check_writable(path: str | Path, overwrite: bool) -> Path:
    """Check, before any work, that ``path`` can be written.

    Raises
    ------
    OutputError
        If the path is a directory, its folder does not exist or cannot be
        written, or it exists and ``overwrite`` is False.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: no permission to write in {folder}")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputError(f"{path} exists; pass --force to overwrite it")
    return path


@contextmanager
def create(path: str | Path, overwrite: bool = False) -> Iterator[IO[bytes]]:
    """A binary file to write ``path`` through (see the module docstring).

    Raises
    ------
    FileExistsError
        If ``path`` exists (or is a symlink) and ``overwrite`` is False.
    """
    path = Path(path)
    if not overwrite:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
        except BaseException:
            path.unlink(missing_ok=True)  # no half-written file stays behind
            raise
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")  # fmt: skip
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
