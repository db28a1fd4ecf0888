"""The tidy schema every published loader returns, and the readers they share.

Canonical test-set names (:data:`TEST_SETS`), the five natural shifts and each shift's
in-distribution baseline, plus :func:`wide` / :func:`shift_pairs`, which turn any loader's long
table into one row per model or per (model, shift).
"""

from __future__ import annotations

import pandas as pd

from ..labels import read_csv, read_json

__all__ = ["read_csv", "read_json"]  # re-exported for the loader modules

# --------------------------------------------------------------------------- test sets

#: Canonical test-set names used across cliprobust.
IMAGENET = "imagenet"
TEST_SETS: tuple[str, ...] = (
    "imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a",
    "imagenet-o", "imagenet-real", "imagenet-r-classes", "imagenet-a-classes", "objectnet-classes",
)

#: The five natural distribution shifts of Taori et al. / Fang et al. / Tu et al.
SHIFTS: tuple[str, ...] = ("imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")

#: In-distribution baseline of each shift (``docs/protocols.md``, class subsets): ImageNet val
#: restricted to the shift's classes for the 200-class R/A and the 113-class ObjectNet, full
#: ImageNet val otherwise.
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
