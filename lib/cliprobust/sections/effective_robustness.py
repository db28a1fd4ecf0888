"""Effective robustness (ER) of zero-shot CLIP, CLIP fine-tuned on ImageNet and ImageNet models:
claims C10-C12 (Fang et al., ICML 2022) with their multiverse, and two checks the data newly allow.

Reproduces Fang et al. / Tu et al. (NeurIPS 2023, §ER) from published tables only: ImageNet top-1
against each natural shift (V2, R, Sketch, ObjectNet, A) on logit axes, one baseline line fitted
over ImageNet-trained models, ER = OOD accuracy − the line's prediction (accuracy units). Tables,
protocol choices and bootstrap draws live in :mod:`.er_tables` (re-exported here), figures in
:mod:`.er_figures`. The claims (``docs/claims.md``):

- :func:`claim_c10` -- zero-shot CLIP has large ER on R, Sketch, ObjectNet, A and small ER on V2;
- :func:`claim_c11` -- ER is set by the pre-training distribution, not its size: sizes of one
  distribution share one logit line, different distributions do not (ANCOVA line-equality test);
- :func:`claim_c12` -- fine-tuning CLIP on ImageNet erodes its ER.

Each returns a :class:`~cliprobust.sections._base.Claim` whose headline protocol is read from the
run (``baseline``, ``x_axis``, ``dedup``, ``objectnet``, ``model_set``, ``ft_pairing`` options;
defaults are the module constants) and whose variants are the other defensible protocols.
Newly testable here: :func:`matched_accuracy` (Fang et al.'s side-by-side comparison of an
ImageNet model and a CLIP model at the same ImageNet top-1) and :func:`evaluation_agreement`
(two published evaluations of the same OpenAI weights: a measured floor of evaluation noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..metrics import robustness, stats
from ._base import Claim, Run, Variant, judge, not_testable
from .er_tables import (  # noqa: F401  (re-exported: the section's public tables)
    ACC_COLUMNS, BASELINE, BASELINE_MORE_DATA, BASELINE_TESTBED, BASELINE_TIMM, BASELINES, DEDUP_PLAIN,
    DEDUP_TWINS, DEDUPS, ER_FRAME_COLUMNS, ER_SHIFTS, FT_PAIRING_336, FT_PAIRING_RULES, FT_SHIFTS,
    ID_TEST_SET, MEAN_OF_SHIFT_ER, MEAN_SHIFT, MEAN_SHIFT_4, META_COLUMNS, MIN_MODELS_PER_SOURCE,
    MODEL_SET_ALL, MODEL_SET_ALL_RAW, MODEL_SET_TESTBED, MODEL_SET_ZOO, MODEL_SETS, NEAR_CHANCE,
    OBJECTNET_DROP, OBJECTNET_KEEP, PAIRING_224, PAIRING_336, PAIRINGS, SCALING_SIZE_ORDER, SHIFT_ID,
    SHIFT_ID_SUBSET, SHIFTS, X_AXES, X_FULL, X_SUBSET, Protocol, activation_twins, baseline_comparison,
    baseline_models, clip_members, data_source_summary, data_study_set, er_draws, er_frame, finetune_pairs,
    group_interval, group_summary, image_text_family, model_table, per_model_table, source_lines,
    source_spread, timm_in1k_rule, zeroshot_counterpart,
)
from .er_tables import _er_frame

#: Claim C10's large-ER shifts (Fang et al.: large on R, Sketch, ObjectNet, A; small on V2).
C10_SHIFTS: tuple[str, ...] = ("imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")
SMALL_SHIFT = "imagenet-v2"

#: C11: the LAION scaling-laws sources -- one distribution (LAION-5B subsets) at three sizes.
C11_SIZES: tuple[str, ...] = ("LAION-80M", "LAION-400M", "LAION-2B")
#: C11: different pre-training distributions of the open_clip table (sizes of one distribution
#: pooled, as the claim says size does not matter). A family enters with >= MIN_LINE_MODELS models.
DISTRIBUTION_FAMILIES: dict[str, tuple[str, ...]] = {
    "LAION": ("LAION-400M", "LAION-2B", "LAION-5B"), "WIT": ("WIT-400M",), "DataComp": ("DataComp-1B",),
    "MetaCLIP": ("MetaCLIP-400M", "MetaCLIP-2.5B"), "DFN": ("DFN-2B", "DFN-5B"),
}
#: Fewest models for a group's own line in a line-equality test (a line with >= 1 residual df).
MIN_LINE_MODELS = 3
#: Significance level of the line-equality F tests (two tests, opposite directions: no correction).
ALPHA = 0.05


def _protocol_and_set(run: Run) -> tuple[Protocol, str]:
    return Protocol.from_run(run), run.option("model_set", MODEL_SET_ZOO)


def _fmt(iv: stats.Interval | tuple[float, float, float], scale: float = 1.0, digits: int = 3) -> str:
    v, lo, hi = iv.as_tuple() if isinstance(iv, stats.Interval) else iv
    return f"{scale * v:+.{digits}f} [{scale * lo:+.{digits}f}, {scale * hi:+.{digits}f}]"


def _worst_leave_one_out(items: Sequence[str], evaluate: Callable[[Sequence[str]], "_Outcome"]) -> "_Outcome":
    """The outcome with the smallest statistic over leaving each item out (holds iff all hold)."""
    outs = [evaluate([m for m in items if m != left]) for left in items]
    outs = [o for o in outs if o.holds is not None]
    if not outs:
        return _Outcome(None, float("nan"), float("nan"), float("nan"), 0, note="not computable")
    worst = min(outs, key=lambda o: o.value)
    return _Outcome(all(o.holds for o in outs), worst.value, worst.low, worst.high, worst.n, note=worst.note)


@dataclass(frozen=True)
class _Outcome:
    """A rule's outcome under one protocol: holds (None = not computable), statistic, interval, n."""

    holds: bool | None
    value: float
    low: float
    high: float
    n: int
    note: str = ""
    detail: dict | None = None

    def variant(self, name: str, description: str, headline: bool = False) -> Variant:
        return Variant(name, description, self.value, self.low, self.high, self.holds, headline, self.n, self.note)

    def as_interval(self) -> stats.Interval:
        return stats.Interval(self.value, self.low, self.high)


# --------------------------------------------------------------------------- C10

@lru_cache(maxsize=64)
def _shift_context(protocol: Protocol, shift: str, image_noise: bool
                   ) -> tuple[pd.Series, pd.DataFrame, stats.Interval]:
    """Point ER per model, ER draws, and the baseline group's interval on one shift."""
    frame = _er_frame(protocol)
    rows = frame[frame["shift"] == shift]
    point = rows.set_index("model")["er"]
    draws = er_draws(protocol, shift, image_noise)
    return point, draws, group_interval(draws, rows.loc[rows["in_baseline"], "model"], point)


def c10_holds(clip: dict[str, stats.Interval], base: dict[str, stats.Interval]) -> bool:
    """C10 rule on group-mean ER intervals per shift (``clip``, ``base``; :data:`SMALL_SHIFT` plus
    the large shifts present): every large shift's CLIP interval lies above 0 and its mean above
    the baseline group's interval, and the V2 mean is below every large shift's mean."""
    large = [s for s in clip if s != SMALL_SHIFT]
    large_ok = all(clip[s].low > 0 and clip[s].value > base[s].high for s in large)
    return bool(large) and large_ok and all(clip[SMALL_SHIFT].value < clip[s].value for s in large)


def c11_holds(same: stats.LineTest, different: stats.LineTest, alpha: float = ALPHA) -> bool:
    """C11 rule: sizes of one distribution share one line (p >= alpha), different distributions
    do not (p < alpha)."""
    return bool(same.p >= alpha and different.p < alpha)


def _c10(protocol: Protocol, members: Sequence[str], image_noise: bool = True) -> _Outcome:
    """C10 rule: on each large shift the CLIP group-mean ER interval lies above 0 and its mean above
    the baseline group's interval, and the V2 mean ER is below every large shift's. Statistic: the
    smallest large-shift mean ER, with that shift's interval."""
    large = [s for s in C10_SHIFTS if s in protocol.shifts]
    clip, base = {}, {}
    for shift in [*large, SMALL_SHIFT]:
        point, draws, base[shift] = _shift_context(protocol, shift, image_noise)
        m = [x for x in members if x in point.index]
        if not m:
            return _Outcome(None, float("nan"), float("nan"), float("nan"), 0,
                            note=f"no model of the set has {shift} under this protocol")
        clip[shift] = group_interval(draws, m, point)
    worst = min(large, key=lambda s: clip[s].value)
    note = f"smallest on {worst}; V2 {clip[SMALL_SHIFT].value:+.3f}; shifts {', '.join(large)}"
    return _Outcome(c10_holds(clip, base), clip[worst].value, clip[worst].low, clip[worst].high,
                    len(members), note, {"clip": clip, "base": base})


_SHORT = {"imagenet-r": "R", "imagenet-sketch": "Sketch", "objectnet": "ObjectNet", "imagenet-a": "A"}


def _c10_statistic(protocol: Protocol) -> str:
    return "smallest CLIP group-mean ER over " + "/".join(_SHORT[s] for s in C10_SHIFTS if s in protocol.shifts)


def claim_c10(run: Run = Run()) -> Claim:
    """C10: zero-shot CLIP has large positive ER on R, Sketch, ObjectNet, A and small ER on V2.

    Headline: the run's protocol (default testbed STANDARD baseline, full-ImageNet x-axis, the
    zoo's CLIP set). Intervals cover the baseline line (baseline models resampled), the CLIP set
    (members resampled) and the binomial image-sampling error of every accuracy. Variants: the
    other model sets, baselines, the class-subset x-axis, the de-duplication rule, ObjectNet
    dropped, each pre-training source left out, and the worst single model left out.
    """
    protocol, model_set = _protocol_and_set(run)
    frame = _er_frame(protocol)
    members = clip_members(frame, model_set)
    head = _c10(protocol, members)
    if head.holds is None:
        return not_testable("C10", _c10_statistic(protocol),
                            f"shift and ImageNet accuracies of the {model_set} CLIP rows under this protocol",
                            head.note)
    variants = [head.variant(f"model_set={model_set}", "headline protocol", headline=True)]
    for ms in MODEL_SETS:
        if ms != model_set:
            variants.append(_c10(protocol, clip_members(frame, ms)).variant(
                f"model_set={ms}", _MODEL_SET_TEXT[ms]))
    for b in BASELINES:
        if b != protocol.baseline:
            p = protocol.but(baseline=b)
            variants.append(_c10(p, clip_members(_er_frame(p), model_set)).variant(
                f"baseline={b}", _BASELINE_TEXT[b]))
    if protocol.x_axis != X_SUBSET:
        p = protocol.but(x_axis=X_SUBSET)
        variants.append(_c10(p, clip_members(_er_frame(p), MODEL_SET_TESTBED)).variant(
            f"x_axis={X_SUBSET}", "class-subset ImageNet accuracy on R/A/ObjectNet: only the testbed's 2 "
            "CLIP rows have it (open_clip publishes none)"))
    for d in DEDUPS:
        if d != protocol.dedup:
            p = protocol.but(dedup=d)
            variants.append(_c10(p, clip_members(_er_frame(p), model_set)).variant(
                f"dedup={d}", "numbers of the 5 QuickGELU-trained weight sets from their plain rows"))
    if protocol.objectnet != OBJECTNET_DROP and protocol.baseline != BASELINE_TIMM:
        p = protocol.but(objectnet=OBJECTNET_DROP)
        variants.append(_c10(p, members).variant(
            "objectnet=drop", "ObjectNet left out (its CLIP and baseline rows use different protocols)"))
    sources = frame.drop_duplicates("model").set_index("model").loc[members, "pretrain_data"]
    for src, n in sources.value_counts().items():
        if n >= 2:
            keep = sources.index[sources != src].tolist()
            variants.append(_c10(protocol, keep).variant(f"drop-source={src}", f"the {n} {src} models left out"))
    if len(members) > 2:
        variants.append(_worst_leave_one_out(members, lambda m: _c10(protocol, m)).variant(
            "drop-one-model", "each model left out in turn (worst case shown)"))
    return Claim("C10", judge(bool(head.holds), variants), _c10_statistic(protocol),
                 head.value, head.low, head.high, _c10_evidence(protocol, head, variants), tuple(variants))


_MODEL_SET_TEXT = {
    MODEL_SET_ZOO: "the zoo's zero-shot CLIP rule (CLIP architecture and loss, the paper's data, >= 1B samples)",
    MODEL_SET_ALL: f"every open_clip row with ImageNet top-1 >= {NEAR_CHANCE:.0%} (SigLIP, CoCa, EVA, MetaCLIP ...)",
    MODEL_SET_ALL_RAW: "every open_clip row, near-chance rows included",
    MODEL_SET_TESTBED: "the testbed's own evaluation of OpenAI RN50 and ViT-B/32 (the baseline's pipeline, 2 models)",
}
_BASELINE_TEXT = {
    BASELINE_TESTBED: "imagenet-testbed STANDARD models (Taori et al. 2020)",
    BASELINE_MORE_DATA: "testbed STANDARD + MORE_DATA classifiers",
    BASELINE_TIMM: "timm ImageNet-1k supervised models (4 shifts, no ObjectNet)",
}


def _breaking(variants: Sequence[Variant]) -> str:
    """Evidence tail: the variants that break a holding headline, or those under which a failing
    headline's rule would hold."""
    head = next(v for v in variants if v.headline)
    if head.holds:
        names = [v.name for v in variants if v.holds is False and not v.headline]
        return "; breaks under " + ", ".join(names) if names else "; holds under every computed variant"
    names = [v.name for v in variants if v.holds is True and not v.headline]
    return "; the rule holds only under " + ", ".join(names) if names else "; fails under every computed variant"


def _c10_evidence(protocol: Protocol, head: _Outcome, variants: Sequence[Variant]) -> str:
    clip, base = head.detail["clip"], head.detail["base"]
    per_shift = ", ".join(f"{s} {_fmt(iv)}" for s, iv in clip.items())
    base_max = max(abs(iv.high) for iv in base.values())
    objectnet = ("; ObjectNet: CLIP rows use a 113-name zero-shot head without the border crop, the baseline "
                 "the testbed's mapped logits with the crop (variants objectnet=drop and model_set=testbed-clip "
                 "remove the mismatch)" if "objectnet" in clip else "")
    return (f"{head.n} zero-shot CLIP models vs the {protocol.baseline} line ({protocol.x_axis} x-axis): mean ER "
            f"{per_shift}; baseline group within ±{base_max:.3f}. Intervals: 95 % percentile, baseline models and "
            f"CLIP models resampled, every accuracy redrawn with its binomial image-sampling error"
            f"{objectnet}{_breaking(variants)}")


# --------------------------------------------------------------------------- C11

def _logit_xy(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return robustness.LOGIT(rows["id_acc"].to_numpy(float)), robustness.LOGIT(rows["ood_acc"].to_numpy(float))


def _line_test(rows: pd.DataFrame, groups: pd.Series) -> stats.LineTest | None:
    """ANCOVA line equality of ``rows`` by ``groups`` in logit space (None with < 2 groups of
    >= :data:`MIN_LINE_MODELS`)."""
    counts = groups.value_counts()
    keep = groups.isin(counts.index[counts >= MIN_LINE_MODELS]).to_numpy()
    if (counts >= MIN_LINE_MODELS).sum() < 2:
        return None
    x, y = _logit_xy(rows[keep])
    return stats.line_equality(x, y, groups[keep].to_numpy())


def _gap_draws(rows: pd.DataFrame, groups: np.ndarray, x0: float) -> tuple[float, np.ndarray]:
    """Largest difference between the groups' own logit lines at ImageNet accuracy ``x0``
    (accuracy units), and its draws from resampling models within each group (``strata``)."""
    x, y = _logit_xy(rows)
    t0 = float(robustness.LOGIT(x0))
    names = np.unique(groups)
    idx = stats.resample_indices(len(x), strata=groups)
    point, draws = [], []
    for g in names:
        cols = np.flatnonzero(groups == g)
        slope, icpt = np.polyfit(x[cols], y[cols], 1)
        point.append(robustness.LOGIT.inverse(slope * t0 + icpt))
        s, i = robustness.ols_rows(x[idx[:, cols]], y[idx[:, cols]])
        draws.append(robustness.LOGIT.inverse(s * t0 + i))
    d = np.stack(draws, axis=1)
    return float(np.ptp(point)), np.nanmax(d, axis=1) - np.nanmin(d, axis=1)


def _gap(rows: pd.DataFrame, groups: np.ndarray, x0: float) -> stats.Interval:
    value, draws = _gap_draws(rows, groups, x0)
    low, high = stats.percentile_interval(draws)
    return stats.Interval(value, float(low), float(high))


def _c11_groups(frame: pd.DataFrame, shift: str, model_set: str, drop: Sequence[str] = ()
                ) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """(same-distribution rows, their size labels, different-distribution rows, their family labels)."""
    rows = frame[frame["shift"] == shift]
    same = rows[(rows["source"] == "scaling") & rows["pretrain_data"].isin(C11_SIZES)
                & ~rows["pretrain_data"].isin(drop)]
    if model_set == "data-study":
        diff = data_study_set(frame, shift)
        diff = diff[diff["source"] == "open_clip"]
    else:
        diff = rows[rows["model"].isin(clip_members(frame, model_set))]
    family = {d: f for f, ds in DISTRIBUTION_FAMILIES.items() for d in ds}
    fam = diff["pretrain_data"].map(family)
    keep = fam.notna() & ~fam.isin(drop)
    return same, same["pretrain_data"], diff[keep], fam[keep]


def _c11(frame: pd.DataFrame, shift: str, model_set: str, drop: Sequence[str] = ()) -> _Outcome:
    """C11 rule: LAION-80M/400M/2B share one logit line (F test p >= ALPHA) while different
    distributions do not (p < ALPHA). Statistic: the largest gap between the LAION-size lines at the
    median ImageNet accuracy of the tested models, in accuracy units, with a within-source bootstrap."""
    same, sizes, diff, fams = _c11_groups(frame, shift, model_set, drop)
    t_same, t_diff = _line_test(same, sizes), _line_test(diff, fams)
    if t_same is None or t_diff is None:
        return _Outcome(None, float("nan"), float("nan"), float("nan"), len(same) + len(diff),
                        note="fewer than 2 groups of >= 3 models")
    x0 = float(np.median(np.r_[same["id_acc"], diff["id_acc"]]))
    gap_same = _gap(same, sizes.to_numpy(), x0)
    counts = fams.value_counts()
    big = fams.isin(counts.index[counts >= MIN_LINE_MODELS]).to_numpy()
    gap_diff = _gap(diff[big], fams[big].to_numpy(), x0)
    note = (f"sizes F({t_same.df_num},{t_same.df_den})={t_same.f:.1f} p={t_same.p:.2g}; distributions "
            f"F({t_diff.df_num},{t_diff.df_den})={t_diff.f:.1f} p={t_diff.p:.2g} over "
            f"{', '.join(sorted(set(fams[big])))}; gap at {x0:.2f}: sizes {_fmt(gap_same, 100, 1)} pp, "
            f"distributions {_fmt(gap_diff, 100, 1)} pp")
    return _Outcome(c11_holds(t_same, t_diff), gap_same.value, gap_same.low, gap_same.high,
                    len(same) + len(diff), note,
                    {"same": t_same, "diff": t_diff, "gap_same": gap_same, "gap_diff": gap_diff, "x0": x0})


def _effect_size_rule(head: _Outcome) -> _Outcome:
    """Variant rule: the LAION-size lines differ less than the distributions' lines (gap intervals
    do not overlap), whatever the F tests say."""
    gs, gd = head.detail["gap_same"], head.detail["gap_diff"]
    return _Outcome(bool(gs.high < gd.low), gs.value, gs.low, gs.high, head.n,
                    note=f"distributions' gap {_fmt(gd, 100, 1)} pp")


def _sd_ratio_rule(frame: pd.DataFrame, head: _Outcome, drop: Sequence[str] = ()) -> _Outcome:
    """The former rule (a): pooled within-source SD of ER among the LAION scaling-laws checkpoints
    below the SD of open_clip source-mean ER (ratio < 1). A rule variant: the claim's statistic
    (``head``'s gap) is unchanged, the ratio is in the note."""
    sp = source_spread(frame, drop_sources=drop)
    ratio = sp["within_sd_scaling"] / sp["between_sd"]
    n = sp["n_models_scaling"] + sp["n_models_open_clip"]
    return _Outcome(bool(ratio < 1), head.value, head.low, head.high, n,
                    note=f"SD ratio {ratio:.2f} = within {sp['within_sd_scaling']:.4f} / between "
                         f"{sp['between_sd']:.4f} over {sp['n_sources_open_clip']} open_clip sources")


def _size_trend_rule(lines: pd.DataFrame, head: _Outcome) -> _Outcome:
    """Variant rule: no LAION source shows a size trend in ER (each Spearman rho interval includes 0);
    ``lines`` = :func:`source_lines` indexed by source, baseline row dropped. The claim's statistic
    (``head``'s gap) is unchanged, the correlations are in the note."""
    holds = bool(((lines["rho_size_er_low"] <= 0) & (lines["rho_size_er_high"] >= 0)).all())
    return _Outcome(holds, head.value, head.low, head.high, int(lines["n"].sum()),
                    note="rho(size, ER) " + ", ".join(f"{k} {r.rho_size_er:+.2f} [{r.rho_size_er_low:+.2f}, "
                                                      f"{r.rho_size_er_high:+.2f}]" for k, r in lines.iterrows()))


def claim_c11(run: Run = Run()) -> Claim:
    """C11: ER is set by the pre-training distribution, not by its size (Fang et al.'s argument).

    Headline rule (ANCOVA ``stats.line_equality`` in logit space, mean over the protocol's shifts):
    the LAION scaling-laws checkpoints of LAION-80M, -400M and -2B (one distribution, three sizes;
    same architectures and samples seen) lie on ONE line (p >= :data:`ALPHA`), while different
    distributions (:data:`DISTRIBUTION_FAMILIES` in the run's CLIP set, >= 3 models each) do not
    (p < ALPHA). Statistic: the largest gap between the LAION-size lines at a common ImageNet
    accuracy. Variants: each shift, each size or distribution left out, other model sets and
    de-duplication, and three other rules (gap sizes vs distributions, the former within- vs
    between-source SD ratio with and without YFCC-15M, no within-LAION size trend).
    """
    protocol, model_set = _protocol_and_set(run)
    frame = _er_frame(protocol)
    head = _c11(frame, MEAN_SHIFT, model_set)
    if head.holds is None:
        return not_testable("C11", "largest gap between the LAION-80M/400M/2B logit lines",
                            f">= 2 pre-training distributions with >= {MIN_LINE_MODELS} models in the {model_set} set",
                            head.note)
    variants = [head.variant(f"shift={MEAN_SHIFT}", "headline protocol", headline=True)]
    for shift in protocol.shifts:
        variants.append(_c11(frame, shift, model_set).variant(f"shift={shift}", f"the test on {shift} alone"))
    for d in C11_SIZES:
        variants.append(_c11(frame, MEAN_SHIFT, model_set, drop=(d,)).variant(
            f"drop-source={d}", f"{d} left out of the sizes' test"))
    present = set(_c11_groups(frame, MEAN_SHIFT, model_set)[3])
    for fam in DISTRIBUTION_FAMILIES:
        if fam in present:
            variants.append(_c11(frame, MEAN_SHIFT, model_set, drop=(fam,)).variant(
                f"drop-distribution={fam}", f"{fam} left out of the distributions' test"))
    other_sets = {MODEL_SET_ALL: f"every open_clip row >= {NEAR_CHANCE:.0%} top-1",
                  "data-study": "open_clip CLIP architectures, >= 1B samples, any source"}
    for ms, text in other_sets.items():
        if ms != model_set:
            variants.append(_c11(frame, MEAN_SHIFT, ms).variant(f"model_set={ms}", "distributions from " + text))
    if protocol.dedup == DEDUP_TWINS:
        variants.append(_c11(_er_frame(protocol.but(dedup=DEDUP_PLAIN)), MEAN_SHIFT, model_set).variant(
            f"dedup={DEDUP_PLAIN}", "numbers of the 5 QuickGELU-trained weight sets from their plain rows"))
    if head.detail:
        variants.append(_effect_size_rule(head).variant("rule=gap", "size gap interval below the distributions' gap"))
    variants.append(_sd_ratio_rule(frame, head).variant("rule=sd-ratio",
                                                  "former rule: within-LAION SD of ER < between-source SD"))
    variants.append(_sd_ratio_rule(frame, head, drop=("YFCC-15M",)).variant(
        "rule=sd-ratio,drop-source=YFCC-15M", "former rule without the two YFCC-15M ResNets"))
    lines = source_lines(frame).set_index("pretrain_data").drop(index="baseline")
    variants.append(_size_trend_rule(lines, head).variant("rule=no-size-trend",
                                                    "no within-LAION Spearman trend of ER with model size"))
    return Claim("C11", judge(bool(head.holds), variants),
                 "largest gap between the LAION-80M/400M/2B logit lines (accuracy, mean over shifts)",
                 head.value, head.low, head.high, _c11_evidence(lines, head, variants), tuple(variants))


def _c11_evidence(lines: pd.DataFrame, head: _Outcome, variants: Sequence[Variant]) -> str:
    if head.detail is None:
        return head.note
    trend = ", ".join(f"{k} {r.rho_size_er:+.2f} [{r.rho_size_er_low:+.2f}, {r.rho_size_er_high:+.2f}]"
                      for k, r in lines.iterrows())
    same = "share one line" if head.detail["same"].p >= ALPHA else "do NOT share one line"
    diff = "differ" if head.detail["diff"].p < ALPHA else "do not differ detectably"
    n_same = int(head.detail["same"].df_den + 2 * (head.detail["same"].df_num // 2 + 1))
    return (f"LAION-80M/400M/2B checkpoints (n={n_same}) {same}, "
            f"different distributions {diff}: {head.note}. Within each LAION source ER rises with model size "
            f"(Spearman rho {trend}; models move along a line steeper than the baseline's). Intervals: 95 % "
            f"percentile, models resampled within each source; line tests are exact F tests{_breaking(variants)}")


# --------------------------------------------------------------------------- C12

def cluster_draws_interval(values: np.ndarray, draws: np.ndarray, clusters: np.ndarray) -> stats.Interval:
    """Mean over clusters of the cluster-mean ``values``, with an interval whose draw b averages
    row b of ``draws`` (N_BOOT, n: e.g. line and image noise) within clusters and resamples the
    clusters (``stats.resample_indices``). With constant rows it equals ``stats.cluster_mean_interval``."""
    names, codes = np.unique(clusters, return_inverse=True)
    per = np.stack([draws[:, codes == k].mean(axis=1) for k in range(len(names))], axis=1)
    means = np.take_along_axis(per, stats.resample_indices(len(names)), axis=1).mean(axis=1)
    low, high = stats.percentile_interval(means)
    point = np.mean([values[codes == k].mean() for k in range(len(names))])
    return stats.Interval(float(point), float(low), float(high))


def c12_holds(delta: stats.Interval) -> bool:
    """C12 rule: the interval of the mean ΔER lies below 0."""
    return bool(delta.high < 0)


def _c12(protocol: Protocol, pairing: str = PAIRING_224, shift: str = MEAN_SHIFT_4,
         keep: Callable[[pd.DataFrame], pd.Series] | None = None, image_noise: bool = True) -> _Outcome:
    """C12 rule: the mean over zero-shot weight sets of ΔER = ER(fine-tuned) − ER(zero-shot) has an
    interval below 0. Intervals: weight sets resampled, each draw paired with one bootstrap line
    and one image-noise draw of every accuracy."""
    frame = _er_frame(protocol)
    if shift not in set(frame["shift"]):
        return _Outcome(None, float("nan"), float("nan"), float("nan"), 0, note=f"no {shift} under this protocol")
    pairs = finetune_pairs(frame, pairing)
    p = pairs[pairs["shift"] == shift]
    if keep is not None:
        p = p[keep(p)]
    sets = p["zs_model"].unique()
    if len(sets) < 2:
        return _Outcome(None, float("nan"), float("nan"), float("nan"), len(p),
                        note="fewer than 2 zero-shot weight sets pair under this protocol")
    draws = er_draws(protocol, shift, image_noise)
    delta = draws[p["ft_model"]].to_numpy() - draws[p["zs_model"]].to_numpy()
    iv = cluster_draws_interval(p["delta"].to_numpy(), delta, p["zs_model"].to_numpy())
    n_down = int((p["delta"] < 0).sum())
    return _Outcome(c12_holds(iv), iv.value, iv.low, iv.high, len(p),
                    note=f"{len(p)} fine-tunes of {len(sets)} weight sets, {n_down} lose ER",
                    detail={"pairs": p, "n_sets": len(sets), "n_down": n_down})


def claim_c12(run: Run = Run(), frame: pd.DataFrame | None = None) -> Claim:
    """C12: fine-tuning CLIP on ImageNet erodes its ER (4 shifts: timm publishes no ObjectNet).

    Headline: ΔER on :data:`MEAN_SHIFT_4` per zero-shot weight set (fine-tunes paired by
    :func:`zeroshot_counterpart`, the run's ``ft_pairing``), averaged over weight sets; holds when
    the interval lies below 0. ``not testable here`` with fewer than 2 paired weight sets (e.g. a
    ``frame`` without fine-tunes, for tests). Variants: the 336-px pairing, other baselines, each
    shift, each CLIP source left out, in1k-only or in12k→in1k fine-tunes, the worst weight set left out.
    """
    protocol, pairing = Protocol.from_run(run), run.option("ft_pairing", PAIRING_224)
    if frame is not None and not (frame["group"] == "clip-ft").any():
        return not_testable("C12", "mean ΔER (fine-tuned − zero-shot)", "published accuracies of CLIP models "
                            "fine-tuned on ImageNet and of their zero-shot weights (timm + open_clip tables)")
    head = _c12(protocol, pairing)
    if head.holds is None:
        return not_testable("C12", "mean ΔER (fine-tuned − zero-shot)", "fine-tunes of >= 2 zero-shot weight sets",
                            head.note)
    variants = [head.variant(f"ft_pairing={pairing}", "headline protocol", headline=True)]
    for pr in PAIRINGS:
        if pr != pairing:
            variants.append(_c12(protocol, pr).variant(
                f"ft_pairing={pr}", "vit_large_patch14_clip_336.openai_ft_in12k_in1k paired with ViT-L-14-336/openai"))
    for b in BASELINES:
        if b != protocol.baseline:
            variants.append(_c12(protocol.but(baseline=b), pairing).variant(f"baseline={b}", _BASELINE_TEXT[b]))
    for shift in FT_SHIFTS:
        variants.append(_c12(protocol, pairing, shift).variant(f"shift={shift}", f"ΔER on {shift} alone"))
    if protocol.x_axis != X_SUBSET:
        variants.append(_Outcome(None, float("nan"), float("nan"), float("nan"), 0,
                                 note="open_clip publishes no class-subset ImageNet accuracy for the zero-shot weights")
                        .variant(f"x_axis={X_SUBSET}", "class-subset ImageNet accuracy on R/A"))
    pairs = head.detail["pairs"]
    for src in sorted(pairs["pretrain_data"].unique()):
        variants.append(_c12(protocol, pairing, keep=lambda p, s=src: p["pretrain_data"] != s).variant(
            f"drop-source={src}", f"fine-tunes of {src} weights left out"))
    for ft in sorted(pairs["finetune_data"].dropna().unique()):
        variants.append(_c12(protocol, pairing, keep=lambda p, f=ft: p["finetune_data"] == f).variant(
            f"finetune={ft}", f"only fine-tunes on {ft}"))
    sets = list(pairs["zs_model"].unique())
    worst = _worst_leave_one_out(sets, lambda kept: _c12(protocol, pairing, keep=lambda p: p["zs_model"].isin(kept)))
    variants.append(worst.variant("drop-one-weight-set", "each zero-shot weight set left out in turn (worst shown)"))
    by_set = pairs.groupby("zs_model")[["er_zs", "er_ft"]].mean().mean()
    evidence = (f"{head.note} ({protocol.baseline} line, mean over V2/R/Sketch/A): ER {by_set['er_zs']:+.3f} "
                f"zero-shot -> {by_set['er_ft']:+.3f} fine-tuned, ΔER {_fmt(head.as_interval())}. Intervals: 95 % "
                f"percentile, weight sets resampled, baseline models resampled, binomial image-sampling error of "
                f"every accuracy; ObjectNet not testable (timm publishes none){_breaking(variants)}")
    return Claim("C12", judge(bool(head.holds), variants), "mean ΔER (fine-tuned − zero-shot), 4 shifts",
                 head.value, head.low, head.high, evidence, tuple(variants))


def claims(run: Run = Run()) -> tuple[Claim, Claim, Claim]:
    """C10, C11, C12 under the run's headline protocol."""
    return claim_c10(run), claim_c11(run), claim_c12(run)


# --------------------------------------------------------------------------- newly testable

#: Matched-accuracy pairs: a CLIP model and the baseline model closest in ImageNet top-1, kept when
#: within this many accuracy points (Fang et al. 2022 compare models at equal ImageNet accuracy).
MATCH_TOLERANCE = 0.01


def matched_accuracy(run: Run = Run(), tolerance: float = MATCH_TOLERANCE) -> pd.DataFrame:
    """Fang et al.'s matched-accuracy comparison: each CLIP model of the run's set with the baseline
    model nearest in ImageNet top-1 (within ``tolerance``), their accuracies side by side.

    Columns: ``clip_model``, ``imagenet_model``, ``pretrain_data``, ``imagenet_clip``,
    ``imagenet_base``, then per shift ``<shift>_clip``, ``<shift>_base``, ``<shift>_gap`` (clip − base).
    """
    protocol, model_set = _protocol_and_set(run)
    mt = model_table(protocol.dedup).set_index("model")
    clip = mt.loc[clip_members(_er_frame(protocol), model_set)]
    base = mt.loc[baseline_models(protocol.baseline, protocol.dedup)]
    rows = []
    for m, r in clip.iterrows():
        dist = (base[ID_TEST_SET] - r[ID_TEST_SET]).abs()
        b = dist.idxmin()
        if dist[b] > tolerance:
            continue
        row = {"clip_model": m, "imagenet_model": b, "pretrain_data": r["pretrain_data"],
               "imagenet_clip": r[ID_TEST_SET], "imagenet_base": base.loc[b, ID_TEST_SET]}
        for s in protocol.shifts:
            row |= {f"{s}_clip": r[s], f"{s}_base": base.loc[b, s], f"{s}_gap": r[s] - base.loc[b, s]}
        rows.append(row)
    return pd.DataFrame(rows)


def matched_gap_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean shift-accuracy gap (CLIP − matched ImageNet model) per shift over the matched pairs,
    with a percentile interval from resampling pairs (``stats.bootstrap``)."""
    rows = []
    for col in [c for c in table.columns if c.endswith("_gap")]:
        gap = table[col].dropna().to_numpy(float)
        iv = stats.bootstrap(np.mean, gap) if gap.size > 1 else stats.Interval(float(np.mean(gap)), np.nan, np.nan)
        rows.append({"shift": col.removesuffix("_gap"), "n_pairs": gap.size, "gap_mean": iv.value,
                     "ci_low": iv.low, "ci_high": iv.high})
    return pd.DataFrame(rows)


#: Pairs of rows that are two published evaluations of the same OpenAI CLIP weights.
SAME_WEIGHTS: tuple[tuple[str, str], ...] = (
    ("testbed:resnet50_clip_zeroshot", "open_clip:RN50/openai"),
    ("testbed:vit_b_32_clip_zeroshot", "open_clip:ViT-B-32/openai"),
    ("scaling:ViT-B-32/openai", "open_clip:ViT-B-32/openai"),
    ("scaling:ViT-B-16/openai", "open_clip:ViT-B-16/openai"),
    ("scaling:ViT-L-14/openai", "open_clip:ViT-L-14/openai"),
)


def evaluation_agreement(run: Run = Run()) -> pd.DataFrame:
    """Two published evaluations of the same weights, per test set: accuracies, their difference
    (pp), the binomial standard error of ONE evaluation (pp) and the ER difference under the run's
    protocol. Differences beyond sampling error are pipeline differences (prompts, crops, class
    heads; ObjectNet: 113-name head vs mapped logits with crop between testbed and open_clip)."""
    protocol = Protocol.from_run(run)
    mt = model_table(protocol.dedup).set_index("model")
    er = _er_frame(protocol).set_index(["model", "shift"])["er"]
    from .er_tables import _test_set_sizes

    sizes = _test_set_sizes()
    rows = []
    for a, b in SAME_WEIGHTS:
        for t in (ID_TEST_SET, *protocol.shifts):
            pa, pb = mt.loc[a, t], mt.loc[b, t]
            se = np.sqrt(pb * (1 - pb) / sizes[t])
            rows.append({"model_a": a, "model_b": b, "test_set": t, "acc_a": pa, "acc_b": pb,
                         "diff_pp": 100 * (pa - pb), "se_pp": 100 * se,
                         "er_diff_pp": 100 * (er.get((a, t), np.nan) - er.get((b, t), np.nan))})
    return pd.DataFrame(rows)
