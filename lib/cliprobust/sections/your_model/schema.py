"""The results table of ``cliprobust card --results``: its documented columns, units, and checks.

One row per model, a header of documented column names (``#`` lines are comments), values as
fractions or percents -- the whole file one or the other, said once by a ``# units: percent`` /
``# units: fraction`` line or, without it, read from the accuracy columns (every accuracy <= 1:
fractions; every accuracy > 1: percents; both: an error).

Columns (:data:`COLUMNS`; open_clip's results-table names, e.g. ``ImageNet 1k``, are accepted for
the six test sets, :data:`ALIASES`):

- ``name`` (required): the model's name on the card; must not be a zoo id (:func:`zoo_names`).
- ``imagenet``, ``imagenet-v2``, ``imagenet-r``, ``imagenet-sketch``, ``imagenet-a`` (required)
  and ``objectnet`` (optional; a model without it gets the 4-shift mean as fine-tunes do): top-1
  accuracy on ImageNet val and the natural shifts, as open_clip's table reports them.
- ``factor:<f>`` for the 10 ImageNet-X factors of Tu et al. §4.1 (:data:`FACTOR_COLUMNS`):
  accuracy on the ImageNet-val images annotated with factor ``f``.
- ``shape_bias``: fraction of shape decisions among shape-or-texture decisions on model-vs-human's
  cue-conflict stimuli; ``ece``: expected calibration error on ImageNet val.
- ``auroc:<set>`` (:data:`AUROC_SETS`): OOD-detection AUROC with ImageNet val as ID; ``cood`` is
  COOD's softmax AUROC averaged over its 11 severities, ``ninco`` NINCO's fixed OOD classes.
- ``group`` (:data:`GROUPS`), ``pretrain_data``, ``arch``, ``samples_seen``, ``source``: optional
  metadata (which claims' populations the model would join; where the numbers come from).

A rejected file raises :class:`ResultsError` listing every problem by row and column; nothing is
written for it.
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ... import zoo
from ...metrics import factors as F

#: The ID test set and the natural shifts of Fang et al. (open_clip's zero-shot columns).
ID_COLUMN = "imagenet"
SHIFT_COLUMNS: tuple[str, ...] = ("imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")
#: ObjectNet is optional: timm and many papers publish no ObjectNet number.
OPTIONAL_SHIFTS: tuple[str, ...] = ("objectnet",)
FACTOR_COLUMNS: tuple[str, ...] = tuple(f"factor:{f}" for f in F.PAPER_FACTORS)
#: OOD sets of an ``auroc:<set>`` column: Tu et al.'s (the zoo's cache plan) and the two published
#: benchmarks the zoo is drawn from (COOD: mean of 11 severities; NINCO).
AUROC_SETS: tuple[str, ...] = ("inaturalist", "sun", "places", "textures", "imagenet-o", "cood", "ninco")
AUROC_COLUMNS: tuple[str, ...] = tuple(f"auroc:{s}" for s in AUROC_SETS)
#: Scale-free text / count columns.
TEXT_COLUMNS: tuple[str, ...] = ("name", "group", "pretrain_data", "arch", "source")
COUNT_COLUMNS: tuple[str, ...] = ("samples_seen",)
ACCURACY_COLUMNS: tuple[str, ...] = (ID_COLUMN, *SHIFT_COLUMNS, *FACTOR_COLUMNS)
#: Columns in [0, 1] (or [0, 100] in a percent file).
SCALED_COLUMNS: tuple[str, ...] = (*ACCURACY_COLUMNS, "shape_bias", "ece", *AUROC_COLUMNS)
COLUMNS: tuple[str, ...] = (*TEXT_COLUMNS, *SCALED_COLUMNS, *COUNT_COLUMNS)
REQUIRED: tuple[str, ...] = ("name", ID_COLUMN, *(s for s in SHIFT_COLUMNS if s not in OPTIONAL_SHIFTS))
#: open_clip's ``docs/openclip_results.csv`` names of the six test sets (a row pasted from it reads).
ALIASES: Mapping[str, str] = {
    "ImageNet 1k": "imagenet", "ImageNet v2": "imagenet-v2", "ImageNet-R": "imagenet-r",
    "ImageNet Sketch": "imagenet-sketch", "ObjectNet": "objectnet", "ImageNet-A": "imagenet-a",
}
#: The model groups of the zoo a card ranks against (``other``: neither; ranked against both).
GROUPS: tuple[str, ...] = ("clip-zeroshot", "clip-ft", "imagenet", "other")
#: Group of a row that names none: a results row is most often a new zero-shot image-text model.
DEFAULT_GROUP = "clip-zeroshot"
UNITS: tuple[str, ...] = ("fraction", "percent")
_UNITS_LINE = re.compile(r"#\s*units\s*:\s*(\w+)", re.IGNORECASE)


class ResultsError(ValueError):
    """A results table that cannot be read; ``problems`` lists each one by row and column."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s), nothing written:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class ModelRow:
    """One validated model of a results table; every scaled value a fraction."""

    name: str
    group: str
    accuracy: Mapping[str, float]          #: imagenet + the shifts it has
    factors: Mapping[str, float] = field(default_factory=dict)   #: factor name -> accuracy
    shape_bias: float | None = None
    ece: float | None = None
    auroc: Mapping[str, float] = field(default_factory=dict)     #: OOD set -> AUROC
    meta: Mapping[str, str] = field(default_factory=dict)        #: pretrain_data, arch, samples_seen, source

    @property
    def shifts(self) -> tuple[str, ...]:
        """The natural shifts this row has."""
        return tuple(s for s in SHIFT_COLUMNS if s in self.accuracy)


@lru_cache(maxsize=1)
def zoo_names() -> frozenset[str]:
    """Lower-cased zoo ids, their aliases and published ids, with and without the ``source:`` prefix."""
    names: set[str] = set()
    for model_id in zoo.list_models():
        entry = zoo.get(model_id)
        for n in (entry.id, *entry.aliases, *zoo.published_ids(entry)):
            names |= {n.lower(), n.split(":", 1)[-1].lower()}
    return frozenset(names)


def _read_text(source: str | Path) -> tuple[str, str]:
    path = Path(source)
    if not path.is_file():
        raise ResultsError(str(source), [f"no such file: {source}"])
    return str(path), path.read_text(encoding="utf-8")


def declared_units(text: str) -> str | None:
    """The units a ``# units: ...`` comment line declares (None when no line does)."""
    for line in text.splitlines():
        m = _UNITS_LINE.match(line.strip())
        if m:
            return m.group(1).lower()
    return None


def _header_problems(columns: list[str]) -> list[str]:
    out = []
    for c in columns:
        if c not in COLUMNS:
            near = difflib.get_close_matches(c, [*COLUMNS, *ALIASES], n=3, cutoff=0.6)
            out.append(f"column {c!r}: unknown" + (f"; did you mean {', '.join(map(repr, near))}?" if near else
                                                    f"; documented columns: {', '.join(REQUIRED)}, ..."))
    dup = sorted({c for c in columns if columns.count(c) > 1})
    out += [f"column {c!r}: appears more than once" for c in dup]
    out += [f"column {c!r}: required and missing" for c in REQUIRED if c not in columns]
    return out


def _where(frame: pd.DataFrame, i: int) -> str:
    name = frame.at[i, "name"] if "name" in frame else ""
    return f"row {i + 1} ({name!r})" if isinstance(name, str) and name else f"row {i + 1}"


def _numbers(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The scaled and count columns as floats; a cell that is not a number is a problem."""
    out, problems = frame.copy(), []
    for c in [c for c in (*SCALED_COLUMNS, *COUNT_COLUMNS) if c in frame]:
        num = pd.to_numeric(frame[c].replace("", np.nan), errors="coerce")
        for i in np.flatnonzero(num.isna().to_numpy() & frame[c].notna().to_numpy() & (frame[c] != "").to_numpy()):
            problems.append(f"{_where(frame, i)}, column {c!r}: {frame[c].iloc[i]!r} is not a number")
        out[c] = num.astype(float)
    return out, problems


def infer_units(frame: pd.DataFrame, declared: str | None) -> tuple[str, list[str]]:
    """The file's units: the declared ones, else read from the accuracy columns; mixed -> problems."""
    if declared is not None:
        if declared not in UNITS:
            return "fraction", [f"'# units: {declared}' is not one of {UNITS}"]
        return declared, []
    acc = frame[[c for c in ACCURACY_COLUMNS if c in frame]]
    small, large = acc.le(1.0), acc.gt(1.0)
    if not (small.any().any() and large.any().any()):
        return ("percent" if large.any().any() else "fraction"), []
    j, k = np.argwhere(small.to_numpy())[0], np.argwhere(large.to_numpy())[0]
    return "fraction", [
        f"percents mixed with fractions: {_where(frame, j[0])}, column {acc.columns[j[1]]!r} = "
        f"{acc.iat[j[0], j[1]]:g} reads as a fraction, {_where(frame, k[0])}, column {acc.columns[k[1]]!r} = "
        f"{acc.iat[k[0], k[1]]:g} as a percent; use one scale for the whole file (or say it once with "
        f"'# units: percent')"]


def _range_problems(frame: pd.DataFrame, units: str) -> list[str]:
    top = 100.0 if units == "percent" else 1.0
    out = []
    for c in [c for c in SCALED_COLUMNS if c in frame]:
        for i in np.flatnonzero(((frame[c] < 0) | (frame[c] > top)).to_numpy()):
            hint = " (a percent? say '# units: percent' once)" if units == "fraction" and frame[c].iloc[i] <= 100 else ""
            out.append(f"{_where(frame, i)}, column {c!r}: {frame[c].iloc[i]:g} is outside [0, {top:g}] "
                       f"for units {units!r}{hint}")
    for c in [c for c in REQUIRED if c in frame and c != "name"]:
        out += [f"{_where(frame, i)}, column {c!r}: required value is empty" for i in np.flatnonzero(frame[c].isna())]
    return out


def _row_problems(frame: pd.DataFrame) -> list[str]:
    out = []
    names = frame["name"].fillna("").astype(str).str.strip()
    for i, n in enumerate(names):
        if not n:
            out.append(f"row {i + 1}, column 'name': empty")
        elif n.lower() in zoo_names():
            out.append(f"{_where(frame, i)}, column 'name': {n!r} is a zoo id; the zoo's own numbers are in "
                       f"notebooks 01-05 -- name your model differently")
    out += [f"column 'name': {n!r} names more than one row" for n in sorted(set(names[names.duplicated()])) if n]
    if "group" in frame:
        out += [f"{_where(frame, i)}, column 'group': {g!r} is not one of {GROUPS}"
                for i, g in enumerate(frame["group"]) if isinstance(g, str) and g and g not in GROUPS]
    return out


def _to_row(rec: Mapping[str, object], scale: float, group: str | None) -> ModelRow:
    def val(c: str) -> float | None:
        v = rec.get(c)
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v) / scale

    acc = {c: val(c) for c in (ID_COLUMN, *SHIFT_COLUMNS) if val(c) is not None}
    meta = {c: str(rec[c]) for c in ("pretrain_data", "arch", "source", "samples_seen")
            if c in rec and isinstance(rec[c], (str, float)) and str(rec[c]) not in ("", "nan")}
    g = group or (rec.get("group") if isinstance(rec.get("group"), str) and rec.get("group") else DEFAULT_GROUP)
    return ModelRow(name=str(rec["name"]).strip(), group=str(g), accuracy=acc,
                    factors={c.split(":", 1)[1]: val(c) for c in FACTOR_COLUMNS if val(c) is not None},
                    shape_bias=val("shape_bias"), ece=val("ece"),
                    auroc={c.split(":", 1)[1]: val(c) for c in AUROC_COLUMNS if val(c) is not None}, meta=meta)


def parse(text: str, path: str = "<results>", group: str | None = None) -> tuple[ModelRow, ...]:
    """Validated rows of a results table's ``text``; :class:`ResultsError` lists every problem."""
    if group is not None and group not in GROUPS:
        raise ResultsError(path, [f"--group {group!r} is not one of {GROUPS}"])
    raw = pd.read_csv(io.StringIO(text), comment="#", dtype=str, skipinitialspace=True, keep_default_na=False)
    raw = raw.rename(columns=lambda c: ALIASES.get(c.strip(), c.strip()))
    problems = _header_problems(list(raw.columns))
    if problems or raw.empty:
        raise ResultsError(path, problems or ["no data rows"])
    frame, problems = _numbers(raw)
    units, unit_problems = infer_units(frame, declared_units(text))
    problems += unit_problems + _row_problems(frame)
    problems += [] if unit_problems else _range_problems(frame, units)
    if problems:
        raise ResultsError(path, problems)
    scale = 100.0 if units == "percent" else 1.0
    return tuple(_to_row(rec, scale, group) for rec in frame.to_dict("records"))


def read_results(source: str | Path, name: str | None = None, group: str | None = None) -> tuple[ModelRow, ...]:
    """The validated rows of the results file ``source`` (only the row ``name`` when given;
    ``group`` overrides the file's group column)."""
    path, text = _read_text(source)
    rows = parse(text, path, group)
    if name is None:
        return rows
    chosen = tuple(r for r in rows if r.name == name)
    if not chosen:
        near = difflib.get_close_matches(name, [r.name for r in rows], n=3, cutoff=0.5)
        raise ResultsError(path, [f"--name {name!r}: no such row" + (f"; did you mean {near}?" if near else
                                                                       f"; rows: {[r.name for r in rows]}")])
    return chosen
