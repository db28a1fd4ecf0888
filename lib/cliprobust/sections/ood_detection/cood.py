"""COOD (Galil et al. ICLR 2023; ``published.cood_results``): ImageNet-1k accuracy and OOD AUROC at 11
severity levels for 706 models incl. 9 zero-shot OpenAI CLIPs, one row per model."""

from __future__ import annotations

import pandas as pd

from ... import published
from .sources import cood_source, timm_pretrain_labels, training_source

#: Score names of this section -> COOD ``confidence function``. ``msp`` (= COOD ``softmax``) is the
#: C5 headline: Tu et al. §5 score classifiers by MSP, it is the one score every COOD CLIP entry
#: has (9 zero-shot, 7 linear probes), and the baseline score of the OOD literature (Hendrycks &
#: Gimpel 2017). The others are variants of the multiverse.
COOD_SCORES: dict[str, str] = {"msp": "softmax", "max_logit": "max_logit", "entropy": "entropy",
                               "odin": "odin_temperature-2_noise_mag-1e-05", "mcd_entropy": "mcd_entropy"}

#: COOD rows below this ImageNet top-1 are untrained networks, not models (chance is 0.001): timm's
#: ``efficientnet_b5``/``b6``/``b7`` had no weights when COOD ran them (0.1 % top-1, AUROC < 0.5).
MIN_ID_TOP1: float = 0.05


def cood_summary(score: str = "msp", cood: pd.DataFrame | None = None,
                 min_id_top1: float = MIN_ID_TOP1) -> pd.DataFrame:
    """One row per COOD model with ``score``: id_top1 and OOD AUROC over the 11 severities.

    Columns ``model, name, family, source, training_source, score, id_top1, id_confidence`` (mean
    ID confidence in the score's own units; the mean max-softmax for ``msp``), ``ood_auroc`` (mean
    over levels 0-10), ``ood_auroc_easiest``, ``ood_auroc_hardest``, ``n_levels``. Models with
    ``id_top1 < min_id_top1`` (untrained, :data:`MIN_ID_TOP1`) are dropped. COOD's levels are
    model-specific (each model's OOD classes are ranked by its own confidence), so ``ood_auroc``
    is a per-model summary, not a fixed-test-set number.
    """
    cood = published.cood_results() if cood is None else cood
    conf = COOD_SCORES.get(score, score)
    rows = cood[(cood["confidence"] == conf) & (cood["id_top1"] >= min_id_top1)]
    if rows.empty:
        raise ValueError(f"no COOD rows with score {score!r}; have {sorted(COOD_SCORES)}")
    g = rows.sort_values("severity").groupby(["model", "name", "family"], sort=True)
    out = g.agg(id_top1=("id_top1", "first"), id_confidence=("id_avg_conf", "first"),
                ood_auroc=("ood_auroc", "mean"), ood_auroc_easiest=("ood_auroc", "first"),
                ood_auroc_hardest=("ood_auroc", "last"), n_levels=("severity", "nunique")).reset_index()
    pretrain = timm_pretrain_labels().to_dict()
    src = [cood_source(n, f, pretrain) for n, f in zip(out["name"], out["family"])]
    out.insert(3, "source", src)
    out.insert(4, "training_source", [training_source(n, s, pretrain) for n, s in zip(out["name"], src)])
    out.insert(5, "score", score)
    return out
