"""NINCO (Bitterwolf et al. ICML 2023; ``published.ninco_results``): 12 post-hoc scores for 29 ImageNet
classifiers incl. 4 CLIP fine-tunes, MCM for 2 zero-shot CLIPs; AUROC with its image-sampling SE."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import published
from ...metrics.ood import auroc_se

#: NINCO benchmarks: ``ninco`` = mean over its 46 OOD classes (the NINCO paper's aggregate), plus
#: the 4 popular sets. Of those, the ``_ood`` variant is used: the subset NINCO's annotators kept as
#: truly OOD (the ``_full`` draws contain ImageNet-class images, NINCO's point).
NINCO_BENCHMARK = "ninco"
NINCO_POPULAR_VARIANT = "ood"
NINCO_BENCHMARKS: tuple[str, ...] = (NINCO_BENCHMARK, "places-mos", "textures", "imagenet-o", "species")
#: OOD images per popular benchmark (NINCO ``data/NINCO_popular_datasets_subsamples.csv`` counts,
#: as documented with the mirrored results file): the cleaned ``_ood`` subsets and the ``_full`` draws.
NINCO_POPULAR_N: dict[str, dict[str, int]] = {
    "ood": {"places-mos": 156, "textures": 288, "imagenet-o": 309, "species": 172},
    "full": {"places-mos": 410, "textures": 400, "imagenet-o": 400, "species": 400},
}
#: NINCO's 46 pre-release OOD classes: the results file does not give their sizes, so each class is
#: taken to hold the mean class size of the released NINCO (5,879 images / 64 classes = 92).
NINCO_CLASS_N: int = 92
NINCO_N_CLASSES: int = 46
#: In-distribution images of every NINCO AUROC: the ImageNet-1k validation set.
NINCO_ID_N: int = 50_000


def ninco_table(ninco: pd.DataFrame | None = None, popular_variant: str = NINCO_POPULAR_VARIANT) -> pd.DataFrame:
    """AUROC and FPR@95 (ID-positive, NINCO's convention) per (model, method, benchmark).

    ``ninco`` rows average the 46 NINCO OOD classes; popular sets use the ``popular_variant``
    subset (``ood`` cleaned, ``full`` as drawn). Columns ``model, name, family, method, benchmark,
    auroc, fpr95, id_top1, n_sets, n_ood`` (OOD images: :data:`NINCO_POPULAR_N`, or
    :data:`NINCO_CLASS_N` per NINCO class), ``se`` (image-sampling SE of the AUROC, :func:`auroc_se`;
    for the NINCO mean over its per-class AUROCs, :func:`ninco_auroc_se`).
    """
    ninco = published.ninco_results() if ninco is None else ninco
    keys = ["model", "name", "family", "method"]
    cls = ninco[ninco["dataset_kind"] == "ninco"].assign(benchmark=NINCO_BENCHMARK)
    pop = ninco[(ninco["dataset_kind"] == "popular") & (ninco["variant"] == popular_variant)]
    both = pd.concat([cls, pop.assign(benchmark=pop["popular"])])
    out = both.groupby(keys + ["benchmark"], sort=True).agg(
        auroc=("auroc", "mean"), fpr95=("fpr95", "mean"), id_top1=("id_top1", "mean"),
        n_sets=("dataset", "nunique")).reset_index()
    sizes = NINCO_POPULAR_N[popular_variant]
    out["n_ood"] = [NINCO_CLASS_N * k if b == NINCO_BENCHMARK else sizes[b] for b, k in zip(out["benchmark"], out["n_sets"])]
    out["se"] = _auroc_se(ninco, out)
    return out


def ninco_auroc_se(per_class_auroc: np.ndarray, n_per_class: int = NINCO_CLASS_N, n_id: int = NINCO_ID_N) -> float:
    """SE of the mean over NINCO classes: sqrt(sum SE_c^2) / k, SE_c from :func:`auroc_se`."""
    se = auroc_se(per_class_auroc, n_id, n_per_class)
    return float(np.sqrt(np.sum(se ** 2)) / len(se))


def _auroc_se(ninco: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """Image-sampling SE of every row of :func:`ninco_table` (NINCO rows: over the per-class AUROCs)."""
    cls = ninco[ninco["dataset_kind"] == "ninco"]
    var = auroc_se(cls["auroc"].to_numpy(float), NINCO_ID_N, NINCO_CLASS_N) ** 2  # every class at once
    g = pd.Series(var, index=cls.index).groupby([cls["name"], cls["method"]])
    per_model = (np.sqrt(g.sum()) / g.size()).to_dict()  # = ninco_auroc_se per model, vectorised
    se = auroc_se(table["auroc"].to_numpy(float), NINCO_ID_N, table["n_ood"].to_numpy())
    is_cls = (table["benchmark"] == NINCO_BENCHMARK).to_numpy()
    se[is_cls] = [per_model[(n, m)] for n, m in zip(table.loc[is_cls, "name"], table.loc[is_cls, "method"])]
    return pd.Series(se, index=table.index)


#: Display names of NINCO's CLIP models (figure tick labels).
NINCO_DISPLAY: dict[str, str] = {
    "clip-ViT-B16": "ViT-B/16 (OpenAI) zero-shot", "clip-ViT-L14-336": "ViT-L/14-336 (OpenAI) zero-shot",
    "vit_base_patch16_384_openai_in1k": "ViT-B/16 (OpenAI) FT IN-1k",
    "vit_base_patch16_384_openai_in21k_in1k": "ViT-B/16 (OpenAI) FT IN-21k->1k",
    "vit_base_patch16_384_laion2b_in1k": "ViT-B/16 (LAION-2B) FT IN-1k",
    "vit_base_patch16_384_laion2b_in21k_in1k": "ViT-B/16 (LAION-2B) FT IN-21k->1k",
}
