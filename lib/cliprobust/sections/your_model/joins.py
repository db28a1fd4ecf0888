"""Which claims' populations a results row would join, and whether adding it would move them.

A results row is one more model. For each claim whose population it could enter (by its group,
its pre-training data and the columns it has) the card says so, gives the claim's headline
statistic *as a point estimate* over the population without and with the row, and whether the
row would carry that point estimate across the claim's margin (the claims' own constants:
:data:`.effective_robustness.c10.C10_MARGIN`, ...). The claims' intervals and outcomes are the
claims checklist's (notebook 08) job: a row that does not move the point estimate across the
margin can still widen or narrow an interval, which the card does not claim to know.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...zoo import rules as zoo_rules
from ..effective_robustness.c10 import C10_MARGIN, C10_SHIFTS
from ..effective_robustness.c12 import C12_MARGIN
from ..effective_robustness.options import MEAN_SHIFT, MODEL_SET_ALL, MODEL_SET_ZOO
from ..effective_robustness.options import Options as EROptions
from ..effective_robustness.c11 import C11_MARGIN, C11_SIZES
from ..effective_robustness.sources import data_study_set
from ..effective_robustness.tables import clip_members, er_frame
from .schema import ModelRow

JOIN_COLUMNS = ["claim", "joins", "population", "model_value", "before", "after", "margin", "moves", "note"]


def passes_zoo_rules(row: ModelRow) -> bool:
    """The zoo's zero-shot rule 1a-b on the row's metadata (architecture and pre-training data)."""
    data = row.meta.get("pretrain_data", "")
    known = data in zoo_rules.ZEROSHOT_DATA or data.startswith(zoo_rules.ZEROSHOT_DATA_PREFIXES)
    return bool(zoo_rules.CLIP_ARCH.match(row.meta.get("arch", ""))) and known


def _row(claim: str, joins: bool, population: str, note: str, **values: float | str) -> dict:
    return {"claim": claim, "joins": joins, "population": population, "note": note} | values


def _moves(before: float, after: float, margin: float) -> str:
    crossed = (before >= margin) != (after >= margin)
    return "yes: the point estimate crosses the margin" if crossed else "no"


def c10_join(row: ModelRow, card: pd.DataFrame, opts: EROptions = EROptions()) -> dict:
    """C10 ("large ER on R, Sketch, ObjectNet, A"): the smallest per-shift group-mean ER of the CLIPs."""
    if row.group != "clip-zeroshot":
        return _row("C10", False, "zero-shot CLIPs", f"group {row.group!r}: C10 is about zero-shot CLIP")
    model_set = MODEL_SET_ZOO if passes_zoo_rules(row) else MODEL_SET_ALL
    frame = er_frame(opts)
    members = clip_members(frame, model_set)
    mine = card.set_index("shift")["er"]
    shifts = [s for s in C10_SHIFTS if s in mine.index]
    rows = frame[frame["model"].isin(members) & frame["shift"].isin(shifts)]
    sums, counts = rows.groupby("shift")["er"].sum(), rows.groupby("shift")["er"].size()
    before = float((sums / counts).min())
    after = float(((sums + mine[shifts]) / (counts + 1)).min())
    where = "headline (zoo rules)" if model_set == MODEL_SET_ZOO else f"variant model_set={MODEL_SET_ALL}"
    return _row("C10", True, f"{len(members)} CLIPs, {where}", f"shifts {', '.join(shifts)}",
                model_value=float(mine[shifts].min()), before=before, after=after, margin=C10_MARGIN,
                moves=_moves(before, after, C10_MARGIN))


def c11_join(row: ModelRow, card: pd.DataFrame, opts: EROptions = EROptions()) -> dict:
    """C11 (training-set size within one distribution: the LAION-80M/400M/2B lines)."""
    data = row.meta.get("pretrain_data", "")
    population = f"CLIPs trained on {', '.join(C11_SIZES)}"
    if row.group != "clip-zeroshot" or data not in C11_SIZES:
        return _row("C11", False, population, (
            f"pre-training data {data or 'not given'!r} is not one of the sizes C11 compares; a new source "
            f"enters notebook 01's data-source spread, not C11's size test"))
    study = data_study_set(er_frame(opts))
    same = study[study["pretrain_data"] == data]
    er_mean = float(card.set_index("shift")["er"].get(MEAN_SHIFT, np.nan))
    before, after = float(same["er"].mean()), float((same["er"].sum() + er_mean) / (len(same) + 1))
    return _row("C11", True, f"{population}; source {data!r} has {len(same)} models",
                "mean ER of the source's models (the gap statistic needs the lines refitted: notebook 08)",
                model_value=er_mean, before=before, after=after, margin=C11_MARGIN, moves="not computed")


def c12_join(row: ModelRow) -> dict:
    """C12 (fine-tuning erodes ER) pairs a fine-tune with the zero-shot model of the same weights."""
    if row.group != "clip-ft":
        return _row("C12", False, "CLIP fine-tunes paired with their zero-shot weights", f"group {row.group!r}")
    return _row("C12", False, "CLIP fine-tunes paired with their zero-shot weights",
                "a results row has no zero-shot counterpart to pair with; C12's pairs come from timm and open_clip",
                margin=C12_MARGIN)


def optional_joins(row: ModelRow) -> list[dict]:
    """Claims read from the optional columns: which the row would join (values only)."""
    clip = row.group == "clip-zeroshot"
    out = []
    if row.factors:
        out.append(_row("C1", clip and len(row.factors) == 10, "CLIP rows of ImageNet-X (3 OpenAI CLIPs)",
                        f"{len(row.factors)} of 10 factors given; factor ER on the card"))
    if row.shape_bias is not None:
        out.append(_row("C3", clip, "CLIP group of model-vs-human (one CLIP model: ViT-B/16)",
                        "a second CLIP in the group", model_value=row.shape_bias))
    if row.auroc:
        out.append(_row("C5", clip and "cood" in row.auroc and bool(row.meta.get("pretrain_data")),
                        "CLIP sources of COOD", "needs auroc:cood and pretrain_data",
                        model_value=row.auroc.get("cood", np.nan)))
    if row.ece is not None:
        out.append(_row("C7", clip, "WIT CLIPs vs reference ImageNet ECEs", "one CLIP's ECE (a negation: "
                        "one CLIP not better calibrated supports it)", model_value=row.ece))
    return out


def claim_joins(row: ModelRow, card: pd.DataFrame, opts: EROptions = EROptions()) -> pd.DataFrame:
    """One row per claim the results row could touch (:data:`JOIN_COLUMNS`)."""
    rows = [c10_join(row, card, opts), c11_join(row, card, opts), c12_join(row), *optional_joins(row)]
    frame = pd.DataFrame(rows).reindex(columns=JOIN_COLUMNS)
    frame["moves"] = frame["moves"].astype(object).where(frame["moves"].notna(), "-")
    return frame
