"""Progress bars: redrawn in place on a terminal or in a notebook, one line when they end anywhere else."""

from __future__ import annotations

import sys

import keras


def progress_bar(total: int | None, unit_name: str, **options) -> keras.utils.Progbar:
    """A keras.utils.Progbar of `total` units that redraws itself only where that shows (a terminal, a notebook):
    sent to a log file or a pipe it prints one line when it ends, not a redraw of backspaces and colour codes every
    0.05 s (Keras redraws wherever it runs on POSIX)."""
    interactive = sys.stdout.isatty() or "ipykernel" in sys.modules
    return keras.utils.Progbar(total, unit_name=unit_name, verbose=1 if interactive else 2, **options)
