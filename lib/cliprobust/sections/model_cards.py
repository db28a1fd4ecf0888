"""Section 09 -- model cards: one row per model that two or more published sources evaluate.

Each paper measures one robustness property on its own models. Joining the published tables on
the model gives, for the models they share, a card with every property side by side -- and asks
the question no paper answers: do these properties move together across models?

Properties (each from the section that already computes it; nothing is recomputed here):

- ``er:<shift>`` -- effective robustness per natural shift and on the mean shift accuracy
  (:func:`.effective_robustness.tables.er_frame`, testbed STANDARD baseline line in logit space by default; interval
  from the ER section's draws, :func:`.effective_robustness.draws.er_draws`: baseline models resampled and every
  accuracy redrawn from its binomial image-sampling distribution). Sources: open_clip / testbed / timm.
- ``factor_er:mean`` -- mean factor-level ER over the 10 ImageNet-X factors of Tu et al. §4.1
  (:func:`.visual_factors.lines.factor_er_frame`). Interval: mean of the per-factor interval ends, a
  conservative bound (the factors share images, so their errors are not independent; the mean of
  the bounds is wide enough under any correlation). Source: ImageNet-X (and model-vs-human's
  ImageNet-val decisions of CLIP ViT-B/16 aggregated on ImageNet-X's annotations).
- ``shape_bias`` -- model-vs-human cue-conflict shape bias (:func:`.shape_bias.trials.shape_bias_table`,
  CI from resampling trials).
- ``ood_auroc:cood`` -- COOD OOD AUROC with the softmax score averaged over its 11 severity levels
  (:func:`.ood_detection.cood.cood_summary`); the source gives no per-sample data, so no interval.
- ``ood_auroc:ninco`` -- NINCO AUROC on its fixed OOD classes (MSP; zero-shot CLIPs only have MCM in
  NINCO's table, which the ``note`` says). Interval: normal, from the ood-detection section's
  image-sampling SE of each AUROC (``metrics.ood.auroc_se``; NINCO publishes no per-image scores).
- ``confidence_gap`` -- COOD's mean ImageNet-val softmax confidence minus top-1 accuracy (an ID-only
  lower bound on calibration error, as in claim C7). Interval: the Wilson interval of the accuracy
  on the 50,000 val images; the mean confidence has no per-sample data, so its error is not in it.
- ``imagenet_top1`` -- ImageNet-val top-1 as each source reports it (Wilson interval), the check of
  the join: the same weights must score the same in every source.

The join rule (:func:`canonical_key`): two rows are one model when they share the canonical key
``"<architecture> | <pretraining>"``. Keys are assigned by explicit, per-source name rules, and only
where the sources name the same weights:

1. OpenAI CLIP, zero-shot (pretraining ``WIT-400M (OpenAI CLIP)``): open_clip ``<arch>/openai``;
   testbed and ImageNet-X ``resnet50_clip_zeroshot`` / ``vit_b_32_clip_zeroshot``; model-vs-human ``clip`` (its
   model zoo loads OpenAI ViT-B/16); COOD ``CLIP_<arch>``; NINCO ``clip-<arch>``.
2. OpenAI / LAION-2B CLIP fine-tuned on ImageNet (timm): timm ``vit_*_clip_<res>.<src>_ft_<ft>``
   and NINCO ``vit_*_<res>_<src>_<ft>`` (NINCO's ``in21k_in1k`` is timm's ``in12k_in1k`` tag: the
   12k set is a subset of ImageNet-21k, and timm ships no other such weights).
3. Supervised ImageNet-1k models with torchvision weights (pretraining ``ImageNet-1k
   (torchvision)``): the testbed and ImageNet-X names equal to a torchvision builder name
   (:data:`TORCHVISION_ARCHS`; both list the testbed's models under the same names), COOD's
   ``<name>_torchvision``, and model-vs-human's ``resnet50-sup`` (its ``resnet50`` twin loads
   torchvision's weights).
4. Other imagenet-testbed models: the testbed and ImageNet-X's ``imagenet_testbed`` group (which
   evaluates the testbed's models under the testbed's names) -- key ``<testbed name> | ImageNet-1k
   (imagenet-testbed weights)``, or ``more than ImageNet-1k`` for the testbed's MORE_DATA type. ImageNet-X's model-vs-human group (``imagenetx-mvh:*``) is not
   joined: its names (``clip``, ``resnet50``) do not say which weights it loaded.

Bare timm names without a pretrained tag (COOD, NINCO) are never joined to tagged timm rows: the
same bare name has pointed to different weights across timm versions. A card is kept when at least
:data:`MIN_SOURCES` distinct published sources contribute to it.

Correlations (:func:`property_correlations`): Spearman rank correlation of two properties across
the cards that have both, with a percentile interval from resampling models
(:func:`cliprobust.metrics.stats.correlation_interval`), within each model group and over all
cards; with fewer than :data:`MIN_N_CORRELATION` models no correlation is reported, and the row
says so. Beside it, the partial rank correlation given ImageNet top-1 (:func:`cliprobust.metrics.stats.partial_spearman`,
same resampling): how much of the co-movement survives once plain accuracy is held fixed (withheld
where top-1 ranks almost identically with one of the two, :data:`PARTIAL_MAX_CONTROL_RHO`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import combinations
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import published, style
from ..metrics import stats
from .effective_robustness.draws import er_draws
from .effective_robustness.options import MEAN_SHIFT, SHIFTS
from .effective_robustness.options import Options as EROptions
from .effective_robustness.tables import er_frame
from .ood_detection.cood import cood_summary
from .ood_detection.ninco import NINCO_BENCHMARK, ninco_table
from .shape_bias.trials import shape_bias_table
from .visual_factors.lines import factor_er_frame
from .visual_factors.tables import PAPER_FACTORS

#: A card needs this many distinct published sources (one source alone is that paper's table).
MIN_SOURCES: int = 2
#: Fewest models for a rank correlation with an interval: with n < 5 Spearman's rho takes so few
#: values that a bootstrap interval is meaningless (|rho| = 1 has p = 0.083 two-sided at n = 4).
MIN_N_CORRELATION: int = 5
#: ImageNet validation images (denominator of every published ImageNet top-1 here).
IMAGENET_VAL_N: int = 50_000
#: Largest ImageNet top-1 difference (fraction) allowed between two sources joined on one key; the
#: sources use different prompts (CLIP) or resize/crop code (torchvision), a few tenths of a point.
JOIN_TOP1_TOLERANCE: float = 0.015

#: Pretraining labels of the canonical key.
OPENAI_CLIP = "WIT-400M (OpenAI CLIP)"
TORCHVISION_IN1K = "ImageNet-1k (torchvision)"
TESTBED_WEIGHTS = "ImageNet-1k (imagenet-testbed weights)"
TESTBED_MORE_DATA = "more than ImageNet-1k (imagenet-testbed weights)"
#: Model groups of the cards (correlations are reported within each and over all).
GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA = "clip-zeroshot", "clip-ft", "imagenet", "imagenet-more-data"

#: torchvision's ImageNet-1k classification builders of the published era (torchvision <= 0.12),
#: the names under which torchvision weights appear in the testbed, ImageNet-X and COOD.
TORCHVISION_ARCHS: frozenset[str] = frozenset({
    "alexnet", "densenet121", "densenet161", "densenet169", "densenet201", "googlenet", "inception_v3",
    "mnasnet0_5", "mnasnet1_0", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "resnet18",
    "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1", "vgg11", "vgg11_bn",
    "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "wide_resnet50_2", "wide_resnet101_2",
})

#: The published sources a card can join (``timm`` rows are timm's own ImageNet results).
SOURCES: tuple[str, ...] = ("open_clip", "testbed", "timm", "imagenetx", "model-vs-human", "cood", "ninco")

#: The pseudo-group of correlations over every joined model.
GROUP_ALL = "all"
#: Properties of a card, in display order.
PROPERTIES: tuple[str, ...] = (
    "imagenet_top1", "er:imagenet-v2", "er:imagenet-r", "er:imagenet-sketch", "er:objectnet", "er:imagenet-a",
    "er:mean-shift", "factor_er:mean", "shape_bias", "ood_auroc:cood", "ood_auroc:ninco", "confidence_gap",
)
#: Properties compared pairwise across models (one per paper question; per-shift ERs are summarised
#: by the mean-shift ER). ImageNet top-1 is not a robustness property; it is included to show how much
#: of a co-movement plain accuracy could explain (OOD AUROC and the confidence gap track it). NINCO's
#: AUROC is left out: within a group it has <= 4 models, and across groups it mixes MCM (zero-shot)
#: with MSP (fine-tuned) scores.
CORRELATED: tuple[str, ...] = ("imagenet_top1", "er:mean-shift", "factor_er:mean", "shape_bias", "ood_auroc:cood",
                               "confidence_gap")

LONG_COLUMNS = ["key", "arch", "pretraining", "group", "property", "value", "low", "high", "source", "name",
                "interval", "note"]

_CLIP_ARCH = re.compile(r"(?:CLIP_|clip-)?(RN\d+(?:x\d+)?|ViT-([BLHg])[-~/]?(\d+)(?:[-@](\d+)(?:px)?)?)")
_CLIP_FT = re.compile(r"vit_(base|large)_patch(\d+)_(?:clip_)?(\d+)[._](openai|laion2b)_(?:ft_)?(in1k|in1[2]k_in1k|in21k_in1k)")


def clip_arch(raw: str) -> str | None:
    """Display architecture of an OpenAI CLIP tower from any source's spelling (``ViT-B-32``,
    ``ViT-B~32``, ``ViT-B16``, ``ViT-L-14-336``, ``ViT-L~14@336px``, ``RN50x4``), else None."""
    m = _CLIP_ARCH.fullmatch(raw)
    if m is None:
        return None
    if m.group(2) is None:
        return m.group(1)
    return f"ViT-{m.group(2)}/{m.group(3)}" + (f"@{m.group(4)}" if m.group(4) else "")


def _clip_ft_key(name: str) -> tuple[str, str] | None:
    m = _CLIP_FT.fullmatch(name)
    if m is None:
        return None
    size, patch, res, src, ft = m.groups()
    data = "WIT-400M" if src == "openai" else "LAION-2B"
    ft_label = "IN-1k" if ft == "in1k" else "IN-12k -> IN-1k"
    return f"ViT-{size[0].upper()}/{patch}@{res}", f"{data} CLIP, fine-tuned {ft_label} (timm)"


def canonical_key(source: str, name: str) -> tuple[str, str, str] | None:
    """``(architecture, pretraining, group)`` of a source's model name under the join rule of this
    module's docstring, or None when the name joins nothing."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known: {SOURCES}")
    zeroshot = {"open_clip": name[:-len("/openai")] if name.endswith("/openai") else None,
                "imagenetx": {**_TESTBED_CLIP, "mvh:clip": "ViT-B-16"}.get(name),
                "testbed": _TESTBED_CLIP.get(name),
                "model-vs-human": "ViT-B-16" if name == "clip" else None,
                "cood": name if name in published.COOD_CLIP_ZEROSHOT else None,
                "ninco": name if name in published.NINCO_CLIP_ZEROSHOT else None}.get(source)
    if zeroshot is not None and clip_arch(zeroshot):
        return clip_arch(zeroshot), OPENAI_CLIP, GROUP_CLIP
    if source in ("timm", "ninco") and _clip_ft_key(name):
        return (*_clip_ft_key(name), GROUP_CLIP_FT)
    torchvision = {"testbed": name, "imagenetx": name,
                   "cood": name[:-len("_torchvision")] if name.endswith("_torchvision") else None,
                   "model-vs-human": "resnet50" if name == "resnet50-sup" else None}.get(source)
    if torchvision in TORCHVISION_ARCHS:
        return torchvision, TORCHVISION_IN1K, GROUP_IMAGENET
    if source in ("testbed", "imagenetx") and name in _testbed_types():
        more = _testbed_types()[name] == "MORE_DATA"
        return name, TESTBED_MORE_DATA if more else TESTBED_WEIGHTS, GROUP_MORE_DATA if more else GROUP_IMAGENET
    return None


#: The testbed's (and ImageNet-X's) names of its two zero-shot OpenAI CLIP rows -> architecture.
_TESTBED_CLIP: dict[str, str] = {"resnet50_clip_zeroshot": "RN50", "vit_b_32_clip_zeroshot": "ViT-B-32"}


@lru_cache(maxsize=1)
def _testbed_types() -> dict[str, str]:
    """imagenet-testbed model name -> its type (STANDARD, MORE_DATA, ...), CLIP rows left out."""
    t = published.testbed_model_types()
    return {m: ty for m, ty in zip(t["model"], t["type"]) if m not in _TESTBED_CLIP}


def _keyed(rows: pd.DataFrame, source: pd.Series | str) -> pd.DataFrame:
    """Rows with ``source``/``name`` columns, keyed; rows that join nothing are dropped."""
    rows = rows.assign(source=source)
    keys = [canonical_key(s, n) for s, n in zip(rows["source"], rows["name"])]
    rows = rows.assign(arch=[k[0] if k else None for k in keys], pretraining=[k[1] if k else None for k in keys],
                       group=[k[2] if k else None for k in keys])
    rows = rows[rows["arch"].notna()].copy()
    rows["key"] = rows["arch"] + " | " + rows["pretraining"]
    for col in ("low", "high"):
        if col not in rows:
            rows[col] = np.nan
    rows["note"] = rows["note"] if "note" in rows else ""
    return rows[LONG_COLUMNS].reset_index(drop=True)


def _strip_prefix(models: pd.Series) -> pd.Series:
    return models.str.split(":", n=1).str[1]


# --------------------------------------------------------------------------- one reader per property


def er_rows(frame: pd.DataFrame | None = None, baseline: str | None = None) -> pd.DataFrame:
    """ER per shift and on the mean shift accuracy, plus ImageNet top-1, from the ER section's
    tidy frame (``baseline``: the ER section's baseline set, default testbed STANDARD). open_clip
    rows stand for their weights (the LAION scaling-law table repeats three OpenAI rows)."""
    protocol = EROptions(baseline=baseline) if baseline else EROptions()
    f = er_frame(protocol) if frame is None else frame
    f = f[f["source"].isin(["open_clip", "testbed", "timm"]) & f["shift"].isin([*SHIFTS, MEAN_SHIFT])]
    rows = pd.DataFrame({"name": _strip_prefix(f["model"]), "source": f["source"],
                         "property": "er:" + f["shift"], "value": f["er"], "low": f["ci_low"], "high": f["ci_high"],
                         "interval": "resampling baseline models (the line)"})
    if frame is None:  # the ER section's draws add every accuracy's binomial image-sampling error
        rows = _with_image_noise(rows, f, protocol)
    top = f.drop_duplicates("model")
    lo, hi = stats.wilson_interval(np.round(top["id_acc"].to_numpy() * IMAGENET_VAL_N), IMAGENET_VAL_N)
    acc = pd.DataFrame({"name": _strip_prefix(top["model"]), "source": top["source"], "property": "imagenet_top1",
                        "value": top["id_acc"], "low": lo, "high": hi, "interval": "Wilson, 50,000 val images"})
    both = pd.concat([rows, acc], ignore_index=True)
    return _keyed(both.drop(columns="source"), both["source"])


def _with_image_noise(rows: pd.DataFrame, f: pd.DataFrame, protocol: EROptions) -> pd.DataFrame:
    """Per-model ER intervals from the ER section's draws (:func:`.effective_robustness.draws.er_draws`: baseline
    models resampled and every accuracy redrawn from its binomial image-sampling distribution)."""
    rows = rows.copy()
    for shift in f["shift"].unique():
        draws = er_draws(protocol, shift)
        low, high = stats.percentile_interval(draws.to_numpy())
        bounds = pd.DataFrame({"low": low, "high": high}, index=draws.columns)
        hit = (f["shift"] == shift).to_numpy() & f["model"].isin(bounds.index).to_numpy()
        models = f.loc[hit, "model"]
        rows.loc[hit, "low"] = bounds.loc[models, "low"].to_numpy()
        rows.loc[hit, "high"] = bounds.loc[models, "high"].to_numpy()
        rows.loc[hit, "interval"] = "baseline models resampled + binomial image sampling of every accuracy"
    return rows


def factor_rows(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean factor-level ER over the 10 paper factors (ImageNet-X), from the visual-factors section."""
    f = factor_er_frame() if frame is None else frame
    f = f[f["factor"].isin(PAPER_FACTORS)]
    g = f.groupby("model").agg(value=("er", "mean"), low=("ci_low", "mean"), high=("ci_high", "mean"),
                               n=("factor", "nunique")).reset_index()
    g = g[g["n"] == len(PAPER_FACTORS)]
    rows = pd.DataFrame({"name": g["model"].str.removeprefix("imagenetx:"), "property": "factor_er:mean", "value": g["value"],
                         "low": g["low"], "high": g["high"],
                         "interval": "mean of per-factor bounds (resampling baseline models; conservative)",
                         "note": np.where(g["model"].str.startswith("mvh:"),
                                          "model-vs-human ImageNet-val decisions on ImageNet-X annotations", "")})
    return _keyed(rows, "imagenetx")


def shape_rows(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cue-conflict shape bias per model (model-vs-human), from the shape-bias section."""
    t = shape_bias_table() if table is None else table
    t = t[(t["level"] == "member") & (t["group"] != "human")]
    rows = pd.DataFrame({"name": t["name"], "property": "shape_bias", "value": t["shape_bias"],
                         "low": t["ci_low"], "high": t["ci_high"], "interval": "resampling trials"})
    return _keyed(rows, "model-vs-human")


def cood_rows(summary: pd.DataFrame | None = None, cood: pd.DataFrame | None = None) -> pd.DataFrame:
    """COOD OOD AUROC (softmax, mean over severities; ood-detection section) and the confidence gap
    (mean ImageNet-val softmax confidence − top-1, from the published COOD table)."""
    s = cood_summary() if summary is None else summary
    auroc = pd.DataFrame({"name": s["name"], "property": "ood_auroc:cood", "value": s["ood_auroc"],
                          "interval": "none (no per-sample data)", "note": "softmax, mean of 11 severities"})
    c = published.cood_results() if cood is None else cood
    c = c[(c["confidence"] == "softmax") & (c["severity"] == 0)].drop_duplicates("name")
    lo, hi = stats.wilson_interval(np.round(c["id_top1"].to_numpy() * IMAGENET_VAL_N), IMAGENET_VAL_N)
    gap = pd.DataFrame({"name": c["name"], "property": "confidence_gap", "value": c["id_avg_conf"] - c["id_top1"],
                        "low": c["id_avg_conf"].to_numpy() - hi, "high": c["id_avg_conf"].to_numpy() - lo,
                        "interval": "Wilson on the accuracy only (confidence: no per-sample data)"})
    top = pd.DataFrame({"name": c["name"], "property": "imagenet_top1", "value": c["id_top1"], "low": lo,
                        "high": hi, "interval": "Wilson, 50,000 val images"})
    return _keyed(pd.concat([auroc, gap, top], ignore_index=True), "cood")


#: NINCO score per group: MSP where the table has it; zero-shot CLIPs have only MCM / cosine there.
NINCO_SCORES: dict[str, str] = {GROUP_CLIP: "mcm-clip", GROUP_CLIP_FT: "MSP", GROUP_IMAGENET: "MSP",
                                GROUP_MORE_DATA: "MSP"}


def ninco_rows(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """NINCO AUROC on its fixed OOD classes (ood-detection section's table), score per :data:`NINCO_SCORES`."""
    t = ninco_table() if table is None else table
    t = t[t["benchmark"] == NINCO_BENCHMARK]
    half = sps.norm.ppf(0.5 + stats.CI_LEVEL / 2) * (t["se"] if "se" in t else np.nan)
    rows = _keyed(pd.DataFrame({"name": t["name"], "property": "ood_auroc:ninco", "value": t["auroc"],
                                "low": t["auroc"] - half, "high": t["auroc"] + half,
                                "interval": "normal, image-sampling SE of the OOD section (no per-sample data)",
                                "note": t["method"]}), "ninco")
    return rows[rows["note"] == rows["group"].map(NINCO_SCORES)].reset_index(drop=True)


# --------------------------------------------------------------------------- cards


def card_long(parts: Iterable[pd.DataFrame] | None = None, baseline: str | None = None) -> pd.DataFrame:
    """Every keyed measurement, one row per (key, property, source), restricted to keys that at
    least :data:`MIN_SOURCES` distinct sources evaluate (``baseline``: see :func:`er_rows`)."""
    if parts is None:
        parts = [er_rows(baseline=baseline), factor_rows(), shape_rows(), cood_rows(), ninco_rows()]
    long = pd.concat(list(parts), ignore_index=True)
    n_src = long.groupby("key")["source"].nunique()
    return long[long["key"].isin(n_src.index[n_src >= MIN_SOURCES])].sort_values(["group", "key"]).reset_index(
        drop=True)


def top1_agreement(long: pd.DataFrame, prop: str = "imagenet_top1") -> pd.DataFrame:
    """Per key with ``prop`` from >= 2 sources: the largest difference between sources and whether
    their intervals overlap (for ImageNet top-1 the join's check: one set of weights scores the same
    everywhere, up to protocol noise; for ER, two published evaluations of the same weights)."""
    g = long[long["property"] == prop].groupby("key")
    out = pd.DataFrame({"n_sources": g["value"].count(), "max_diff": g["value"].max() - g["value"].min(),
                        "intervals_overlap": g["low"].max() <= g["high"].min()})
    return out[out["n_sources"] >= 2].reset_index()


def cards(long: pd.DataFrame) -> pd.DataFrame:
    """Wide model cards: one row per key, one column per property as ``value`` (the headline
    source: ER from open_clip/testbed/timm, top-1 from the ER tables first), plus the sources."""
    order = {s: i for i, s in enumerate(SOURCES)}
    first = long.assign(_o=long["source"].map(order)).sort_values("_o").drop_duplicates(["key", "property"])
    wide = first.pivot(index="key", columns="property", values="value")
    wide = wide[[p for p in PROPERTIES if p in wide.columns]]
    meta = long.groupby("key").agg(arch=("arch", "first"), pretraining=("pretraining", "first"),
                                   group=("group", "first"),
                                   sources=("source", lambda s: ", ".join(sorted(set(s), key=order.get))))
    return meta.join(wide).sort_values(["group", "key"]).reset_index()


def card_intervals(long: pd.DataFrame) -> pd.DataFrame:
    """The card values with their intervals, tidy (one row per key and property, headline source)."""
    order = {s: i for i, s in enumerate(SOURCES)}
    first = long.assign(_o=long["source"].map(order)).sort_values("_o").drop_duplicates(["key", "property"])
    return first.drop(columns="_o").sort_values(["group", "key", "property"]).reset_index(drop=True)


# --------------------------------------------------------------------------- do the properties move together?

CORRELATION_COLUMNS = ["group", "x", "y", "n", "rho", "low", "high", "note", "partial_rho", "partial_low",
                       "partial_high"]
#: The control of the partial correlations: ImageNet accuracy, which OOD AUROC, the confidence gap
#: and (within CLIP) ER all track.
CONTROL: str = "imagenet_top1"


#: No partial correlation when the control's rank correlation with x or y reaches this: the
#: residual ranks are then a few ties' worth of noise (n = 9 CLIPs with rho(top-1, ER) = 0.98 leave
#: nothing to correlate, and the bootstrap interval degenerates).
PARTIAL_MAX_CONTROL_RHO: float = 0.95


def _partial(both: pd.DataFrame, x: str, y: str, min_n: int) -> tuple[float, float, float, str]:
    """Partial rho given :data:`CONTROL` with its bootstrap interval, or NaNs and the reason."""
    nan = (np.nan, np.nan, np.nan)
    if CONTROL in (x, y) or CONTROL not in both or len(both) < min_n:
        return (*nan, "")
    rz = [abs(sps.spearmanr(both[c], both[CONTROL]).statistic) for c in (x, y)]
    if max(rz) >= PARTIAL_MAX_CONTROL_RHO:
        return (*nan, f"; no partial: ImageNet top-1 ranks {max(rz):.2f} with {x if rz[0] >= rz[1] else y}")
    iv = stats.bootstrap(stats.partial_spearman, *(both[c].to_numpy() for c in (x, y, CONTROL)))
    return iv.value, iv.low, iv.high, ""


#: Groups of the correlations, each on its own, then all joined models together.
CORRELATION_GROUPS: tuple[str, ...] = (GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA, GROUP_ALL)


def property_correlations(wide: pd.DataFrame, properties: Iterable[str] = CORRELATED,
                          groups: Iterable[str] = CORRELATION_GROUPS, min_n: int = MIN_N_CORRELATION) -> pd.DataFrame:
    """Spearman rho of every pair of ``properties`` across the cards that have both, within each
    group and over all cards, with a 95 % interval from resampling models, and the partial rho given
    :data:`CONTROL`; pairs with n < ``min_n`` get no correlation and a note saying so."""
    props = [p for p in properties if p in wide.columns]
    rows = []
    for g in groups:
        sub = wide if g == GROUP_ALL else wide[wide["group"] == g]
        for x, y in combinations(props, 2):
            both = sub[[x, y]].dropna()
            n = len(both)
            if n < min_n:
                rows.append({"group": g, "x": x, "y": y, "n": n, "rho": np.nan, "low": np.nan, "high": np.nan,
                             "note": f"n = {n} < {min_n}: no correlation reported"})
                continue
            iv = stats.correlation_interval(both[x].to_numpy(), both[y].to_numpy(), method="spearman")
            triple = sub[list(dict.fromkeys([x, y, CONTROL]))].dropna() if CONTROL in sub else both
            p = _partial(triple, x, y, min_n)
            rows.append({"group": g, "x": x, "y": y, "n": n, "rho": iv.value, "low": iv.low, "high": iv.high,
                         "note": ("interval excludes 0" if iv.excludes_zero else "interval includes 0") + p[3],
                         "partial_rho": p[0], "partial_low": p[1], "partial_high": p[2]})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


# --------------------------------------------------------------------------- figures

#: Display names of the card properties (figures and printed tables).
PROPERTY_LABELS: dict[str, str] = {
    "imagenet_top1": "ImageNet top-1", "er:imagenet-v2": "ER ImageNet-V2", "er:imagenet-r": "ER ImageNet-R",
    "er:imagenet-sketch": "ER ImageNet-Sketch", "er:objectnet": "ER ObjectNet", "er:imagenet-a": "ER ImageNet-A",
    "er:mean-shift": "ER (mean of 5 shifts)", "factor_er:mean": "factor ER (ImageNet-X, mean of 10)",
    "shape_bias": "shape bias (cue conflict)", "ood_auroc:cood": "OOD AUROC (COOD)",
    "ood_auroc:ninco": "OOD AUROC (NINCO)", "confidence_gap": "confidence − accuracy (ImageNet val)",
}

def _group_look(group: str) -> tuple[str, str]:
    if group == GROUP_ALL:
        return "all joined models", "black"
    return style.group_label(group), style.group_color(group)


def plot_correlations(corr: pd.DataFrame) -> plt.Figure:
    """Forest plot of the reported rank correlations (n >= :data:`MIN_N_CORRELATION`): Spearman rho
    with its 95 % interval per property pair, one colour per model group."""
    shown = corr.dropna(subset=["rho"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8.5, 1.4 + 0.3 * max(len(shown), 1)), layout="constrained")
    for g, rows in shown.groupby("group", sort=False):
        label, colour = _group_look(g)
        ax.errorbar(rows["rho"], rows.index, xerr=[rows["rho"] - rows["low"], rows["high"] - rows["rho"]],
                    fmt="o", color=colour, capsize=2, label=label)
    ax.axvline(0, color="0.6", lw=0.8)
    ticks = [f"{PROPERTY_LABELS[r.x]} vs {PROPERTY_LABELS[r.y]} (n={r.n})" for r in shown.itertuples()]
    ax.set_yticks(range(len(shown)), ticks, fontsize=7)
    ax.set(xlim=(-1.05, 1.05), ylim=(len(shown) - 0.5, -0.5), xlabel="Spearman rank correlation (95 % CI)",
           ylabel="property pair (models with both)",
           title="Do robustness properties move together across models?")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def plot_pairs(intervals: pd.DataFrame, pairs: Iterable[tuple[str, str]] = (
        ("er:mean-shift", "ood_auroc:cood"), ("er:mean-shift", "factor_er:mean"))) -> plt.Figure:
    """Scatter of two card properties per panel, one point per model with its intervals, coloured
    by model group (the data behind the correlations)."""
    pairs = list(pairs)
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.2), layout="constrained", squeeze=False)
    for ax, (x, y) in zip(axes.ravel(), pairs):
        both = intervals[intervals["property"].isin([x, y])].pivot(index=["key", "group"], columns="property",
                                                                       values=["value", "low", "high"])
        both = both.dropna(subset=[("value", x), ("value", y)]).reset_index()
        for g, rows in both.groupby("group", sort=False):
            label, colour = _group_look(g)
            err = {}
            for axis, p in (("xerr", x), ("yerr", y)):
                lo, hi = rows[("value", p)] - rows[("low", p)], rows[("high", p)] - rows[("value", p)]
                err[axis] = None if lo.isna().all() else [lo.fillna(0).clip(lower=0), hi.fillna(0).clip(lower=0)]
            ax.errorbar(rows[("value", x)], rows[("value", y)], fmt="o", ms=4, color=colour, alpha=0.8,
                        elinewidth=0.6, label=f"{label} (n={len(rows)})", **err)
        ax.set(xlabel=PROPERTY_LABELS[x], ylabel=PROPERTY_LABELS[y],
               title=f"{PROPERTY_LABELS[y]} vs {PROPERTY_LABELS[x]}")
        ax.title.set_fontsize(10)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Model cards: one point per model joined across published sources", fontsize=11)
    return fig
