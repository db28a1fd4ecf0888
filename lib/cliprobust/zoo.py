"""The model zoo: the 210 models of Tu et al. (NeurIPS 2023) plus tiny smoke-test models.

Tu et al. study 51 zero-shot CLIP models (open_clip), 32 CLIP models fine-tuned on ImageNet
("CLIP-FT", timm) and 127 ImageNet classifiers (timm), but published no model list. The zoo is
therefore built from the open_clip and timm registries by the three written rules below. Each
rule is a pure function here (:func:`zeroshot_rule`, :func:`clip_ft_rule`, :func:`imagenet_rule`);
the lists they produced with open_clip 3.3.0 / timm 1.0.31 are frozen in this module (so a new
library release cannot silently change the zoo), and ``tests/test_zoo.py`` re-runs the rules on
the installed registries and asserts they give exactly the frozen lists (51 / 32 / 127).
These are *a* principled reconstruction with the paper's counts and groups, not the paper's list.

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
     ``X-quickgelu`` (PROTOCOLS item 10); the plain name is kept (it is the id used by the
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

The ``smoke`` collection (not part of ``paper``) holds random-init models for pipeline tests.
Ids follow the project convention ``open_clip:<arch>/<tag>`` and ``timm:<name.tag>``.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache

import pandas as pd

from . import published
from .fetch import fetch

# --------------------------------------------------------------------------- entries

#: Groups in the paper, and their sizes in Tu et al. (NeurIPS 2023), Sec. 3.
PAPER_GROUPS: tuple[str, ...] = ("clip-zeroshot", "clip-ft", "imagenet")
PAPER_COUNTS: dict[str, int] = {"clip-zeroshot": 51, "clip-ft": 32, "imagenet": 127}
GROUPS: tuple[str, ...] = PAPER_GROUPS + ("smoke",)
#: Named collections for :func:`collection` / :func:`select`: ``paper`` is the 210 paper models.
COLLECTIONS: tuple[str, ...] = ("paper",) + GROUPS


@dataclass(frozen=True)
class ModelEntry:
    """One model of the zoo.

    ``pretrain_data``: the (image-text or image) data the weights were trained on before any
    ImageNet fine-tune; ``finetune_data``: ``in1k`` / ``in12k→in1k`` for CLIP-FT, ``in1k`` for
    ImageNet models pre-trained on extra data, else None; ``extra_data``: trained on more than
    ImageNet-1k; ``arch_family``: ``ResNet`` / ``ViT`` / ``ConvNeXt`` across groups, other
    ImageNet families keep their timm module name (``efficientnet``, ``swin_transformer``...);
    ``training``: ``contrastive`` (zero-shot
    CLIP), ``contrastive+ft`` (CLIP-FT), ``supervised``, ``weakly-supervised``,
    ``semi-supervised``, ``self-supervised``, ``distilled``, ``adversarial`` or ``random-init``.
    """

    id: str
    source: str  # "open_clip" | "timm"
    arch: str  # open_clip model name, or timm architecture (random-init timm: "name.tag")
    pretrained: str | None  # open_clip / timm pretrained tag; None = random init
    group: str  # one of GROUPS
    arch_family: str  # "ResNet", "ViT", "ConvNeXt", ...
    pretrain_data: str | None
    training: str
    extra_data: bool
    samples_seen: int | None = None
    finetune_data: str | None = None
    quick_gelu: bool = False  # open_clip: weights trained with QuickGELU
    aliases: tuple[str, ...] = ()  # other registry ids of the same weights

    @property
    def name(self) -> str:
        """Registry name: timm ``arch.tag`` (what ``timm.create_model`` takes) or open_clip arch.

        Random-init timm entries (``pretrained=None``) keep a config tag in ``arch``
        (``test_vit.r160_in1k``): ``timm.create_model(name, pretrained=False)``."""
        if self.source == "timm" and self.pretrained:
            return f"{self.arch}.{self.pretrained}"
        return self.arch


def open_clip_id(arch: str, tag: str | None) -> str:
    """``open_clip:<arch>/<tag>`` (``none`` for random init)."""
    return f"open_clip:{arch}/{tag or 'none'}"


def timm_id(name: str) -> str:
    """``timm:<name.tag>``."""
    return f"timm:{name}"


# --------------------------------------------------------------------------- rule 1: zero-shot CLIP

#: Rule 1a: ResNet / ViT / ConvNeXt image towers with the standard CLIP text transformer.
CLIP_ARCH = re.compile(
    r"^(RN\d+(x\d+)?|ViT-(B|L|H|g|bigG)-\d+(-\d+|-plus-240)?|convnext_[a-z_]+?(_\d+)?)(-quickgelu)?$"
)
#: Rule 1b: pre-training data sources of the paper (names of ``published.pretrain_data_from_tag``).
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
    data = published.pretrain_data_from_tag(tag)
    if data not in ZEROSHOT_DATA and not data.startswith(ZEROSHOT_DATA_PREFIXES):
        return False
    return not published.samples_seen_from_tag(tag) < MIN_SAMPLES_SEEN  # NaN = not stated


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
    return published.pretrain_data_from_tag(base)


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


def derive(group: str) -> list[str]:
    """Re-run the written rule of ``group`` on the installed registries and published tables.

    Returns ids in rule order. Slow (imports open_clip/timm, reads timm's tables); the zoo itself
    uses the frozen lists, and the tests check ``derive(g)`` against them.
    """
    if group == "clip-zeroshot":
        import open_clip

        return [open_clip_id(a, t) for a, t in zeroshot_rule(open_clip.list_pretrained(), open_clip_weights)]
    import timm

    if group == "clip-ft":
        return [timm_id(n) for n in clip_ft_rule(timm.list_pretrained())]
    if group == "imagenet":
        from timm.models import get_deprecated_models

        modules = timm_modules()
        meta = pd.read_csv(fetch(TIMM_METADATA))["model"]
        era = era_architectures(meta, get_deprecated_models(), modules)
        results = published.timm_results(("imagenet",))
        return [timm_id(n) for n in imagenet_rule(results, era, modules, timm_tag_rank(results["name"]))]
    raise ValueError(f"no rule for group {group!r}; rules exist for {list(PAPER_GROUPS)}")
# --------------------------------------------------------------------------- frozen lists

#: Rule 1 output (open_clip 3.3.0), registry order: ``arch tag quick_gelu has_quickgelu_twin``.
_ZEROSHOT = """
RN50 openai 1 1
RN50 yfcc15m 1 1
RN50 cc12m 1 1
RN101 openai 1 1
RN101 yfcc15m 1 1
RN50x4 openai 1 1
RN50x16 openai 1 1
RN50x64 openai 1 1
ViT-B-32 openai 1 1
ViT-B-32 laion400m_e31 1 1
ViT-B-32 laion400m_e32 1 1
ViT-B-32 laion2b_e16 0 0
ViT-B-32 laion2b_s34b_b79k 0 0
ViT-B-32 datacomp_xl_s13b_b90k 0 0
ViT-B-32-256 datacomp_s34b_b86k 0 0
ViT-B-16 openai 1 1
ViT-B-16 laion400m_e31 0 0
ViT-B-16 laion400m_e32 0 0
ViT-B-16 laion2b_s34b_b88k 0 0
ViT-B-16 datacomp_xl_s13b_b90k 0 0
ViT-B-16 datacomp_l_s1b_b8k 0 0
ViT-B-16 commonpool_l_clip_s1b_b8k 0 0
ViT-B-16 commonpool_l_laion_s1b_b8k 0 0
ViT-B-16 commonpool_l_image_s1b_b8k 0 0
ViT-B-16 commonpool_l_text_s1b_b8k 0 0
ViT-B-16 commonpool_l_basic_s1b_b8k 0 0
ViT-B-16 commonpool_l_s1b_b8k 0 0
ViT-B-16-plus-240 laion400m_e31 0 0
ViT-B-16-plus-240 laion400m_e32 0 0
ViT-L-14 openai 1 1
ViT-L-14 laion400m_e31 0 0
ViT-L-14 laion400m_e32 0 0
ViT-L-14 laion2b_s32b_b82k 0 0
ViT-L-14 datacomp_xl_s13b_b90k 0 0
ViT-L-14 commonpool_xl_clip_s13b_b90k 0 0
ViT-L-14 commonpool_xl_laion_s13b_b90k 0 0
ViT-L-14 commonpool_xl_s13b_b90k 0 0
ViT-L-14-336 openai 1 1
ViT-H-14 laion2b_s32b_b79k 0 0
ViT-g-14 laion2b_s12b_b42k 0 0
ViT-g-14 laion2b_s34b_b88k 0 0
ViT-bigG-14 laion2b_s39b_b160k 0 0
convnext_base laion400m_s13b_b51k 0 0
convnext_base_w laion2b_s13b_b82k 0 0
convnext_base_w laion2b_s13b_b82k_augreg 0 0
convnext_large_d laion2b_s26b_b102k_augreg 0 0
convnext_large_d_320 laion2b_s29b_b131k_ft 0 0
convnext_large_d_320 laion2b_s29b_b131k_ft_soup 0 0
convnext_xxlarge laion2b_s34b_b82k_augreg 0 0
convnext_xxlarge laion2b_s34b_b82k_augreg_rewind 0 0
convnext_xxlarge laion2b_s34b_b82k_augreg_soup 0 0
"""

#: Rule 2 output (timm 1.0.31), registry order.
_CLIP_FT = """
convnext_base.clip_laion2b_augreg_ft_in1k
convnext_base.clip_laion2b_augreg_ft_in12k_in1k
convnext_base.clip_laion2b_augreg_ft_in12k_in1k_384
convnext_large_mlp.clip_laion2b_augreg_ft_in1k
convnext_large_mlp.clip_laion2b_augreg_ft_in1k_384
convnext_large_mlp.clip_laion2b_soup_ft_in12k_in1k_320
convnext_large_mlp.clip_laion2b_soup_ft_in12k_in1k_384
convnext_xxlarge.clip_laion2b_soup_ft_in1k
vit_base_patch16_clip_224.laion2b_ft_in1k
vit_base_patch16_clip_224.laion2b_ft_in12k_in1k
vit_base_patch16_clip_224.openai_ft_in1k
vit_base_patch16_clip_224.openai_ft_in12k_in1k
vit_base_patch16_clip_384.laion2b_ft_in1k
vit_base_patch16_clip_384.laion2b_ft_in12k_in1k
vit_base_patch16_clip_384.openai_ft_in1k
vit_base_patch16_clip_384.openai_ft_in12k_in1k
vit_base_patch32_clip_224.laion2b_ft_in1k
vit_base_patch32_clip_224.laion2b_ft_in12k_in1k
vit_base_patch32_clip_224.openai_ft_in1k
vit_base_patch32_clip_384.laion2b_ft_in12k_in1k
vit_base_patch32_clip_384.openai_ft_in12k_in1k
vit_base_patch32_clip_448.laion2b_ft_in12k_in1k
vit_huge_patch14_clip_224.laion2b_ft_in1k
vit_huge_patch14_clip_224.laion2b_ft_in12k_in1k
vit_huge_patch14_clip_336.laion2b_ft_in12k_in1k
vit_large_patch14_clip_224.laion2b_ft_in1k
vit_large_patch14_clip_224.laion2b_ft_in12k_in1k
vit_large_patch14_clip_224.openai_ft_in1k
vit_large_patch14_clip_224.openai_ft_in12k_in1k
vit_large_patch14_clip_336.laion2b_ft_in1k
vit_large_patch14_clip_336.laion2b_ft_in12k_in1k
vit_large_patch14_clip_336.openai_ft_in12k_in1k
"""

#: Rule 3 output (timm 1.0.31 + its published tables): ``name module``, by stratum then size.
_IMAGENET = """
beit_base_patch16_224.in22k_ft_in22k_in1k beit
beit_large_patch16_512.in22k_ft_in22k_in1k beit
eca_botnext26ts_256.c1_in1k byoanet
halonet50ts.a1h_in1k byoanet
gernet_s.idstcv_in1k byobnet
repvgg_b3.rvgg_in1k byobnet
cait_xxs24_224.fb_dist_in1k cait
cait_m48_448.fb_dist_in1k cait
coat_tiny.in1k coat
coat_lite_small.in1k coat
convit_tiny.fb_in1k convit
convit_base.fb_in1k convit
convmixer_768_32.in1k convmixer
convmixer_1536_20.in1k convmixer
crossvit_tiny_240.in1k crossvit
crossvit_base_240.in1k crossvit
cspresnext50.ra_in1k cspnet
cspdarknet53.ra_in1k cspnet
deit_tiny_distilled_patch16_224.fb_in1k deit
deit_base_distilled_patch16_384.fb_in1k deit
deit_tiny_patch16_224.fb_in1k deit
deit_base_patch16_384.fb_in1k deit
densenet121.ra_in1k densenet
densenet161.tv_in1k densenet
dla46x_c.in1k dla
dla169.in1k dla
dpn68.mx_in1k dpn
dpn107.mx_in1k dpn
tf_efficientnet_b0.ap_in1k efficientnet
tf_efficientnet_b8.ap_in1k efficientnet
mobilenetv2_100.ra_in1k efficientnet
tf_efficientnetv2_l.in1k efficientnet
tf_efficientnetv2_b3.in21k_ft_in1k efficientnet
tf_efficientnetv2_xl.in21k_ft_in1k efficientnet
tf_efficientnet_b0.ns_jft_in1k efficientnet
tf_efficientnet_l2.ns_jft_in1k_475 efficientnet
ghostnet_100.in1k ghostnet
hardcorenas_b.miil_green_in1k hardcorenas
hardcorenas_f.miil_green_in1k hardcorenas
hrnet_w18_small.gluon_in1k hrnet
hrnet_w64.ms_in1k hrnet
inception_resnet_v2.tf_ens_adv_in1k inception_resnet_v2
inception_resnet_v2.tf_in1k inception_resnet_v2
inception_v3.tf_adv_in1k inception_v3
inception_v3.tv_in1k inception_v3
inception_v4.tf_in1k inception_v4
levit_128s.fb_dist_in1k levit
levit_384.fb_dist_in1k levit
resmlp_12_224.fb_distilled_in1k mlp_mixer
resmlp_big_24_224.fb_distilled_in1k mlp_mixer
resmlp_12_224.fb_in1k mlp_mixer
resmlp_big_24_224.fb_in1k mlp_mixer
mixer_b16_224.goog_in21k_ft_in1k mlp_mixer
mixer_l16_224.goog_in21k_ft_in1k mlp_mixer
tf_mobilenetv3_small_075.in1k mobilenetv3
tf_mobilenetv3_large_100.in1k mobilenetv3
mobilenetv3_large_100.miil_in21k_ft_in1k mobilenetv3
nasnetalarge.tf_in1k nasnet
nest_tiny_jx.goog_in1k nest
nest_base_jx.goog_in1k nest
nf_regnet_b1.ra2_in1k nfnet
dm_nfnet_f6.dm_in1k nfnet
pit_ti_distilled_224.in1k pit
pit_b_distilled_224.in1k pit
pit_ti_224.in1k pit
pit_b_224.in1k pit
pnasnet5large.tf_in1k pnasnet
regnety_320.seer_ft_in1k regnet
regnety_160.swag_ft_in1k regnet
regnety_320.swag_ft_in1k regnet
regnety_120.sw_in12k_ft_in1k regnet
regnety_160.sw_in12k_ft_in1k regnet
regnetx_002.pycls_in1k regnet
regnety_320.tv2_in1k regnet
res2next50.in1k res2net
res2net50_26w_8s.in1k res2net
resnest14d.gluon_in1k resnest
resnest269e.in1k resnest
resnet18.fb_swsl_ig1b_ft_in1k resnet
resnext101_32x16d.fb_swsl_ig1b_ft_in1k resnet
resnext101_32x8d.fb_wsl_ig1b_ft_in1k resnet
resnext101_32x16d.fb_wsl_ig1b_ft_in1k resnet
resnet18.a1_in1k resnet
resnetrs420.tf_in1k resnet
resnet18.fb_ssl_yfcc100m_ft_in1k resnet
resnext101_32x16d.fb_ssl_yfcc100m_ft_in1k resnet
resnetv2_50x1_bit.goog_distilled_in1k resnetv2
resnetv2_50.a1h_in1k resnetv2
resnetv2_101.a1h_in1k resnetv2
resnetv2_50x1_bit.goog_in21k_ft_in1k resnetv2
resnetv2_152x4_bit.goog_in21k_ft_in1k resnetv2
rexnet_100.nav_in1k rexnet
rexnet_200.nav_in1k rexnet
selecsls60.in1k selecsls
selecsls60b.in1k selecsls
legacy_seresnet18.in1k senet
legacy_senet154.in1k senet
skresnet18.ra_in1k sknet
skresnext50_32x4d.ra_in1k sknet
swin_tiny_patch4_window7_224.ms_in1k swin_transformer
swin_base_patch4_window12_384.ms_in1k swin_transformer
swin_tiny_patch4_window7_224.ms_in22k_ft_in1k swin_transformer
swin_large_patch4_window12_384.ms_in22k_ft_in1k swin_transformer
tnt_s_patch16_224.in1k tnt
tresnet_m.miil_in1k tresnet
tresnet_xl.miil_in1k tresnet
tresnet_m.miil_in21k_ft_in1k tresnet
twins_svt_small.in1k twins
twins_svt_large.in1k twins
vgg11.tv_in1k vgg
vgg19_bn.tv_in1k vgg
visformer_small.in1k visformer
vit_small_patch16_224.augreg_in1k vision_transformer
vit_base_patch32_384.augreg_in1k vision_transformer
vit_tiny_patch16_224.augreg_in21k_ft_in1k vision_transformer
vit_large_patch32_384.orig_in21k_ft_in1k vision_transformer
vit_tiny_r_s16_p8_224.augreg_in21k_ft_in1k vision_transformer_hybrid
vit_large_r50_s32_384.augreg_in21k_ft_in1k vision_transformer_hybrid
ese_vovnet19b_dw.ra_in1k vovnet
ese_vovnet39b.ra_in1k vovnet
legacy_xception.tf_in1k xception
xception41.tf_in1k xception_aligned
xception71.tf_in1k xception_aligned
xcit_nano_12_p16_224.fb_dist_in1k xcit
xcit_large_24_p16_384.fb_dist_in1k xcit
xcit_nano_12_p16_224.fb_in1k xcit
xcit_large_24_p16_224.fb_in1k xcit
"""

# --------------------------------------------------------------------------- building entries

#: timm modules shared with the CLIP groups get the CLIP family names; others keep the module name.
FAMILY_OF_MODULE: dict[str, str] = {"resnet": "ResNet", "vision_transformer": "ViT", "convnext": "ConvNeXt"}
#: Smoke-test models (random init), ``(id, arch, family)``: timm's tiny test nets -- ``arch``
#: keeps the config tag so preprocessing resolves from it while no weights load -- the tiny
#: open_clip config ``cliprobust-tiny`` (registered by ``cliprobust.inference``), and a
#: real-size ViT-B-32 without weights.
SMOKE: tuple[tuple[str, str, str], ...] = (
    ("timm", "test_vit.r160_in1k", "ViT"), ("timm", "test_resnet.r160_in1k", "ResNet"),
    ("open_clip", "cliprobust-tiny", "ViT"), ("open_clip", "ViT-B-32", "ViT"),
)


def _rows(block: str) -> list[list[str]]:
    return [line.split() for line in block.strip().splitlines()]


def open_clip_family(arch: str) -> str:
    """``ResNet`` (RN*), ``ViT`` (ViT-*), ``ConvNeXt`` (convnext_*), else the arch name."""
    for prefix, family in (("RN", "ResNet"), ("ViT-", "ViT"), ("convnext", "ConvNeXt")):
        if arch.startswith(prefix):
            return family
    return arch


def _samples_seen(tag: str) -> int | None:
    if tag == "openai":
        return OPENAI_SAMPLES_SEEN
    seen = published.samples_seen_from_tag(tag)
    return None if seen != seen else int(seen)  # NaN -> None


def _zeroshot_entry(arch: str, tag: str, quick_gelu: str, twin: str) -> ModelEntry:
    return ModelEntry(
        id=open_clip_id(arch, tag), source="open_clip", arch=arch, pretrained=tag,
        group="clip-zeroshot", arch_family=open_clip_family(arch),
        pretrain_data=published.pretrain_data_from_tag(tag), training="contrastive",
        extra_data=True, samples_seen=_samples_seen(tag), quick_gelu=quick_gelu == "1",
        aliases=(open_clip_id(arch + QUICKGELU, tag),) if twin == "1" else (),
    )


def _timm_entry(name: str, group: str, family: str) -> ModelEntry:
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


def _smoke_entries() -> list[ModelEntry]:
    return [ModelEntry(id=timm_id(arch) if source == "timm" else open_clip_id(arch, None),
                       source=source, arch=arch, pretrained=None, group="smoke", arch_family=family,
                       pretrain_data=None, training="random-init", extra_data=False)
            for source, arch, family in SMOKE]


def _paper_entries() -> list[ModelEntry]:
    out = [_zeroshot_entry(*row) for row in _rows(_ZEROSHOT)]
    out += [_timm_entry(n, "clip-ft", "ViT" if n.startswith("vit_") else "ConvNeXt")
            for (n,) in _rows(_CLIP_FT)]
    out += [_timm_entry(n, "imagenet", FAMILY_OF_MODULE.get(m, m)) for n, m in _rows(_IMAGENET)]
    return out


# --------------------------------------------------------------------------- registry

_GLOB_CHARS = frozenset("*?[")


class Registry:
    """Model entries keyed by id, in registration order; duplicate ids are rejected."""

    def __init__(self, entries: Iterable[ModelEntry] = ()) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: ModelEntry) -> None:
        """Add one entry; raises ValueError on a duplicate id or an inconsistent entry."""
        if entry.id in self._entries:
            raise ValueError(f"duplicate model id {entry.id!r}: each id may be registered once")
        if entry.group not in GROUPS:
            raise ValueError(f"{entry.id}: unknown group {entry.group!r}; use one of {GROUPS}")
        expected = (open_clip_id(entry.arch, entry.pretrained) if entry.source == "open_clip"
                    else timm_id(entry.name) if entry.source == "timm" else None)
        if entry.id != expected:
            raise ValueError(f"{entry.id}: id must be {expected!r} for source {entry.source!r}")
        self._entries[entry.id] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self._entries.values())

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._entries

    def get(self, model_id: str) -> ModelEntry:
        """The entry with this id; KeyError names close matches."""
        try:
            return self._entries[model_id]
        except KeyError:
            close = difflib.get_close_matches(model_id, list(self._entries), n=3)
            raise KeyError(f"no model {model_id!r} in the zoo; did you mean {close}? "
                           f"(zoo.list_models('*pattern*') lists ids)") from None

    def list_models(self, pattern: str | None = None, group: str | None = None) -> list[str]:
        """Ids matching a glob ``pattern`` (case-sensitive, over the full id) and/or ``group``."""
        if group is not None and group not in GROUPS:
            raise ValueError(f"unknown group {group!r}; groups are {GROUPS}")
        return [e.id for e in self if (group is None or e.group == group)
                and (pattern is None or fnmatch.fnmatchcase(e.id, pattern))]

    def collection(self, name: str) -> list[ModelEntry]:
        """A named collection (:data:`COLLECTIONS`): ``paper`` = the three paper groups."""
        if name not in COLLECTIONS:
            raise KeyError(f"unknown collection {name!r}; collections are {COLLECTIONS}")
        groups = PAPER_GROUPS if name == "paper" else (name,)
        return [e for e in self if e.group in groups]

    def select(self, selector: str) -> list[ModelEntry]:
        """Entries named by a CLI selector, in order, without repeats.

        A selector is a comma-separated list of parts; each part is a collection name
        (``paper``, ``clip-zeroshot``, ``clip-ft``, ``imagenet``, ``smoke``), a glob over ids
        (``open_clip:ViT-B-*``) or an exact id. A glob that matches nothing is an error.
        """
        out: dict[str, ModelEntry] = {}
        for part in (p.strip() for p in selector.split(",")):
            if not part:
                continue
            if part in COLLECTIONS:
                hits = self.collection(part)
            elif _GLOB_CHARS & set(part):
                hits = [self.get(i) for i in self.list_models(part)]
                if not hits:
                    raise KeyError(f"selector part {part!r} matches no model id")
            else:
                hits = [self.get(part)]
            out.update((e.id, e) for e in hits)
        if not out:
            raise ValueError(f"empty model selector {selector!r}; give a collection, glob or id")
        return list(out.values())

    def to_frame(self) -> pd.DataFrame:
        """One row per entry, columns = :class:`ModelEntry` fields plus ``name``."""
        rows = [{**asdict(e), "name": e.name} for e in self]
        return pd.DataFrame(rows).astype({"samples_seen": "Int64"})


#: The zoo: the 210 paper models then the smoke-test models.
REGISTRY = Registry(_paper_entries() + _smoke_entries())


def get(model_id: str) -> ModelEntry:
    """The zoo entry with this id (see :meth:`Registry.get`)."""
    return REGISTRY.get(model_id)


def list_models(pattern: str | None = None, group: str | None = None) -> list[str]:
    """Zoo ids matching a glob and/or group (see :meth:`Registry.list_models`)."""
    return REGISTRY.list_models(pattern, group)


def collection(name: str) -> list[ModelEntry]:
    """A named collection of the zoo (see :meth:`Registry.collection`)."""
    return REGISTRY.collection(name)


def select(selector: str) -> list[ModelEntry]:
    """Zoo entries named by a CLI selector (see :meth:`Registry.select`)."""
    return REGISTRY.select(selector)


def to_frame() -> pd.DataFrame:
    """The whole zoo as a DataFrame (see :meth:`Registry.to_frame`)."""
    return REGISTRY.to_frame()


# --------------------------------------------------------------------------- published coverage

#: Test sets whose published numbers :func:`coverage` looks up (canonical names).
COVERAGE_TEST_SETS: tuple[str, ...] = (published.IMAGENET,) + published.SHIFTS + ("imagenet-real",)


def published_ids(entry: ModelEntry) -> tuple[str, ...]:
    """Ids under which published tables may list ``entry``, preferred first.

    For open_clip weights trained with QuickGELU the ``-quickgelu`` alias comes first: its row was
    evaluated with the training activation (open_clip table, ViT-B-32 laion400m_e32: 0.6293 top-1
    for the ``-quickgelu`` row vs 0.6024 for the plain one; openai rows are identical).
    """
    return entry.aliases + (entry.id,) if entry.quick_gelu else (entry.id,) + entry.aliases


def _published_rows() -> pd.DataFrame:
    """(model, test_set, table) of every published open_clip and timm accuracy."""
    oc = published.open_clip_results(dedupe_quickgelu=False).assign(table="open_clip")
    tm = published.timm_results().assign(table="timm")
    cols = ["model", "test_set", "table"]
    return pd.concat([oc[cols], tm[cols]], ignore_index=True).drop_duplicates()


def coverage(entries: Iterable[ModelEntry] | None = None) -> pd.DataFrame:
    """Join zoo entries to the published open_clip / timm tables, long.

    One row per (entry, test set in :data:`COVERAGE_TEST_SETS`) with ``id``, ``group``,
    ``published_id`` (first of :func:`published_ids` with any published row, else None),
    ``table`` (``open_clip`` / ``timm`` / None) and ``available`` (a number exists). timm has no
    ObjectNet table; open_clip has no ImageNet-Real column.
    """
    rows = _published_rows()
    present = set(zip(rows["model"], rows["test_set"]))
    table_of = dict(zip(rows["model"], rows["table"]))
    out = []
    for e in REGISTRY.collection("paper") if entries is None else entries:
        pid = next((i for i in published_ids(e) if i in table_of), None)
        out += [{"id": e.id, "group": e.group, "published_id": pid, "table": table_of.get(pid),
                 "test_set": t, "available": (pid, t) in present} for t in COVERAGE_TEST_SETS]
    return pd.DataFrame(out)


def coverage_summary(cov: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per group: ``n_models``, models with a published number per test set, ``any_shift`` and
    ``all_shifts`` (all of :data:`cliprobust.published.SHIFTS`)."""
    cov = coverage() if cov is None else cov
    wide = cov.pivot_table(index=["group", "id"], columns="test_set", values="available",
                           aggfunc="any").reindex(columns=list(COVERAGE_TEST_SETS))
    shifts = wide[list(published.SHIFTS)]
    wide = wide.assign(any_shift=shifts.any(axis=1), all_shifts=shifts.all(axis=1))
    out = wide.groupby(level="group").sum().astype(int)
    out.insert(0, "n_models", wide.groupby(level="group").size())
    return out.reindex([g for g in GROUPS if g in out.index])
