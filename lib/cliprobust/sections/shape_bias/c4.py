"""Claim C4 from per-sample caches: fine-tuning on ImageNet lowers CLIP's shape bias.

The paper (Tu et al. 2023, abstract): "CLIP models are biased towards shape … this bias diminishes
after fine-tuning on ImageNet". No published cue-conflict decisions of fine-tuned CLIPs exist: the
claim needs cached outputs of zero-shot CLIP and CLIP-FT models on the 1,280 stimuli.
"""

from __future__ import annotations

import pandas as pd

from ...runs import Options
from ...verdicts import GREATER, Claim, Estimate, Rule, Spec, evaluate, normal_design_oc
from ...metrics import stats
from .c3 import C3_MARGIN
from .trials import AGGREGATIONS, hits, member_draws, shape_bias_draws, stimulus_weights

#: Zoo groups C4 compares (zero-shot vs fine-tuned on ImageNet).
C4_GROUPS: tuple[str, str] = ("clip-zeroshot", "clip-ft")
#: The smallest shape-bias drop that matters: C3's margin (:data:`.c3.C3_MARGIN`), for the same reason.
C4_RULE = Rule(GREATER, C3_MARGIN)
C4_NEEDS = ("cue-conflict caches of zero-shot CLIP and CLIP-FT models (cliprobust evaluate --models "
            "clip-zeroshot,clip-ft --datasets cue-conflict)")
C4_STATISTIC = "zero-shot − fine-tuned CLIP shape bias"


def c4_estimate(cached: pd.DataFrame, aggregation: str, n_boot: int, seed: int = stats.SEED) -> Estimate:
    """Zero-shot − fine-tuned shape bias with a two-level bootstrap (each group's models resampled,
    then the stimuli shared by both groups); :data:`C4_RULE`."""
    have = {g: sorted(cached.loc[cached["group"] == g, "subject"].unique()) for g in C4_GROUPS}
    if not all(have.values()):
        return Estimate.missing(f"No published cue-conflict decisions of CLIP-FT models; cached: "
                                f"{ {k: len(v) for k, v in have.items()} }")
    h = hits(cached[cached["group"].isin(C4_GROUPS)])
    w = stimulus_weights(len(h.stimuli), n_boot, seed)
    zs, ft = (shape_bias_draws(h, have[g], aggregation, w, member_draws(len(have[g]), n_boot, seed + 1 + k))
              for k, g in enumerate(C4_GROUPS))
    d = float(shape_bias_draws(h, have["clip-zeroshot"], aggregation)[0] - shape_bias_draws(h, have["clip-ft"],
                                                                                         aggregation)[0])
    low, high = stats.percentile_interval(zs - ft)
    return Estimate.judged(C4_RULE, d, float(low), float(high), len(have["clip-zeroshot"]) + len(have["clip-ft"]),
                           f"{len(have['clip-zeroshot'])} zero-shot vs {len(have['clip-ft'])} fine-tuned CLIP models")


def claim(opts: Options, cached: pd.DataFrame) -> Claim:
    """C4 on the engine: headline ``opts.aggregation``; the other aggregations as variants."""
    head = Spec(f"headline: aggregation={opts.aggregation}", "zero-shot − fine-tuned, two-level bootstrap",
                lambda: c4_estimate(cached, opts.aggregation, opts.n_boot))
    specs = [Spec(f"aggregation={a}", f"groups {a}", lambda a=a: c4_estimate(cached, a, opts.n_boot))
             for a in AGGREGATIONS if a != opts.aggregation]
    return evaluate("C4", C4_STATISTIC, head, specs, rule=C4_RULE, needs=C4_NEEDS,
                    evidence=lambda e: f"{e.note}; interval: two-level bootstrap (models, then stimuli)",
                    oc=lambda e: normal_design_oc(C4_RULE, e))
