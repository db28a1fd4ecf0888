"""open_clip's zero-shot results, the LAION scaling-laws checkpoints, and CLIP_benchmark's tables.

Three tables from the open_clip / LAION ecosystem (``docs/tables.md``): open_clip's
``openclip_results.csv`` (121 (arch, tag) rows x 38 data sets), the scaling-laws
``zeroshot_results.csv`` (Cherti et al. 2023) and CLIP_benchmark's ``benchmark.csv`` /
``probe_benchmark`` results. All are fractions already. :func:`pretrain_data_from_tag` names the
pre-training data of an open_clip tag; the zoo's rules use it too.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._common import read_csv, read_json

OPENCLIP_RESULTS = "published/open_clip/openclip_results.csv"
OPENCLIP_PROFILE = "published/open_clip/model_profile.csv"

#: open_clip result columns -> canonical test sets. open_clip/CLIP_benchmark evaluate R and A
#: with 200-class zero-shot heads and ObjectNet with a 113-name head (``docs/protocols.md`` §2-3).
OPENCLIP_TEST_SETS: dict[str, str] = {
    "ImageNet 1k": "imagenet", "ImageNet v2": "imagenet-v2", "ImageNet-R": "imagenet-r",
    "ImageNet Sketch": "imagenet-sketch", "ObjectNet": "objectnet", "ImageNet-A": "imagenet-a",
    "ImageNet-O": "imagenet-o",
}

#: The ``-quickgelu`` openai rows that repeat the plain rows' weights and numbers (``docs/protocols.md`` §10).
QUICKGELU_DUPLICATES: tuple[str, ...] = ("RN50-quickgelu", "RN101-quickgelu", "ViT-B-32-quickgelu")

# Ordered (regex, data name) rules of pretrain_data_from_tag; first match wins.
_TAG_DATA_RULES: tuple[tuple[str, str], ...] = (
    (r"openai$", "WIT-400M"),
    (r"mscoco_finetuned_laion2b", "LAION-2B+MSCOCO-ft"),
    (r"(frozen_)?laion5b", "LAION-5B"),
    (r"laion2b", "LAION-2B"),
    (r"laion400m", "LAION-400M"),
    (r"laion80m", "LAION-80M"),
    (r"laion_aesthetic", "LAION-Aesthetic"),
    (r"datacompdr", "DataCompDR-1B"),
    (r"datacomp(1b|_xl|_s34b)", "DataComp-1B"),
    (r"datacomp_(l|m|s)_", "DataComp-{0}"),
    (r"commonpool_(xl|l|m|s)_s", "CommonPool-{0}"),
    (r"commonpool_(xl|l|m|s)_(basic|clip|image|laion|text)_", "CommonPool-{0}-{1}"),
    (r"dfndr2b", "DFNDR-2B"),
    (r"dfn2b", "DFN-2B"),
    (r"dfn5b", "DFN-5B"),
    (r"metaclip2_worldwide", "MetaCLIP2-Worldwide"),
    (r"metaclip_altogether", "MetaCLIP-Altogether"),
    (r"metaclip_400m", "MetaCLIP-400M"),
    (r"metaclip_fullcc", "MetaCLIP-2.5B"),
    (r"meta$", "MetaCLIP-5.4B"),
    (r"webli", "WebLI"),
    (r"yfcc15m", "YFCC-15M"),
    (r"cc12m", "CC12M"),
    (r"merged2b", "Merged-2B"),
    (r"(v1|mrl)$", "LAION-COCO-NLLB"),
)


def pretrain_data_from_tag(tag: str) -> str:
    """Image-text pre-training data of an open_clip pretrained tag, e.g. ``laion2b_s34b_b79k`` -> ``LAION-2B``.

    Rules (first match): openai -> WIT-400M; laion400m*/laion2b*/laion5b* -> LAION-400M/-2B/-5B
    (mscoco_finetuned_laion2b -> LAION-2B+MSCOCO-ft); laion_aesthetic -> LAION-Aesthetic;
    datacomp*/commonpool* -> DataComp-<scale> / CommonPool-<scale>[-<filter>] (xl/1b = 1B);
    dfn* -> DFN-2B/-5B, dfndr2b -> DFNDR-2B, datacompdr* -> DataCompDR-1B (MobileCLIP);
    metaclip* -> MetaCLIP-400M/-2.5B (fullcc)/-Altogether/MetaCLIP2-Worldwide, meta (PE-Core)
    -> MetaCLIP-5.4B; webli -> WebLI; yfcc15m -> YFCC-15M; cc12m -> CC12M; merged2b (EVA) ->
    Merged-2B; v1/mrl (NLLB-CLIP) -> LAION-COCO-NLLB. Unmatched tags give ``"unknown"``.
    """
    low = tag.lower()
    for pattern, name in _TAG_DATA_RULES:
        m = re.match(pattern, low)
        if m:
            groups = [g.upper() if g and len(g) <= 2 else g for g in m.groups()]
            return name.format(*groups)
    return "unknown"


def samples_seen_from_tag(tag: str) -> float:
    """Training samples seen encoded in a tag (``_s34b_`` -> 34e9, ``_s128m_`` -> 128e6); NaN if absent."""
    m = re.search(r"(?:^|_)s(\d+)(b|m)(?:_|$)", tag)
    if not m:
        return float("nan")
    return float(m.group(1)) * (1e9 if m.group(2) == "b" else 1e6)


def open_clip_results(dedupe_quickgelu: bool = True, all_datasets: bool = False) -> pd.DataFrame:
    """Zero-shot results of ``published/open_clip/openclip_results.csv`` (fractions), long.

    One row per (arch, pretrained tag, test set); ``test_set`` uses canonical names for the
    ImageNet columns (:data:`OPENCLIP_TEST_SETS`); ``all_datasets=True`` adds the other 31
    columns under their source names. ``dedupe_quickgelu`` drops the 3 openai ``-quickgelu``
    rows that duplicate plain rows (121 -> 118 pairs). Extra columns: arch, pretrained,
    pretrain_data, samples_seen, params_m, flops_b, avg_38.
    """
    raw = read_csv(OPENCLIP_RESULTS)
    if dedupe_quickgelu:
        raw = raw[~(raw["name"].isin(QUICKGELU_DUPLICATES) & (raw["pretrained"] == "openai"))]
    ids = ["name", "pretrained", "params (M)", "FLOPs (B)", "Average perf. on 38 datasets"]
    value_cols = [c for c in raw.columns if c not in ids]
    if not all_datasets:
        value_cols = list(OPENCLIP_TEST_SETS)
    df = raw.melt(id_vars=ids, value_vars=value_cols, var_name="test_set", value_name="top1")
    df = df.rename(columns={"name": "arch", "params (M)": "params_m", "FLOPs (B)": "flops_b",
                            "Average perf. on 38 datasets": "avg_38"})
    df["test_set"] = df["test_set"].map(lambda c: OPENCLIP_TEST_SETS.get(c, c))
    df["model"] = "open_clip:" + df["arch"] + "/" + df["pretrained"]
    df["family"] = "clip-zeroshot"
    df["pretrain_data"] = df["pretrained"].map(pretrain_data_from_tag)
    df["samples_seen"] = df["pretrained"].map(samples_seen_from_tag)
    df = df.dropna(subset=["top1"])
    cols = ["model", "family", "test_set", "top1", "arch", "pretrained", "pretrain_data",
            "samples_seen", "params_m", "flops_b", "avg_38"]
    return df[cols].reset_index(drop=True)


def open_clip_profile() -> pd.DataFrame:
    """``published/open_clip/model_profile.csv``: per-architecture widths, params (M), GFLOPs."""
    return read_csv(OPENCLIP_PROFILE).rename(columns={"model": "arch"})

# --------------------------------------------------------------------------- LAION scaling laws, CLIP_benchmark

SCALING_RESULTS = "published/scaling-laws-openclip/zeroshot_results.csv"
SCALING_MODELS = "published/scaling-laws-openclip/trained_models_info.csv"
CLIP_BENCHMARK_FILES: dict[str, str] = {
    "benchmark": "published/clip_benchmark/benchmark/benchmark.csv",
    "probe": "published/clip_benchmark/probe_benchmark/openclip_results.csv",
}
CLIP_BENCHMARK_DIR = "published/clip_benchmark/"

#: CLIP_benchmark / scaling-laws dataset names -> canonical test sets.
CLIP_BENCHMARK_TEST_SETS: dict[str, str] = {
    "imagenet1k": "imagenet", "imagenetv2": "imagenet-v2", "imagenet-r": "imagenet-r",
    "imagenet_sketch": "imagenet-sketch", "objectnet": "objectnet", "imagenet-a": "imagenet-a",
    "imagenet-o": "imagenet-o",
}

#: ``upstream_dataset`` values of the scaling-laws tables -> the names of :func:`pretrain_data_from_tag`.
UPSTREAM_DATA: dict[str, str] = {
    "CLIP-WIT": "WIT-400M", "LAION-80M": "LAION-80M", "LAION-400M": "LAION-400M", "LAION-2B": "LAION-2B",
}


def _zeroshot_long(raw: pd.DataFrame, all_datasets: bool) -> pd.DataFrame:
    """Shared tidy step for the CLIP_benchmark-schema tables (acc1/acc5 already fractions)."""
    raw = raw[raw["task"] == "zeroshot_classification"]
    if not all_datasets:
        raw = raw[raw["dataset"].isin(list(CLIP_BENCHMARK_TEST_SETS))]
    df = raw.rename(columns={"acc1": "top1", "acc5": "top5"}).copy()
    df["test_set"] = df["dataset"].map(lambda d: CLIP_BENCHMARK_TEST_SETS.get(d, d))
    df["family"] = "clip-zeroshot"
    df["open_clip_id"] = np.where(df["pretrained"].str.endswith(".pt"), None,
                                  "open_clip:" + df["arch"] + "/" + df["pretrained"])
    return df


def scaling_laws_results(all_datasets: bool = False) -> pd.DataFrame:
    """LAION scaling-laws zero-shot results (Cherti et al. 2023; ``zeroshot_results.csv``), long.

    32 models: 29 LAION checkpoints (80M/400M/2B data x 3B/13B/34B samples seen) + OpenAI
    ViT-B-32/B-16/L-14. ``model`` = ``scaling:<arch>/<name>`` (name = checkpoint file or
    ``openai``); extra columns arch, pretrained, pretrain_data, samples_seen, gmacs,
    mean_per_class_recall, open_clip_id (for the openai rows). ``all_datasets=True`` keeps the
    other classification sets and aggregates (``imagenet_robustness``, ``vtab``) by source name.
    """
    raw = read_csv(SCALING_RESULTS).rename(columns={"name": "pretrained", "downstream_dataset": "dataset"})
    df = _zeroshot_long(raw, all_datasets)
    df["model"] = "scaling:" + df["arch"] + "/" + df["pretrained"]
    df["pretrain_data"] = df["upstream_dataset"].map(UPSTREAM_DATA)
    cols = ["model", "family", "test_set", "top1", "top5", "arch", "pretrained", "pretrain_data",
            "samples_seen", "gmacs", "mean_per_class_recall", "open_clip_id"]
    return df[cols].reset_index(drop=True)


def scaling_laws_models() -> pd.DataFrame:
    """``trained_models_info.csv``: the 29 LAION checkpoints' training hyper-parameters."""
    return read_csv(SCALING_MODELS)


def clip_benchmark_results(table: str = "benchmark", all_datasets: bool = False) -> pd.DataFrame:
    """CLIP_benchmark zero-shot classification results, long (acc1 -> ``top1``, fractions).

    ``table="benchmark"``: ``benchmark/benchmark.csv``, 13 OpenCLIP/OpenAI models x 39 sets.
    ``table="probe"``: ``probe_benchmark/openclip_results.csv``, 34 models (open_clip tags and
    scaling-laws checkpoints; zero-shot despite the folder name). ``model`` =
    ``clip_benchmark:<arch>/<pretrained>``; ``open_clip_id`` joins to :func:`open_clip_results`.
    """
    if table not in CLIP_BENCHMARK_FILES:
        raise ValueError(f"table must be one of {list(CLIP_BENCHMARK_FILES)}, got {table!r}")
    raw = read_csv(CLIP_BENCHMARK_FILES[table])
    if table == "benchmark":
        raw = raw.rename(columns={"model": "arch"})
    else:
        split = raw["model_fullname"].str.split(" ", n=1)
        # model_fullname = "<open_clip arch> <tag>"; its arch column drops "-240"/"-quickgelu".
        raw = raw.assign(arch=split.str[0], pretrained=split.str[1])
        raw = raw.rename(columns={"downstream_dataset": "dataset"})
    df = _zeroshot_long(raw, all_datasets)
    df["model"] = "clip_benchmark:" + df["arch"] + "/" + df["pretrained"]
    tag_data = df["pretrained"].map(pretrain_data_from_tag)
    if "upstream_dataset" in df:
        tag_data = df["upstream_dataset"].map(UPSTREAM_DATA)
    df["pretrain_data"] = tag_data
    cols = ["model", "family", "test_set", "top1", "top5", "arch", "pretrained", "pretrain_data",
            "mean_per_class_recall", "open_clip_id"]
    return df[cols].reset_index(drop=True)


def clip_benchmark_dataset_types() -> dict[str, str]:
    """CLIP_benchmark dataset -> type (natural, specialized, structured, retrieval)."""
    df = read_csv(CLIP_BENCHMARK_DIR + "benchmark/dataset_type.csv")
    return dict(zip(df["dataset"], df["type"]))


def clip_benchmark_classnames() -> dict[str, list[str]]:
    """CLIP_benchmark ``en_classnames.json``: dataset -> class names (1000 for ``imagenet1k``)."""
    return {k: list(v) for k, v in read_json(CLIP_BENCHMARK_DIR + "datasets/en_classnames.json").items()}


def clip_benchmark_templates() -> dict[str, list[str]]:
    """CLIP_benchmark prompt templates per dataset (80 for ``imagenet1k``; ``{c}`` = class name)."""
    raw = read_json(CLIP_BENCHMARK_DIR + "datasets/en_zeroshot_classification_templates.json")
    return {k: list(v) for k, v in raw.items()}
