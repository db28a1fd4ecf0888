"""The claim figures: specification curves coloured by outcome, the overview by tier; both pass
the layout rules, also on the narrow ranges of a rehearsal's synthetic values."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from cliprobust import claim_figures, plots, style  # noqa: E402
from cliprobust import verdicts as V  # noqa: E402


def _claim(values=((0.08, 0.05, 0.11), (0.03, -0.01, 0.07), (0.12, 0.09, 0.15))) -> V.Claim:
    rule = V.Rule(V.GREATER, 0.05)
    names = ["baseline=testbed-standard", "baseline=timm-in1k", "drop-source=YFCC-15M"]
    specs = [V.Spec(n, n, lambda v=v: V.Estimate.judged(rule, *v, n=10)) for n, v in zip(names, values)]
    specs.append(V.Spec("score=maxlogit", "not in the data", lambda: V.Estimate.missing("no logits published")))
    return V.evaluate("C11", "ER gap", specs[0], specs[1:], rule=rule, needs="x")


def test_spec_curve_sorts_colours_by_outcome_marks_headline_and_passes_layout() -> None:
    claim = _claim()
    fig = claim_figures.spec_curve(claim)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "baseline=timm-in1k", "baseline=testbed-standard", "drop-source=YFCC-15M"]
    assert ax.get_yticklabels()[1].get_fontweight() == "bold"
    labels = ax.get_legend_handles_labels()[1]
    assert set(labels) == {"supports", "inconclusive", "headline protocol"}
    assert "score=maxlogit" in ax.get_xlabel() and "margin 0.05" in ax.get_xlabel()
    assert {round(line.get_xdata()[0], 6) for line in ax.lines if line.get_linestyle() == "--"} == {0.05}
    assert plots.check_layout(fig) == []
    plt.close(fig)


@pytest.mark.parametrize("centre", [0.1250, 0.1275, 812.5])
def test_spec_curve_ticks_cannot_collide_on_a_narrow_range(centre) -> None:
    """The rehearsal failure: labels '0.1250' and '0.1275' overlapped on a narrow range."""
    vals = [(centre + d, centre + d - 1e-4, centre + d + 1e-4) for d in (0, 3e-4, 7e-4)]
    fig = claim_figures.spec_curve(_claim(vals))
    assert plots.check_layout(fig) == []
    plt.close(fig)


def test_claims_overview_shows_every_tier_in_its_colour_and_passes_layout() -> None:
    rule = V.Rule(V.GREATER, 0.05)
    head = V.Spec("h", "h", lambda: V.Estimate.judged(rule, 0.2, 0.1, 0.3))
    contra = V.Spec("h", "h", lambda: V.Estimate.judged(rule, 0.0, -0.02, 0.02))
    incon = V.Spec("h", "h", lambda: V.Estimate.judged(rule, 0.05, -0.02, 0.12))
    claims = [V.evaluate("C1", "factors", head, [], rule=rule, needs="x"), _claim(),
              V.evaluate("C5", "rho", contra, [], rule=rule, needs="x"),
              V.evaluate("C7", "gap", incon, [], rule=rule, needs="x"),
              V.not_testable("C9", "rho", needs="caches of real weights for 51 CLIP models x 4 prompt sets")]
    assert [c.tier for c in claims] == [V.REPRODUCED, V.REPRODUCED, V.CONTRADICTED, V.INCONCLUSIVE, V.NOT_TESTABLE]
    fig = claim_figures.claims_overview(claims)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in axes] == [f"{c.id}: {c.tier}" for c in claims]
    assert [to_hex(ax._left_title.get_color()) for ax in axes] == [style.tier_color(c.tier).lower() for c in claims]
    assert "1 support" in axes[1].get_xlabel() or "0 support" in axes[1].get_xlabel()
    assert plots.check_layout(fig) == []
    plt.close(fig)
