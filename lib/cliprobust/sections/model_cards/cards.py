"""Section 09, the cards: every keyed measurement of the models that two or more published sources
evaluate (:func:`card_long`), the check of the join (:func:`top1_agreement`), and the wide cards."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .join import MIN_SOURCES, SOURCES

#: ImageNet-X's overall accuracy of a model on its annotated ImageNet val images (the x-axis of the
#: factor lines; not the 50,000-image top-1, so not an ``imagenet_top1`` row of the join's check).
IMAGENETX_ACCURACY = "imagenetx_accuracy"
#: Properties of a card, in display order (``er:mean-shift-4``: ER of the mean accuracy over V2, R,
#: Sketch and A -- every ER source, no ObjectNet).
PROPERTIES: tuple[str, ...] = (
    "imagenet_top1", "er:imagenet-v2", "er:imagenet-r", "er:imagenet-sketch", "er:objectnet", "er:imagenet-a",
    "er:mean-shift", "er:mean-shift-4", "factor_er:mean", IMAGENETX_ACCURACY, "shape_bias", "ood_auroc:cood",
    "ood_auroc:ninco", "confidence_gap",
)

#: ObjectNet protocol of each ER source (the ER section's ``objectnet`` option, ``docs/protocols.md``):
#: open_clip's rows (CLIP_benchmark) use a 113-name zero-shot head without the 2-px border crop, the
#: testbed's rows 1000-way logits mapped to the 113 classes with the crop; timm publishes no ObjectNet.
#: ER on ObjectNet, and the mean over 5 shifts that includes it, therefore mean two protocols across
#: sources: the cards name the protocol (``objectnet_protocol``), and no correlation mixes them.
OBJECTNET_PROTOCOLS: dict[str, str] = {
    "open_clip": "open_clip/CLIP_benchmark (113-name zero-shot head, no border crop)",
    "testbed": "imagenet-testbed (1000-way logits mapped to 113 classes, 2-px border crop)"}
#: The ER properties that include ObjectNet.
OBJECTNET_PROPERTIES: tuple[str, ...] = ("er:objectnet", "er:mean-shift")

#: The ImageNet accuracy each kind of property rests on, by top-1 source: ``er`` -- each model's own ER
#: row (open_clip, testbed or timm; ER is OOD accuracy minus a line in that row's top-1); ``cood`` --
#: COOD's top-1 (the evaluation behind its AUROC; the confidence gap is COOD's confidence minus it);
#: ``imagenetx`` -- ImageNet-X's overall accuracy (the x of the factor lines). Value: (property, sources).
TOP1_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "er": ("imagenet_top1", ("open_clip", "testbed", "timm")), "cood": ("imagenet_top1", ("cood",)),
    "imagenetx": (IMAGENETX_ACCURACY, ("imagenetx",))}
#: The top-1 source each correlated property rests on (shape bias and NINCO AUROC rest on none).
PROPERTY_TOP1: dict[str, str] = {
    **{p: "er" for p in PROPERTIES if p.startswith("er:")}, "factor_er:mean": "imagenetx",
    "ood_auroc:cood": "cood", "confidence_gap": "cood"}


def top1_column(source: str) -> str:
    """Column of the wide cards holding the top-1 of one :data:`TOP1_SOURCES` entry."""
    return f"top1:{source}"



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


def _headline(long: pd.DataFrame, sources: Iterable[str] = SOURCES) -> pd.DataFrame:
    """One row per (key, property): the first of ``sources`` (in :data:`SOURCES` order) that has it."""
    order = {s: i for i, s in enumerate(SOURCES)}
    rows = long[long["source"].isin(list(sources))]
    return rows.assign(_o=rows["source"].map(order)).sort_values("_o").drop_duplicates(["key", "property"])


def cards(long: pd.DataFrame) -> pd.DataFrame:
    """Wide model cards: one row per key, one column per property as ``value`` (the headline
    source: ER from open_clip/testbed/timm, top-1 from the ER tables first), plus the sources, the
    ObjectNet protocol of the headline ER row (:data:`OBJECTNET_PROTOCOLS`) and one top-1 column per
    :data:`TOP1_SOURCES` entry (:func:`top1_column`; what a comparison holds fixed)."""
    order = {s: i for i, s in enumerate(SOURCES)}
    first = _headline(long)
    wide = first.pivot(index="key", columns="property", values="value")
    wide = wide[[p for p in PROPERTIES if p in wide.columns]]
    on = first[first["property"] == "er:objectnet"].set_index("key")["source"]
    wide["objectnet_protocol"] = on.map(OBJECTNET_PROTOCOLS).reindex(wide.index)
    for src, (prop, names) in TOP1_SOURCES.items():
        top = _headline(long[long["property"] == prop], names).set_index("key")["value"]
        wide[top1_column(src)] = top.reindex(wide.index)
    meta = long.groupby("key").agg(arch=("arch", "first"), pretraining=("pretraining", "first"),
                                   group=("group", "first"),
                                   sources=("source", lambda s: ", ".join(sorted(set(s), key=order.get))))
    return meta.join(wide).sort_values(["group", "key"]).reset_index()


def card_intervals(long: pd.DataFrame) -> pd.DataFrame:
    """The card values with their intervals, tidy (one row per key and property, headline source)."""
    return _headline(long).drop(columns="_o").sort_values(["group", "key", "property"]).reset_index(drop=True)
