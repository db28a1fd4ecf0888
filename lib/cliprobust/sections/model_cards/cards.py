"""Section 09, the cards: every keyed measurement of the models that two or more published sources
evaluate (:func:`card_long`), the check of the join (:func:`top1_agreement`), and the wide cards."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .join import MIN_SOURCES, SOURCES

#: Properties of a card, in display order.
PROPERTIES: tuple[str, ...] = (
    "imagenet_top1", "er:imagenet-v2", "er:imagenet-r", "er:imagenet-sketch", "er:objectnet", "er:imagenet-a",
    "er:mean-shift", "factor_er:mean", "shape_bias", "ood_auroc:cood", "ood_auroc:ninco", "confidence_gap",
)


def card_long(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Every keyed measurement of ``parts`` (the property readers' rows), one row per (key,
    property, source), restricted to keys that at least :data:`MIN_SOURCES` distinct sources evaluate."""
    long = pd.concat(list(parts), ignore_index=True)
    n_src = long.groupby("key")["source"].nunique()
    return long[long["key"].isin(n_src.index[n_src >= MIN_SOURCES])].sort_values(["group", "key"]).reset_index(
        drop=True)


def top1_agreement(long: pd.DataFrame, prop: str = "imagenet_top1") -> pd.DataFrame:
    """Per key with ``prop`` from >= 2 sources: the largest difference between sources and whether
    their intervals overlap (for ImageNet top-1 the join's check: one set of weights scores the same
    everywhere, up to protocol noise; for ER, two published evaluations of the same weights)."""
    g = long[long["property"] == prop].groupby("key")
    out = pd.DataFrame({"n_sources": g["value"].count(), "max_diff": g["value"].max() - g["value"].min(),
                        "intervals_overlap": g["low"].max() <= g["high"].min()})
    return out[out["n_sources"] >= 2].reset_index()


def cards(long: pd.DataFrame) -> pd.DataFrame:
    """Wide model cards: one row per key, one column per property as ``value`` (the headline
    source: ER from open_clip/testbed/timm, top-1 from the ER tables first), plus the sources."""
    order = {s: i for i, s in enumerate(SOURCES)}
    first = long.assign(_o=long["source"].map(order)).sort_values("_o").drop_duplicates(["key", "property"])
    wide = first.pivot(index="key", columns="property", values="value")
    wide = wide[[p for p in PROPERTIES if p in wide.columns]]
    meta = long.groupby("key").agg(arch=("arch", "first"), pretraining=("pretraining", "first"),
                                   group=("group", "first"),
                                   sources=("source", lambda s: ", ".join(sorted(set(s), key=order.get))))
    return meta.join(wide).sort_values(["group", "key"]).reset_index()


def card_intervals(long: pd.DataFrame) -> pd.DataFrame:
    """The card values with their intervals, tidy (one row per key and property, headline source)."""
    order = {s: i for i, s in enumerate(SOURCES)}
    first = long.assign(_o=long["source"].map(order)).sort_values("_o").drop_duplicates(["key", "property"])
    return first.drop(columns="_o").sort_values(["group", "key", "property"]).reset_index(drop=True)
