"""Published per-model results as tidy long DataFrames.

Every loader reads a pinned public table through :func:`cliprobust.fetch.fetch` (never a
mirror path) and returns one row per (model, test set) -- or per trial / per image for the
model-vs-human and ImageNet-X tables -- with these shared columns:

- ``model``: a prefixed id (``open_clip:<arch>/<tag>``, ``timm:<name.tag>``, ``testbed:<name>``,
  ``scaling:<arch>/<name>``, ``clip_benchmark:<arch>/<tag>``, ``imagenetx:<name>``, ``mvh:<name>``,
  ``cood:<name>``, ``ninco:<name>``, ``openood:<arch>/<training>/<postprocessor>``,
  ``ub:<model>/<method>``);
- ``family``: ``clip-zeroshot``, ``clip-ft`` (CLIP image towers fine-tuned on ImageNet),
  ``imagenet`` (other ImageNet classifiers) or, for the testbed, its model type;
- ``test_set``: one of :data:`TEST_SETS` (other data sets keep their source name when asked for);
- ``top1``: top-1 accuracy as a FRACTION in [0, 1] (percent tables are divided by 100 on load).

Sources, units and traps are described in ``shared/data/README-tables.md`` and
``README-literature.md``; each loader's docstring names its file.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import numpy as np
import pandas as pd

from .fetch import fetch
from .metrics.robustness import testbed_baseline

# --------------------------------------------------------------------------- test sets

#: Canonical test-set names used across cliprobust.
IMAGENET = "imagenet"
TEST_SETS: tuple[str, ...] = (
    "imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a",
    "imagenet-o", "imagenet-real", "imagenet-r-classes", "imagenet-a-classes", "objectnet-classes",
)

#: The five natural distribution shifts of Taori et al. / Fang et al. / Tu et al.
SHIFTS: tuple[str, ...] = ("imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")

#: In-distribution baseline of each shift (PROTOCOLS.md item 3): ImageNet val restricted to the
#: shift's classes for the 200-class R/A and the 113-class ObjectNet, full ImageNet val otherwise.
SHIFT_BASELINE: dict[str, str] = {
    "imagenet-v2": "imagenet",
    "imagenet-sketch": "imagenet",
    "imagenet-r": "imagenet-r-classes",
    "imagenet-a": "imagenet-a-classes",
    "objectnet": "objectnet-classes",
}

FAMILIES: tuple[str, ...] = ("clip-zeroshot", "clip-ft", "imagenet")

#: Alternative baselines for tables without class-subset ID accuracies (open_clip, scaling laws,
#: CLIP_benchmark): every shift against full ImageNet val.
SHIFT_BASELINE_FULL_IMAGENET: dict[str, str] = {s: "imagenet" for s in SHIFTS}


@lru_cache(maxsize=None)
def _read_csv_cached(name: str, thousands: str | None = None) -> pd.DataFrame:
    return pd.read_csv(fetch(name), thousands=thousands)


def _read_csv(name: str, thousands: str | None = None) -> pd.DataFrame:
    """A fresh copy of a pinned CSV (parsed once per process)."""
    return _read_csv_cached(name, thousands).copy()


@lru_cache(maxsize=None)
def _read_json(name: str) -> object:
    with open(fetch(name), encoding="utf-8") as fh:
        return json.load(fh)


def wide(df: pd.DataFrame, values: str = "top1", index: str = "model",
         columns: str = "test_set") -> pd.DataFrame:
    """Pivot a tidy table to one row per ``index`` and one column per ``columns``.

    Raises when a (model, test_set) cell has several rows -- e.g. timm at two resolutions:
    pass ``timm_results(default_resolution=True)`` or filter first.
    """
    dup = df.duplicated([index, columns], keep=False)
    if dup.any():
        example = df.loc[dup, [index, columns]].iloc[0].tolist()
        raise ValueError(
            f"wide(): {int(dup.sum())} rows share ({index}, {columns}), e.g. {example}. "
            f"Filter to one row per cell first (timm: timm_results(default_resolution=True))."
        )
    out = df.pivot(index=index, columns=columns, values=values)
    ordered = [c for c in TEST_SETS if c in out.columns] + [c for c in out.columns if c not in TEST_SETS]
    out = out[ordered]
    out.columns.name = None
    return out


def shift_pairs(df: pd.DataFrame, baselines: dict[str, str] | None = None,
                value: str = "top1") -> pd.DataFrame:
    """One row per (model, shift): ``id_top1`` on the shift's baseline set, ``ood_top1`` on the shift.

    ``baselines`` defaults to :data:`SHIFT_BASELINE` (class-subset ID sets for R/A/ObjectNet);
    pass :data:`SHIFT_BASELINE_FULL_IMAGENET` for tables without them. Models lacking either
    value for a shift are left out. Other per-model columns (family, ...) are kept.
    """
    baselines = SHIFT_BASELINE if baselines is None else baselines
    acc = wide(df, values=value)
    extra = [c for c in ("family", "arch", "pretrained", "pretrain_data", "name", "type") if c in df]
    meta = df.drop_duplicates("model").set_index("model")[extra]
    frames = []
    for shift, base in baselines.items():
        if shift not in acc or base not in acc:
            continue
        part = pd.DataFrame({"shift": shift, "baseline": base, "id_top1": acc[base], "ood_top1": acc[shift]})
        frames.append(part.dropna(subset=["id_top1", "ood_top1"]))
    if not frames:
        raise ValueError(f"shift_pairs(): none of {list(baselines.items())} has both columns in "
                         f"{sorted(acc.columns)}; pass baselines=SHIFT_BASELINE_FULL_IMAGENET?")
    out = pd.concat(frames).rename_axis("model").reset_index()
    return out.join(meta, on="model")


# --------------------------------------------------------------------------- open_clip

OPENCLIP_RESULTS = "published/open_clip/openclip_results.csv"
OPENCLIP_PROFILE = "published/open_clip/model_profile.csv"

#: open_clip result columns -> canonical test sets. open_clip/CLIP_benchmark evaluate R and A
#: with 200-class zero-shot heads and ObjectNet with a 113-name head (PROTOCOLS.md items 2-3).
OPENCLIP_TEST_SETS: dict[str, str] = {
    "ImageNet 1k": "imagenet", "ImageNet v2": "imagenet-v2", "ImageNet-R": "imagenet-r",
    "ImageNet Sketch": "imagenet-sketch", "ObjectNet": "objectnet", "ImageNet-A": "imagenet-a",
    "ImageNet-O": "imagenet-o",
}

#: The ``-quickgelu`` openai rows that repeat the plain rows' weights and numbers (PROTOCOLS item 10).
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
    raw = _read_csv(OPENCLIP_RESULTS)
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
    return _read_csv(OPENCLIP_PROFILE).rename(columns={"model": "arch"})


# --------------------------------------------------------------------------- timm

#: timm results file -> canonical test set. ``-clean`` files are IN-val on the 200 R/A classes.
TIMM_FILES: dict[str, str] = {
    "published/timm/results-imagenet.csv": "imagenet",
    "published/timm/results-imagenet-real.csv": "imagenet-real",
    "published/timm/results-imagenetv2-matched-frequency.csv": "imagenet-v2",
    "published/timm/results-sketch.csv": "imagenet-sketch",
    "published/timm/results-imagenet-r.csv": "imagenet-r",
    "published/timm/results-imagenet-r-clean.csv": "imagenet-r-classes",
    "published/timm/results-imagenet-a.csv": "imagenet-a",
    "published/timm/results-imagenet-a-clean.csv": "imagenet-a-classes",
}


def timm_family(name: str) -> str:
    """``clip-ft`` for CLIP image towers fine-tuned on ImageNet (names with ``clip``, and the SigLIP
    ``webli_ft_in1k`` fine-tunes), else ``imagenet`` (README-tables.md, timm caveats)."""
    return "clip-ft" if ("clip" in name or "webli_ft_in1k" in name) else "imagenet"


def _timm_file(name: str, test_set: str) -> pd.DataFrame:
    raw = _read_csv(name, thousands=",")  # param_count has "1,013.01"-style separators
    raw["param_count"] = pd.to_numeric(raw["param_count"], errors="raise")
    df = pd.DataFrame({
        "model": "timm:" + raw["model"], "family": raw["model"].map(timm_family),
        "test_set": test_set, "top1": raw["top1"] / 100.0, "top5": raw["top5"] / 100.0,
        "name": raw["model"], "arch": raw["model"].str.split(".").str[0],
        "pretrained": raw["model"].str.split(".", n=1).str[1],
        "img_size": raw["img_size"], "crop_pct": raw["crop_pct"],
        "interpolation": raw["interpolation"], "params_m": raw["param_count"],
    })
    return df


def timm_results(test_sets: tuple[str, ...] | None = None,
                 default_resolution: bool = False) -> pd.DataFrame:
    """timm ``results-*.csv`` (:data:`TIMM_FILES`), long, ``top1``/``top5`` as fractions.

    All rows are kept, with ``img_size``: 290 rows per file are a model at a second resolution.
    ``default_resolution=True`` keeps one row per model via :func:`timm_default_resolution`.
    Note ``results-imagenet-a.csv`` has ``resmlp_24_224.fb_dino`` instead of ``resnet50.tv_in1k``.
    """
    wanted = test_sets or tuple(TIMM_FILES.values())
    unknown = set(wanted) - set(TIMM_FILES.values())
    if unknown:
        raise ValueError(f"timm has no table for {sorted(unknown)}; available: {list(TIMM_FILES.values())}")
    df = pd.concat([_timm_file(f, t) for f, t in TIMM_FILES.items() if t in wanted], ignore_index=True)
    return timm_default_resolution(df) if default_resolution else df


@lru_cache(maxsize=None)
def _timm_cfg_size(name: str) -> int | None:
    from timm.models import get_pretrained_cfg  # lazy: importing timm costs seconds

    cfg = get_pretrained_cfg(name)
    return None if cfg is None else int(cfg.input_size[-1])


def timm_default_resolution(df: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (model, test_set), the row at the model's default resolution.

    Default = ``input_size`` of the model's timm ``pretrained_cfg`` (the resolution timm's
    ``resolve_data_config`` uses); the other row is timm's ``test_input_size`` evaluation. Models
    at a single resolution keep it; if no row matches the cfg, the smallest ``img_size`` is kept.
    """
    counts = df.groupby(["model", "test_set"])["img_size"].transform("size")
    multi = df[counts > 1]
    keep = pd.Series(counts == 1, index=df.index)
    for (model, _), g in multi.groupby(["model", "test_set"]):
        size = _timm_cfg_size(model.removeprefix("timm:"))
        hit = g.index[g["img_size"] == size]
        keep[hit[0] if len(hit) else g["img_size"].idxmin()] = True
    return df[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- imagenet-testbed

TESTBED_RESULTS = "published/imagenet-testbed/robustness_top1s.csv"
TESTBED_TYPES = "published/imagenet-testbed/model_types.csv"
OBJECTNET_META = "published/imagenet-testbed/objectnet_metadata/"

#: imagenet-testbed columns -> canonical test sets.
TESTBED_TEST_SETS: dict[str, str] = {
    "val": "imagenet",
    "imagenetv2-matched-frequency-format-val": "imagenet-v2",
    "imagenet-r": "imagenet-r",
    "imagenet-a": "imagenet-a",
    "imagenet-sketch": "imagenet-sketch",
    "objectnet-1.0-beta": "objectnet",
    "val-on-imagenet-r-classes": "imagenet-r-classes",
    "val-on-imagenet-a-classes": "imagenet-a-classes",
    "val-on-objectnet-classes": "objectnet-classes",
}

#: The testbed's two CLIP zero-shot rows (typed MORE_DATA upstream; family clip-zeroshot here).
TESTBED_CLIP_ZEROSHOT: tuple[str, ...] = ("vit_b_32_clip_zeroshot", "resnet50_clip_zeroshot")


def testbed_model_types() -> pd.DataFrame:
    """``model_types.csv``: testbed model name -> type (STANDARD, MORE_DATA, ROBUST_INTV, ...)."""
    return _read_csv(TESTBED_TYPES)


def testbed_results(include_other: bool = False) -> pd.DataFrame:
    """imagenet-testbed ``robustness_top1s.csv`` (percent -> fraction), long; empty cells dropped.

    ``test_set`` is canonical for :data:`TESTBED_TEST_SETS`; ``include_other=True`` adds the
    other 204 settings (ImageNet-C, PGD, ...) under their testbed names. ``family`` is the
    testbed model type, except the two CLIP zero-shot rows (``clip-zeroshot``); ``type`` keeps
    the upstream type. 3 subsample models have no ``val``; ``imagenet-r`` covers 329 models.
    """
    raw = _read_csv(TESTBED_RESULTS)
    value_cols = [c for c in raw.columns if c != "model"] if include_other else list(TESTBED_TEST_SETS)
    df = raw.melt(id_vars="model", value_vars=value_cols, var_name="test_set", value_name="top1")
    df = df.dropna(subset=["top1"])
    df["top1"] = df["top1"] / 100.0
    df["test_set"] = df["test_set"].map(lambda c: TESTBED_TEST_SETS.get(c, c))
    types = testbed_model_types().set_index("model")["type"]
    df["type"] = df["model"].map(types)
    df["family"] = df["type"].where(~df["model"].isin(TESTBED_CLIP_ZEROSHOT), "clip-zeroshot")
    df["name"] = df["model"]
    df["model"] = "testbed:" + df["model"]
    return df[["model", "family", "test_set", "top1", "name", "type"]].reset_index(drop=True)


def testbed_baseline_models() -> list[str]:
    """Effective-robustness baseline set (Taori et al. 2020) as ``testbed:`` ids: the rule of
    :func:`cliprobust.metrics.robustness.testbed_baseline` over the models with results."""
    types = testbed_model_types().set_index("model")["type"]
    mask = testbed_baseline(types)
    present = set(_read_csv(TESTBED_RESULTS)["model"])
    return sorted(f"testbed:{m}" for m in mask.index[mask.to_numpy()] if m in present)


# --------------------------------------------------------------------------- label maps

LABEL_MAPS = "published/label-maps/"


@lru_cache(maxsize=None)
def _read_lines(name: str) -> tuple[str, ...]:
    with open(fetch(name), encoding="utf-8") as fh:
        return tuple(line.strip() for line in fh if line.strip())


def imagenet_wnids() -> list[str]:
    """The 1000 ImageNet-1k wnids in sorted order; position i is class index i (timm synsets file)."""
    return list(_read_lines(LABEL_MAPS + "imagenet_wnids.txt"))


def imagenet_r_wnids() -> list[str]:
    """The 200 ImageNet-R wnids in 1k-index order (hendrycks/imagenet-r ``eval.py``)."""
    return list(_read_lines(LABEL_MAPS + "imagenet_r_wnids.txt"))


def imagenet_a_wnids() -> list[str]:
    """The 200 ImageNet-A wnids in 1k-index order (hendrycks/natural-adv-examples)."""
    return list(_read_lines(LABEL_MAPS + "imagenet_a_wnids.txt"))


def wnid_indices(wnids: list[str]) -> list[int]:
    """0-based ImageNet-1k indices of ``wnids`` (e.g. the 200 R/A columns to keep of 1000 logits)."""
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    missing = [w for w in wnids if w not in index]
    if missing:
        raise KeyError(f"wnids not in ImageNet-1k ({LABEL_MAPS}imagenet_wnids.txt): {missing[:5]}")
    return [index[w] for w in wnids]


def mvh_16_categories() -> dict[str, list[int]]:
    """model-vs-human's 16 categories -> ascending ImageNet indices (``HumanCategories``), alphabetical.

    Use: a 16-way score is the MEAN softmax probability over a category's indices (PROTOCOLS item 7).
    """
    df = _read_csv(LABEL_MAPS + "model_vs_human_16_categories.csv")
    return {c: sorted(g["imagenet_index"].astype(int)) for c, g in df.groupby("category", sort=True)}


def imagenet_index_to_name() -> dict[int, str]:
    """ImageNet index -> WordNet class name string (testbed ``imagenet_to_labels.json``); display only."""
    raw = _read_json(OBJECTNET_META + "imagenet_to_labels.json")
    return {int(k): v for k, v in raw.items()}


def objectnet_folder_to_label() -> dict[str, str]:
    """ObjectNet image folder -> ObjectNet class label (313 folders; testbed metadata)."""
    return dict(_read_json(OBJECTNET_META + "folder_to_objectnet_label.json"))


def objectnet_to_imagenet() -> dict[str, list[int]]:
    """The 113 ObjectNet classes overlapping ImageNet -> their ImageNet indices (125 in total).

    Source ``objectnet_to_imagenet_1k.json`` lists ImageNet class names joined by ``"; "``; they
    are resolved to indices through ``imagenet_to_labels.json``, refusing ambiguous names.
    """
    names = imagenet_index_to_name()
    by_name: dict[str, list[int]] = {}
    for i, n in names.items():
        by_name.setdefault(n, []).append(i)
    out: dict[str, list[int]] = {}
    for label, joined in _read_json(OBJECTNET_META + "objectnet_to_imagenet_1k.json").items():
        idx = [by_name.get(n, []) for n in joined.split("; ")]
        if any(len(i) != 1 for i in idx):
            raise ValueError(f"objectnet_to_imagenet_1k.json: {label!r} -> {joined!r} has a missing or "
                             f"ambiguous ImageNet name; fix the mapping by index")
        out[label] = sorted(i[0] for i in idx)
    return out


def objectnet_folder_to_imagenet() -> dict[str, list[int]]:
    """ObjectNet folder -> ImageNet indices, for the 113 overlapping classes' folders only."""
    labels = objectnet_to_imagenet()
    return {f: labels[lab] for f, lab in objectnet_folder_to_label().items() if lab in labels}


# --------------------------------------------------------------------------- model-vs-human

MVH_HUMAN_FILE = "model-vs-human/raw-data/cue-conflict/cue-conflict_subject-{:02d}_session_1.csv"
MVH_MODEL_FILE = "model-vs-human/kayburns/raw-data/cue-conflict/cue-conflict_{}_session-1.csv"
MVH_VAL_FILE = "model-vs-human/kayburns/raw-data/imagenet_validation/imagenet_validation_{}_session-1.csv"
MVH_HUMANS: tuple[str, ...] = tuple(f"subject-{i:02d}" for i in range(1, 11))

#: The 15 kayburns/model-vs-human models with cue-conflict decisions. ``clip`` there is OpenAI
#: CLIP **ViT-B/16** (fork commit 78a3a47), unlike upstream model-vs-human and ImageNet-X (ViT-B/32).
MVH_MODELS: tuple[str, ...] = (
    "clip", "deit-insup", "deit-sinsup", "resnet50", "resnet50-sup", "resnet50-insup", "resnet50-dino",
    "resnet50-moco", "vit-dino", "vits-dino", "vits-dinov2", "vits-moco", "vitb-moco", "vits-sup",
    "vits-sinsup",
)

#: kayburns models whose decisions are identical to another listed model (README-tables.md).
MVH_DUPLICATES: dict[str, str] = {
    "deit-insup": "vits-sup", "deit-sinsup": "vits-sinsup", "resnet50": "resnet50-sup",
    "vit-dino": "vits-dino",
}

_STIMULUS = re.compile(r"^([a-z]+)\d+-([a-z]+)\d+\.png$")


def _trials(name: str, subject: str, kind: str) -> pd.DataFrame:
    raw = _read_csv(name)
    stim = raw["imagename"].str.rsplit("_", n=1).str[-1]
    parts = stim.str.extract(_STIMULUS)
    if parts.isna().any().any():
        raise ValueError(f"{name}: unparsable stimulus names, e.g. {stim[parts[0].isna()].iloc[0]!r}")
    return pd.DataFrame({
        "model": f"mvh:{subject}", "subject": subject, "kind": kind, "trial": raw["trial"],
        "stimulus": stim, "shape": parts[0], "texture": parts[1],
        "response": raw["object_response"], "rt": raw["rt"],
    })


def cue_conflict_trials(include_models: bool = True) -> pd.DataFrame:
    """Cue-conflict decisions: 10 humans (bethgelab) + 15 models (kayburns fork), 1280 trials each.

    Columns: model (``mvh:<subject>``), subject, kind (``human``/``model``), trial, stimulus
    (bare ``<shape><i>-<texture><j>.png``), shape, texture (parsed from it), response (16-class
    label), rt (humans only). Trials with shape == texture are kept; drop them for shape bias.
    """
    frames = [_trials(MVH_HUMAN_FILE.format(i + 1), s, "human") for i, s in enumerate(MVH_HUMANS)]
    if include_models:
        frames += [_trials(MVH_MODEL_FILE.format(m), m, "model") for m in MVH_MODELS]
    return pd.concat(frames, ignore_index=True)


def imagenet_val_decisions(model: str = "clip") -> pd.DataFrame:
    """Top-1 ImageNet-val decisions of a kayburns model-vs-human model (only ``clip`` = ViT-B/16 is
    mirrored): file_name, label / response (wnids), label_index / response_index, correct."""
    name = MVH_VAL_FILE.format(model)
    if model != "clip":
        raise ValueError(f"only imagenet_validation_clip_session-1.csv is mirrored, not {name}")
    raw = _read_csv(name)
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    return pd.DataFrame({
        "model": f"mvh:{model}", "file_name": raw["imagename"], "label": raw["category"],
        "response": raw["object_response"], "label_index": raw["category"].map(index),
        "response_index": raw["object_response"].map(index),
        "correct": raw["category"] == raw["object_response"],
    })


# --------------------------------------------------------------------------- ImageNet-X

IMAGENETX_RESULTS = "imagenetx/results/val/top_factor/{group}/class/accuracies_per_factor{suffix}.csv"
IMAGENETX_PREDICTIONS = "imagenetx/model_predictions/base/{name}.csv"
IMAGENETX_GROUPS: tuple[str, ...] = (
    "adaptive_colorjitter", "base", "colorjitter", "colorjitter_crop", "crop", "gaussian_blur",
    "imagenet_testbed", "modelvshuman",
)
IMAGENETX_PREDICTION_MODELS: tuple[str, ...] = ("DINO", "ResNet50", "SimCLR", "ViT")

#: The 16 ImageNet-X factors, in the order of the published tables (= ``imagenet_x.FACTORS``).
IMAGENETX_FACTORS: tuple[str, ...] = (
    "pose", "background", "pattern", "color", "smaller", "shape", "partial_view", "subcategory",
    "texture", "larger", "darker", "object_blocking", "person_blocking", "style", "brighter",
    "multiple_objects",
)

#: The 10 factors Tu et al. (NeurIPS 2023) report (the 10 most frequent ImageNet-X factors).
PAPER_FACTORS: tuple[str, ...] = (
    "pose", "background", "pattern", "color", "smaller", "shape", "partial_view", "subcategory",
    "texture", "larger",
)

#: CLIP zero-shot rows of the ImageNet-X groups (``clip`` in modelvshuman = OpenAI ViT-B/32).
IMAGENETX_CLIP_ZEROSHOT: tuple[str, ...] = TESTBED_CLIP_ZEROSHOT + ("clip", "clipRN50")

#: The 16 named ImageNet-X metaclasses; other classes are ``other`` (``imagenet_x.METACLASSES``).
_IMAGENETX_METACLASSES: tuple[str, ...] = (
    "device", "dog", "commodity", "bird", "structure", "covering", "wheeled_vehicle", "food",
    "equipment", "insect", "vehicle", "furniture", "primate", "vessel", "snake", "natural_object",
)

#: Per-model summary columns of the ImageNet-X tables: ``average`` = accuracy over all annotated
#: (non-prototype) val images, ``worst_factor`` = min over the 16 factor accuracies,
#: ``worst_100_classes`` = mean accuracy of the 100 worst classes (absent in metaclass tables).
IMAGENETX_SUMMARY: tuple[str, ...] = ("average", "worst_factor", "worst_100_classes")


def _imagenetx_family(names: pd.Series, group: str) -> pd.Series:
    fam = pd.Series("imagenet", index=names.index)
    if group == "imagenet_testbed":
        types = testbed_model_types().set_index("model")["type"]
        fam = names.map(types).fillna("imagenet")
    return fam.where(~names.isin(IMAGENETX_CLIP_ZEROSHOT), "clip-zeroshot")


def imagenetx_factor_accuracies(group: str = "imagenet_testbed", metaclass: bool = False) -> pd.DataFrame:
    """ImageNet-X per-factor accuracies (fractions) of one group, long: model, family, factor,
    accuracy, name, plus the :data:`IMAGENETX_SUMMARY` columns repeated per row.

    Rows per group: imagenet_testbed 335, modelvshuman 54, crop 1272, colorjitter 664,
    gaussian_blur 161, base 4. ``metaclass=True`` reads the per-metaclass table (adds
    ``metaclass``; not mirrored for crop). ``family`` uses the testbed types for that group.
    """
    if group not in IMAGENETX_GROUPS:
        raise ValueError(f"unknown ImageNet-X group {group!r}; choose from {IMAGENETX_GROUPS}")
    if metaclass and group == "crop":
        raise ValueError("crop/class/accuracies_per_factor_metaclass.csv is not in the data mirror "
                         "(blob absent upstream); use metaclass=False for crop")
    raw = _read_csv(IMAGENETX_RESULTS.format(group=group, suffix="_metaclass" if metaclass else ""))
    ids = ["model"] + (["metaclass"] if metaclass else []) + [c for c in IMAGENETX_SUMMARY if c in raw]
    df = raw.melt(id_vars=ids, value_vars=list(IMAGENETX_FACTORS), var_name="factor", value_name="accuracy")
    df = df.rename(columns={"model": "name"})
    df["model"] = "imagenetx:" + df["name"]
    df["family"] = _imagenetx_family(df["name"], group)
    df["group"] = group
    front = ["model", "family", "factor", "accuracy", "name", "group"]
    return df[front + [c for c in df.columns if c not in front]].reset_index(drop=True)


def imagenetx_predictions(name: str) -> pd.DataFrame:
    """Top-1 ImageNet-val predictions of an ImageNet-X base model (DINO, ResNet50, SimCLR, ViT):
    file_name, predicted_class (0-999), predicted_probability (softmax of the top-1 class only),
    label (from ``imagenet_x/annotations/filename_label.csv``), correct."""
    if name not in IMAGENETX_PREDICTION_MODELS:
        raise ValueError(f"no ImageNet-X predictions for {name!r}; mirrored: {IMAGENETX_PREDICTION_MODELS}")
    df = _read_csv(IMAGENETX_PREDICTIONS.format(name=name))
    labels = _imagenetx_labels()
    df["label"] = df["file_name"].map(labels)
    if df["label"].isna().any():
        raise ValueError(f"{IMAGENETX_PREDICTIONS.format(name=name)}: file names missing from filename_label.csv")
    df["label"] = df["label"].astype(int)
    df["correct"] = df["predicted_class"] == df["label"]
    df.insert(0, "model", f"imagenetx:{name}")
    return df


def _imagenetx_annotation_dir():
    """The ``annotations`` folder shipped in the installed ``imagenet_x`` package (no import of it)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("imagenet_x")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("imagenet_x is not installed: pip install imagenet-x (--no-deps is enough)")
    return Path(list(spec.submodule_search_locations)[0]) / "annotations"


@lru_cache(maxsize=1)
def _imagenetx_labels() -> pd.Series:
    df = pd.read_csv(_imagenetx_annotation_dir() / "filename_label.csv")
    return df.set_index("file_name")["label"]


@lru_cache(maxsize=4)
def _imagenetx_annotations(which_factor: str, partition: str) -> pd.DataFrame:
    d = _imagenetx_annotation_dir()
    ann = pd.read_json(d / f"imagenet_x_{partition}_{which_factor}_factor.jsonl", lines=True)
    meta = pd.read_csv(d / "imagenet_1k_classes_to_100_metaclasses.csv")["name"]
    known = set(_IMAGENETX_METACLASSES)
    meta = meta.where(meta.isin(known), "other")  # as imagenet_x.utils.to_metaclass
    ann["metaclass"] = meta.to_numpy()[ann["class"].to_numpy()]
    protos = set(pd.read_csv(d / "prototypical_paths.csv")["file_name"])
    ann["prototype"] = ann["file_name"].isin(protos)
    ann[list(IMAGENETX_FACTORS)] = ann[list(IMAGENETX_FACTORS)].astype(bool)
    return ann.rename(columns={"class": "label"})



def imagenetx_annotations(which_factor: str = "top", partition: str = "val",
                          filter_prototypes: bool = True, long: bool = False) -> pd.DataFrame:
    """Per-image ImageNet-X annotations from the installed ``imagenet_x`` package, keyed by file_name.

    Wide (default): file_name, label (0-999), metaclass (17 incl. ``other``), one bool column per
    factor of :data:`IMAGENETX_FACTORS`. ``long=True``: one row per (file_name, factor) that is
    set. Prototype images are dropped by default, as in ``imagenet_x.load_annotations``.
    """
    ann = _imagenetx_annotations(which_factor, partition)
    if filter_prototypes:
        ann = ann[~ann["prototype"]]
    cols = ["file_name", "label", "metaclass", *IMAGENETX_FACTORS]
    wide_df = ann[cols].reset_index(drop=True)
    if not long:
        return wide_df
    out = wide_df.melt(id_vars=["file_name", "label", "metaclass"], var_name="factor", value_name="set")
    return out[out["set"]].drop(columns="set").sort_values(["file_name", "factor"]).reset_index(drop=True)


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
    raw = _read_csv(SCALING_RESULTS).rename(columns={"name": "pretrained", "downstream_dataset": "dataset"})
    df = _zeroshot_long(raw, all_datasets)
    df["model"] = "scaling:" + df["arch"] + "/" + df["pretrained"]
    df["pretrain_data"] = df["upstream_dataset"].map(UPSTREAM_DATA)
    cols = ["model", "family", "test_set", "top1", "top5", "arch", "pretrained", "pretrain_data",
            "samples_seen", "gmacs", "mean_per_class_recall", "open_clip_id"]
    return df[cols].reset_index(drop=True)


def scaling_laws_models() -> pd.DataFrame:
    """``trained_models_info.csv``: the 29 LAION checkpoints' training hyper-parameters."""
    return _read_csv(SCALING_MODELS)


def clip_benchmark_results(table: str = "benchmark", all_datasets: bool = False) -> pd.DataFrame:
    """CLIP_benchmark zero-shot classification results, long (acc1 -> ``top1``, fractions).

    ``table="benchmark"``: ``benchmark/benchmark.csv``, 13 OpenCLIP/OpenAI models x 39 sets.
    ``table="probe"``: ``probe_benchmark/openclip_results.csv``, 34 models (open_clip tags and
    scaling-laws checkpoints; zero-shot despite the folder name). ``model`` =
    ``clip_benchmark:<arch>/<pretrained>``; ``open_clip_id`` joins to :func:`open_clip_results`.
    """
    if table not in CLIP_BENCHMARK_FILES:
        raise ValueError(f"table must be one of {list(CLIP_BENCHMARK_FILES)}, got {table!r}")
    raw = _read_csv(CLIP_BENCHMARK_FILES[table])
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
    df = _read_csv(CLIP_BENCHMARK_DIR + "benchmark/dataset_type.csv")
    return dict(zip(df["dataset"], df["type"]))


def clip_benchmark_classnames() -> dict[str, list[str]]:
    """CLIP_benchmark ``en_classnames.json``: dataset -> class names (1000 for ``imagenet1k``)."""
    return {k: list(v) for k, v in _read_json(CLIP_BENCHMARK_DIR + "datasets/en_classnames.json").items()}


def clip_benchmark_templates() -> dict[str, list[str]]:
    """CLIP_benchmark prompt templates per dataset (80 for ``imagenet1k``; ``{c}`` = class name)."""
    raw = _read_json(CLIP_BENCHMARK_DIR + "datasets/en_zeroshot_classification_templates.json")
    return {k: list(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- OOD detection & calibration literature

OPENOOD_FILES: dict[str, str] = {
    "ood": "openood/results/imagenet1k_ood.csv", "fsood": "openood/results/imagenet1k_fsood.csv",
}
COOD_RESULTS = "published/literature/cood_benchmarking/all_paper_results.csv"
NINCO_RESULTS = "published/literature/ninco/df_converted.csv"
UB_RESULTS = "published/literature/uncertainty_baselines_imagenet.csv"


def openood_results(setting: str = "ood") -> pd.DataFrame:
    """OpenOOD v1.5 ImageNet-1k leaderboard (percent -> fractions), one row per entry.

    ``setting``: ``ood`` (standard) or ``fsood`` (full-spectrum). Convention (PROTOCOLS item 1):
    OpenOOD reports AUROC averaged over its near-/far-OOD sets; no CLIP entries. ``model`` =
    ``openood:<arch>/<training>/<postprocessor>``; family ``imagenet``; ``id_top1`` is NaN where
    the source has ``/`` (2 feature-only entries).
    """
    if setting not in OPENOOD_FILES:
        raise ValueError(f"setting must be one of {list(OPENOOD_FILES)}, got {setting!r}")
    raw = _read_csv(OPENOOD_FILES[setting])
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
    df = _read_csv("openood/utils/papers.csv")
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
    raw = _read_csv(COOD_RESULTS)
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
    (threshold = 5 % quantile of IN-1k val scores, ID positive -- MCM/Hendrycks style, PROTOCOLS
    item 1); ``auroc``, ``fpr95``, ``id_top1`` are fractions. ``dataset_kind``: ninco (46 classes),
    unit_test (17), popular (4 sets x ``variant`` full/ood, ``popular`` = canonical name).
    """
    raw = _read_csv(NINCO_RESULTS)
    kind, variant, popular = _ninco_kind(raw["dataset"])
    family = np.where(raw["model"].isin(NINCO_CLIP_ZEROSHOT), "clip-zeroshot",
                      np.where(raw["model"].isin(NINCO_CLIP_FT), "clip-ft", "imagenet"))
    return pd.DataFrame({
        "model": "ninco:" + raw["model"], "family": family, "name": raw["model"],
        "method": raw["method"], "dataset": raw["dataset"], "dataset_kind": kind,
        "variant": variant, "popular": popular, "auroc": raw["auroc"], "fpr95": raw["fpr"],
        "id_top1": raw["acc"],
    })


#: uncertainty-baselines test-set strings -> canonical names (others lower-cased source names).
UB_TEST_SETS: dict[str, str] = {
    "ImageNet-1K val": "imagenet", "ImageNetV2 matched-frequency": "imagenet-v2",
    "ImageNet-A": "imagenet-a", "ObjectNet": "objectnet",
    "ImageNet-C (mean over types and severities)": "imagenet-c",
    "ImageNet-Vid-Robust": "imagenet-vid-robust", "YTBB-Robust": "ytbb-robust",
}


def uncertainty_baselines_results() -> pd.DataFrame:
    """google/uncertainty-baselines ImageNet table (transcribed), long, percent metrics -> fractions.

    Metrics: ``top1`` (from top1_acc_pct), ``mce`` and ``pm_k_acc`` (from *_pct), ``ece``
    (fraction, repo-default binning, before temperature scaling), ``nll``. ResNet-50 x 17 methods
    plus EfficientNet-B0..B2; ``model`` = ``ub:<model>/<method>``.
    """
    raw = _read_csv(UB_RESULTS)
    pct = raw["metric"].str.endswith("_pct")
    value = raw["value"].where(~pct, raw["value"] / 100.0)
    metric = raw["metric"].str.removesuffix("_pct").replace({"top1_acc": "top1"})
    return pd.DataFrame({
        "model": "ub:" + raw["model"] + "/" + raw["method"], "family": "imagenet",
        "arch": raw["model"], "method": raw["method"],
        "test_set": raw["test_set"].map(lambda t: UB_TEST_SETS.get(t, t)),
        "metric": metric, "value": value,
    })
