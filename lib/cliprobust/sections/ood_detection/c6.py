"""C6 (Tu et al. §5): (a) "Additional fine-tuning on ImageNet-12K improves OOD detection over fine-tuning
only on ImageNet-1K"; (b) "some CLIP-FT models even achieve worse OOD detection performance than
Zero-shot CLIP models" -- on NINCO, whose four CLIP fine-tunes form **two** pairs.

- **Headline**: (a) each of the 2 pairs (OpenAI and LAION-2B ViT-B/16) gains at least the margin on
  NINCO's 46 OOD classes, with a paired t interval over the classes; the scope is these two pairs (a
  claim about fine-tuning pairs in general has 1 df here: the ``a_interval='between-pairs'`` variant).
  (b) some fine-tune detects worse than zero-shot CLIP ViT-B/16 on some benchmark: simultaneous 95 %
  max-T intervals over all zero-shot-minus-fine-tune comparisons, so picking the most extreme one is
  counted. Declared scores: MSP (fine-tunes) vs MCM (zero-shot). Outcome: both parts
  (:func:`~cliprobust.verdicts.all_of`); the statistic is part (a)'s smaller pair gain.
- **Variants**: equal score sets on both sides (best of the same two functions, MCM and max cosine),
  the same single score on both sides, other fine-tune scores, NINCO classes only, the uncleaned
  popular sets, image-sampling or between-pair intervals for (a), marginal intervals for (b), point
  estimates.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import published
from ...verdicts import (GREATER, Claim, Estimate, OperatingCharacteristics, Outcome, Rule, Spec, all_of,
                         any_of, evaluate, option_specs, simulated_oc)
from .fine_tunes import SAME_SCORES, between_pairs, c6_table, comparison_cells, deficits, pair_gains
from .ninco import NINCO_BENCHMARK, ninco_table

if TYPE_CHECKING:
    from . import Options

C6_STATEMENT_A = "Additional fine-tuning on ImageNet-12K improves OOD detection over fine-tuning only on ImageNet-1K"
C6_STATEMENT_B = "some CLIP-FT models even achieve worse OOD detection performance than Zero-shot CLIP models"
#: The smallest AUROC difference that matters: one AUROC point (0.01), the unit in which OOD
#: benchmarks (NINCO, OpenOOD v1.5) report and rank detectors; both parts use it.
C6_MARGIN: float = 0.01
#: (a) each pair's gain > 0 and not wholly below the margin; (b) some fine-tune's deficit likewise.
C6_RULE = Rule(GREATER, C6_MARGIN)
#: Option values of the part-(b) benchmark set.
BENCHMARK_SETS: tuple[str, ...] = ("all", "ninco-classes")
PAIRINGS: tuple[str, ...] = ("declared", "best-of-same")
UNCERTAINTIES: tuple[str, ...] = ("interval", "none")


def scores(opts: Options) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fine-tune scores, zero-shot scores) of a protocol: the declared pair, or equal score sets."""
    if opts.pairing == "best-of-same":
        return SAME_SCORES["ft"], SAME_SCORES["zs"]
    return (opts.ft_score,), (opts.zs_score,)


def comparison(opts: Options, ninco: pd.DataFrame | None = None, tables: dict[str, pd.DataFrame] | None = None
               ) -> pd.DataFrame:
    """:func:`.fine_tunes.c6_table` under a protocol (scores, popular-set variant, benchmark set);
    ``tables`` memoizes :func:`.ninco.ninco_table` per popular-set variant across a claim's variants."""
    tables = {} if tables is None else tables
    if opts.popular not in tables:
        tables[opts.popular] = ninco_table(ninco, opts.popular)
    ft, zs = scores(opts)
    comp = c6_table(tables[opts.popular], ft, zs)
    if opts.benchmarks == "ninco-classes":
        comp = comp[comp["benchmark"] == NINCO_BENCHMARK]
    return comp


# --------------------------------------------------------------------------- the two parts


def part_a(opts: Options, comp: pd.DataFrame, ninco: pd.DataFrame) -> Estimate:
    """Both pairs must gain (all_of); the statistic is the smaller gain (or, between pairs, the mean)."""
    rule = Rule(GREATER, opts.c6_margin)
    g = pair_gains(comp, ninco, "image-sampling" if opts.a_interval == "image-sampling" else "ood-classes")
    if opts.a_interval == "between-pairs":
        value, low, high = between_pairs(g)
        return Estimate.judged(rule, value, low, high, n=len(g), note=f"mean of {len(g)} pairs, t with {len(g) - 1} df")
    if opts.uncertainty == "none":
        g = g.assign(low=g["gain"], high=g["gain"])
    parts = [Estimate.judged(rule, r.gain, r.low, r.high, n=r.n_classes) for r in g.itertuples()]
    worst = min(parts, key=lambda e: e.value)
    text = "; ".join(f"{r.source} {r.gain:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in g.itertuples())
    return Estimate(worst.value, worst.low, worst.high, all_of(e.outcome for e in parts), len(g), text,
                    {"pairs": g})


def part_b(opts: Options, comp: pd.DataFrame) -> Estimate:
    """Some comparison's deficit supports (any_of over simultaneous intervals); the statistic is the
    comparison with the largest lower bound, the selection counted by its max-T interval."""
    t = deficits(comp, opts.correction)
    if t.empty:
        return Estimate.missing("no zero-shot vs fine-tune comparison")
    if opts.uncertainty == "none":
        t = t.assign(low=t["diff"], high=t["diff"])
    codes = Rule(GREATER, opts.c6_margin).codes(t["low"].to_numpy(), t["high"].to_numpy())
    out = any_of(Outcome.SUPPORTS if c == 1 else Outcome.CONTRADICTS if c == -1 else Outcome.INCONCLUSIVE
                 for c in codes)
    top = t.loc[t["low"].idxmax()]
    note = (f"{int((codes == 1).sum())} of {len(t)} comparisons with a fine-tune below zero-shot by an interval "
            f"(c = {top['crit']:.2f}); most extreme: {top['comparison']} on {top['benchmark']} {top['diff']:+.3f} "
            f"[{top['low']:+.3f}, {top['high']:+.3f}]")
    return Estimate(float(top["diff"]), float(top["low"]), float(top["high"]), out, len(t), note, {"deficits": t})


def estimate(opts: Options, ninco: pd.DataFrame, tables: dict[str, pd.DataFrame] | None = None) -> Estimate:
    """Both parts under one protocol: outcome all_of(a, b); the statistic is part (a)'s."""
    try:
        comp = comparison(opts, ninco, tables)
        a, b = part_a(opts, comp, ninco), part_b(opts, comp)
    except (ValueError, KeyError) as err:
        return Estimate.missing(f"not computable: {err}")
    if a.outcome is None or b.outcome is None:
        return Estimate.missing(f"(a) {a.note or 'missing'}; (b) {b.note or 'missing'}")
    note = f"(a) {a.outcome.value}: {a.note}; (b) {b.outcome.value}: {b.note}"
    return Estimate(a.value, a.low, a.high, all_of([a.outcome, b.outcome]), a.n, note,
                    {"a": a, "b": b, "comparison": comp})


# --------------------------------------------------------------------------- operating characteristics


def _sim_a(g: pd.DataFrame, rule: Rule, interval: str, effect: float, rng: np.random.Generator, k: int
           ) -> list[np.ndarray]:
    """Part-(a) codes per pair: per-class differences ~ N(effect, sd_class) and the t interval, or
    normal gains with the image-sampling SE."""
    out = []
    for r in g.itertuples():
        if interval == "ood-classes":
            d = effect + r.sd_class * rng.standard_normal((k, r.n_classes))
            half = sps.t.ppf(0.975, r.n_classes - 1) * d.std(axis=1, ddof=1) / np.sqrt(r.n_classes)
            est = d.mean(axis=1)
        else:
            est, half = effect + r.se * rng.standard_normal(k), 1.959964 * r.se
        out.append(rule.codes(est - half, est + half))
    return out


def _sim_b(t: pd.DataFrame, comp: pd.DataFrame, rule: Rule, effect: float, rng: np.random.Generator, k: int
           ) -> np.ndarray:
    """Part-(b) codes: the headline's most extreme comparison has a true deficit ``effect``, the others
    none; AUROCs drawn with their image-sampling SEs (shared zero-shot cells kept), max-T intervals."""
    _, zi, fi = comparison_cells(comp)
    se_cells = comp.reset_index(drop=True)["se"].to_numpy(float)
    mu = np.where(np.arange(len(t)) == int(np.argmax(t["low"].to_numpy())), effect, 0.0)
    e = rng.standard_normal((k, se_cells.size)) * se_cells
    est = mu + e[:, zi] - e[:, fi]
    half = t["crit"].to_numpy() * t["se"].to_numpy()
    codes = rule.codes(est - half, est + half)
    return np.where((codes == 1).any(axis=1), 1, np.where((codes == -1).all(axis=1), -1, 0))


def _combine(codes: list[np.ndarray]) -> np.ndarray:
    """Vectorised all_of over outcome codes."""
    c = np.stack(codes)
    return np.where((c == -1).any(axis=0), -1, np.where((c == 1).all(axis=0), 1, 0))


def c6_oc(opts: Options, head: Estimate) -> OperatingCharacteristics | None:
    """How often the headline says "supports" when each pair gains exactly the margin and one
    fine-tune falls exactly the margin below zero-shot, and when every effect is zero (the real
    design: 46 classes per pair with their spread, the comparisons' SEs and max-T value)."""
    if opts.a_interval == "between-pairs" or opts.uncertainty == "none" or "a" not in head.detail:
        return None
    g, t = head.detail["a"].detail["pairs"], head.detail["b"].detail["deficits"]
    comp, rule = head.detail["comparison"], Rule(GREATER, opts.c6_margin)

    def simulate(effect: float, rng: np.random.Generator, k: int) -> np.ndarray:
        return _combine([*_sim_a(g, rule, opts.a_interval, effect, rng, k), _sim_b(t, comp, rule, effect, rng, k)])

    return simulated_oc(simulate, opts.c6_margin, method="2 pairs x 46 NINCO classes; (b) max-T over "
                        f"{len(t)} comparisons with their image-sampling SEs")


# --------------------------------------------------------------------------- the claim

#: The variant table: (name, description, option changes).
C6_VARIANTS: tuple[tuple[str, str, dict], ...] = (
    ("pairing=best-of-same", "equal score sets: each side the better of MCM and max cosine per benchmark "
     "(fine-tunes: NINCO's mcm/cosine; zero-shot: mcm-clip/cosine-clip)", {"pairing": "best-of-same"}),
    ("scores=mcm-both", "the same score on both sides: MCM (softmax over cosine similarities)", {"ft_score": "mcm"}),
    ("scores=cosine-both", "the same score on both sides: maximum cosine",
     {"ft_score": "cosine", "zs_score": "cosine-clip"}),
    ("ft-score=MaxLogit", "fine-tunes by MaxLogit (zero-shot by MCM)", {"ft_score": "MaxLogit"}),
    ("ft-score=Energy", "fine-tunes by energy (zero-shot by MCM)", {"ft_score": "Energy"}),
    ("benchmarks=ninco-classes", "(b) on NINCO's 46 classes only (4 comparisons)", {"benchmarks": "ninco-classes"}),
    ("popular=full", "popular sets as drawn (incl. ImageNet-class images), not NINCO's cleaned subsets",
     {"popular": "full"}),
    ("a-interval=image-sampling", "(a) intervals from image sampling alone (the previous protocol)",
     {"a_interval": "image-sampling"}),
    ("a-interval=between-pairs", "(a) about fine-tuning pairs in general: mean gain of the 2 pairs, t with 1 df",
     {"a_interval": "between-pairs"}),
    ("correction=none", "(b) marginal 95 % intervals: picking the most extreme comparison not counted",
     {"correction": "none"}),
    ("uncertainty=none", "point estimates only (any difference in the claimed direction)", {"uncertainty": "none"}),
    ("margin=0.02", "a larger smallest difference that matters: 2 AUROC points", {"c6_margin": 0.02}),
)


def claim(opts: Options, ninco: pd.DataFrame | None = None) -> Claim:
    """C6 on the engine (not testable when NINCO lacks a needed model or score)."""
    ninco = published.ninco_results() if ninco is None else ninco
    run: Callable[[Options], Estimate] = functools.partial(estimate, ninco=ninco, tables={})
    specs = option_specs(C6_VARIANTS, opts, run)
    return evaluate("C6", "in21k->1k minus 1k-only AUROC on NINCO classes, smaller of 2 pairs (ViT-B/16); "
                    "outcome needs part (b) too", Spec("headline", _headline_text(opts), functools.partial(run, opts)),
                    specs, rule=Rule(GREATER, opts.c6_margin),
                    needs="NINCO results with the four CLIP ViT-B/16 fine-tunes and zero-shot ViT-B/16",
                    evidence=lambda h: _evidence(opts, h), oc=lambda h: c6_oc(opts, h))


def part_tables(claim: Claim) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The headline's part-(a) pair gains and part-(b) deficits (empty frames when not testable)."""
    head = claim.numbers.get("headline")
    if head is None or "a" not in head.detail:
        return pd.DataFrame(), pd.DataFrame()
    return head.detail["a"].detail["pairs"], head.detail["b"].detail["deficits"]


def _headline_text(opts: Options) -> str:
    ft, zs = scores(opts)
    return (f"fine-tunes {'/'.join(ft)} vs zero-shot {'/'.join(zs)}; (a) {opts.a_interval} interval; "
            f"(b) {opts.benchmarks} benchmarks, {opts.correction} intervals")


def _evidence(opts: Options, h: Estimate) -> str:
    a, b = h.detail["a"], h.detail["b"]
    return (f'(a) "{C6_STATEMENT_A}": NINCO has 2 pairs (ViT-B/16 from OpenAI and LAION-2B weights, in21k->1k '
            f"vs 1k only; NINCO says in21k where Tu et al. say 12k); gain on the 46 NINCO classes: {a.note}; "
            f"intervals: {opts.a_interval} (the scope is these 2 pairs: over pairs in general there is 1 df) -> "
            f'{a.outcome.value}. (b) "{C6_STATEMENT_B}": zero-shot OpenAI CLIP ViT-B/16 vs the 4 fine-tunes, '
            f"{b.note} -> {b.outcome.value}. Image-sampling SEs: the larger of the Hanley-McNeil and binormal "
            f"approximations (no per-image NINCO scores are published), unpaired.")

