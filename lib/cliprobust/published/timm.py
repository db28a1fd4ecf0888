"""timm's published ``results-*.csv`` tables (ImageNet, Real, V2, Sketch, R, A and their clean subsets).

Percent -> fractions on load; ``param_count`` carries thousands separators (``"1,013.01"``) and
290 rows per file are a second evaluation resolution of a model (``docs/tables.md``, timm).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from ._common import read_csv

#: timm results file -> canonical test set. ``-clean`` files are IN-val on the 200 R/A classes.
TIMM_FILES: dict[str, str] = {
    "published/timm/results-imagenet.csv": "imagenet",
    "published/timm/results-imagenet-real.csv": "imagenet-real",
    "published/timm/results-imagenetv2-matched-frequency.csv": "imagenet-v2",
    "published/timm/results-sketch.csv": "imagenet-sketch",
    "published/timm/results-imagenet-r.csv": "imagenet-r",
    "published/timm/results-imagenet-r-clean.csv": "imagenet-r-classes",
    "published/timm/results-imagenet-a.csv": "imagenet-a",
    "published/timm/results-imagenet-a-clean.csv": "imagenet-a-classes",
}


def timm_family(name: str) -> str:
    """``clip-ft`` for CLIP image towers fine-tuned on ImageNet (names with ``clip``, and the SigLIP
    ``webli_ft_in1k`` fine-tunes), else ``imagenet`` (``docs/tables.md``, timm)."""
    return "clip-ft" if ("clip" in name or "webli_ft_in1k" in name) else "imagenet"


def _timm_file(name: str, test_set: str) -> pd.DataFrame:
    raw = read_csv(name, thousands=",")  # param_count has "1,013.01"-style separators
    raw["param_count"] = pd.to_numeric(raw["param_count"], errors="raise")
    df = pd.DataFrame({
        "model": "timm:" + raw["model"], "family": raw["model"].map(timm_family),
        "test_set": test_set, "top1": raw["top1"] / 100.0, "top5": raw["top5"] / 100.0,
        "name": raw["model"], "arch": raw["model"].str.split(".").str[0],
        "pretrained": raw["model"].str.split(".", n=1).str[1],
        "img_size": raw["img_size"], "crop_pct": raw["crop_pct"],
        "interpolation": raw["interpolation"], "params_m": raw["param_count"],
    })
    return df


def timm_results(test_sets: tuple[str, ...] | None = None,
                 default_resolution: bool = False) -> pd.DataFrame:
    """timm ``results-*.csv`` (:data:`TIMM_FILES`), long, ``top1``/``top5`` as fractions.

    All rows are kept, with ``img_size``: 290 rows per file are a model at a second resolution.
    ``default_resolution=True`` keeps one row per model via :func:`timm_default_resolution`.
    Note ``results-imagenet-a.csv`` has ``resmlp_24_224.fb_dino`` instead of ``resnet50.tv_in1k``.
    """
    wanted = test_sets or tuple(TIMM_FILES.values())
    unknown = set(wanted) - set(TIMM_FILES.values())
    if unknown:
        raise ValueError(f"timm has no table for {sorted(unknown)}; available: {list(TIMM_FILES.values())}")
    df = pd.concat([_timm_file(f, t) for f, t in TIMM_FILES.items() if t in wanted], ignore_index=True)
    return timm_default_resolution(df) if default_resolution else df


#: timm's default evaluation resolution (``pretrained_cfg.input_size``) of every model that its results
#: tables list at two resolutions, frozen as data so the published profile never imports timm (and
#: torch); :func:`regenerate_input_sizes` rebuilds it, and a test checks it against the installed timm.
INPUT_SIZE_FILE = Path(__file__).with_name("timm_input_size.csv")


@lru_cache(maxsize=1)
def _input_sizes() -> dict[str, int]:
    table = pd.read_csv(INPUT_SIZE_FILE)
    return dict(zip(table["model"], table["input_size"].astype(int)))


def _timm_cfg_size(name: str) -> int | None:
    """timm's default input size of ``name`` from the frozen table (None if not listed)."""
    return _input_sizes().get(name)


def multi_resolution_models() -> list[str]:
    """timm names that some results table lists at more than one resolution."""
    df = pd.concat([_timm_file(f, t) for f, t in TIMM_FILES.items()], ignore_index=True)
    counts = df.groupby(["model", "test_set"])["img_size"].transform("size")
    return sorted(set(df.loc[counts > 1, "model"].str.removeprefix("timm:")))


def regenerate_input_sizes() -> pd.DataFrame:
    """Rebuild :data:`INPUT_SIZE_FILE`'s table from the installed timm (imports timm; for maintainers
    and the test that the frozen file is current)."""
    from timm.models import get_pretrained_cfg

    rows = [(n, get_pretrained_cfg(n)) for n in multi_resolution_models()]
    return pd.DataFrame({"model": [n for n, _ in rows],
                         "input_size": [int(c.input_size[-1]) for _, c in rows]})


def timm_default_resolution(df: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (model, test_set), the row at the model's default resolution.

    Default = ``input_size`` of the model's timm ``pretrained_cfg`` (the resolution timm's
    ``resolve_data_config`` uses); the other row is timm's ``test_input_size`` evaluation. Models
    at a single resolution keep it; if no row matches the cfg, the smallest ``img_size`` is kept.
    """
    counts = df.groupby(["model", "test_set"])["img_size"].transform("size")
    multi = df[counts > 1]
    keep = pd.Series(counts == 1, index=df.index)
    for (model, _), g in multi.groupby(["model", "test_set"]):
        size = _timm_cfg_size(model.removeprefix("timm:"))
        hit = g.index[g["img_size"] == size]
        keep[hit[0] if len(hit) else g["img_size"].idxmin()] = True
    return df[keep].reset_index(drop=True)
