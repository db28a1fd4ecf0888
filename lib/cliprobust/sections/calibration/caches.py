"""Per-sample caches of the zoo: ECE / NLL / Brier before and after temperature scaling (T fitted on a
held-out split of ImageNet val, applied to every test set)."""

from __future__ import annotations

import warnings
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ... import datasets, outputs, zoo
from ...metrics import calibration as C

#: The temperature-fit set (in-distribution validation data is what a practitioner has; Guo et al.
#: 2017; Tu et al. §6.1): T is fitted on a seeded split of it (``metrics.calibration.TEMPERATURE_SPLIT``).
FIT_SET = "imagenet"
STAGES: tuple[str, ...] = ("uncalibrated", "temperature_scaled")

def task_logits(dataset: str, logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The logits/labels a test set is scored on: ImageNet-R/-A keep their 200 classes' columns
    (PROTOCOLS #3), ObjectNet collapses to its 113 classes (max over ImageNet indices, PROTOCOLS #2)."""
    spec = datasets.get(dataset)
    if spec.class_subset is not None:
        return datasets.restrict_to_subset(logits, labels, spec.class_subset)
    if spec.label_space == datasets.OBJECTNET_113:
        return datasets.objectnet_logits(logits), np.asarray(labels, dtype=np.int64)
    return np.asarray(logits), np.asarray(labels, dtype=np.int64)


def _fit(z: np.ndarray, y: np.ndarray) -> tuple[float, bool, np.ndarray]:
    """(T, T at a search bound, indices of the report split) for the fit set's logits."""
    fit, rest = C.split_indices(len(y))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = C.fit_temperature(z[fit], y[fit])
    return t, any("search bound" in str(w.message) for w in caught), rest


def model_calibration(outs: Mapping[str, object], fit_set: str = FIT_SET) -> pd.DataFrame:
    """Before/after temperature scaling for one model on every test set in ``outs`` (name -> Outputs).

    T = ``fit_temperature`` on the seeded fit split of ``fit_set``; metrics (accuracy, ECE, NLL,
    Brier from ``calibration_metrics``) on the rest of ``fit_set`` and on all of every other set.
    """
    z_id, y_id = task_logits(fit_set, outs[fit_set].logits, outs[fit_set].labels)
    t, at_bound, rest = _fit(np.asarray(z_id, np.float64), y_id)
    rows = []
    for name, out in outs.items():
        z, y = (z_id[rest], y_id[rest]) if name == fit_set else task_logits(name, out.logits, out.labels)
        for stage, temp in zip(STAGES, (1.0, t)):
            rows.append({"test_set": name, "stage": stage, "temperature": temp, "t_at_bound": at_bound,
                         "n": len(y), **C.calibration_metrics(np.asarray(z, np.float64), y, temperature=temp)})
    return pd.DataFrame(rows)


def zoo_info(model: str) -> dict[str, str]:
    """The zoo group and pre-training data of a cached model."""
    e = zoo.get(model)
    return {"group": e.group, "pretrain_data": e.pretrain_data or "none"}


CACHE_COLUMNS = ["model", "group", "pretrain_data", "test_set", "stage", "temperature", "t_at_bound", "n",
                 "accuracy", "ece", "nll", "brier"]


def cache_calibration_table(inventory: pd.DataFrame, fit_set: str = FIT_SET,
                            loader: Callable = outputs.load,
                            info_of: Callable[[str], Mapping[str, str]] | None = None) -> pd.DataFrame:
    """:func:`model_calibration` for every model whose ``fit_set`` cache is available.

    ``inventory``: ``outputs.inventory``-style ``model, dataset, status``; only ``outputs.AVAILABLE``
    entries are loaded. Columns :data:`CACHE_COLUMNS`.
    """
    info_of = info_of or zoo_info
    ok = inventory[inventory["status"].isin(outputs.AVAILABLE)]
    parts = []
    for model, rows in ok.groupby("model", sort=True):
        sets = list(rows["dataset"])
        if fit_set not in sets:
            continue
        table = model_calibration({d: loader(model, d) for d in sets}, fit_set)
        parts.append(table.assign(model=model, **info_of(model)))
    return pd.concat(parts)[CACHE_COLUMNS].reset_index(drop=True) if parts else pd.DataFrame(columns=CACHE_COLUMNS)


def cache_reliability(outs: Mapping[str, object], fit_set: str = FIT_SET) -> pd.DataFrame:
    """Reliability tables on the report split of ``fit_set`` before and after temperature scaling."""
    z, y = task_logits(fit_set, outs[fit_set].logits, outs[fit_set].labels)
    t, _, rest = _fit(np.asarray(z, np.float64), y)
    parts = []
    for stage, temp in zip(STAGES, (1.0, t)):
        p = C.softmax(C.temperature_scale(np.asarray(z, np.float64)[rest], temp))
        parts.append(C.reliability_diagram(p, y[rest]).assign(stage=stage, temperature=temp))
    return pd.concat(parts, ignore_index=True)

