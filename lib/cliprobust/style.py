"""One visual identity for every figure: display names, colours, markers.

Why one module: a reader compares figures across notebooks, so the same model must look the same
everywhere (colour = pre-training source, marker = architecture family, label = display name), a
test set must never appear as a code key (``imagenet-r``) and the baseline must never be mistaken
for a pre-training source.

- :func:`display` turns any code key (test set, factor, score, group, source, prompt set, model id)
  into the name a paper would print (``ImageNet-R``, ``ViT-B/32 (OpenAI)``, ``MSP``); unknown keys
  fall back to a readable form, never the key itself.
- :func:`source_color` / :func:`group_color` / :func:`arch_marker` / :func:`model_style` give the
  colour and marker of a pre-training source, a model group, an architecture family and a model.
- readable log/logit axes live in :mod:`cliprobust.axes`.

Palette: colour-blind-safe qualitative sets — Okabe & Ito (2008, "Color Universal Design") and
Paul Tol's "muted" scheme (Tol 2021, "Colour schemes", SRON/EPS/TN/09-002). Grey is reserved for
the baseline (:data:`BASELINE_GREY`); no pre-training source is grey.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from functools import lru_cache


# --------------------------------------------------------------------------- palette

#: Okabe & Ito (2008) colour-universal-design palette (black first).
OKABE_ITO: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}
#: Paul Tol's "muted" qualitative scheme (Tol 2021), colour-blind safe; its pale grey is left out.
TOL_MUTED: dict[str, str] = {
    "indigo": "#332288", "cyan": "#88CCEE", "teal": "#44AA99", "green": "#117733", "olive": "#999933",
    "sand": "#DDCC77", "rose": "#CC6677", "wine": "#882255", "purple": "#AA4499",
}
#: Tol's dark brown, for "other" (outside both schemes' hues used above).
OTHER_BROWN = "#661100"
#: The baseline (ImageNet models / testbed STANDARD fit): Tol's grey, the only light grey of the figures.
BASELINE_GREY = "#BBBBBB"
#: Humans (model-vs-human): a dark grey, distinct from the baseline grey and from every source.
HUMAN_GREY = "#3B3B3B"

# --------------------------------------------------------------------------- pre-training sources

#: One colour per pre-training source. LAION sizes share a blue ramp (one distribution, three
#: sizes, Fang et al. 2022 Fig. 1), DataComp/CommonPool greens, ImageNet variants dark/wine.
SOURCE_COLORS: dict[str, str] = {
    "WIT-400M": OKABE_ITO["vermillion"],
    "LAION-80M": TOL_MUTED["cyan"],
    "LAION-400M": OKABE_ITO["blue"],
    "LAION-2B": TOL_MUTED["indigo"],
    "LAION-5B": TOL_MUTED["teal"],
    "DataComp": OKABE_ITO["bluish green"],
    "CommonPool": TOL_MUTED["olive"],
    "YFCC-15M": OKABE_ITO["orange"],
    "CC12M": OKABE_ITO["reddish purple"],
    "ImageNet-1k": OKABE_ITO["black"],
    "ImageNet-12k": TOL_MUTED["purple"],
    "ImageNet-21k": TOL_MUTED["wine"],
    "other image data": TOL_MUTED["sand"],
    "other image-text data": TOL_MUTED["rose"],
    "other": OTHER_BROWN,
}
#: Raw source strings (zoo entries, ``published.pretrain_data_from_tag``) -> colour key above.
#: Sources the papers do not study are pooled (their distinct names stay in the labels).
_SOURCE_ALIASES: tuple[tuple[str, str], ...] = (
    (r"^(wit(-400m)?|openai)$", "WIT-400M"),
    (r"^laion-?80m$", "LAION-80M"),
    (r"^laion-?400m$", "LAION-400M"),
    (r"^laion-?2b$", "LAION-2B"),
    (r"^laion-?5b$", "LAION-5B"),
    (r"^datacomp", "DataComp"),
    (r"^commonpool", "CommonPool"),
    (r"^yfcc-?15m$", "YFCC-15M"),
    (r"^cc-?12m$", "CC12M"),
    (r"^(imagenet-?1k|in1k)$", "ImageNet-1k"),
    (r"^(imagenet-?12k|in12k)", "ImageNet-12k"),
    (r"^(imagenet-?21k|in21k|in22k)", "ImageNet-21k"),
    (r"^(ig-|jft|yfcc-100m|merged-30m|merged-38m|instagram)", "other image data"),
    (r"^(laion|metaclip|dfn|webli|merged-2b|mscoco|datacompdr|laion-coco)", "other image-text data"),
)


def _alias(table: tuple[tuple[str, str], ...], name: str | None, find: Callable[..., Any]) -> str:
    """The key of the first (pattern, key) of ``table`` that ``find`` (re.match / re.search) finds
    in the lower-cased ``name``; ``other`` if none does."""
    low = (name or "").strip().lower()
    return next((key for pattern, key in table if find(pattern, low)), "other")


def source_key(source: str | None) -> str:
    """The colour key of a raw pre-training source string (``laion2b`` / ``LAION-2B`` -> ``LAION-2B``)."""
    return _alias(_SOURCE_ALIASES, source, re.match)


def source_color(source: str | None) -> str:
    """Colour of a pre-training source (WIT/OpenAI, LAION-80M/400M/2B, DataComp, ...; else 'other')."""
    return SOURCE_COLORS[source_key(source)]


# --------------------------------------------------------------------------- model groups

#: One colour per model group. The two CLIP groups take the warm hues; ImageNet models and the
#: testbed's STANDARD group are the baseline grey (they *are* the baseline of every ER plot).
GROUP_COLORS: dict[str, str] = {
    "clip-zeroshot": OKABE_ITO["vermillion"],
    "clip-ft": OKABE_ITO["orange"],
    "imagenet": BASELINE_GREY,
    "STANDARD": BASELINE_GREY,
    "MORE_DATA": OKABE_ITO["blue"],
    "ROBUST_INTV": OKABE_ITO["bluish green"],
    "LP_ADV": OKABE_ITO["reddish purple"],
    "LOW_ACCURACY_CNN": TOL_MUTED["olive"],
    "human": HUMAN_GREY,
    "supervised": OKABE_ITO["blue"],
    "self-supervised": OKABE_ITO["reddish purple"],
    "stylized": OKABE_ITO["bluish green"],
    "semi-supervised": TOL_MUTED["teal"],
    "weakly-supervised": TOL_MUTED["cyan"],
    "distilled": TOL_MUTED["purple"],
    "adversarial": TOL_MUTED["wine"],
    "smoke": TOL_MUTED["sand"],
    "other": OTHER_BROWN,
}
#: Group keys that mean the same group under another name.
_GROUP_ALIASES: dict[str, str] = {
    "clip": "clip-zeroshot", "zeroshot": "clip-zeroshot", "zero-shot": "clip-zeroshot",
    "clip_zeroshot": "clip-zeroshot", "clip-finetuned": "clip-ft", "clip_ft": "clip-ft",
    "humans": "human", "baseline": "imagenet", "standard": "STANDARD", "more_data": "MORE_DATA",
    "robust_intv": "ROBUST_INTV", "lp_adv": "LP_ADV", "low_accuracy_cnn": "LOW_ACCURACY_CNN",
    "self_supervised": "self-supervised", "ssl": "self-supervised", "imagenet-more-data": "MORE_DATA",
}


def group_key(group: str | None) -> str:
    """The colour key of a group name (``clip`` -> ``clip-zeroshot``, ``more_data`` -> ``MORE_DATA``)."""
    g = (group or "").strip()
    if g in GROUP_COLORS:
        return g
    return _GROUP_ALIASES.get(g.lower(), g.upper() if g.upper() in GROUP_COLORS else "other")


#: Display names of groups whose key is also a test-set key (``imagenet``: the models, not the data).
GROUP_LABELS: dict[str, str] = {"imagenet": "ImageNet models", "imagenet-models": "ImageNet models"}


def group_label(group: str) -> str:
    """Display name of a model group (``imagenet`` -> ``ImageNet models``; else :func:`display`)."""
    return GROUP_LABELS.get(group, display(group))


def group_color(group: str | None) -> str:
    """Colour of a model group (clip-zeroshot, clip-ft, imagenet, testbed groups, human, ...)."""
    return GROUP_COLORS[group_key(group)]


# --------------------------------------------------------------------------- verdict tiers

#: One colour per verdict tier (``verdicts.TIERS``): reproduced green, fragile orange (a fragile
#: verdict must be visible), contradicted vermillion, inconclusive blue, not testable a mid grey
#: (legible as text). The same three colours mark a variant's outcome (supports / contradicts /
#: inconclusive) in specification curves.
TIER_COLORS: dict[str, str] = {
    "reproduced": OKABE_ITO["bluish green"], "fragile": OKABE_ITO["orange"],
    "contradicted": OKABE_ITO["vermillion"], "inconclusive": OKABE_ITO["sky blue"],
    "not testable here": "#7F7F7F",
}
#: Colour of each variant outcome (``verdicts.Outcome``) in specification curves.
OUTCOME_COLORS: dict[str, str] = {
    "supports": TIER_COLORS["reproduced"], "contradicts": TIER_COLORS["contradicted"],
    "inconclusive": TIER_COLORS["inconclusive"], "not computed": TIER_COLORS["not testable here"],
}


def tier_color(tier: str) -> str:
    """Colour of a verdict tier (unknown tiers: the 'other' brown)."""
    return TIER_COLORS.get(tier, OTHER_BROWN)


# --------------------------------------------------------------------------- architecture families

#: One marker per architecture family. Image-text families outside CLIP (SigLIP, CoCa, EVA, ...)
#: get their own markers so Fang et al.'s Fig. 1 can show them apart from CLIP.
ARCH_MARKERS: dict[str, str] = {
    "ResNet": "s", "ViT": "o", "ConvNeXt": "D", "EfficientNet": "^", "Swin": "v", "RegNet": "<",
    "SigLIP": "P", "CoCa": "X", "EVA": "*", "CLIPA": "h", "other": ">",
}
_FAMILY_ALIASES: tuple[tuple[str, str], ...] = (
    (r"siglip", "SigLIP"), (r"coca", "CoCa"), (r"^eva|eva0", "EVA"), (r"clipa", "CLIPA"),
    (r"^(rn\d|resnet|resnext|wide_resnet|resnetv2)", "ResNet"), (r"^(vit|vision_transformer|deit)", "ViT"),
    (r"convnext", "ConvNeXt"), (r"efficientnet", "EfficientNet"), (r"swin", "Swin"), (r"regnet", "RegNet"),
)


def arch_family(name: str | None) -> str:
    """Family key of an architecture or zoo family name (``RN50`` -> ResNet, ``ViT-B-16-SigLIP`` -> SigLIP)."""
    return _alias(_FAMILY_ALIASES, name, re.search)


def arch_marker(family: str | None) -> str:
    """Marker of an architecture family (ResNet square, ViT circle, ConvNeXt diamond, ...)."""
    return ARCH_MARKERS[family if family in ARCH_MARKERS else arch_family(family)]


# --------------------------------------------------------------------------- display names

#: Display names of code keys: test sets, factors, scores, groups, sources, prompt sets, metrics.
DISPLAY_NAMES: dict[str, str] = {
    # test sets
    "imagenet": "ImageNet", "imagenet-v2": "ImageNet-V2", "imagenet-r": "ImageNet-R",
    "imagenet-sketch": "ImageNet-Sketch", "objectnet": "ObjectNet", "imagenet-a": "ImageNet-A",
    "imagenet-o": "ImageNet-O", "imagenet-real": "ImageNet-ReaL", "imagenet-c": "ImageNet-C",
    "imagenet-r-classes": "ImageNet (R classes)", "imagenet-a-classes": "ImageNet (A classes)",
    "objectnet-classes": "ImageNet (ObjectNet classes)", "imagenet-sample": "ImageNet sample",
    "imagenet-vid-robust": "ImageNet-Vid-Robust", "ytbb-robust": "YTBB-Robust",
    "inaturalist": "iNaturalist", "places": "Places", "sun": "SUN", "textures": "Textures",
    "ninco": "NINCO", "openimage-o": "OpenImage-O", "ssb-hard": "SSB-hard", "cue-conflict": "cue-conflict",
    "imagenet-unlisted": "ImageNet (other classes)",
    # ImageNet-X factors
    "pose": "Pose", "background": "Background", "pattern": "Pattern", "color": "Colour",
    "smaller": "Smaller", "shape": "Shape", "partial_view": "Partial view", "subcategory": "Subcategory",
    "texture": "Texture", "larger": "Larger", "darker": "Darker", "object_blocking": "Object blocking",
    "person_blocking": "Person blocking", "style": "Style", "brighter": "Brighter",
    "multiple_objects": "Multiple objects",
    # scores and metrics
    "msp": "MSP", "maxlogit": "MaxLogit", "max_logit": "MaxLogit", "energy": "Energy", "mcm": "MCM",
    "neg_entropy": "negative entropy", "auroc": "AUROC", "fpr95": "FPR@95%TPR", "aupr": "AUPR",
    "ece": "ECE", "top1": "top-1 accuracy", "er": "effective robustness", "shape_bias": "shape bias",
    "kurtosis": "kurtosis", "id_acc": "ID accuracy", "ood_acc": "OOD accuracy",
    # groups
    "clip-zeroshot": "zero-shot CLIP", "clip-ft": "fine-tuned CLIP", "imagenet-models": "ImageNet models",
    "imagenet-more-data": "ImageNet models, more data",
    "STANDARD": "standard training", "MORE_DATA": "more training data", "ROBUST_INTV": "robustness interventions",
    "LP_ADV": "ℓp-adversarial training", "LOW_ACCURACY_CNN": "low-accuracy CNNs", "human": "humans",
    "clip": "CLIP", "supervised": "supervised", "self-supervised": "self-supervised",
    "stylized": "Stylized-ImageNet", "smoke": "random-init (smoke)", "other": "other",
    # pre-training sources
    "WIT-400M": "WIT-400M (OpenAI)", "openai": "OpenAI", "laion2b": "LAION-2B", "laion400m": "LAION-400M",
    "laion80m": "LAION-80M", "yfcc15m": "YFCC-15M", "cc12m": "CC12M", "datacomp": "DataComp",
    "commonpool": "CommonPool", "in1k": "ImageNet-1k", "in12k": "ImageNet-12k", "in21k": "ImageNet-21k",
    "in12k→in1k": "ImageNet-12k → ImageNet-1k",
    # prompt sets
    "openai-80": "80 OpenAI templates", "simple-7": "7 simple templates", "photo": "“a photo of a {}.”",
    "classname": "class name only",
    # verdict tiers
    "reproduced": "reproduced", "fragile": "fragile", "contradicted": "contradicted", "inconclusive": "inconclusive",
    "not testable here": "not testable here",
    # variant outcomes
    "supports": "supports", "contradicts": "contradicts",
}
#: Display forms of single tokens, used by the readable fallback of unknown keys.
_TOKEN_DISPLAY: dict[str, str] = {
    "imagenet": "ImageNet", "clip": "CLIP", "vit": "ViT", "ood": "OOD", "id": "ID", "auroc": "AUROC",
    "ece": "ECE", "laion": "LAION", "openai": "OpenAI", "msp": "MSP", "er": "ER", "ft": "fine-tuned",
    "rn50": "RN50", "in1k": "ImageNet-1k", "acc": "accuracy", "top1": "top-1",
}
_OPENAI_SUFFIX = "OpenAI"


def _vit_name(arch: str) -> str:
    """open_clip ``ViT-B-32`` -> ``ViT-B/32``, ``ViT-L-14-336`` -> ``ViT-L/14@336``, ``-plus-240`` -> ``+@240``."""
    m = re.match(r"^ViT-([A-Za-z0-9]+)-(\d+)(.*)$", arch)
    if not m:
        return arch
    size, patch, rest = m.groups()
    rest = rest.replace("-quickgelu", "")
    extra = ""
    plus = "-plus" in rest
    res = re.search(r"-(\d{3})$", rest)
    tail = re.sub(r"-plus|-\d{3}$", "", rest).strip("-")
    if plus:
        extra += "+"
    if res:
        extra += f"@{res.group(1)}"
    if tail:
        extra += f" {tail}"
    return f"ViT-{size}/{patch}{extra}"


def _arch_name(arch: str) -> str:
    """Readable open_clip / timm architecture name."""
    if arch.startswith("ViT-"):
        return _vit_name(arch)
    if arch.startswith("convnext_"):
        parts = arch.split("_")[1:]
        res = f"@{parts.pop()}" if parts and parts[-1].isdigit() else ""
        return "ConvNeXt-" + "-".join(p.capitalize() for p in parts) + res
    if arch.startswith("coca_"):
        return "CoCa " + _arch_name(arch[5:])
    if arch.startswith("EVA"):
        return _eva_name(arch)
    m = re.match(r"^vit_(\w+?)_patch(\d+)(?:_clip)?_(\d+)$", arch)
    if m:
        return f"ViT-{m.group(1)[0].upper()}/{m.group(2)}" + ("" if m.group(3) == "224" else f"@{m.group(3)}")
    m = re.match(r"^resnet(\d+)([a-z]?)$", arch)
    if m:
        return f"ResNet-{m.group(1)}{m.group(2)}"
    return arch


def _eva_name(arch: str) -> str:
    """``EVA02-L-14-336`` -> ``EVA02 ViT-L/14@336``."""
    head, _, rest = arch.partition("-")
    return f"{head} {_vit_name('ViT-' + rest)}"


def _source_label(tag: str) -> str:
    """Short source label of an open_clip tag (``laion2b_s34b_b79k`` -> ``LAION-2B``)."""
    if tag == "openai":
        return _OPENAI_SUFFIX
    from .published import pretrain_data_from_tag

    data = pretrain_data_from_tag(tag)
    return tag if data == "unknown" else data


def model_label(model_id: str) -> str:
    """Display name of a model id: ``open_clip:ViT-B-32/openai`` -> ``ViT-B/32 (OpenAI)``,
    ``timm:vit_base_patch16_clip_224.openai_ft_in1k`` -> ``ViT-B/16 (OpenAI, ft ImageNet-1k)``,
    ``timm:resnet50.a1_in1k`` -> ``ResNet-50 (a1_in1k)``."""
    kind, _, rest = model_id.partition(":")
    entry = _zoo_entry(model_id) if kind in ("open_clip", "timm") else None
    if entry is not None and entry.pretrained is None:  # random-init smoke models
        return f"{_arch_name(entry.arch.partition('.')[0])} (random init)"
    if kind == "open_clip":
        arch, _, tag = rest.partition("/")
        if not tag:
            return f"{_arch_name(arch)} (random init)"
        base = f"{_arch_name(arch)} ({_source_label(tag)})"
        return base[:-1] + f", {_tag_detail(tag)})" if base in _ambiguous_labels() and _tag_detail(tag) else base
    if kind == "timm":
        arch, _, tag = rest.partition(".")
        if not tag:
            return f"{_arch_name(arch)} (random init)"
        m = re.match(r"^(openai|laion2b|clip_laion2b|laiona|clip_laiona)\w*?_ft_(in1k|in12k_in1k)(?:_(\d+))?$", tag)
        if m:
            src = "OpenAI" if m.group(1) == "openai" else "LAION-2B"
            ft = "ImageNet-1k" if m.group(2) == "in1k" else "ImageNet-12k → 1k"
            res = f"@{m.group(3)}" if m.group(3) else ""
            return f"{_arch_name(arch)}{res} ({src}, ft {ft})"
        return f"{_arch_name(arch)} ({tag})"
    return _readable(model_id)


def _tag_detail(tag: str) -> str:
    """What tells two open_clip tags of one source apart: ``laion2b_s34b_b79k`` -> ``34B seen``,
    ``laion400m_e31`` -> ``31 ep``, ``..._augreg_soup`` -> ``augreg soup`` (batch sizes dropped)."""
    words = []
    for tok in tag.split("_")[1:]:
        if m := re.fullmatch(r"s(\d+)([bm])", tok):
            words.append(f"{m.group(1)}{m.group(2).upper()} seen")
        elif m := re.fullmatch(r"e(\d+)", tok):
            words.append(f"{m.group(1)} ep")
        elif not re.fullmatch(r"b\d+k|xl|\d+[bm]?", tok):
            words.append(tok)
    return " ".join(words)


@lru_cache(maxsize=1)
def _ambiguous_labels() -> frozenset[str]:
    """Short open_clip labels shared by several paper-zoo models (those labels get the tag detail)."""
    from . import zoo

    seen: dict[str, int] = {}
    for entry in zoo.collection("paper"):
        if entry.source == "open_clip" and entry.pretrained:
            base = f"{_arch_name(entry.arch)} ({_source_label(entry.pretrained)})"
            seen[base] = seen.get(base, 0) + 1
    return frozenset(k for k, n in seen.items() if n > 1)


def _readable(key: str) -> str:
    """Fallback display form of an unknown key: words from ``_``/``:``, known tokens cased."""
    words = re.split(r"[_:/]+", key.strip())
    out = []
    for w in words:
        parts = [_TOKEN_DISPLAY.get(p.lower(), p) for p in w.split("-")]
        out.append("-".join(parts))
    text = " ".join(o for o in out if o)
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def display(key: str) -> str:
    """Display name of a code key (test set, factor, score, group, source, prompt set, model id);
    unknown keys come back in a readable form (``imagenet_unlisted`` -> ``ImageNet unlisted``)."""
    key = str(key)
    if key in DISPLAY_NAMES:
        return DISPLAY_NAMES[key]
    if key.lower() in DISPLAY_NAMES:
        return DISPLAY_NAMES[key.lower()]
    if key in SOURCE_COLORS:
        return key
    if key.startswith(("open_clip:", "timm:")):
        return model_label(key)
    return _readable(key)


def is_code_key(text: str) -> bool:
    """True when ``text`` is a code key that has a different display name (``imagenet-r``, ``partial_view``)."""
    t = str(text).strip()
    if not t:
        return False
    if t in DISPLAY_NAMES and DISPLAY_NAMES[t] != t:
        return True
    return bool(re.fullmatch(r"(open_clip|timm):\S+", t)) or bool(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", t))


# --------------------------------------------------------------------------- models


@lru_cache(maxsize=4096)
def _zoo_entry(model_id: str):  # -> zoo.ModelEntry | None
    from . import zoo

    try:
        return zoo.get(model_id)
    except KeyError:
        return None


def model_source(model_id: str) -> str:
    """Pre-training source of a model: the zoo entry's ``pretrain_data``, else read from the id."""
    entry = _zoo_entry(model_id)
    if entry is not None and entry.pretrain_data:
        return entry.pretrain_data
    kind, _, rest = model_id.partition(":")
    if kind == "open_clip":
        tag = rest.partition("/")[2]
        if tag:
            from .published import pretrain_data_from_tag

            return pretrain_data_from_tag(tag)
    if kind == "timm":
        tag = rest.partition(".")[2]
        m = re.match(r"^(openai|laion2b|clip_laion2b)", tag)
        if m:
            return "WIT-400M" if m.group(1) == "openai" else "LAION-2B"
        for key in ("in21k", "in22k", "in12k"):
            if key in tag:
                return key
        return "in1k" if tag else "other"
    return "other"


def model_family(model_id: str) -> str:
    """Architecture family of a model: the zoo entry's ``arch_family``, else read from the id."""
    entry = _zoo_entry(model_id)
    kind, _, rest = model_id.partition(":")
    arch = rest.partition("/")[0] if kind == "open_clip" else rest.partition(".")[0]
    if entry is not None:
        # non-CLIP image-text families are read from the arch even where the zoo says ViT
        special = arch_family(entry.arch)
        return special if special in ("SigLIP", "CoCa", "EVA", "CLIPA") else arch_family(entry.arch_family)
    return arch_family(arch or model_id)


def model_style(model_id: str) -> dict[str, str]:
    """``dict(color=, marker=, label=)`` of a model: colour by pre-training source, marker by
    architecture family, label by :func:`display` — so a model looks the same in every figure."""
    return {"color": source_color(model_source(model_id)), "marker": arch_marker(model_family(model_id)),
            "label": display(model_id)}
