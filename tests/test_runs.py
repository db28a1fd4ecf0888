"""The run of a notebook: options are checked by name and vocabulary, runs are hashable, banners."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cliprobust.runs import RANDOM_WEIGHTS_BANNER, SYNTHETIC_BANNER, Options, Run, UnknownOptionError


@dataclass(frozen=True)
class _Opts(Options):
    CHOICES = {"score": ("msp", "energy")}
    score: str = "msp"
    n_boot: int = 1000


def test_unknown_option_raises_with_close_names() -> None:
    with pytest.raises(UnknownOptionError, match=r"no option 'scroe'; did you mean score\?"):
        Run.from_params("published", _Opts, scroe="energy")
    with pytest.raises(ValueError, match=r"score='mps' is not one of"):
        Run.from_params("published", _Opts, score="mps")


def test_none_means_default_and_changed_options_are_said() -> None:
    run = Run.from_params("published", _Opts, score=None, n_boot=200)
    assert run.options == _Opts(n_boot=200)
    assert run.say() == "profile 'published', options {'n_boot': 200}"
    assert hash(run) == hash(Run.from_params("published", _Opts, n_boot=200))


def test_options_for_gives_defaults_to_a_run_without_section_options() -> None:
    assert Run().options_for(_Opts) == _Opts()

    @dataclass(frozen=True)
    class _NoOptions(Options):
        pass

    assert Run("published", _NoOptions()).options_for(_Opts) == _Opts()
    run = Run.from_params("full", _Opts, score="energy")
    assert run.options_for(_Opts).score == "energy"
    assert run.options.but(score="msp").score == "msp"
    with pytest.raises(UnknownOptionError):
        run.options.but(nope=1)


def test_profiles_and_banners() -> None:
    assert Run("smoke").banner == RANDOM_WEIGHTS_BANNER and Run("rehearsal").banner == SYNTHETIC_BANNER
    assert Run("published").real_results and Run("full").real_results and not Run("smoke").real_results
    assert Run("published").strict_layout and not Run("rehearsal").strict_layout
    with pytest.raises(ValueError, match="unknown profile"):
        Run("nightly")
    with pytest.raises(TypeError, match="Options dataclass"):
        Run("published", options={"score": "msp"})
