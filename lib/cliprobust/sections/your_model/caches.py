"""The ``--models`` path: a results row computed from one model's cached per-sample outputs.

For any open_clip or timm id (zoo or not) every quantity of a results row is computed from its
caches through :func:`cliprobust.outputs.load` -- accuracy per test set (ImageNet-R/-A on their 200
classes, ObjectNet on its 113, as the calibration section scores them), ECE on the ID set,
shape bias on cue-conflict (the shape-bias section's trials), OOD AUROC (MSP) per OOD set, and the
10 ImageNet-X factor accuracies when the ID set is full ImageNet val (the visual-factors section's
cached factor table). A pair with no cache is left out and its :class:`~cliprobust.outputs.CacheMiss`
message -- which names the ``cliprobust evaluate`` command that makes it -- is returned.

Plans: :data:`PAPER_SETS` for real weights; the smoke models (random weights) read the shipped
100-image ImageNet sample as ID and the cue-conflict stimuli, a pipeline check whose numbers are
never results (:data:`SMOKE_SETS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ... import outputs, zoo
from ...model_entries import resolve_entry
from ...metrics import calibration as C
from ...metrics import ood as M
from ..calibration.caches import task_logits
from ..shape_bias.caches import outputs_trials
from ..shape_bias.trials import shape_bias_table
from ..visual_factors.caches import cached_factor_table
from ..visual_factors.tables import annotations_by_file
from .schema import FACTOR_COLUMNS, ID_COLUMN, SHIFT_COLUMNS, ModelRow


@dataclass(frozen=True)
class CacheSets:
    """What a cache card reads: the ID set (stored as ``imagenet`` on the row), the shifts, the
    cue-conflict stimuli and the OOD sets."""

    id_set: str
    shifts: tuple[str, ...]
    cue_conflict: str | None
    ood: tuple[str, ...]


#: Real weights: ImageNet val, Fang et al.'s five shifts, model-vs-human's stimuli, Tu et al.'s OOD sets.
PAPER_SETS = CacheSets("imagenet", SHIFT_COLUMNS, "cue-conflict", ("inaturalist", "sun", "places", "textures",
                                                                  "imagenet-o"))
#: Smoke models (random weights): the shipped sets only (the 100-image sample stands in for ImageNet val).
SMOKE_SETS = CacheSets("imagenet-sample", (), "cue-conflict", ())


def sets_for(model: str) -> CacheSets:
    """:data:`SMOKE_SETS` for the zoo's smoke models, :data:`PAPER_SETS` otherwise."""
    return SMOKE_SETS if model in zoo.list_models(group="smoke") else PAPER_SETS


def _try(load: Callable[[str, str], Any], model: str, dataset: str, missing: list[str]) -> Any | None:
    try:
        return load(model, dataset)
    except outputs.CacheMiss as miss:
        missing.append(str(miss))
        return None


def _accuracy(dataset: str, out: Any) -> float:
    z, y = task_logits(dataset, np.asarray(out.logits), np.asarray(out.labels))
    return float(np.mean(np.argmax(z, axis=1) == y))


def _ece(out: Any) -> float:
    return C.ece(M.softmax(np.asarray(out.logits, dtype=np.float64)), np.asarray(out.labels, dtype=np.int64))


def _shape_bias(out: Any) -> float:
    trials = outputs_trials(out)
    table = shape_bias_table(trials.assign(group="model", label=out.model))
    return float(table.loc[table["level"] == "member", "shape_bias"].iloc[0])


def _factors(model: str, sets: CacheSets) -> dict[str, float]:
    """The 10 factor accuracies over the annotated ImageNet-val images (full ImageNet val only)."""
    if sets.id_set != "imagenet":
        return {}
    inv = outputs.inventory([model], [sets.id_set])
    table = cached_factor_table(inv, annotations_by_file())
    if table.empty:
        return {}
    return {c.split(":", 1)[1]: float(table.iloc[0][c.split(":", 1)[1]]) for c in FACTOR_COLUMNS}


def profile_of(model: str, out: Any) -> str:
    """The profile a card from these caches belongs to (its figures carry that profile's banner):
    ``smoke`` for the random-weight smoke models, ``rehearsal`` for synthetic caches, else ``full``."""
    if sets_for(model) is SMOKE_SETS:
        return "smoke"
    return "rehearsal" if getattr(out, "synthetic", False) else "full"


def row_from_caches(model: str, group: str | None = None, load: Callable[[str, str], Any] = outputs.load
                    ) -> tuple[ModelRow | None, list[str]]:
    """The results row of ``model`` from its caches (None without its ID set) and the missing pairs'
    messages (each names the ``cliprobust evaluate`` command that makes the pair)."""
    entry, sets, missing = resolve_entry(model), sets_for(model), []
    id_out = _try(load, entry.id, sets.id_set, missing)
    if id_out is None:
        return None, missing
    acc = {ID_COLUMN: _accuracy(sets.id_set, id_out)}
    for shift in sets.shifts:
        out = _try(load, entry.id, shift, missing)
        if out is not None:
            acc[shift] = _accuracy(shift, out)
    cue = _try(load, entry.id, sets.cue_conflict, missing) if sets.cue_conflict else None
    oods = {d: o for d in sets.ood if (o := _try(load, entry.id, d, missing)) is not None}
    id_msp = M.msp(np.asarray(id_out.logits, dtype=np.float64))
    auroc = {d: M.auroc(id_msp, M.msp(np.asarray(o.logits, dtype=np.float64))) for d, o in oods.items()}
    meta = {"arch": entry.arch, "pretrain_data": entry.pretrain_data or "", "source": f"caches of {entry.id}",
            "id_set": sets.id_set, "profile": profile_of(model, id_out)}
    row = ModelRow(name=entry.id, group=group or _zoo_group(entry), accuracy=acc, factors=_factors(entry.id, sets),
                   shape_bias=None if cue is None else _shape_bias(cue), ece=_ece(id_out), auroc=auroc,
                   meta={k: v for k, v in meta.items() if v})
    return row, missing


def _zoo_group(entry: Any) -> str:
    group = getattr(entry, "group", None)
    return group if group in ("clip-zeroshot", "clip-ft", "imagenet") else "other"

