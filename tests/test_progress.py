"""Progress output: a live bar on a terminal, plain periodic lines in a log, nothing when switched off."""

from __future__ import annotations

import io

import pytest

from cliprobust import progress as P


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_plain_lines_not_carriage_returns(monkeypatch) -> None:
    monkeypatch.delenv(P.PROGRESS_ENV, raising=False)
    log = io.StringIO()
    assert P.style(log) == "lines"
    for _ in P.progress(range(500), file=log, desc="unit", dynamic_ncols=True):
        pass
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and "\x1b" not in text
    # the first and the final state, nothing in between: 500 fast steps are far inside LINE_INTERVAL_S
    assert 1 <= len(lines) <= 3 and lines[-1].startswith("unit: 100%") and "500/500" in lines[-1]


def test_a_terminal_keeps_the_live_bar(monkeypatch) -> None:
    monkeypatch.delenv(P.PROGRESS_ENV, raising=False)
    tty = _Tty()
    assert P.style(tty) == "bar"
    for _ in P.progress(range(3), file=tty, mininterval=0):
        pass
    assert "\r" in tty.getvalue()


@pytest.mark.parametrize("chosen", P.STYLES)
def test_the_environment_overrides_and_off_prints_nothing(monkeypatch, chosen) -> None:
    monkeypatch.setenv(P.PROGRESS_ENV, chosen)
    out = _Tty()
    assert P.style(out) == chosen
    for _ in P.progress(range(3), file=out):
        pass
    assert (out.getvalue() == "") is (chosen == "off")


def test_an_unknown_style_names_the_choices(monkeypatch) -> None:
    monkeypatch.setenv(P.PROGRESS_ENV, "widget")
    with pytest.raises(ValueError, match="bar, lines, off"):
        P.style(io.StringIO())


def test_a_callers_disable_is_kept(monkeypatch) -> None:
    monkeypatch.setenv(P.PROGRESS_ENV, "lines")
    log = io.StringIO()
    for _ in P.progress(range(3), file=log, disable=True):
        pass
    assert log.getvalue() == ""
