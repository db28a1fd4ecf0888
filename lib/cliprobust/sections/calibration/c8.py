"""Cache-based calibration rules: claim C8 (after temperature scaling) and C7 on CLIP ECE itself.

Both read :func:`.caches.cache_calibration_table` rows: per (model, test set, stage) top-label ECE
with T fitted on the ImageNet val split. A zero-shot CLIP on a test set is compared with the
ImageNet models within :data:`ACC_WINDOW` top-1 on that same set ("similar classification
accuracy", Tu et al. §6.1); the comparison's interval resamples those neighbour models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...metrics import stats
from ...verdicts import GREATER, NOT_WORSE, Estimate, Outcome, Rule, Spec, any_of
from .caches import CACHE_COLUMNS, FIT_SET

#: Groups of the paper whose cache rows the claims use (random-init ``smoke`` rows never count).
CLAIM_GROUPS: tuple[str, ...] = ("clip-zeroshot", "imagenet")
#: Fewest models per group (zero-shot CLIP, ImageNet) on ImageNet val for the cache-based rules.
MIN_MODELS: int = 5
#: "Similar accuracy" = ImageNet models within this absolute top-1 on the same test set, at least
#: :data:`MIN_NEIGHBOURS` of them for a (CLIP, test set) pair to count.
ACC_WINDOW: float = 0.05
MIN_NEIGHBOURS: int = 3
#: Fewest (CLIP, test set) pairs with enough neighbours for a cache rule to be judged.
MIN_PAIRS: int = 5
#: C8's margin: one point of temperature-scaled ECE (the same smallest difference that matters as
#: C7's, :data:`.c7.C7_MARGIN`: about the gain of deep ensembles over a deterministic ResNet-50).
C8_MARGIN: float = 0.01
#: C8 is directional: the neighbours' ECE minus the CLIP's (positive = CLIP better) above zero and
#: not wholly below the margin.
C8_RULE = Rule(GREATER, C8_MARGIN)
ALPHA: float = 0.05
#: What would make C8 testable.
C8_NEEDS = ("per-sample logits of >= 5 zero-shot CLIP and >= 5 ImageNet models on ImageNet val and its shifts "
            "(profile 'full'), to fit a temperature per model; no published table has CLIP logits or "
            "post-temperature-scaling ECE")


def claim_rows(table: pd.DataFrame | None, stage: str) -> pd.DataFrame:
    """Rows of the claim groups at ``stage`` (``uncalibrated`` or ``temperature_scaled``)."""
    if table is None or table.empty:
        return pd.DataFrame(columns=CACHE_COLUMNS)
    return table[table["group"].isin(CLAIM_GROUPS) & (table["stage"] == stage)]


def testable(rows: pd.DataFrame) -> bool:
    """At least :data:`MIN_MODELS` cached models of each claim group on ImageNet val."""
    on_id = rows[rows["test_set"] == FIT_SET].groupby("group")["model"].nunique()
    return all(on_id.get(g, 0) >= MIN_MODELS for g in CLAIM_GROUPS)


def pairs(rows: pd.DataFrame, window: float = ACC_WINDOW, n_boot: int = stats.N_BOOT, seed: int = stats.SEED
          ) -> tuple[pd.DataFrame, np.ndarray]:
    """Each (zero-shot CLIP, test set) with >= :data:`MIN_NEIGHBOURS` ImageNet models within
    ``window`` top-1: ``d = neighbour median ECE − CLIP ECE`` (positive: CLIP better), and (n_boot,
    pairs) draws of d with the neighbour models resampled."""
    base = rows[rows["group"] == "imagenet"]
    rng = np.random.default_rng(seed)
    out, draws = [], []
    for r in rows[rows["group"] == "clip-zeroshot"].itertuples():
        nb = base[(base["test_set"] == r.test_set) & ((base["accuracy"] - r.accuracy).abs() <= window)]
        if len(nb) < MIN_NEIGHBOURS:
            continue
        e = nb["ece"].to_numpy(float)
        med = float(np.median(e))
        draws.append(np.median(e[rng.integers(0, e.size, (n_boot, e.size))], axis=1) - r.ece)
        out.append({"model": r.model, "pretrain_data": r.pretrain_data, "test_set": r.test_set,
                    "accuracy": r.accuracy, "ece": r.ece, "n_neighbours": len(nb), "neighbour_median_ece": med,
                    "d": med - r.ece})
    cols = ["model", "pretrain_data", "test_set", "accuracy", "ece", "n_neighbours", "neighbour_median_ece", "d"]
    return pd.DataFrame(out, columns=cols), (np.stack(draws, axis=1) if draws else np.empty((n_boot, 0)))


def c7_cache_estimate(table: pd.DataFrame | None, margin: float, clips: str | None = None) -> Estimate:
    """C7 on CLIP ECE itself (uncalibrated; every cached test set): "some (CLIP, test set) pair is not
    better than its accuracy-matched ImageNet models" -- statistic ECE_CLIP − neighbour median,
    Bonferroni-adjusted intervals over the pairs, :func:`~cliprobust.verdicts.any_of` of the
    not-worse rule per pair. Here "contradicts" is reachable (every pair shown better by the margin).
    ``clips``: only CLIPs of that pre-training data (e.g. ``laion-80m``, the paper's §6.1 example)."""
    rows = claim_rows(table, "uncalibrated")
    if not testable(rows):
        return Estimate.missing(C8_NEEDS)
    if clips is not None:
        rows = rows[(rows["group"] != "clip-zeroshot") | (rows["pretrain_data"] == clips)]
    p, draws = pairs(rows)
    if len(p) < 1:
        return Estimate.missing(f"no cached {clips or 'zero-shot'} CLIP has >= {MIN_NEIGHBOURS} matched models")
    low, high = stats.percentile_interval(-draws, level=1 - ALPHA / len(p))
    rule = Rule(NOT_WORSE, margin)
    outcomes = [rule.outcome(lo, hi) for lo, hi in zip(low, high)]
    i = int(np.argmax(low))
    note = (f"{len(p)} (CLIP, test set) pairs; {sum(o is Outcome.SUPPORTS for o in outcomes)} not better, "
            f"{sum(o is Outcome.CONTRADICTS for o in outcomes)} better by >= {margin:g}; most favourable "
            f"{p['model'].iloc[i]} on {p['test_set'].iloc[i]}")
    return Estimate(float(-p["d"].iloc[i]), float(low[i]), float(high[i]), any_of(outcomes), len(p), note)


def c7_cache_specs(table: pd.DataFrame | None, margin: float) -> list[Spec]:
    """The cache-based C7 variants, when the caches hold enough models (else none)."""
    if not testable(claim_rows(table, "uncalibrated")):
        return []
    return [Spec("data=caches", "CLIP ECE itself from per-sample caches, every cached test set",
                 lambda: c7_cache_estimate(table, margin)),
            Spec("data=caches, clips=laion-80m", "the paper's §6.1 example: LAION-80M CLIPs only",
                 lambda: c7_cache_estimate(table, margin, "laion-80m"))]


def c8_estimate(table: pd.DataFrame | None, window: float = ACC_WINDOW, test_sets: tuple[str, ...] | None = None
                ) -> Estimate:
    """C8 after temperature scaling: mean over CLIP models of their mean d over test sets (d =
    neighbour median ECE − CLIP ECE), interval by resampling CLIP models (pairs of one model are not
    independent); :data:`C8_RULE`. ``test_sets``: restrict to these sets."""
    rows = claim_rows(table, "temperature_scaled")
    if not testable(rows):
        return Estimate.missing(C8_NEEDS)
    if test_sets is not None:
        rows = rows[rows["test_set"].isin(test_sets)]
    p, _ = pairs(rows, window)
    if len(p) < MIN_PAIRS:
        return Estimate.missing(f"only {len(p)} (CLIP, test set) pairs have >= {MIN_NEIGHBOURS} ImageNet models "
                                f"within {window} top-1")
    iv = stats.cluster_mean_interval(p["d"].to_numpy(), p["model"].to_numpy())
    share = float((p["d"] > 0).mean())
    return Estimate.judged(C8_RULE, iv.value, iv.low, iv.high, len(p),
                           f"{p['model'].nunique()} CLIPs, {len(p)} pairs, {share:.0%} better than their neighbours",
                           {"pairs": p})


#: C8 variants: (name, description, keyword changes of :func:`c8_estimate`).
C8_VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("window=0.02", "similar accuracy = within 0.02 top-1", {"window": 0.02}),
    ("window=0.10", "similar accuracy = within 0.10 top-1", {"window": 0.10}),
    ("test_sets=imagenet", "ImageNet val only (no shifts)", {"test_sets": (FIT_SET,)}),
)


def c8_specs(table: pd.DataFrame | None) -> tuple[Spec, list[Spec]]:
    """The headline and variant specs of C8 on the cache table."""
    head = Spec(f"headline: window={ACC_WINDOW:g}", "temperature-scaled ECE vs accuracy-matched ImageNet median",
                lambda: c8_estimate(table))
    return head, [Spec(n, d, lambda kw=kw: c8_estimate(table, **kw)) for n, d, kw in C8_VARIANTS]


def outside_groups(table: pd.DataFrame | None) -> str:
    """Cached models outside the claim groups (they never count), for the not-testable evidence."""
    if table is None or table.empty:
        return ""
    n = table.loc[~table["group"].isin(CLAIM_GROUPS)].groupby("group")["model"].nunique()
    return " Cached models outside the claim groups never count: " + ", ".join(f"{g} {k}" for g, k in n.items()) \
        if len(n) else ""
