"""Section 09, one reader per card property: each takes the section that already computes the
property (nothing is recomputed here) and returns keyed long rows (:func:`.join.keyed`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import published
from ...metrics import factors as F
from ...metrics import stats
from ..effective_robustness.draws import er_draws
from ..effective_robustness.options import MEAN_SHIFT, MEAN_SHIFT_4, SHIFTS
from ..effective_robustness.options import Options as EROptions
from ..effective_robustness.tables import er_frame
from ..ood_detection.cood import cood_summary
from ..ood_detection.ninco import NINCO_BENCHMARK, ninco_table
from ..shape_bias.trials import shape_bias_table
from ..visual_factors import published_design
from ..visual_factors.lines import FactorDesign
from .factor_er import mean_factor_er
from .cards import IMAGENETX_ACCURACY, OBJECTNET_PROPERTIES, OBJECTNET_PROTOCOLS
from .join import GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA, IMAGENET_VAL_N, keyed, strip_prefix


def er_rows(frame: pd.DataFrame | None = None, baseline: str | None = None) -> pd.DataFrame:
    """ER per shift, on the mean accuracy of the 5 shifts and of the 4 without ObjectNet, plus ImageNet
    top-1, from the ER section's tidy frame (``baseline``: the ER section's baseline set, default
    testbed STANDARD). open_clip rows stand for their weights (the LAION scaling-law table repeats three
    OpenAI rows). Rows that include ObjectNet name its protocol in ``note``."""
    protocol = EROptions(baseline=baseline) if baseline else EROptions()
    f = er_frame(protocol) if frame is None else frame
    f = f[f["source"].isin(["open_clip", "testbed", "timm"]) & f["shift"].isin([*SHIFTS, MEAN_SHIFT, MEAN_SHIFT_4])]
    rows = pd.DataFrame({"name": strip_prefix(f["model"]), "source": f["source"],
                         "property": "er:" + f["shift"], "value": f["er"], "low": f["ci_low"], "high": f["ci_high"],
                         "interval": "resampling baseline models (the line)"})
    on = rows["property"].isin(OBJECTNET_PROPERTIES)
    rows["note"] = np.where(on, "ObjectNet: " + rows["source"].map(OBJECTNET_PROTOCOLS).fillna("?"), "")
    if frame is None:  # the ER section's draws add every accuracy's binomial image-sampling error
        rows = _with_image_noise(rows, f, protocol)
    top = f.drop_duplicates("model")
    lo, hi = stats.wilson_interval(np.round(top["id_acc"].to_numpy() * IMAGENET_VAL_N), IMAGENET_VAL_N)
    acc = pd.DataFrame({"name": strip_prefix(top["model"]), "source": top["source"], "property": "imagenet_top1",
                        "value": top["id_acc"], "low": lo, "high": hi, "interval": "Wilson, 50,000 val images"})
    both = pd.concat([rows, acc], ignore_index=True)
    return keyed(both.drop(columns="source"), both["source"])


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


def factor_rows(factor: pd.DataFrame | None = None, design: FactorDesign | None = None) -> pd.DataFrame:
    """Mean factor-level ER over the 10 paper factors (ImageNet-X) with its interval including image
    noise (:func:`.factor_er.mean_factor_er` on the visual-factors section's published design), and
    ImageNet-X's overall accuracy on its annotated val images (the x of the factor lines: the top-1
    that factor ER rests on, :data:`IMAGENETX_ACCURACY`)."""
    d = published_design() if design is None else design
    g = mean_factor_er(d) if factor is None else factor
    rows = g.assign(name=g["model"].str.removeprefix("imagenetx:"), property="factor_er:mean",
                    note=np.where(g["model"].str.startswith("mvh:"),
                                  "model-vs-human ImageNet-val decisions on ImageNet-X annotations", ""))
    avg = d.table.loc[g["model"], F.AVERAGE].to_numpy(float)
    n = len(d.annotations)
    lo, hi = stats.wilson_interval(np.round(avg * n), n)
    acc = pd.DataFrame({"name": rows["name"].to_numpy(), "property": IMAGENETX_ACCURACY, "value": avg, "low": lo,
                        "high": hi, "interval": f"Wilson, {n:,} annotated val images", "note": rows["note"].to_numpy()})
    return keyed(pd.concat([rows.drop(columns="model"), acc], ignore_index=True), "imagenetx")


def shape_rows(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cue-conflict shape bias per model (model-vs-human), from the shape-bias section."""
    t = shape_bias_table() if table is None else table
    t = t[(t["level"] == "member") & (t["group"] != "human")]
    rows = pd.DataFrame({"name": t["name"], "property": "shape_bias", "value": t["shape_bias"],
                         "low": t["ci_low"], "high": t["ci_high"], "interval": "resampling trials"})
    return keyed(rows, "model-vs-human")


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
    return keyed(pd.concat([auroc, gap, top], ignore_index=True), "cood")


#: NINCO score per group: MSP where the table has it; zero-shot CLIPs have only MCM / cosine there.
NINCO_SCORES: dict[str, str] = {GROUP_CLIP: "mcm-clip", GROUP_CLIP_FT: "MSP", GROUP_IMAGENET: "MSP",
                                GROUP_MORE_DATA: "MSP"}


def ninco_rows(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """NINCO AUROC on its fixed OOD classes (ood-detection section's table), score per :data:`NINCO_SCORES`."""
    t = ninco_table() if table is None else table
    t = t[t["benchmark"] == NINCO_BENCHMARK]
    half = sps.norm.ppf(0.5 + stats.CI_LEVEL / 2) * (t["se"] if "se" in t else np.nan)
    rows = keyed(pd.DataFrame({"name": t["name"], "property": "ood_auroc:ninco", "value": t["auroc"],
                                "low": t["auroc"] - half, "high": t["auroc"] + half,
                                "interval": "normal, image-sampling SE of the OOD section (no per-sample data)",
                                "note": t["method"]}), "ninco")
    return rows[rows["note"] == rows["group"].map(NINCO_SCORES)].reset_index(drop=True)
