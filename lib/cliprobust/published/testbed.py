"""imagenet-testbed (Taori et al. 2020): 340+ models' top-1 on ImageNet, its shifts and class subsets.

``robustness_top1s.csv`` is in percent (-> fractions on load) and carries the class-subset
in-distribution columns (``val-on-imagenet-r-classes``...) that the effective-robustness x-axis
needs (``docs/protocols.md`` §3); ``model_types.csv`` gives each model's type, from which
:func:`testbed_baseline` selects the effective-robustness baseline (``docs/tables.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import read_csv

TESTBED_RESULTS = "published/imagenet-testbed/robustness_top1s.csv"
TESTBED_TYPES = "published/imagenet-testbed/model_types.csv"

#: imagenet-testbed columns -> canonical test sets.
TESTBED_TEST_SETS: dict[str, str] = {
    "val": "imagenet",
    "imagenetv2-matched-frequency-format-val": "imagenet-v2",
    "imagenet-r": "imagenet-r",
    "imagenet-a": "imagenet-a",
    "imagenet-sketch": "imagenet-sketch",
    "objectnet-1.0-beta": "objectnet",
    "val-on-imagenet-r-classes": "imagenet-r-classes",
    "val-on-imagenet-a-classes": "imagenet-a-classes",
    "val-on-objectnet-classes": "objectnet-classes",
}

#: The testbed's two CLIP zero-shot rows (typed MORE_DATA upstream; family clip-zeroshot here).
TESTBED_CLIP_ZEROSHOT: tuple[str, ...] = ("vit_b_32_clip_zeroshot", "resnet50_clip_zeroshot")


def testbed_model_types() -> pd.DataFrame:
    """``model_types.csv``: testbed model name -> type (STANDARD, MORE_DATA, ROBUST_INTV, ...)."""
    return read_csv(TESTBED_TYPES)


def testbed_results(include_other: bool = False) -> pd.DataFrame:
    """imagenet-testbed ``robustness_top1s.csv`` (percent -> fraction), long; empty cells dropped.

    ``test_set`` is canonical for :data:`TESTBED_TEST_SETS`; ``include_other=True`` adds the
    other 204 settings (ImageNet-C, PGD, ...) under their testbed names. ``family`` is the
    testbed model type, except the two CLIP zero-shot rows (``clip-zeroshot``); ``type`` keeps
    the upstream type. 3 subsample models have no ``val``; ``imagenet-r`` covers 329 models.
    """
    raw = read_csv(TESTBED_RESULTS)
    value_cols = [c for c in raw.columns if c != "model"] if include_other else list(TESTBED_TEST_SETS)
    df = raw.melt(id_vars="model", value_vars=value_cols, var_name="test_set", value_name="top1")
    df = df.dropna(subset=["top1"])
    df["top1"] = df["top1"] / 100.0
    df["test_set"] = df["test_set"].map(lambda c: TESTBED_TEST_SETS.get(c, c))
    types = testbed_model_types().set_index("model")["type"]
    df["type"] = df["model"].map(types)
    df["family"] = df["type"].where(~df["model"].isin(TESTBED_CLIP_ZEROSHOT), "clip-zeroshot")
    df["name"] = df["model"]
    df["model"] = "testbed:" + df["model"]
    return df[["model", "family", "test_set", "top1", "name", "type"]].reset_index(drop=True)


#: imagenet-testbed's line-fit models (``use_for_line_fit`` in ``plotting/*.py`` @ 0170eec): type
#: STANDARD, excluding names that contain any of :data:`TESTBED_EXCLUDE` (``docs/protocols.md`` §9).
TESTBED_BASELINE_TYPE = "STANDARD"
TESTBED_EXCLUDE: tuple[str, ...] = ("aws", "batch64", "subsample")


def testbed_baseline(model_types: pd.Series) -> pd.Series:
    """Boolean mask (index = model name) of imagenet-testbed's baseline from a name -> type series.

    The effective-robustness baseline of Taori et al. (2020): the testbed's own line-fit rule,
    kept with the table it selects from rather than with the metric that uses it.
    """
    names = model_types.index.str.lower()
    excluded = np.zeros(len(names), dtype=bool)
    for token in TESTBED_EXCLUDE:
        excluded |= names.str.contains(token, regex=False)
    return pd.Series((model_types.to_numpy() == TESTBED_BASELINE_TYPE) & ~excluded, index=model_types.index)


def testbed_baseline_models() -> list[str]:
    """Effective-robustness baseline set (Taori et al. 2020) as ``testbed:`` ids: the rule of
    :func:`testbed_baseline` over the models with results."""
    types = testbed_model_types().set_index("model")["type"]
    mask = testbed_baseline(types)
    present = set(read_csv(TESTBED_RESULTS)["model"])
    return sorted(f"testbed:{m}" for m in mask.index[mask.to_numpy()] if m in present)
