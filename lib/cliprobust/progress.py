"""Progress bars that suit where they print: a live bar on a terminal, plain periodic lines in a log.

tqdm redraws its bar with carriage returns; written to a log file, CI or a notebook's stderr that is
one line of hundreds of updates. :func:`progress` (a drop-in for ``tqdm(...)``) keeps the bar on a
terminal and otherwise prints one plain line every :data:`LINE_INTERVAL_S` seconds (and the last
one). It never uses tqdm's notebook widget (no ``TqdmWarning`` without ipywidgets).
``CLIPROBUST_PROGRESS`` = ``bar`` | ``lines`` | ``off`` overrides the choice (``run_all.sh`` runs
notebook kernels with ``off``: committed notebooks carry results, not progress).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, TextIO

from tqdm import tqdm

#: Environment variable overriding the progress style: ``bar``, ``lines`` or ``off``.
PROGRESS_ENV = "CLIPROBUST_PROGRESS"
#: Progress styles :data:`PROGRESS_ENV` accepts.
STYLES: tuple[str, ...] = ("bar", "lines", "off")
#: Seconds between two plain progress lines when the output is not a terminal.
LINE_INTERVAL_S = 30.0


class LineStream:
    """A text stream for tqdm that turns each carriage-return redraw into one plain line."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        for piece in text.replace("\n", "\r").split("\r"):
            if piece.strip():
                self.stream.write(piece.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def style(stream: TextIO | None = None) -> str:
    """The progress style: :data:`PROGRESS_ENV` if set, else ``bar`` on a terminal and ``lines`` elsewhere."""
    chosen = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if chosen:
        if chosen not in STYLES:
            raise ValueError(f"{PROGRESS_ENV}={chosen!r}: choose one of {', '.join(STYLES)}")
        return chosen
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


def progress(iterable: Iterable[Any] | None = None, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)`` in the style of :func:`style` for its output stream (stderr by default)."""
    stream = kwargs.pop("file", None) or sys.stderr
    chosen = style(stream)
    if chosen == "off":
        kwargs["disable"] = True
    elif chosen == "lines":
        stream = LineStream(stream)
        kwargs.update(mininterval=LINE_INTERVAL_S, maxinterval=LINE_INTERVAL_S, miniters=1, ascii=True,
                      dynamic_ncols=False, ncols=100)
    return tqdm(iterable, file=stream, **kwargs)
