"""Cue-conflict trials from per-sample caches of zoo models (model-vs-human's 1,000 -> 16 mapping)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ... import datasets, outputs, published, style, zoo
from ...metrics import shape_bias as S

#: The cached test set of the section: the 1,280 model-vs-human cue-conflict stimuli.
CACHE_DATASET = "cue-conflict"
#: model-vs-human's CLIP wrapper: logits = 100 · cosine, then softmax (= OpenAI CLIP's learned scale).
CLIP_SOFTMAX_SCALE = 100.0


def outputs_trials(out: Any, category_indices: Mapping[str, Sequence[int]] | None = None,
                   clip_scale: float = CLIP_SOFTMAX_SCALE) -> pd.DataFrame:
    """Cue-conflict trials of cached outputs: stimulus, shape, texture, response (16-class decision).

    ``out``: :class:`cliprobust.outputs.Outputs`-like (``scores`` (N, 1000), ``file_ids``, ``labels``
    = shape category index in alphabetical order, ``is_clip``, ``probs(scale)``). Decisions follow
    :data:`~cliprobust.metrics.shape_bias.MVH_MAPPING`; CLIP softmax at :data:`CLIP_SOFTMAX_SCALE`.
    """
    cats = published.mvh_16_categories() if category_indices is None else category_indices
    names = [PurePosixPath(f).name for f in out.file_ids]
    cues = S.stimulus_cues(names)
    expected = np.asarray(datasets.cue_conflict_categories())[np.asarray(out.labels, dtype=int)]
    if not np.array_equal(expected, cues["shape"].to_numpy()):
        raise ValueError(f"{out.model}: cached labels disagree with the stimulus file names' shape")
    probs = out.probs(scale=clip_scale) if out.is_clip else out.probs()
    return pd.DataFrame({"subject": out.model, "stimulus": names, "shape": cues["shape"],
                         "texture": cues["texture"], "response": S.decisions_16(probs, cats)})



def cached_trials(inventory: pd.DataFrame) -> pd.DataFrame:
    """Trials of every model :func:`outputs.load` can serve, with ``group`` = zoo group; empty if none."""
    usable = inventory.loc[inventory["status"].isin(outputs.AVAILABLE), ["model", "dataset"]].drop_duplicates()
    parts = [outputs_trials(outputs.load(m, d)) for m, d in usable.itertuples(index=False)]
    if not parts:
        return pd.DataFrame(columns=["subject", "stimulus", "shape", "texture", "response", "group", "label"])
    tr = pd.concat(parts, ignore_index=True)
    return tr.assign(group=tr["subject"].map(lambda m: zoo.get(m).group), label=tr["subject"].map(style.display))
