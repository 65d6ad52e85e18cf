"""Running the ``gradmix`` command in the test process, as a user's shell would see it.

Starting a Python process costs seconds (numpy, scipy and scikit-learn are
imported anew), so most command-line tests call :func:`gradmix.cli.main` here
and collect what a subprocess would give: the exit status, standard output
and standard error (with the warnings Python would print there, and a
traceback for an exception that escapes).  A few tests still start
``python -m gradmix`` itself (:func:`run_subprocess`) to check the entry point.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

from gradmix.cli import main

#: what a fresh interpreter hides by default (Python's default warning filters)
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def run_subprocess(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gradmix ARGS`` in a new process."""
    return subprocess.run([sys.executable, "-m", "gradmix", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)  # fmt: skip


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``gradmix ARGS`` in this process, returned as :func:`subprocess.run` returns it."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:  # fmt: skip
        warnings.simplefilter("default")
        for category in HIDDEN:
            warnings.simplefilter("ignore", category)
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors, --help
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        except Exception:  # what the interpreter would print
            traceback.print_exc()
            code = 1
        finally:
            os.chdir(here)
        # the warnings that escaped main, after the command's own messages
        for w in caught:
            err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    return subprocess.CompletedProcess(["gradmix", *args], code, out.getvalue(), err.getvalue())
