"""Where a learner sees training progress: bars on a terminal and in a notebook, one line per epoch elsewhere.

A terminal gets tqdm's bars (carriage-return updates); a Jupyter notebook gets tqdm's notebook bars (the
``notebooks`` extra installs ipywidgets for them) *and* one line per epoch, which stays in the cell's
output; a log file or a pipe gets only the lines (no ``\\r`` updates).
"""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where ``sys.stderr`` is no terminal, but bars and figures can be
    drawn inline): IPython's shell is the kernel's ``ZMQInteractiveShell``."""
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except AttributeError:
        return False


def shows_bars() -> bool:
    """Progress bars: on a terminal or in a notebook."""
    return sys.stderr.isatty() or in_notebook()


def shows_lines() -> bool:
    """One line per epoch: wherever there is no terminal (a notebook, a log file, a pipe)."""
    return not sys.stderr.isatty()
