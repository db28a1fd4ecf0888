"""model-vs-human cue-conflict decisions: 10 humans (bethgelab) and 15 models (kayburns fork).

Per-trial 16-class decisions on the 1,280 cue-conflict stimuli, and the fork's top-1 ImageNet
val decisions of its CLIP model (``docs/tables.md``, model-vs-human).
"""

from __future__ import annotations

import re

import pandas as pd

from ..labels import imagenet_wnids
from ._common import read_csv

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

#: kayburns models whose decisions are identical to another listed model (``docs/tables.md``).
MVH_DUPLICATES: dict[str, str] = {
    "deit-insup": "vits-sup", "deit-sinsup": "vits-sinsup", "resnet50": "resnet50-sup",
    "vit-dino": "vits-dino",
}

_STIMULUS = re.compile(r"^([a-z]+)\d+-([a-z]+)\d+\.png$")


def _trials(name: str, subject: str, kind: str) -> pd.DataFrame:
    raw = read_csv(name)
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
    raw = read_csv(name)
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    return pd.DataFrame({
        "model": f"mvh:{model}", "file_name": raw["imagename"], "label": raw["category"],
        "response": raw["object_response"], "label_index": raw["category"].map(index),
        "response_index": raw["object_response"].map(index),
        "correct": raw["category"] == raw["object_response"],
    })
