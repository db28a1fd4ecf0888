"""OOD-detection literature: the OpenOOD v1.5 leaderboard, the COOD benchmark and NINCO's results.

OpenOOD is in percent (-> fractions) and has no CLIP entries; COOD and NINCO are fractions and
include zero-shot CLIP rows. Their FPR@95 and AUROC conventions are in ``docs/protocols.md`` §1;
shapes and traps in ``docs/tables.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import read_csv

OPENOOD_FILES: dict[str, str] = {
    "ood": "openood/results/imagenet1k_ood.csv", "fsood": "openood/results/imagenet1k_fsood.csv",
}
COOD_RESULTS = "published/literature/cood_benchmarking/all_paper_results.csv"
NINCO_RESULTS = "published/literature/ninco/df_converted.csv"


def openood_results(setting: str = "ood") -> pd.DataFrame:
    """OpenOOD v1.5 ImageNet-1k leaderboard (percent -> fractions), one row per entry.

    ``setting``: ``ood`` (standard) or ``fsood`` (full-spectrum). Convention (``docs/protocols.md`` §1):
    OpenOOD reports AUROC averaged over its near-/far-OOD sets; no CLIP entries. ``model`` =
    ``openood:<arch>/<training>/<postprocessor>``; family ``imagenet``; ``id_top1`` is NaN where
    the source has ``/`` (2 feature-only entries).
    """
    if setting not in OPENOOD_FILES:
        raise ValueError(f"setting must be one of {list(OPENOOD_FILES)}, got {setting!r}")
    raw = read_csv(OPENOOD_FILES[setting])
    # "/" = no ID accuracy (CIDER, ReweightOOD: feature-only training); becomes NaN
    id_acc = pd.to_numeric(raw["ID_Accuracy"].replace("/", None), errors="raise")
    df = pd.DataFrame({
        "model": "openood:" + raw["Arch"] + "/" + raw["Training"] + "/" + raw["Postprocessor"],
        "family": "imagenet", "arch": raw["Arch"], "training": raw["Training"],
        "postprocessor": raw["Postprocessor"], "near_ood_auroc": raw["Near-OOD_AUROC"] / 100.0,
        "far_ood_auroc": raw["Far-OOD_AUROC"] / 100.0, "id_top1": id_acc / 100.0,
        "outlier_data": raw["Outlier_Data"] == "Yes", "description": raw["Additional_Description"],
        "setting": setting,
    })
    return df


def openood_papers() -> dict[str, str]:
    """OpenOOD method alias -> paper link (``utils/papers.csv``)."""
    df = read_csv("openood/utils/papers.csv")
    return dict(zip(df["Alias"], df["Link"]))


#: The 9 zero-shot OpenAI CLIP entries of the COOD benchmark (``~`` stands for ``/``).
COOD_CLIP_ZEROSHOT: tuple[str, ...] = (
    "CLIP_RN50", "CLIP_RN101", "CLIP_RN50x4", "CLIP_RN50x16", "CLIP_RN50x64", "CLIP_ViT-B~32",
    "CLIP_ViT-B~16", "CLIP_ViT-L~14", "CLIP_ViT-L~14@336px",
)


def cood_family(name: str) -> str:
    """COOD model family: ``clip-zeroshot`` (9 OpenAI CLIPs), ``clip-lp`` (``CLIP_finetuned_*``:
    logistic-regression linear probes on frozen CLIP features, not fine-tunes), else ``imagenet``."""
    if name in COOD_CLIP_ZEROSHOT:
        return "clip-zeroshot"
    return "clip-lp" if name.startswith("CLIP_finetuned") else "imagenet"


def cood_results() -> pd.DataFrame:
    """COOD benchmark (Galil et al. ICLR 2023), one row per (model, confidence function, severity).

    All values are fractions. ``ood_auroc``: ID (IN-1k val) vs the model-specific ImageNet-21k OOD
    classes of that severity (0 easiest .. 10 hardest); ``id_auroc`` is the selective-prediction
    AUROC (correct vs incorrect ID predictions), not calibration; ``id_top1`` = IN-1k val top-1;
    ``*_avg_conf`` are in each confidence function's own units. ``name`` keeps ``~`` for ``/``.
    """
    raw = read_csv(COOD_RESULTS)
    return pd.DataFrame({
        "model": "cood:" + raw["model name"], "family": raw["model name"].map(cood_family),
        "name": raw["model name"], "confidence": raw["confidence function"],
        "severity": raw["severity level"], "percentile": raw["percentile"],
        "ood_auroc": raw["ood-auroc"], "ood_avg_conf": raw["ood_avg_conf"], "id_top1": raw["id-acc"],
        "id_auroc": raw["id-auroc"], "id_avg_conf": raw["id_avg_conf"],
    })


#: NINCO entries that are zero-shot CLIPs (MCM / cosine scores) and CLIP towers fine-tuned on IN-1k.
NINCO_CLIP_ZEROSHOT: tuple[str, ...] = ("clip-ViT-B16", "clip-ViT-L14-336")
NINCO_CLIP_FT: tuple[str, ...] = (
    "vit_base_patch16_384_openai_in1k", "vit_base_patch16_384_openai_in21k_in1k",
    "vit_base_patch16_384_laion2b_in1k", "vit_base_patch16_384_laion2b_in21k_in1k",
)
#: NINCO's 17 synthetic "unit test" OOD sets.
NINCO_UNIT_TESTS: tuple[str, ...] = (
    "Gaussian", "Rademacher", "black", "blobs", "grey", "horizontal_stripes", "low_freq",
    "low_freq_channelfullscale", "low_freq_colorrange", "low_freq_pixel_perm", "monochrome",
    "pixel_perm", "tricolour", "tricolour_primary", "uni", "vertical_stripes", "white",
)
#: NINCO's subsamples of popular OOD sets -> canonical name (each as ``_full`` and cleaned ``_ood``).
#: ``all_species_400_400`` is Hendrycks' Species set, not iNaturalist.
NINCO_POPULAR: dict[str, str] = {
    "OOD_Places_MOS_410": "places-mos", "textures_400": "textures", "imagenet_o_400": "imagenet-o",
    "all_species_400_400": "species",
}


def _ninco_kind(dataset: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    base = dataset.str.replace(r"_(full|ood)$", "", regex=True)
    popular = base.isin(list(NINCO_POPULAR)) & (base != dataset)
    kind = np.where(popular, "popular", np.where(dataset.isin(NINCO_UNIT_TESTS), "unit_test", "ninco"))
    variant = dataset.str.extract(r"_(full|ood)$")[0].where(popular)
    return pd.Series(kind, index=dataset.index), variant, base.map(NINCO_POPULAR).where(popular)


def ninco_results() -> pd.DataFrame:
    """NINCO early results (Bitterwolf et al. ICML 2023, ``df_converted.csv``; never the pickle).

    One row per (model, method, OOD dataset). Convention: ``fpr95`` = FPR on OOD at 95 % TPR on ID
    (threshold = 5 % quantile of IN-1k val scores, ID positive -- MCM/Hendrycks style,
    ``docs/protocols.md`` §1); ``auroc``, ``fpr95``, ``id_top1`` are fractions. ``dataset_kind``: ninco (46 classes),
    unit_test (17), popular (4 sets x ``variant`` full/ood, ``popular`` = canonical name).
    """
    raw = read_csv(NINCO_RESULTS)
    kind, variant, popular = _ninco_kind(raw["dataset"])
    family = np.where(raw["model"].isin(NINCO_CLIP_ZEROSHOT), "clip-zeroshot",
                      np.where(raw["model"].isin(NINCO_CLIP_FT), "clip-ft", "imagenet"))
    return pd.DataFrame({
        "model": "ninco:" + raw["model"], "family": family, "name": raw["model"],
        "method": raw["method"], "dataset": raw["dataset"], "dataset_kind": kind,
        "variant": variant, "popular": popular, "auroc": raw["auroc"], "fpr95": raw["fpr"],
        "id_top1": raw["acc"],
    })
