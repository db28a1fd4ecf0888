"""The visual identity: display names are never code keys, colours are distinct and colour-blind
safe, the same model gets the same style everywhere, log/logit tick labels never run together."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from cliprobust import prompts, published, scales, style, zoo  # noqa: E402

# Machado, Oliveira & Fernandes (2009) dichromacy simulation matrices (severity 1.0), linear RGB.
MACHADO = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
#: The sources of Fang et al.'s Fig. 1 and the baseline: these must stay apart for every viewer.
CORE_SOURCES = ("WIT-400M", "LAION-80M", "LAION-400M", "LAION-2B", "DataComp", "CommonPool", "YFCC-15M", "CC12M")


def _lab(hex_color: str, matrix=np.eye(3)) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour after a linear-RGB simulation matrix."""
    c = np.asarray(to_rgb(hex_color))
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lin = np.clip(np.asarray(matrix) @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_known_key_has_a_display_name_that_is_not_a_code_key() -> None:
    keys = [*published.TEST_SETS, *published.SHIFTS, *published.IMAGENETX_FACTORS, *prompts.PROMPT_SETS,
            *style.GROUP_COLORS, "msp", "maxlogit", "energy", "mcm", "ece", "auroc"]
    for key in keys:
        name = style.display(key)
        assert name and not style.is_code_key(name), (key, name)
    assert style.display("imagenet-r") == "ImageNet-R"
    assert style.display("clip-zeroshot") == "zero-shot CLIP"
    assert style.display("open_clip:ViT-B-32/openai") == "ViT-B/32 (OpenAI)"
    assert style.display("some_new_key") == "Some new key"  # readable fallback, never the key


def test_model_labels_of_the_zoo_are_readable_and_unique_per_model() -> None:
    entries = zoo.collection("paper")
    labels = [style.model_style(e.id)["label"] for e in entries]
    assert not any(style.is_code_key(x) or ":" in x for x in labels)
    assert len(set(labels)) == len(labels), "two zoo models would share a label"
    assert style.model_label("open_clip:ViT-L-14-336/openai") == "ViT-L/14@336 (OpenAI)"
    assert style.model_label("timm:vit_base_patch16_clip_224.openai_ft_in1k") == "ViT-B/16 (OpenAI, ft ImageNet-1k)"


def test_source_colours_are_distinct_never_grey_and_from_the_safe_palettes() -> None:
    colours = list(style.SOURCE_COLORS.values())
    assert len(set(colours)) == len(colours)
    safe = set(style.OKABE_ITO.values()) | set(style.TOL_MUTED.values()) | {style.OTHER_BROWN}
    assert set(colours) <= safe
    for c in colours:  # grey is reserved for the baseline: every source colour is chromatic (or black)
        r, g, b = to_rgb(c)
        assert c == style.OKABE_ITO["black"] or max(r, g, b) - min(r, g, b) > 0.15, c
    assert style.BASELINE_GREY not in colours


@pytest.mark.parametrize("vision", ["normal", *MACHADO])
def test_core_sources_and_baseline_stay_apart_for_colour_blind_viewers(vision) -> None:
    matrix = np.eye(3) if vision == "normal" else MACHADO[vision]
    cols = {s: style.source_color(s) for s in CORE_SOURCES} | {"baseline": style.BASELINE_GREY}
    lab = {k: _lab(v, matrix) for k, v in cols.items()}
    closest = min((float(np.linalg.norm(lab[a] - lab[b])), a, b) for a, b in itertools.combinations(lab, 2))
    assert closest[0] >= 12.0, closest  # CIE76 ΔE; ~2.3 is a just-noticeable difference


def test_source_aliases() -> None:
    assert style.source_key("laion2b") == style.source_key("LAION-2B") == "LAION-2B"
    assert style.source_key("DataComp-1B") == "DataComp" and style.source_key("CommonPool-XL-clip") == "CommonPool"
    assert style.source_key("openai") == "WIT-400M" and style.source_key("IG-1B") == "other image data"
    assert style.source_key("WebLI") == "other image-text data" and style.source_key("???") == "other"


def test_same_model_same_style_and_group_colours() -> None:
    vit, rn = style.model_style("open_clip:ViT-B-32/openai"), style.model_style("open_clip:RN50/openai")
    assert vit == style.model_style("open_clip:ViT-B-32/openai")
    assert vit["color"] == rn["color"] == style.source_color("WIT-400M")
    assert vit["marker"] != rn["marker"]
    # published-only rows (no zoo entry) get their source and family from the id
    siglip = style.model_style("open_clip:ViT-B-16-SigLIP/webli")
    assert siglip["marker"] == style.arch_marker("SigLIP") != vit["marker"]
    assert style.model_style("timm:vit_base_patch16_clip_224.openai_ft_in1k")["color"] == vit["color"]
    assert style.group_color("clip") == style.group_color("clip-zeroshot")
    assert style.group_color("imagenet") == style.BASELINE_GREY != style.group_color("MORE_DATA")


def _tick_boxes(fig, axis):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(r) for t in axis.get_majorticklabels() if t.get_text()]


@pytest.mark.parametrize("limits", [(0.2, 0.9), (0.01, 0.99), (0.3, 0.5), (0.05, 0.95)])
def test_logit_tick_labels_never_overlap(limits) -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([limits[0] * 1.01, limits[1] * 0.99], [0.3, 0.6])
    kept = scales.logit_axis(ax, "x", limits=limits)
    scales.logit_axis(ax, "y", limits=(0.1, 0.9))
    assert len(kept) >= 2
    boxes = _tick_boxes(fig, ax.xaxis)
    assert len(boxes) == len(kept)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert all(lbl.get_text().endswith("%") for lbl in ax.xaxis.get_majorticklabels())
    plt.close(fig)


def test_log_axis_si_labels() -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1e8, 3e10], [0, 1])
    kept = scales.log_axis(ax, "x")
    fig.canvas.draw()
    texts = [t.get_text() for t in ax.xaxis.get_majorticklabels()]
    assert "1B" in texts and "10B" in texts and all(1e8 <= k <= 3e10 for k in kept)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(_tick_boxes(fig, ax.xaxis), 2))
    plt.close(fig)


def test_thin_ticks_keeps_a_minimum_gap() -> None:
    kept = scales.thin_ticks(scales.LOGIT_TICKS, 0.1, 0.9)
    gaps = np.diff(np.log(np.array(kept) / (1 - np.array(kept))))
    assert (gaps >= scales.MIN_TICK_GAP_FRACTION * (np.log(9) * 2) - 1e-9).all()


def test_group_labels_never_read_as_a_test_set() -> None:
    assert style.group_label("imagenet") == "ImageNet models" != style.display("imagenet")
    assert style.group_label("clip-ft") == style.display("clip-ft") == "fine-tuned CLIP"
