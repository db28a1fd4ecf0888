"""OpenOOD v1.5 ImageNet-1k leaderboard: the supervised reference (no CLIP entries)."""

from __future__ import annotations

import pandas as pd

from ... import published

#: OpenOOD postprocessors that are the logit scores of this section -> our score names.
OPENOOD_SCORES: dict[str, str] = {"MSP": "msp", "MLS": "max_logit", "EBO": "energy"}


def openood_reference(setting: str = "ood") -> pd.DataFrame:
    """OpenOOD v1.5 ImageNet-1k: plain cross-entropy checkpoints scored with MSP / MaxLogit / energy.

    Columns ``arch, score, near_ood_auroc, far_ood_auroc, id_top1`` (fractions; OpenOOD averages
    AUROC over its near-OOD (SSB-hard, NINCO) and far-OOD (iNaturalist, Textures, OpenImage-O) sets).
    """
    o = published.openood_results(setting)
    o = o[(o["training"] == "CrossEntropy") & o["postprocessor"].isin(list(OPENOOD_SCORES))]
    out = o.assign(score=o["postprocessor"].map(OPENOOD_SCORES))
    cols = ["arch", "score", "near_ood_auroc", "far_ood_auroc", "id_top1"]
    return out[cols].sort_values(["arch", "score"]).reset_index(drop=True)
