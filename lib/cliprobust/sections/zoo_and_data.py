"""Notebook 00: the model zoo and the data the toolkit reads.

Small summaries of :mod:`cliprobust.zoo` and :mod:`cliprobust.fetch` for the first notebook: the
zoo by group and pretraining data, which zoo models have published numbers in the open_clip and
timm tables (:func:`coverage`), and the pinned artifacts by source folder and licence.

The section interface of a section without caches or claims: an empty :class:`Options`, no cache
plan (:data:`PAPER_PLAN` = :data:`SMOKE_PLAN` = None; :func:`cache_inventory` is an empty frame),
and ``claims(run) == ()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd

from .. import fetch, published, style, zoo
from ..runs import Options as BaseOptions
from ..runs import Run
from ..verdicts import Claim
from ..zoo import ModelEntry
from ._base import CachePlan, no_cache_inventory, no_cache_plan


@dataclass(frozen=True)
class Options(BaseOptions):
    """Notebook 00 has no protocol options: it is a census of the zoo and the pinned data."""


#: No cache-driven part in any profile.
PAPER_PLAN: CachePlan | None = None
SMOKE_PLAN: CachePlan | None = None
cache_plan, cache_inventory = no_cache_plan, no_cache_inventory


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """No claims: notebook 00 describes what the claims are judged on."""
    return ()


def zoo_by_data(collection: str = "paper") -> pd.DataFrame:
    """Model counts per (group, pretraining data), long; ImageNet models' data is e.g. ``in1k``/``in21k``."""
    df = pd.DataFrame([e.__dict__ for e in zoo.collection(collection)])
    df["pretrain_data"] = df["pretrain_data"].fillna("none")
    return (df.groupby(["group", "pretrain_data"], sort=True).size().rename("models").reset_index()
            .sort_values(["group", "models"], ascending=[True, False], ignore_index=True))


def plot_zoo_by_data(by_data: pd.DataFrame) -> plt.Figure:
    """Models per (group, pretraining data) as horizontal bars in the group's colour."""
    fig, ax = plt.subplots(figsize=(8, 6))
    order = by_data.assign(label=by_data.group + " · " + by_data.pretrain_data)
    ax.barh(order.label, order.models, color=order.group.map(style.GROUP_COLORS))
    ax.invert_yaxis()
    ax.set(xlabel="models", ylabel="group · pretraining data",
           title=f"cliprobust zoo ({int(by_data.models.sum())} models) by group and pretraining data")
    return fig


def zoo_by_family(collection: str = "paper") -> pd.DataFrame:
    """Model counts per group × architecture family (wide: groups as columns)."""
    df = pd.DataFrame([e.__dict__ for e in zoo.collection(collection)])
    return df.pivot_table(index="arch_family", columns="group", values="id", aggfunc="count",
                          fill_value=0).sort_index()


def _source(name: str) -> str:
    """Top-level source folder of an artifact name (``published/timm`` -> ``published/timm``)."""
    parts = name.split("/")
    return "/".join(parts[:2]) if parts[0] in {"published", "model-vs-human", "stimuli", "images"} \
        else parts[0]


def data_status(local: bool = False) -> pd.DataFrame:
    """Pinned artifacts per source folder: files, MiB, licences (facts of the pin, the same on every
    machine, so a committed notebook shows them); ``local=True`` adds how many are cached here and
    in the mirror (this machine's state: for a user's own look, never a committed output)."""
    df = pd.DataFrame(fetch.status())
    df["source"] = df["name"].map(_source)
    cols = dict(files=("name", "size"), mib=("bytes", lambda b: round(b.sum() / 2**20, 2)),
                license=("license", lambda s: ", ".join(sorted(set(s)))))
    if local:
        cols |= dict(cached=("cached", "sum"), in_mirror=("in_mirror", "sum"))
    return df.groupby("source").agg(**cols).reset_index()


# --------------------------------------------------------------------------- published coverage

#: Test sets whose published numbers :func:`coverage` looks up (canonical names).
COVERAGE_TEST_SETS: tuple[str, ...] = (published.IMAGENET,) + published.SHIFTS + ("imagenet-real",)


def _published_rows() -> pd.DataFrame:
    """(model, test_set, table) of every published open_clip and timm accuracy."""
    oc = published.open_clip_results(dedupe_quickgelu=False).assign(table="open_clip")
    tm = published.timm_results().assign(table="timm")
    cols = ["model", "test_set", "table"]
    return pd.concat([oc[cols], tm[cols]], ignore_index=True).drop_duplicates()


def coverage(entries: Iterable[ModelEntry] | None = None) -> pd.DataFrame:
    """Join zoo entries to the published open_clip / timm tables, long.

    One row per (entry, test set in :data:`COVERAGE_TEST_SETS`) with ``id``, ``group``,
    ``published_id`` (first of :func:`cliprobust.zoo.published_ids` with a published row, else None),
    ``table`` (``open_clip`` / ``timm`` / None) and ``available`` (a number exists). timm has no
    ObjectNet table; open_clip has no ImageNet-Real column.
    """
    rows = _published_rows()
    present = set(zip(rows["model"], rows["test_set"]))
    table_of = dict(zip(rows["model"], rows["table"]))
    out = []
    for e in zoo.collection("paper") if entries is None else entries:
        pid = next((i for i in zoo.published_ids(e) if i in table_of), None)
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
    return out.reindex([g for g in zoo.GROUPS if g in out.index])
