"""C5 (Tu et al. §5): "For CLIP models from the same training source, their in-distribution accuracy
strongly correlates with OOD detection performance" -- judged on COOD's CLIP source.

- **Headline** (the paper's reading: a claim about CLIP sources): the 9 zero-shot OpenAI CLIPs of
  COOD (one training source, WIT-400M), Spearman rho of ImageNet top-1 vs OOD AUROC (MSP, mean over
  COOD's 11 severity levels), with a Fisher-z interval over models (Bonett-Wright SE), judged by
  :data:`C5_RULE` (rho > 0 supports unless "strong" is excluded; an interval wholly below
  :data:`C5_MARGIN` contradicts).
- **Variants** (one option changed each, a table as data): score, severity level, Pearson, the
  bootstrap interval, the CLIP linear probes as a second CLIP source, a looser / stricter "strong",
  leave-one-model-out.
- **Extension** (not the claim, not counted in the tier): every ImageNet-model training source and
  NINCO's fixed-OOD ImageNet classifiers under the same rule, each with the rule's operating
  characteristics at its own n (:func:`source_table`): a six-model source cannot show a strong
  correlation, and says so.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd

from ... import published
from ...metrics import stats
from ...verdicts import (GREATER, Claim, Estimate, OperatingCharacteristics, Rule, Spec, all_of, evaluate,
                         leave_one_out, not_testable, option_specs, simulated_oc)
from .cood import cood_summary
from .ninco import NINCO_BENCHMARK, ninco_table
from .sources import NOT_ONE_SOURCE

if TYPE_CHECKING:
    from . import Options

#: The paper's words (Tu et al. NeurIPS 2023, §5).
C5_STATEMENT = ("For CLIP models from the same training source, their in-distribution accuracy strongly "
                "correlates with OOD detection performance")
#: "Strongly": a rank correlation of at least 0.5, Cohen's (1988) conventional "large" correlation.
C5_MARGIN: float = 0.5
#: Supports when the interval excludes 0 (positive) and does not lie wholly below the margin;
#: contradicts when it lies wholly below the margin (a strong correlation excluded).
C5_RULE = Rule(GREATER, C5_MARGIN)
#: The headline source: COOD's zero-shot OpenAI CLIPs (WIT-400M), its one source of zero-shot CLIPs.
C5_SOURCES: tuple[str, ...] = ("clip-zeroshot",)
#: The CLIP sources of COOD (the linear probes are WIT CLIP features with an ImageNet-1k head).
CLIP_SOURCES: tuple[str, ...] = ("clip-zeroshot", "clip-lp")
#: Fewest models of a source that the extension table judges (fewer: no interval worth the name).
C5_MIN_MODELS: int = 5
#: A source can decide the claim when its rule supports at least this often at rho = margin and
#: contradicts at least this often at rho = 0 (simulated at its n): the conventional 80 % power (Cohen 1988).
C5_DECISIVE: float = 0.8
#: Option value -> summary column of the y axis (COOD's severity levels).
OOD_AUROC_COLUMNS: dict[str, str] = {"mean": "ood_auroc", "easiest": "ood_auroc_easiest",
                                     "hardest": "ood_auroc_hardest"}
CORRELATIONS: tuple[str, ...] = ("spearman", "pearson")
#: Interval procedures: Fisher z (Bonett & Wright 2000 SE for Spearman) or percentile bootstrap over models.
INTERVALS: tuple[str, ...] = ("fisher", "bootstrap")

# --------------------------------------------------------------------------- one source, one estimate


def correlation_estimate(x: np.ndarray, y: np.ndarray, opts: Options, note: str = "") -> Estimate:
    """The rule's estimate for one set of models: correlation of ``x`` (top-1) with ``y`` (AUROC),
    its interval by ``opts.interval``, judged against ``opts.c5_margin``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 4:
        return Estimate.missing(f"{x.size} models: no correlation interval", n=int(x.size))
    if opts.interval == "bootstrap":
        iv = stats.correlation_interval(x, y, method=opts.correlation, n_boot=opts.n_boot)
        value, low, high = iv.as_tuple()
    else:
        value = float(stats.rowwise_correlation(x[None], y[None], opts.correlation)[0])
        low, high = (float(v) for v in stats.fisher_interval(value, x.size, opts.correlation))
    return Estimate.judged(Rule(GREATER, opts.c5_margin), value, low, high, n=int(x.size), note=note)


def _source_rows(summary: pd.DataFrame, source: str) -> pd.DataFrame:
    return summary[summary["training_source"] == source]


def sources_estimate(summary: pd.DataFrame, sources: Sequence[str], opts: Options) -> Estimate:
    """Every source in ``sources`` must show it (:func:`~cliprobust.verdicts.all_of`); the statistic
    is the weakest source's correlation with its interval."""
    col = OOD_AUROC_COLUMNS[opts.ood_auroc]
    parts = {s: correlation_estimate(r["id_top1"], r[col], opts) for s in sources
             if not (r := _source_rows(summary, s)).empty}
    if not parts:
        return Estimate.missing(f"no COOD models of {', '.join(sources)} with score {opts.score}")
    text = "; ".join(f"{s} n={e.n} {e.value:.3f} [{e.low:.3f}, {e.high:.3f}]" for s, e in parts.items())
    done = [e for e in parts.values() if e.outcome is not None]
    if not done:
        return Estimate.missing(text, n=sum(e.n or 0 for e in parts.values()))
    worst = min(done, key=lambda e: e.value)
    return Estimate(worst.value, worst.low, worst.high, all_of(e.outcome for e in done),
                    sum(e.n or 0 for e in parts.values()), text)


# --------------------------------------------------------------------------- operating characteristics


def _gaussian_pairs(effect: float, method: str, rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, ...]:
    """``k`` samples of ``n`` bivariate-normal pairs whose population correlation (Spearman: via
    rho_s = 6/pi asin(r/2), a Gaussian copula) equals ``effect``."""
    r = 2 * np.sin(np.pi * effect / 6) if method == "spearman" else effect
    z = rng.standard_normal((k, n, 2))
    return z[..., 0], r * z[..., 0] + np.sqrt(1 - r ** 2) * z[..., 1]


def _bootstrap_bounds(x: np.ndarray, y: np.ndarray, method: str, n_boot: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap bounds of each row's correlation (resampling pairs), in chunks of rows."""
    lows, highs = [], []
    for s in range(0, len(x), 100):
        xs, ys = x[s:s + 100], y[s:s + 100]
        idx = rng.integers(0, xs.shape[1], (len(xs), n_boot, xs.shape[1]))
        rows = np.arange(len(xs))[:, None, None]
        draws = stats.rowwise_correlation(xs[rows, idx].reshape(-1, xs.shape[1]),
                                          ys[rows, idx].reshape(-1, xs.shape[1]), method).reshape(len(xs), n_boot)
        lo, hi = stats.percentile_interval(draws, axis=1)
        lows.append(lo)
        highs.append(hi)
    return np.concatenate(lows), np.concatenate(highs)


@functools.lru_cache(maxsize=64)
def correlation_oc(n: int, method: str = "spearman", interval: str = "fisher", margin: float = C5_MARGIN,
                   n_boot: int = stats.N_BOOT) -> OperatingCharacteristics:
    """How often the C5 rule says "supports" on ``n`` models when the true correlation is the margin
    and when it is 0 (and "contradicts" at 0): simulated pairs, the rule's own interval procedure."""
    rule = Rule(GREATER, margin)

    def simulate(effect: float, rng: np.random.Generator, k: int) -> np.ndarray:
        x, y = _gaussian_pairs(effect, method, rng, k, n)
        est = stats.rowwise_correlation(x, y, method)
        if interval == "bootstrap":
            low, high = _bootstrap_bounds(x, y, method, n_boot, rng)
        else:
            low, high = stats.fisher_interval(est, n, method)
        return rule.codes(low, high)

    return simulated_oc(simulate, margin, method=f"{n} bivariate-normal pairs, {method}, {interval} interval")


# --------------------------------------------------------------------------- the source table (extension)


def _source_kind(source: str) -> str:
    if source in NOT_ONE_SOURCE:
        return "not one source"
    return "claim" if source in C5_SOURCES else ("CLIP" if source in CLIP_SOURCES else "ImageNet (extension)")


def source_table(summary: pd.DataFrame, opts: Options, ninco: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rule on every training source with >= :data:`C5_MIN_MODELS` models, plus NINCO's 25
    ImageNet classifiers on fixed OOD classes: ``source, kind, n, rho, low, high, pearson, outcome,
    oc_supports_at_margin, oc_contradicts_at_zero`` (the rule's operating characteristics at the
    source's n, simulated), ``decisive`` (both >= :data:`C5_DECISIVE`: a source smaller than that
    cannot show, nor rule out, a strong correlation). ``kind``: claim / CLIP / ImageNet (extension) /
    not one source (a mix of training data: reported, its outcome None)."""
    col, rows = OOD_AUROC_COLUMNS[opts.ood_auroc], []
    for src, sub in summary.groupby("training_source", sort=True):
        if len(sub) >= C5_MIN_MODELS:
            rows.append(_table_row(src, _source_kind(src), sub["id_top1"], sub[col], opts))
    nin = ninco_table(ninco)
    nin = nin[(nin["benchmark"] == NINCO_BENCHMARK) & (nin["method"] == "MSP") & (nin["family"] == "imagenet")]
    rows.append(_table_row("NINCO fixed OOD classes (ImageNet classifiers, MSP)", "ImageNet (extension)",
                           nin["id_top1"], nin["auroc"], opts))
    return pd.DataFrame(rows)


def _table_row(source: str, kind: str, x: pd.Series, y: pd.Series, opts: Options) -> dict:
    e = correlation_estimate(x, y, opts)
    oc = correlation_oc(len(x), opts.correlation, "fisher", opts.c5_margin)
    judged = e.outcome is not None and kind != "not one source"
    return {"source": source, "kind": kind, "n": len(x), "rho": e.value, "low": e.low, "high": e.high,
            "pearson": float(np.corrcoef(x, y)[0, 1]), "outcome": e.outcome.value if judged else None,
            "oc_supports_at_margin": oc.supports_at_margin, "oc_contradicts_at_zero": oc.contradicts_at_zero,
            "decisive": bool(min(oc.supports_at_margin, oc.contradicts_at_zero) >= C5_DECISIVE)}


# --------------------------------------------------------------------------- the claim


#: Variant descriptions per (option, value); the headline's own value is skipped.
VARIANT_TEXT: dict[tuple[str, object], str] = {
    ("score", "msp"): "COOD maximum softmax probability (Tu et al.'s classifier score)",
    ("score", "max_logit"): "COOD max-logit confidence",
    ("score", "entropy"): "COOD negative-entropy confidence",
    ("score", "odin"): "ODIN (T=2, noise 1e-5): COOD ran it on 7 of the 9 zero-shot CLIPs",
    ("score", "mcd_entropy"): "MC-dropout entropy: COOD has none for CLIP (not computable)",
    ("ood_auroc", "mean"): "y = mean AUROC over COOD's 11 severity levels",
    ("ood_auroc", "easiest"): "y = AUROC at COOD's easiest severity level",
    ("ood_auroc", "hardest"): "y = AUROC at COOD's hardest severity level",
    ("correlation", "spearman"): "Spearman rho", ("correlation", "pearson"): "Pearson r (Fisher interval)",
    ("interval", "fisher"): "Fisher-z interval", ("interval", "bootstrap"): "percentile bootstrap over models",
}
#: Other readings: a second CLIP source, a looser and a stricter "strongly" (Cohen 1988 "medium" 0.3;
#: Dancey & Reidy 2007 "strong" 0.7).
READINGS: tuple[tuple[str, str, dict], ...] = (
    ("sources=+clip-lp", "also COOD's 7 CLIP linear probes (WIT features, ImageNet-1k head); every CLIP source "
     "must show it", {"c5_sources": CLIP_SOURCES}),
    ("strong=0.3", "looser 'strongly': rho >= 0.3 (Cohen 1988 'medium')", {"c5_margin": 0.3}),
    ("strong=0.7", "stricter 'strongly': rho >= 0.7 (Dancey & Reidy 2007 'strong')", {"c5_margin": 0.7}),
)


def _specs(opts: Options, estimate: Callable[[Options], Estimate]) -> list[Spec]:
    """The variant table: every other value of each option, then the other readings."""
    specs = [Spec(f"{field.replace('_', '-')}={value}", text, functools.partial(estimate, opts.but(**{field: value})))
             for (field, value), text in VARIANT_TEXT.items() if getattr(opts, field) != value]
    specs += option_specs(READINGS, opts, estimate)
    return specs


def _summaries(cood: pd.DataFrame) -> Callable[[str], pd.DataFrame | None]:
    """:func:`.cood.cood_summary` per score, memoized across a claim's variants (None: no such rows)."""
    memo: dict[str, pd.DataFrame | None] = {}

    def get(score: str) -> pd.DataFrame | None:
        if score not in memo:
            try:
                memo[score] = cood_summary(score, cood=cood)
            except ValueError:
                memo[score] = None
        return memo[score]

    return get


def claim(opts: Options, cood: pd.DataFrame | None = None, ninco: pd.DataFrame | None = None) -> Claim:
    """C5 on the engine: headline, the variant table, operating characteristics, the extension."""
    summary = _summaries(published.cood_results() if cood is None else cood)
    head = summary(opts.score)
    if head is None:
        return not_testable("C5", "Spearman rho, ImageNet top-1 vs OOD AUROC within a CLIP source (COOD)",
                            needs=f"COOD results with score {opts.score!r} for the zero-shot CLIPs",
                            rule=Rule(GREATER, opts.c5_margin))

    def estimate(o: Options) -> Estimate:
        s = summary(o.score)
        return sources_estimate(s, o.c5_sources, o) if s is not None else Estimate.missing(f"COOD has no {o.score}")

    rows = _source_rows(head, opts.c5_sources[0])
    loo = Spec("leave-one-out", f"each of the {len(rows)} {opts.c5_sources[0]} models left out in turn (worst case)",
               lambda: leave_one_out(list(rows["name"]), lambda kept: sources_estimate(
                   rows[rows["name"].isin(kept)], opts.c5_sources[:1], opts)))
    extension = source_table(head, opts, published.ninco_results() if ninco is None else ninco)
    return evaluate("C5", f"Spearman rho, ImageNet top-1 vs OOD AUROC within {' & '.join(opts.c5_sources)} (COOD)",
                    Spec("headline", _headline_text(opts), lambda: estimate(opts)), [*_specs(opts, estimate), loo],
                    rule=Rule(GREATER, opts.c5_margin), needs="COOD results with the zero-shot CLIPs",
                    evidence=lambda h: _evidence(opts, h, extension),
                    oc=lambda h: correlation_oc(h.n or 0, opts.correlation, opts.interval, opts.c5_margin, opts.n_boot),
                    numbers={"extension": extension})


def _headline_text(opts: Options) -> str:
    return (f"COOD {opts.score}, {opts.ood_auroc} OOD AUROC, {opts.correlation}, {opts.interval} interval, "
            f"within {', '.join(opts.c5_sources)}")


def _evidence(opts: Options, h: Estimate, extension: pd.DataFrame) -> str:
    ext = extension[extension["kind"] == "ImageNet (extension)"]
    counts = ", ".join(f"{v} {k}" for k, v in sorted(ext["outcome"].value_counts().items()))
    small = ", ".join(f"{r.source} n={r.n}" for r in ext[~ext["decisive"]].itertuples())
    return (f'"{C5_STATEMENT}" (Tu et al. §5). COOD, {opts.score} score, {opts.ood_auroc} OOD AUROC over its 11 '
            f"model-specific severity levels vs ImageNet top-1: {h.note}. Interval over models "
            f"({opts.interval}; COOD publishes per-model AUROCs, no image-level data). Extension, not counted in "
            f"the tier: {len(ext)} ImageNet-model sources under the same rule: {counts}"
            + (f"; too few models to decide (the rule supports < {C5_DECISIVE:.0%} of the time at rho = "
               f"{opts.c5_margin:g} or contradicts < {C5_DECISIVE:.0%} at 0): {small}" if small else ""))
