"""Section 06 -- test-time prompts (Tu et al. NeurIPS 2023 §6.2; claim C9 of PAPERS.md).

Zero-shot CLIP classifies with a text head built from a *prompt set* (``cliprobust.prompts``:
``openai-80``, ``simple-7``, ``photo``, ``classname``). Changing the prompt set changes only the head,
so every number here comes from cached image features: a prompt set without an entry of its own is
derived from the features of another entry of the same images (``cache.load`` -> a matrix product;
no image pass). Per (model, prompt set, test set): accuracy, ECE / NLL / Brier at the model's learned
logit scale (``metrics.calibration``, PROTOCOLS #4 and #8), effective robustness against the
imagenet-testbed line (PROTOCOLS #9, as notebook 01) and, when OOD caches exist, MSP / MCM AUROC
(``metrics.ood``). :func:`claim_c9` judges whether prompt sets move these objectives in mixed ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import cache, prompts, published, zoo
from ..metrics import calibration as C
from ..metrics import ood as M
from ..metrics import robustness as R
from .calibration import task_logits
from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED

#: Prompt sets compared (the whole registry, in registry order).
PROMPT_SETS: tuple[str, ...] = tuple(prompts.PROMPT_SETS)
#: Reference prompt set for the per-model changes: the paper default (80 OpenAI templates).
REFERENCE_PROMPT_SET: str = prompts.DEFAULT_PROMPT_SET
#: Cache statuses :func:`cliprobust.cache.load` can serve.
AVAILABLE: tuple[str, ...] = ("complete", "derivable")


@dataclass(frozen=True)
class Plan:
    """What the cache-driven analysis reads in one notebook profile."""

    models: str  # zoo selector
    id_set: str
    shifts: tuple[str, ...]
    ood_sets: tuple[str, ...]

    @property
    def test_sets(self) -> tuple[str, ...]:
        return (self.id_set, *self.shifts)


#: Published/full profile: zero-shot CLIP on ImageNet val and the 5 natural shifts; OOD sets of Tu et al. §5.
PAPER_PLAN = Plan("clip-zeroshot", published.IMAGENET, published.SHIFTS,
                  ("inaturalist", "sun", "places", "textures", "imagenet-o"))
#: Smoke profile: the random-init smoke models on the 100 shipped ImageNet images (no shift, no OOD set).
SMOKE_PLAN = Plan("smoke", "imagenet-sample", (), ())
#: Smoke models whose text heads are cheap enough to build in the notebook (16-token tiny text tower,
#: seconds per prompt set); ViT-B-32's 1000-class heads cost minutes on CPU and are only read if cached.
SMOKE_DERIVE_MODELS: tuple[str, ...] = ("open_clip:cliprobust-tiny/none",)


def cache_plan(profile: str) -> Plan:
    """:data:`SMOKE_PLAN` for ``smoke``, else :data:`PAPER_PLAN`."""
    return SMOKE_PLAN if profile == "smoke" else PAPER_PLAN


def clip_models(selector: str) -> list[str]:
    """Ids of the open_clip (zero-shot CLIP) models of a zoo selector."""
    return [e.id for e in zoo.select(selector) if e.source == "open_clip"]


def prompt_inventory(models: Sequence[str], datasets: Sequence[str],
                     prompt_sets: Sequence[str] = PROMPT_SETS) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` for every combination (``cache.ls`` statuses).

    (model, data set) pairs with no cache folder at all are ``missing`` without a key check, so the
    published profile (no caches) does not load the engine.
    """
    present = [(m, d) for m in models for d in datasets if cache.slot_dir(m, d).is_dir()]
    rows = [{"model": m, "dataset": d, "prompt_set": ps, "status": "missing"}
            for m in models for d in datasets for ps in prompt_sets]
    inv = pd.DataFrame(rows, columns=["model", "dataset", "prompt_set", "status"])
    for ps in prompt_sets if present else ():
        for m in sorted({m for m, _ in present}):
            found = cache.ls([m], [d for mm, d in present if mm == m], ps)
            for d, status in zip(found["dataset"], found["status"]):
                inv.loc[(inv["model"] == m) & (inv["dataset"] == d) & (inv["prompt_set"] == ps), "status"] = status
    return inv


def derive_cheap(inventory: pd.DataFrame, models: Iterable[str] = SMOKE_DERIVE_MODELS) -> pd.DataFrame:
    """Build the missing text heads of cheap ``models`` and derive their scores from cached features.

    Only ``needs-head`` rows (features cached, head not) of ``models`` are run, through the engine
    (``inference.runner.run_one``: head, then cached features x head; no image pass). Returns the
    inventory with those rows now ``complete``.
    """
    from ..inference.config import RunConfig
    from ..inference.runner import run_one

    todo = inventory["model"].isin(list(models)) & (inventory["status"] == "needs-head")
    for r in inventory[todo].itertuples():
        run_one(RunConfig(r.model, r.dataset, prompt_set=r.prompt_set, progress=False))
    return inventory.assign(status=inventory["status"].mask(todo, "complete"))


def status_table(inventory: pd.DataFrame) -> pd.DataFrame:
    """Counts of (model, data set) per prompt set and status."""
    return inventory.pivot_table(index="prompt_set", columns="status", values="model", aggfunc="count",
                                 fill_value=0).reindex([p for p in PROMPT_SETS if p in set(inventory["prompt_set"])])


def outputs_metrics(out, dataset: str) -> dict[str, float]:
    """n, accuracy, ECE, NLL, Brier (``calibration_metrics``, learned logit scale) and mean confidence
    of one cached output on the task's label space (R/A: 200 classes; ObjectNet: 113 classes)."""
    z, y = task_logits(dataset, out.logits, out.labels)
    z = np.asarray(z, dtype=np.float64)
    conf = C.softmax(z).max(axis=1)
    return {"n": int(len(y)), **C.calibration_metrics(z, y), "mean_confidence": float(conf.mean())}


TABLE_COLUMNS = ["model", "group", "prompt_set", "test_set", "n", "accuracy", "ece", "nll", "brier",
                 "mean_confidence", "logit_scale"]


def prompt_table(inventory: pd.DataFrame, loader: Callable = cache.load) -> pd.DataFrame:
    """:func:`outputs_metrics` for every available (model, data set, prompt set) of ``inventory``.

    ``loader(model, dataset, prompt_set)`` defaults to :func:`cliprobust.cache.load`. Columns
    :data:`TABLE_COLUMNS` (``logit_scale`` = the model's learned multiplier of the cosines, e.g. 100).
    """
    rows = []
    for r in inventory[inventory["status"].isin(AVAILABLE)].itertuples():
        out = loader(r.model, r.dataset, r.prompt_set)
        rows.append({"model": r.model, "group": _group(r.model), "prompt_set": r.prompt_set, "test_set": r.dataset,
                     **outputs_metrics(out, r.dataset), "logit_scale": float(out.logit_scale or np.nan)})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _group(model: str) -> str:
    return zoo.get(model).group if model in zoo.REGISTRY else "unknown"


# --------------------------------------------------------------------------- effective robustness


@lru_cache(maxsize=1)
def baseline_fits() -> dict[str, R.BaselineFit]:
    """Logit-space line per shift over the imagenet-testbed baseline models, full-ImageNet x-axis
    (the same baseline and x-axis as notebook 01, ``sections.effective_robustness``)."""
    from .effective_robustness import er_frame

    base = er_frame()
    base = base[base["in_baseline"] & base["shift"].isin(published.SHIFTS)]
    return {s: R.fit_baseline(g["id_acc"].to_numpy(), g["ood_acc"].to_numpy()) for s, g in base.groupby("shift")}


def prompt_er(table: pd.DataFrame, id_set: str = published.IMAGENET,
              fits: Mapping[str, R.BaselineFit] | None = None) -> pd.DataFrame:
    """ER per (model, prompt set, shift): shift accuracy minus the baseline line at the ImageNet accuracy
    of the same model and prompt set (``metrics.robustness.effective_robustness``). Columns
    ``model, group, prompt_set, shift, id_acc, ood_acc, er``; empty without ID + shift rows."""
    cols = ["model", "group", "prompt_set", "shift", "id_acc", "ood_acc", "er"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    acc = table.pivot_table(index=["model", "group", "prompt_set"], columns="test_set", values="accuracy")
    shifts = [s for s in published.SHIFTS if s in acc.columns]
    if id_set not in acc.columns or not shifts:
        return pd.DataFrame(columns=cols)
    fits = baseline_fits() if fits is None else fits
    parts = []
    for s in shifts:
        sub = acc[[id_set, s]].dropna().rename(columns={id_set: "id_acc", s: "ood_acc"})
        parts.append(sub.assign(shift=s, er=R.effective_robustness(sub["id_acc"].to_numpy(),
                                                                    sub["ood_acc"].to_numpy(), fits[s])))
    return pd.concat(parts).reset_index()[cols]


# --------------------------------------------------------------------------- OOD detection


#: Scores compared across prompt sets: MSP at the learned logit scale and MCM (softmax of raw cosines).
OOD_SCORES: tuple[str, ...] = ("msp", "mcm")


def prompt_ood(inventory: pd.DataFrame, id_set: str, loader: Callable = cache.load) -> pd.DataFrame:
    """AUROC (ID positive) per (model, prompt set, score, OOD set) where ID and OOD caches are available.

    Columns ``model, prompt_set, score, ood_dataset, auroc``; empty without such pairs."""
    cols = ["model", "prompt_set", "score", "ood_dataset", "auroc"]
    ok = inventory[inventory["status"].isin(AVAILABLE)]
    rows = []
    for (model, ps), g in ok.groupby(["model", "prompt_set"], sort=True):
        oods = sorted(set(g["dataset"]) - {id_set})
        if id_set not in set(g["dataset"]) or not oods:
            continue
        s_id = _ood_scores(loader(model, id_set, ps))
        for d in oods:
            s_ood = _ood_scores(loader(model, d, ps))
            rows += [{"model": model, "prompt_set": ps, "score": k, "ood_dataset": d,
                      "auroc": M.auroc(s_id[k], s_ood[k])} for k in OOD_SCORES]
    return pd.DataFrame(rows, columns=cols)


def _ood_scores(out) -> dict[str, np.ndarray]:
    return {"msp": M.msp(np.asarray(out.logits, np.float64)), "mcm": M.mcm(np.asarray(out.cosine, np.float64))}


# --------------------------------------------------------------------------- C9


#: Groups whose rows the claim uses: real zero-shot CLIP (random-init ``smoke`` models never count).
CLAIM_GROUP: str = "clip-zeroshot"
#: Fewest zero-shot CLIP models with ImageNet caches under >= 2 prompt sets for C9 to be judged.
MIN_MODELS: int = 5


def objective_frame(table: pd.DataFrame, er: pd.DataFrame | None = None, ood: pd.DataFrame | None = None,
                    id_set: str = published.IMAGENET) -> pd.DataFrame:
    """Per (model, prompt set), the objectives, each oriented so that higher is better:
    ``accuracy`` (on ``id_set``), ``-ece`` (``id_set``), ``er`` (mean over shifts, if any) and
    ``ood_auroc`` (MCM, mean over OOD sets, if any)."""
    on_id = table[table["test_set"] == id_set].set_index(["model", "prompt_set"])
    obj = pd.DataFrame({"accuracy": on_id["accuracy"], "-ece": -on_id["ece"]})
    if er is not None and len(er):
        obj["er"] = er.groupby(["model", "prompt_set"])["er"].mean()
    if ood is not None and len(ood):
        obj["ood_auroc"] = ood[ood["score"] == "mcm"].groupby(["model", "prompt_set"])["auroc"].mean()
    return obj


def c9_parts(objectives: pd.DataFrame) -> dict[str, object]:
    """Best prompt set per objective (mean over models that have every prompt set), and the share of
    (model, prompt set != reference) pairs where accuracy and calibration change in opposite directions
    relative to :data:`REFERENCE_PROMPT_SET`."""
    wide = objectives.unstack("prompt_set").dropna()
    means = {k: wide[k].mean() for k in objectives.columns}
    best = {k: str(v.idxmax()) for k, v in means.items()}
    ref = REFERENCE_PROMPT_SET
    others = [p for p in wide["accuracy"].columns if p != ref]
    d_acc = wide["accuracy"][others].sub(wide["accuracy"][ref], axis=0) if ref in wide["accuracy"] else None
    d_cal = wide["-ece"][others].sub(wide["-ece"][ref], axis=0) if ref in wide["-ece"] else None
    opposite = float(np.mean((np.sign(d_acc) * np.sign(d_cal)).to_numpy() < 0)) if d_acc is not None and others else np.nan
    return {"n_models": int(len(wide)), "best": best, "mixed": len(set(best.values())) > 1,
            "share_acc_cal_opposite": opposite,
            "mean": {k: {p: round(float(x), 4) for p, x in v.items()} for k, v in means.items()}}


def claim_c9(table: pd.DataFrame | None, er: pd.DataFrame | None = None, ood: pd.DataFrame | None = None,
             missing: str = "") -> dict:
    """C9: test-time prompts change accuracy, calibration (and OOD detection) in mixed ways.

    Rows of :data:`CLAIM_GROUP` only. ``not testable here`` unless >= :data:`MIN_MODELS` zero-shot CLIP
    models have ImageNet results under >= 2 prompt sets (``missing`` names what is absent). Rule:
    ``reproduced`` iff no prompt set is best on every measured objective (:func:`c9_parts`: the per-
    objective best prompt sets, by the mean over models, are not all the same), else ``not reproduced``.
    The share of per-model accuracy/ECE changes of opposite sign is reported, not judged.
    """
    rows = pd.DataFrame(columns=TABLE_COLUMNS) if table is None else table[table["group"] == CLAIM_GROUP]
    objectives = objective_frame(rows, er, ood) if len(rows) else pd.DataFrame()
    n_sets = objectives.reset_index().groupby("model")["prompt_set"].nunique() if len(objectives) else pd.Series()
    n_ok = int((n_sets >= 2).sum())
    if n_ok < MIN_MODELS:
        ignored = 0 if table is None else table.loc[table["group"] != CLAIM_GROUP, "model"].nunique()
        note = f" {ignored} cached model(s) outside {CLAIM_GROUP} (e.g. random-init smoke) never count." if ignored else ""
        return {"claim": "C9", "verdict": NOT_TESTABLE, "numbers": {"models_with_2_prompt_sets": n_ok},
                "evidence": f"needs per-sample caches (image features) of >= {MIN_MODELS} zero-shot CLIP models on "
                            f"{published.IMAGENET} under >= 2 prompt sets; have {n_ok}.{note} {missing}".strip()}
    parts = c9_parts(objectives)
    verdict = REPRODUCED if parts["mixed"] else NOT_REPRODUCED
    evidence = (f"{parts['n_models']} zero-shot CLIP models x {len(PROMPT_SETS)} prompt sets: best prompt set per "
                f"objective {parts['best']}; accuracy and ECE move in opposite directions vs {REFERENCE_PROMPT_SET} "
                f"in {parts['share_acc_cal_opposite']:.2f} of (model, prompt set) pairs.")
    return {"claim": "C9", "verdict": verdict, "evidence": evidence, "numbers": parts}


def missing_note(inventory: pd.DataFrame, plan: Plan) -> str:
    """One line naming the missing caches and the command that makes them."""
    have = inventory[inventory["status"].isin(AVAILABLE)]
    n_models = inventory["model"].nunique()
    root = "" if plan is SMOKE_PLAN else " --data-root DIR"
    ood = f" OOD part (optional): also {','.join(plan.ood_sets)}." if plan.ood_sets else ""
    return (f"Cached: {have['model'].nunique()} of {n_models} {plan.models} models on any of {list(plan.test_sets)}. "
            f"Make them with: cliprobust evaluate --models {plan.models} --datasets {','.join(plan.test_sets)}{root} "
            f"--prompt-set {REFERENCE_PROMPT_SET} (other prompt sets then derive from the cached features).{ood}")


def run(plan: Plan, derive: bool = False, loader: Callable = cache.load) -> dict[str, object]:
    """The whole cache-driven analysis of a plan: ``inventory``, ``table``, ``er``, ``ood`` and ``claim``
    (:func:`claim_c9`). ``derive=True`` first builds the cheap heads (:func:`derive_cheap`)."""
    inv = prompt_inventory(clip_models(plan.models), [*plan.test_sets, *plan.ood_sets])
    inv = derive_cheap(inv) if derive else inv
    table = prompt_table(inv[inv["dataset"].isin(plan.test_sets)], loader)
    er = prompt_er(table, plan.id_set)
    ood = prompt_ood(inv[inv["dataset"].isin([plan.id_set, *plan.ood_sets])], plan.id_set, loader)
    claim = claim_c9(table, er, ood, missing_note(inv, plan))
    return {"inventory": inv, "table": table, "er": er, "ood": ood, "claim": claim}


# --------------------------------------------------------------------------- figures


def plot_prompt_sets(table: pd.DataFrame, test_set: str) -> plt.Figure:
    """Accuracy and ECE per prompt set on ``test_set``, one line per model."""
    sub = table[table["test_set"] == test_set]
    order = [p for p in PROMPT_SETS if p in set(sub["prompt_set"])]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric in zip(axes, ("accuracy", "ece")):
        for model, g in sub.groupby("model"):
            g = g.set_index("prompt_set").reindex(order)
            ax.plot(range(len(order)), g[metric], marker="o", label=model)
        ax.set_xticks(range(len(order)), order)
        ax.set(ylabel=metric, title=f"{metric} on {test_set} by prompt set")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
