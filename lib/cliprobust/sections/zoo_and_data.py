"""Notebook 00: the model zoo and the data the toolkit reads.

Small summaries of :mod:`cliprobust.zoo` and :mod:`cliprobust.fetch` for the first notebook: the
zoo by group and pretraining data, and the pinned artifacts by source folder and licence.
"""

from __future__ import annotations

import pandas as pd

from .. import fetch, zoo


def zoo_by_data(collection: str = "paper") -> pd.DataFrame:
    """Model counts per (group, pretraining data), long; ImageNet models' data is e.g. ``in1k``/``in21k``."""
    df = pd.DataFrame([e.__dict__ for e in zoo.collection(collection)])
    df["pretrain_data"] = df["pretrain_data"].fillna("none")
    return (df.groupby(["group", "pretrain_data"], sort=True).size().rename("models").reset_index()
            .sort_values(["group", "models"], ascending=[True, False], ignore_index=True))


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


def data_status() -> pd.DataFrame:
    """Pinned artifacts per source folder: files, MiB, licences, and how many are cached / in the mirror."""
    df = pd.DataFrame(fetch.status())
    df["source"] = df["name"].map(_source)
    out = df.groupby("source").agg(
        files=("name", "size"), mib=("bytes", lambda b: round(b.sum() / 2**20, 2)),
        license=("license", lambda s: ", ".join(sorted(set(s)))),
        cached=("cached", "sum"), in_mirror=("in_mirror", "sum"))
    return out.reset_index()
