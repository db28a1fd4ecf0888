"""The three written rules that rebuild the zoo's model lists from the open_clip and timm registries.

Each rule is a pure function over registry listings (:func:`zeroshot_rule`, :func:`clip_ft_rule`,
:func:`imagenet_rule`); :func:`derive` runs one on the installed libraries, and
:func:`regenerate` rebuilds the whole ``models.csv`` (the paper rows from the rules, the
hand-written smoke rows kept) -- ``tests/test_zoo.py`` asserts that it equals the shipped file.
open_clip and timm are imported inside the functions that list their registries, never at
import. To refresh the frozen lists after a deliberate library upgrade:
``python -m cliprobust.zoo.rules`` (then review the diff of ``models.csv``).

Rule 1, zero-shot CLIP (51) -- :func:`zeroshot_rule` over ``open_clip.list_pretrained()``:
  a. CLIP architecture: a ResNet (``RN50``...), ViT (``ViT-B-32``, ``ViT-L-14-336``,
     ``ViT-B-16-plus-240``...) or ConvNeXt (``convnext_*``) image tower with the standard CLIP
     text transformer (:data:`CLIP_ARCH`). This drops SigLIP (sigmoid loss), CLIPA, CoCa
     (captioning loss), EVA (MIM-initialised towers), RoBERTa/XLM-R/NLLB text towers, and the
     post-paper MobileCLIP, ViTamin, PE-Core and MetaCLIP-2 families.
  b. Pre-training data is one of the sources the paper studies (:data:`ZEROSHOT_DATA`): WIT-400M
     (OpenAI), YFCC-15M, CC12M, LAION-400M, LAION-2B, and DataComp (DataComp-* filtered subsets
     and the CommonPool-* pools with their filtering baselines), read from the tag by
     :func:`cliprobust.published.pretrain_data_from_tag`. MetaCLIP, DFN, WebLI, LAION-5B and
     LAION-Aesthetic are other curation schemes outside the paper's named sources.
  c. At least 1B samples seen where the tag states it (:data:`MIN_SAMPLES_SEEN`): this drops the
     DataComp benchmark's small/medium tracks (12.8M / 128M samples seen), filtering probes with
     3-30 % ImageNet zero-shot accuracy -- too weak for calibration or OOD metrics to mean much
     (every kept model has >= 30 % in open_clip's published table; tested).
  d. One entry per set of weights: open_clip lists the same checkpoint under ``X`` and
     ``X-quickgelu`` (``docs/protocols.md`` §10); the plain name is kept (it is the id used by the
     published tables), the twin is recorded in ``aliases`` and ``quick_gelu`` says which
     activation the weights were trained with (load with ``force_quick_gelu=entry.quick_gelu``).
  Result: WIT 9, YFCC-15M 2, CC12M 1, LAION-400M 9, LAION-2B 16, DataComp 5, CommonPool 9.
  Not reachable: the paper's LAION-80M models are LAION scaling-law checkpoints that are not in
  ``open_clip.list_pretrained()``; the published ``scaling:`` table covers them.

Rule 2, CLIP-FT (32) -- :func:`clip_ft_rule` over ``timm.list_pretrained()``: tags that name a
  CLIP pre-training source (``openai``, ``laion2b``, ``clip_laion2b``, ``clip_laiona``) whose data
  is one of rule 1b's (WIT-400M, LAION-2B: the ``clip_laiona`` LAION-Aesthetic fine-tune is out,
  as its zero-shot models are), and whose last step is an ImageNet-1k fine-tune (``..._ft_in1k``
  or ``..._ft_in12k_in1k``, optional resolution suffix). ``*_ft_in12k`` 11k-class heads, EVA-CLIP
  (``clip_ft_in1k``: no source named; MIM-initialised) and SigLIP (``webli_ft_in1k``) do not match.
  Result: ViT 24 (OpenAI 9, LAION-2B 15) + ConvNeXt 8 (LAION-2B); 14 fine-tuned on in1k only,
  18 on in12k -> in1k.

Rule 3, ImageNet models (127) -- :func:`imagenet_rule`:
  a. Candidates: the timm models of timm's published ``results-imagenet.csv`` (so every model
     has published ImageNet / Real / V2 / Sketch / R / A numbers), minus language-supervised
     weights (:data:`LANGUAGE_SUPERVISED`: CLIP, SigLIP... belong to the other groups).
  b. Paper-era architectures: the architecture is catalogued in timm's
     ``model_metadata-in1k.csv`` (timm's own pre-training labels, a 2022-era snapshot; old names
     resolved with timm's deprecation map) -- this drops architectures released after the paper.
  c. Strata: (family = timm module, pre-training data, training method), both read from the
     name (:func:`timm_pretrain_data`, :func:`timm_training`): ImageNet-1k/-12k/-21k, IG-1B,
     IG-3.6B, YFCC-100M, JFT-300M, Merged-30M/38M x supervised, weakly-/semi-/self-supervised,
     distilled, adversarial. These labels agree with timm's own labels in
     ``model_metadata-in1k.csv`` on all 119 names its deprecation map resolves (tested).
  d. From each stratum the smallest and the largest architecture by published parameter count
     (one if the stratum has one architecture), each with its first tag in timm's registry
     order within the stratum (timm's default weights first): every family x data x method
     combination, at both ends of its scale range.
  Result: 127 over 71 strata and 49 families; 29 use extra data (ImageNet-21k 16, IG-1B 5,
  IG-3.6B 2, ImageNet-12k 2, JFT-300M 2, YFCC-100M 2); supervised 97, distilled 13,
  semi-supervised 6, adversarial 4, weakly-supervised 4, self-supervised 3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from functools import lru_cache
from importlib import resources

import pandas as pd

from .. import published
from ..fetch import fetch
from ..published import pretrain_data_from_tag, samples_seen_from_tag
from . import PAPER_GROUPS, REGISTRY, ModelEntry, open_clip_id, timm_id, to_csv_text

# --------------------------------------------------------------------------- rule 1: zero-shot CLIP

#: Rule 1a: ResNet / ViT / ConvNeXt image towers with the standard CLIP text transformer.
CLIP_ARCH = re.compile(
    r"^(RN\d+(x\d+)?|ViT-(B|L|H|g|bigG)-\d+(-\d+|-plus-240)?|convnext_[a-z_]+?(_\d+)?)(-quickgelu)?$"
)
#: Rule 1b: pre-training data sources of the paper (names of :func:`pretrain_data_from_tag`).
ZEROSHOT_DATA: tuple[str, ...] = ("WIT-400M", "YFCC-15M", "CC12M", "LAION-400M", "LAION-2B")
ZEROSHOT_DATA_PREFIXES: tuple[str, ...] = ("DataComp-", "CommonPool-")
#: Rule 1c: minimum samples seen, applied where the tag states it.
MIN_SAMPLES_SEEN = 1_000_000_000
#: Samples seen by OpenAI's CLIP models: 32 epochs over 400M pairs (Radford et al. 2021, Sec. 2.5).
OPENAI_SAMPLES_SEEN = 12_800_000_000
QUICKGELU = "-quickgelu"


def zeroshot_candidate(arch: str, tag: str) -> bool:
    """Rules 1a-1c for one open_clip (arch, tag)."""
    if not CLIP_ARCH.match(arch):
        return False
    data = pretrain_data_from_tag(tag)
    if data not in ZEROSHOT_DATA and not data.startswith(ZEROSHOT_DATA_PREFIXES):
        return False
    return not samples_seen_from_tag(tag) < MIN_SAMPLES_SEEN  # NaN = not stated


def zeroshot_rule(pretrained: Iterable[tuple[str, str]],
                  weights_of: Callable[[str, str], Hashable]) -> list[tuple[str, str]]:
    """Rule 1 over ``open_clip.list_pretrained()``-style pairs, in registry order.

    ``weights_of(arch, tag)`` identifies a checkpoint (:func:`open_clip_weights`); of several
    names for one checkpoint the first non-``-quickgelu`` one is kept (rule 1d).
    """
    chosen: dict[Hashable, tuple[str, str]] = {}
    for arch, tag in pretrained:
        if not zeroshot_candidate(arch, tag):
            continue
        key = weights_of(arch, tag)
        prev = chosen.get(key)
        if prev is None or (prev[0].endswith(QUICKGELU) and not arch.endswith(QUICKGELU)):
            chosen[key] = (arch, tag)
    return list(chosen.values())


def open_clip_weights(arch: str, tag: str) -> str:
    """Checkpoint identity of an open_clip (arch, tag): its download URL (which carries the file
    hash), else its HF-hub id. Not hub-first: open_clip 3.3.0 gives ``ViT-B-16-plus-240``
    ``laion400m_e32`` the hub repo of ``laion400m_e31``, though the two URLs differ."""
    import open_clip  # lazy: imports torch

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    return cfg.get("url") or cfg.get("hf_hub") or f"{arch}/{tag}"


# --------------------------------------------------------------------------- rule 2: CLIP-FT

#: Rule 2: a named CLIP source, then a final ImageNet-1k fine-tune (optional resolution suffix).
CLIP_FT_TAG = re.compile(r"^(openai|laion2b|clip_laion2b|clip_laiona)\w*?_ft_(in1k|in12k_in1k)(_\d+)?$")


def clip_ft_rule(names: Iterable[str]) -> list[str]:
    """Rule 2 over ``timm.list_pretrained()`` names, in the given order."""
    tags = {n: n.split(".", 1)[1] for n in names if "." in n}
    return [n for n, t in tags.items()
            if CLIP_FT_TAG.match(t) and clip_ft_pretrain_data(t) in ZEROSHOT_DATA]


def clip_ft_finetune_data(tag: str) -> str:
    """``in12k→in1k`` for ``..._ft_in12k_in1k`` tags, else ``in1k``."""
    return "in12k→in1k" if "_ft_in12k_in1k" in tag else "in1k"


def clip_ft_pretrain_data(tag: str) -> str:
    """CLIP pre-training data of a timm CLIP-FT tag, via the open_clip tag naming.

    ``openai_ft_in1k`` -> ``openai``; ``clip_laion2b_augreg_ft_in1k`` -> ``laion2b_augreg``;
    ``clip_laiona_*`` (LAION-Aesthetic, timm's short name) -> ``laion_aesthetic``.
    """
    base = tag.removeprefix("clip_").split("_ft_")[0]
    base = re.sub(r"^laiona(?=_|$)", "laion_aesthetic", base)
    return pretrain_data_from_tag(base)


# --------------------------------------------------------------------------- rule 3: ImageNet

#: Rule 3a: tags of language-supervised weights (belong to the CLIP groups, not ImageNet models).
LANGUAGE_SUPERVISED = re.compile(r"clip|laion|openai|webli|siglip|dfn|metaclip|datacomp")
TIMM_METADATA = "published/timm/model_metadata-in1k.csv"

#: Rule 3c, data: ordered (regex searched in the tag, data name); no match = ImageNet-1k only.
TIMM_DATA_RULES: tuple[tuple[str, str], ...] = (
    (r"jft", "JFT-300M"), (r"swag", "IG-3.6B"), (r"ig1b|seer", "IG-1B"),
    (r"yfcc100m", "YFCC-100M"), (r"m38m", "Merged-38M"), (r"m30m", "Merged-30M"),
    (r"in21k|in22k", "ImageNet-21k"), (r"in12k", "ImageNet-12k"),
)
IMAGENET_1K = "ImageNet-1k"

#: Rule 3c, method: ordered (name tokens, method); tokens of the tag, plus the arch tokens in
#: :data:`_ARCH_TRAINING_TOKENS` (e.g. ``deit_base_distilled_patch16_224``, BEiT's MIM).
TIMM_TRAINING_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"ap", "adv"}), "adversarial"),  # AdvProp, (ensemble) adversarial training
    (frozenset({"dist", "distilled", "ssld"}), "distilled"),  # not BiT "teacher" models
    (frozenset({"mae", "mim", "fcmae", "dino", "seer", "beit", "beitv2"}), "self-supervised"),
    (frozenset({"ssl", "swsl", "ns"}), "semi-supervised"),  # fb_ssl/swsl, Noisy Student
    (frozenset({"wsl", "swag"}), "weakly-supervised"),  # IG hashtags
)
_ARCH_TRAINING_TOKENS = frozenset({"distilled", "ssld", "beit", "beitv2"})


def timm_pretrain_data(name: str) -> str:
    """Pre-training data named by a timm tag (:data:`TIMM_DATA_RULES`), ``ImageNet-1k`` if none."""
    tag = name.split(".", 1)[1] if "." in name else ""
    for pattern, data in TIMM_DATA_RULES:
        if re.search(pattern, tag):
            return data
    return IMAGENET_1K


def timm_training(name: str) -> str:
    """Training method named by a timm name (:data:`TIMM_TRAINING_RULES`), else ``supervised``."""
    arch, _, tag = name.partition(".")
    tokens = set(re.split(r"[._]", tag)) | (set(arch.split("_")) & _ARCH_TRAINING_TOKENS)
    for keys, method in TIMM_TRAINING_RULES:
        if tokens & keys:
            return method
    return "supervised"


def era_architectures(metadata_names: Iterable[str], deprecated: Mapping[str, str | None],
                      architectures: Iterable[str]) -> set[str]:
    """Rule 3b: current timm architectures of the names in ``model_metadata-in1k.csv``.

    Old names go through timm's deprecation map (``get_deprecated_models()``; ``None`` = removed).
    """
    known = set(architectures)
    out: set[str] = set()
    for name in metadata_names:
        current = deprecated[name] if name in deprecated else name
        arch = current.split(".")[0] if current else None
        if arch in known:
            out.add(arch)
    return out


def imagenet_candidates(results: pd.DataFrame, era_archs: set[str],
                        module_of: Mapping[str, str]) -> pd.DataFrame:
    """Rules 3a-3c: candidate timm models with their stratum (module, data, method).

    ``results`` needs columns ``name`` and ``params_m`` (timm's results-imagenet table).
    """
    df = results[["name", "params_m"]].drop_duplicates("name")
    df = df[~df["name"].str.contains(LANGUAGE_SUPERVISED)]
    df = df.assign(arch=df["name"].str.split(".").str[0])
    df = df[df["arch"].isin(era_archs)]
    return df.assign(module=df["arch"].map(module_of), data=df["name"].map(timm_pretrain_data),
                     method=df["name"].map(timm_training)).reset_index(drop=True)


def imagenet_rule(results: pd.DataFrame, era_archs: set[str], module_of: Mapping[str, str],
                  tag_rank: Mapping[str, int]) -> list[str]:
    """Rule 3: per stratum, the smallest and the largest architecture by parameter count.

    ``tag_rank[name]`` is the position of the name's tag in timm's list for its architecture
    (0 = timm's default weights); each chosen architecture contributes its best-ranked tag in
    the stratum. Returns timm names sorted by (module, data, method, params, arch).
    """
    strata = ["module", "data", "method"]
    df = imagenet_candidates(results, era_archs, module_of)
    df = df.assign(rank=df["name"].map(tag_rank)).sort_values(["rank", "name"])
    per_arch = df.drop_duplicates(strata + ["arch"])  # best-ranked tag of each arch per stratum
    per_arch = per_arch.sort_values(strata + ["params_m", "arch"])
    ends = per_arch.groupby(strata, sort=False).nth([0, -1])
    return list(ends["name"])


@lru_cache(maxsize=1)
def timm_modules() -> dict[str, str]:
    """timm architecture -> the timm module (architecture family) defining it (public API)."""
    import timm  # lazy: costs seconds

    return {a: m for m in timm.list_modules() for a in timm.list_models(module=m)}


def timm_tag_rank(names: Iterable[str]) -> dict[str, int]:
    """Position of each name's tag in timm's tag list for its architecture (0 = default)."""
    from timm.models import get_arch_pretrained_cfgs

    out: dict[str, int] = {}
    for name in dict.fromkeys(names):
        order = list(get_arch_pretrained_cfgs(name.split(".")[0]))
        out[name] = order.index(name) if name in order else len(order)
    return out


# --------------------------------------------------------------------------- running the rules


def _zeroshot_weights() -> dict[tuple[str, str], str]:
    """Checkpoint identity (:func:`open_clip_weights`) of every open_clip (arch, tag), registry order."""
    import open_clip  # lazy: imports torch

    return {(a, t): open_clip_weights(a, t) for a, t in open_clip.list_pretrained()}


def _imagenet_names() -> tuple[list[str], dict[str, str]]:
    """Rule 3 on the installed timm and the published timm table: (names, arch -> timm module)."""
    from timm.models import get_deprecated_models  # lazy: costs seconds

    modules = timm_modules()
    meta = pd.read_csv(fetch(TIMM_METADATA))["model"]
    era = era_architectures(meta, get_deprecated_models(), modules)
    results = published.timm_results(("imagenet",))
    return imagenet_rule(results, era, modules, timm_tag_rank(results["name"])), modules


def _clip_ft_names() -> list[str]:
    import timm  # lazy: costs seconds

    return clip_ft_rule(timm.list_pretrained())


def derive(group: str) -> list[str]:
    """Re-run the written rule of ``group`` on the installed registries and published tables.

    Returns ids in rule order. Slow (imports open_clip/timm, reads timm's tables); the zoo itself
    uses the frozen ``models.csv``, and the tests check ``derive(g)`` against it.
    """
    if group == "clip-zeroshot":
        weights = _zeroshot_weights()
        return [open_clip_id(a, t) for a, t in zeroshot_rule(weights, lambda a, t: weights[a, t])]
    if group == "clip-ft":
        return [timm_id(n) for n in _clip_ft_names()]
    if group == "imagenet":
        return [timm_id(n) for n in _imagenet_names()[0]]
    raise ValueError(f"no rule for group {group!r}; rules exist for {list(PAPER_GROUPS)}")


# --------------------------------------------------------------------------- building entries

#: timm modules shared with the CLIP groups get the CLIP family names; others keep the module name.
FAMILY_OF_MODULE: dict[str, str] = {"resnet": "ResNet", "vision_transformer": "ViT", "convnext": "ConvNeXt"}


def open_clip_family(arch: str) -> str:
    """``ResNet`` (RN*), ``ViT`` (ViT-*), ``ConvNeXt`` (convnext_*), else the arch name."""
    for prefix, family in (("RN", "ResNet"), ("ViT-", "ViT"), ("convnext", "ConvNeXt")):
        if arch.startswith(prefix):
            return family
    return arch


def clip_ft_family(name: str) -> str:
    """Architecture family of a CLIP-FT timm name: ``ViT`` (``vit_*``), else ``ConvNeXt``."""
    return "ViT" if name.startswith("vit_") else "ConvNeXt"


def _samples_seen(tag: str) -> int | None:
    if tag == "openai":
        return OPENAI_SAMPLES_SEEN
    seen = samples_seen_from_tag(tag)
    return None if seen != seen else int(seen)  # NaN -> None


def zeroshot_entry(arch: str, tag: str, quick_gelu: bool, aliases: tuple[str, ...]) -> ModelEntry:
    """The entry of a rule-1 model; ``quick_gelu`` and ``aliases`` come from open_clip's registry."""
    return ModelEntry(
        id=open_clip_id(arch, tag), source="open_clip", arch=arch, pretrained=tag,
        group="clip-zeroshot", arch_family=open_clip_family(arch),
        pretrain_data=pretrain_data_from_tag(tag), training="contrastive",
        extra_data=True, samples_seen=_samples_seen(tag), quick_gelu=quick_gelu, aliases=aliases,
    )


def timm_entry(name: str, group: str, family: str) -> ModelEntry:
    """The entry of a rule-2 (``clip-ft``) or rule-3 (``imagenet``) timm model."""
    arch, tag = name.split(".", 1)
    if group == "clip-ft":
        data, training, ft = clip_ft_pretrain_data(tag), "contrastive+ft", clip_ft_finetune_data(tag)
    else:
        data, training = timm_pretrain_data(name), timm_training(name)
        ft = "in1k" if data != IMAGENET_1K else None
    return ModelEntry(
        id=timm_id(name), source="timm", arch=arch, pretrained=tag, group=group,
        arch_family=family, pretrain_data=data, training=training,
        extra_data=group == "clip-ft" or data != IMAGENET_1K, finetune_data=ft,
    )


def zeroshot_entries() -> list[ModelEntry]:
    """Rule 1's entries. ``aliases``: the other open_clip names of the same checkpoint (rule 1d);
    ``quick_gelu``: the activation open_clip's pretrained config says the weights were trained with."""
    import open_clip  # lazy: imports torch

    weights = _zeroshot_weights()
    out = []
    for arch, tag in zeroshot_rule(weights, lambda a, t: weights[a, t]):
        twins = tuple(open_clip_id(a, t) for (a, t), w in weights.items()
                      if w == weights[arch, tag] and (a, t) != (arch, tag))
        quick = bool(open_clip.get_pretrained_cfg(arch, tag).get("quick_gelu", False))
        out.append(zeroshot_entry(arch, tag, quick, twins))
    return out


def paper_entries() -> list[ModelEntry]:
    """The 210 paper entries rebuilt by the three rules, in ``models.csv`` order."""
    names, modules = _imagenet_names()
    imagenet = [timm_entry(n, "imagenet", FAMILY_OF_MODULE.get(m, m))
                for n, m in ((n, modules[n.split(".")[0]]) for n in names)]
    clip_ft = [timm_entry(n, "clip-ft", clip_ft_family(n)) for n in _clip_ft_names()]
    return zeroshot_entries() + clip_ft + imagenet


def regenerate() -> str:
    """``models.csv`` rebuilt: the rules' paper rows, then the registry's hand-written other rows."""
    return to_csv_text(paper_entries() + [e for e in REGISTRY if e.group not in PAPER_GROUPS])


if __name__ == "__main__":
    target = resources.files("cliprobust.zoo").joinpath("models.csv")
    with resources.as_file(target) as path:
        path.write_text(regenerate(), encoding="utf-8")
        print(f"wrote {path}")
