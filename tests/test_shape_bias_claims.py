"""Section 03 claims on the verdicts engine: C3 (one CLIP model against the model groups, two-level
bootstrap) and C4 (zero-shot vs fine-tuned CLIP from caches), every tier reachable on synthetic
trials built for it, and the C3 rule's operating characteristics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprobust.runs import Run
from cliprobust.sections import shape_bias as sec
from cliprobust.sections.shape_bias import c3
from cliprobust.sections.shape_bias import trials as T
from cliprobust.verdicts import CONTRADICTED, FRAGILE, INCONCLUSIVE, NOT_TESTABLE, REPRODUCED

NB = 200  # bootstrap draws in tests (the notebooks use stats.N_BOOT)
FAST = Run.from_params("published", sec.Options, n_boot=NB)


@pytest.fixture(scope="module")
def trials(mirror: Path) -> pd.DataFrame:
    return T.mvh_trials()


def _synthetic_trials(trials: pd.DataFrame, subject: str, group: str, p_shape: float, seed: int) -> pd.DataFrame:
    """A fake decision maker: answers the shape cue with probability p_shape, else the texture cue."""
    base = trials[trials["subject"] == "clip"][["stimulus", "shape", "texture"]].reset_index(drop=True)
    pick = np.random.default_rng(seed).random(len(base)) < p_shape
    return base.assign(subject=subject, group=group, label=subject, kind="model",
                       response=np.where(pick, base["shape"], base["texture"]))


def _population(trials: pd.DataFrame, clip: float, others: dict[str, tuple[str, float]]) -> pd.DataFrame:
    parts = [_synthetic_trials(trials, "clip", "clip", clip, 0)]
    parts += [_synthetic_trials(trials, name, grp, p, k + 1) for k, (name, (grp, p)) in enumerate(others.items())]
    return pd.concat(parts, ignore_index=True)


def test_c3_tiers_on_synthetic_trials(trials) -> None:
    far = _population(trials, 0.8, {"a": ("supervised", 0.25), "b": ("supervised", 0.3),
                                    "c": ("self-supervised", 0.3), "d": ("self-supervised", 0.35)})
    assert sec.claim_c3(FAST, trials=far).tier == REPRODUCED
    # one self-supervised model as shape-biased as CLIP: the groups differ, that model does not
    close = _population(trials, 0.6, {"a": ("supervised", 0.25), "b": ("supervised", 0.3),
                                      "c": ("self-supervised", 0.3), "d": ("self-supervised", 0.3),
                                      "e": ("self-supervised", 0.35), "f": ("self-supervised", 0.6)})
    c = sec.claim_c3(FAST, trials=close)
    assert c.tier == FRAGILE and "unit=model" in c.breaking_variants, c.variants_frame()
    low = _population(trials, 0.3, {"a": ("supervised", 0.3), "c": ("self-supervised", 0.32)})
    assert sec.claim_c3(FAST, trials=low).tier == CONTRADICTED
    # the self-supervised members disagree wildly: two models cannot place the group
    spread = _population(trials, 0.5, {"a": ("supervised", 0.2), "b": ("supervised", 0.22),
                                       "c": ("self-supervised", 0.15), "d": ("self-supervised", 0.75)})
    assert sec.claim_c3(FAST, trials=spread).tier == INCONCLUSIVE


def test_c3_on_published_trials(trials) -> None:
    c = sec.claim_c3(FAST, trials=trials)
    vf = c.variants_frame().set_index("name")
    assert vf["headline"].sum() == 1 and len(vf) == 1 + len(c3.C3_VARIANTS)
    comp = c.numbers["headline"].detail["comparisons"].set_index("compared")
    assert list(comp.index) == list(c3.C3_COMPARED)
    # data facts: CLIP ViT-B/16 0.476; the closest model is ViT-B MoCo-v3 (0.446) and the closest group
    # the self-supervised one (0.327)
    assert comp["clip"].iloc[0] == pytest.approx(0.4757, abs=5e-4)
    assert comp.loc["self-supervised", "other"] == pytest.approx(0.327, abs=5e-4)
    assert "ViT-B MoCo-v3" in vf.loc["unit=model", "note"]
    assert c.value == pytest.approx(comp["diff"].min()) and c.margin == c3.C3_MARGIN
    assert "One CLIP model" in c.evidence and "one CLIP model" in c.statistic
    m = sec.claim_c3(Run.from_params("published", sec.Options, unit="model", n_boot=NB), trials=trials)
    assert len(m.numbers["headline"].detail["comparisons"]) == 9


def test_c3_intervals_include_member_variation(trials) -> None:
    """The group comparison's interval is wider than the per-model one of its closest member would
    suggest from stimuli alone: the members are resampled."""
    comp = c3.c3_comparisons(trials, sec.Options(n_boot=NB)).set_index("compared")
    per = c3.c3_comparisons(trials, sec.Options(unit="model", n_boot=NB)).set_index("compared")
    assert (comp.loc["self-supervised", "high"] - comp.loc["self-supervised", "low"]) > \
        1.5 * (per["high"] - per["low"]).max()


def test_c3_oc_on_a_small_simulated_design() -> None:
    """Two comparisons with 95 % half-widths of 0.04: at zero the all-of rule says "supports" at most
    at the one-sided rate of one comparison; at a large effect nearly always."""
    w = (0.04, 0.04)
    at_zero = c3._oc_codes(w, w, 0.95, c3.C3_MARGIN, 0.0, 4000, 1)
    at_big = c3._oc_codes(w, w, 0.95, c3.C3_MARGIN, 0.2, 4000, 2)
    assert (at_zero == 1).mean() <= 0.03 and (at_big == 1).mean() > 0.99
    at_margin = c3._oc_codes(w, w, 0.95, c3.C3_MARGIN, c3.C3_MARGIN, 4000, 3)
    # est - 0.04 > 0 with est ~ N(0.05, 0.0204): P(z > -0.49) ~ 0.69 per comparison, both ~ 0.47
    assert (at_margin == 1).mean() == pytest.approx(0.69 ** 2, abs=0.04)


def test_c4_needs_both_clip_groups(trials) -> None:
    none = sec.claim_c4(Run("full"), cached=pd.DataFrame(columns=["subject", "group"]))
    assert none.tier == NOT_TESTABLE and "CLIP-FT" in none.needs
    zs = [_synthetic_trials(trials, f"zs{k}", "clip-zeroshot", 0.6, k) for k in range(3)]
    ft = [_synthetic_trials(trials, f"ft{k}", "clip-ft", 0.3, 10 + k) for k in range(3)]
    smoke = _synthetic_trials(trials, "open_clip:ViT-B-32/none", "smoke", 0.9, 3)
    assert sec.claim_c4(Run("full"), cached=pd.concat([*zs, smoke])).tier == NOT_TESTABLE
    fast_full = Run.from_params("full", sec.Options, n_boot=NB)
    res = sec.claim_c4(fast_full, cached=pd.concat([*zs, *ft, smoke]))
    assert res.tier == REPRODUCED and res.value > 0 and res.low > 0
    same = pd.concat([*zs, *[t.assign(group="clip-ft") for t in
                             (_synthetic_trials(trials, f"ft{k}", "clip-ft", 0.6, 20 + k) for k in range(3))]])
    assert sec.claim_c4(fast_full, cached=same).tier == CONTRADICTED  # no drop: every drop >= margin excluded
    # random-init caches never judge it
    assert sec.claim_c4(Run("smoke"), cached=pd.concat([*zs, *ft])).tier == NOT_TESTABLE
