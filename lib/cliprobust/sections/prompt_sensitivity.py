"""Section 06 -- prompt sensitivity (Tu et al. NeurIPS 2023 §6.2; claim C9 of ``docs/claims.md``).

Zero-shot CLIP classifies with a text head built from a *prompt set* (``cliprobust.prompts``:
``openai-80``, ``simple-7``, ``photo``, ``classname``). Changing the prompt set changes only the head,
so every number here comes from cached image features: a prompt set without an entry of its own is
derived by the reader from the features of another entry of the same images and the prompt set's
stored text head (``outputs.load`` -> a matrix product; no image pass). This section only reads: a
missing head is built by the explicit engine step :func:`cliprobust.inference.heads.build_heads`
(notebook 06 calls it in the ``smoke`` profile for :data:`SMOKE_HEAD_MODELS`). Per (model, prompt set,
test set): accuracy, ECE / NLL / Brier at the model's learned logit scale (``metrics.calibration``;
``docs/protocols.md``), effective robustness against the testbed line of notebook 01, and MSP /
MaxLogit / energy / MCM AUROC on the OOD sets (``metrics.ood``). :func:`claim_c9` judges whether
prompt sets move these objectives in mixed ways (``verdicts.evaluate``: margin, three outcomes, the
multiverse, operating characteristics).

No published table reports CLIP per prompt set, so C9 is not testable in the ``published`` profile;
:func:`planned_grid` and :func:`prompt_set_table` show what a ``full`` run computes.

The section interface: :class:`Options`, :data:`PAPER_PLAN` / :data:`SMOKE_PLAN`, :func:`cache_plan`,
:func:`cache_inventory`, :func:`claims`, :func:`claim_c9`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import outputs, prompts, published, style, zoo
from ..metrics import calibration as C
from ..metrics import ood as M
from ..metrics import robustness as R
from ..metrics import stats
from ..runs import Options as BaseOptions
from ..runs import Run
from ..verdicts import GREATER, Claim, Estimate, Rule, Spec, evaluate, guard_run, not_testable, share_oc
from ._base import CachePlan, inventory_for, plan_for
from .calibration.caches import task_logits
from .effective_robustness.tables import er_frame

#: Prompt sets compared (the whole registry, in registry order).
PROMPT_SETS: tuple[str, ...] = tuple(prompts.PROMPT_SETS)
#: Reference prompt set of the per-model changes: the paper default (80 OpenAI templates).
REFERENCE_PROMPT_SET: str = prompts.DEFAULT_PROMPT_SET
#: OOD sets of Tu et al. §5 (ImageNet as ID).
OOD_SETS: tuple[str, ...] = ("inaturalist", "sun", "places", "textures", "imagenet-o")
#: OOD scores compared across prompt sets (higher = more in-distribution): MSP and MaxLogit at the
#: learned logit scale, energy (T = 1) and MCM (softmax of raw cosines, Ming et al. 2022).
OOD_SCORES: tuple[str, ...] = ("msp", "maxlogit", "energy", "mcm")
#: Calibration measures: 15-bin top-label ECE (Tu et al.), 10-bin ECE, NLL.
CALIBRATIONS: dict[str, str] = {"ece": "ECE with 15 bins", "ece_10": "ECE with 10 bins",
                                "nll": "NLL as the calibration measure"}


@dataclass(frozen=True)
class Options(BaseOptions):
    """Protocol options of notebook 06 (C9's headline; variants change them one at a time)."""

    #: OOD score of C9's headline: MCM, the zero-shot CLIP score of Ming et al. (2022) (:data:`OOD_SCORES`).
    ood_score: str = "mcm"
    #: Calibration measure of C9's headline: 15-bin top-label ECE as in Tu et al. (:data:`CALIBRATIONS`).
    calibration: str = "ece"

    CHOICES = {"ood_score": OOD_SCORES, "calibration": tuple(CALIBRATIONS)}


#: ``full``/``rehearsal`` plan (``published`` only names it): zero-shot CLIP on ImageNet val, the 5
#: natural shifts and the OOD sets, under every prompt set.
PAPER_PLAN = CachePlan("clip-zeroshot", published.IMAGENET, (*published.SHIFTS, *OOD_SETS), PROMPT_SETS)
#: Smoke CLIPs whose text heads are cheap enough to build in the notebook (16-token tiny text tower,
#: seconds per prompt set); ViT-B-32's 1000-class heads cost minutes on CPU and are only read if cached.
SMOKE_HEAD_MODELS: tuple[str, ...] = ("open_clip:cliprobust-tiny/none",)
#: ``smoke`` plan: the random-init smoke CLIPs on the 100 shipped ImageNet images.
SMOKE_PLAN = CachePlan("open_clip:cliprobust-tiny/none,open_clip:ViT-B-32/none", "imagenet-sample", (), PROMPT_SETS)


def cache_plan(run: Run = Run()) -> CachePlan:
    """The run's cache plan (:data:`SMOKE_PLAN` for random-init runs, else :data:`PAPER_PLAN`)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` for every cell of the run's plan (``outputs.inventory``:
    a (model, data set) without a cache folder is ``missing`` without computing any key)."""
    plan = cache_plan(run)
    return inventory_for(plan)


def shifts_of(p: CachePlan) -> tuple[str, ...]:
    """The natural shifts among a plan's data sets."""
    return tuple(d for d in p.datasets if d in published.SHIFTS)


def ood_sets_of(p: CachePlan) -> tuple[str, ...]:
    """The OOD sets among a plan's data sets."""
    return tuple(d for d in p.datasets if d in OOD_SETS)


def missing_heads(inventory: pd.DataFrame, models: Sequence[str] = SMOKE_HEAD_MODELS) -> list[tuple[str, str]]:
    """(model, prompt set) of ``models`` whose features are cached but whose text head is not
    (``needs-head``): what :func:`cliprobust.inference.heads.build_heads` builds before a re-read."""
    rows = inventory[inventory["model"].isin(list(models)) & (inventory["status"] == "needs-head")]
    return list(dict.fromkeys(zip(rows["model"], rows["prompt_set"])))


def prompt_set_table() -> pd.DataFrame:
    """One row per prompt set: name, display name, number of templates, first template, source."""
    rows = [{"prompt_set": name, "display": style.display(name), "n_templates": len(ps.templates),
             "example": ps.templates[0], "source": ps.source} for name, ps in prompts.PROMPT_SETS.items()]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- per-output metrics

#: ECE bins of the headline protocol (15 equal-width bins, Guo et al. 2017; ``metrics.calibration``).
ECE_BINS: int = C.ECE_BINS
#: ECE bins of the binning variant (10 equal-width bins, a common alternative).
ECE_BINS_VARIANT: int = 10


def outputs_metrics(out, dataset: str) -> dict[str, float]:
    """n, accuracy, ECE (:data:`ECE_BINS` and :data:`ECE_BINS_VARIANT` bins), NLL, Brier at the learned
    logit scale, and mean confidence of one cached output on the task's label space (R/A: 200
    classes; ObjectNet: 113 classes)."""
    z, y = task_logits(dataset, out.logits, out.labels)
    z = np.asarray(z, dtype=np.float64)
    conf = C.softmax(z).max(axis=1)
    ece10 = C.calibration_metrics(z, y, n_bins=ECE_BINS_VARIANT)["ece"]
    return {"n": int(len(y)), **C.calibration_metrics(z, y, n_bins=ECE_BINS), "ece_10": float(ece10),
            "mean_confidence": float(conf.mean())}


TABLE_COLUMNS = ["model", "group", "source", "prompt_set", "test_set", "n", "accuracy", "ece", "ece_10", "nll",
                 "brier", "mean_confidence", "logit_scale"]


def prompt_table(inventory: pd.DataFrame, loader: Callable = outputs.load) -> pd.DataFrame:
    """:func:`outputs_metrics` for every available (model, data set, prompt set) of ``inventory``
    (``loader(model, dataset, prompt_set)``, default :func:`cliprobust.outputs.load`). Columns
    :data:`TABLE_COLUMNS` (``logit_scale`` = the model's learned multiplier of the cosines)."""
    rows = []
    for r in inventory[inventory["status"].isin(outputs.AVAILABLE)].itertuples():
        out = loader(r.model, r.dataset, r.prompt_set)
        rows.append({**outputs_metrics(out, r.dataset), "model": r.model, "group": _group(r.model),
                     "source": style.model_source(r.model), "prompt_set": r.prompt_set, "test_set": r.dataset,
                     "logit_scale": float(out.logit_scale or np.nan)})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _group(model: str) -> str:
    return zoo.get(model).group if model in zoo.REGISTRY else "unknown"


# --------------------------------------------------------------------------- effective robustness


@lru_cache(maxsize=1)
def baseline_fits() -> dict[str, R.BaselineFit]:
    """Logit-space line per shift over the testbed baseline models, full-ImageNet x-axis (the
    same baseline and x-axis as notebook 01's headline protocol)."""
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

def _ood_scores(out) -> dict[str, np.ndarray]:
    z = np.asarray(out.logits, np.float64)
    return {"msp": M.msp(z), "maxlogit": M.max_logit(z), "energy": M.energy(z),
            "mcm": M.mcm(np.asarray(out.cosine, np.float64))}


def prompt_ood(inventory: pd.DataFrame, id_set: str, loader: Callable = outputs.load) -> pd.DataFrame:
    """AUROC (ID positive) per (model, prompt set, score, OOD set) where ID and OOD caches are available.

    Columns ``model, prompt_set, score, ood_dataset, auroc``; empty without such pairs."""
    cols = ["model", "prompt_set", "score", "ood_dataset", "auroc"]
    ok = inventory[inventory["status"].isin(outputs.AVAILABLE)]
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


# --------------------------------------------------------------------------- the study


def study(run: Run, inventory: pd.DataFrame, loader: Callable = outputs.load) -> dict[str, pd.DataFrame]:
    """The cache-driven part of a run on the ``inventory`` its caller read (:func:`cache_inventory`):
    ``inventory``, ``table`` (metrics per model x prompt set x test set), ``er`` and ``ood``. Reads
    only (a missing text head stays ``needs-head`` until :func:`~cliprobust.inference.heads.build_heads`)."""
    p = cache_plan(run)
    tests, oods = (p.id_set, *shifts_of(p)), (p.id_set, *ood_sets_of(p))
    table = prompt_table(inventory[inventory["dataset"].isin(tests)], loader)
    ood = prompt_ood(inventory[inventory["dataset"].isin(oods)], p.id_set, loader)
    return {"inventory": inventory, "table": table, "er": prompt_er(table, p.id_set), "ood": ood}


def planned_grid(inventory: pd.DataFrame) -> pd.DataFrame:
    """Models x data sets: number of prompt sets with usable caches (what the figure of the planned
    grid shows; every cell is 0 in the published profile)."""
    usable = inventory.assign(ok=inventory["status"].isin(outputs.AVAILABLE))
    grid = usable.pivot_table(index="model", columns="dataset", values="ok", aggfunc="sum", fill_value=0)
    cols = [d for d in dict.fromkeys(inventory["dataset"]) if d in grid.columns]
    rows = [m for m in dict.fromkeys(inventory["model"]) if m in grid.index]
    return grid.loc[rows, cols].astype(int)


# --------------------------------------------------------------------------- C9

#: Fewest zero-shot CLIP models with ImageNet caches under every prompt set for C9 to be judged.
MIN_MODELS: int = 5
#: C9's margin: the smallest share of models whose best prompt set differs between objectives that
#: makes prompts move the objectives "in mixed ways" rather than together. One model in four: below
#: that, one prompt set is best for every objective for practically every model (a choice of this
#: project; the paper gives no number).
C9_MARGIN: float = 0.25
#: C9's headline rule: the share's Wilson 95 % interval (over models) excludes 0 and is not wholly
#: below :data:`C9_MARGIN` (supports); wholly below it (contradicts).
C9_RULE = Rule(GREATER, C9_MARGIN)
#: The stricter reading (a variant): a majority of the models.
C9_MAJORITY_RULE = Rule(GREATER, 0.5)
#: Groups whose rows the claim uses: real zero-shot CLIP (random-init ``smoke`` models never count).
CLAIM_GROUP: str = "clip-zeroshot"
#: Objectives of the headline protocol (the claim's own three: accuracy, calibration, OOD detection).
HEADLINE_OBJECTIVES: tuple[str, ...] = ("accuracy", "calibration", "ood")
C9_STATISTIC = "share of zero-shot CLIP models whose best prompt set differs between objectives"


def objective_frame(table: pd.DataFrame, er: pd.DataFrame | None = None, ood: pd.DataFrame | None = None,
                    id_set: str = published.IMAGENET) -> pd.DataFrame:
    """Per (model, prompt set), every objective oriented so that higher is better: ``accuracy``,
    ``-ece``, ``-ece_10``, ``-nll`` (on ``id_set``), ``er`` (mean over shifts) and ``ood_<score>``
    (AUROC, mean over OOD sets) where measured."""
    on_id = table[table["test_set"] == id_set].set_index(["model", "prompt_set"])
    obj = pd.DataFrame({"accuracy": on_id["accuracy"], "-ece": -on_id["ece"], "-ece_10": -on_id["ece_10"],
                        "-nll": -on_id["nll"]})
    if er is not None and len(er):
        obj["er"] = er.groupby(["model", "prompt_set"])["er"].mean()
    if ood is not None and len(ood):
        mean = ood.groupby(["model", "prompt_set", "score"])["auroc"].mean().unstack("score")
        for score in mean.columns:
            obj[f"ood_{score}"] = mean[score]
    return obj


def _columns(objectives: Sequence[str], calibration: str, ood_score: str) -> list[str]:
    name = {"accuracy": "accuracy", "calibration": calibration, "ood": f"ood_{ood_score}", "er": "er"}
    return [name[o] for o in objectives]


def mixed_share(obj: pd.DataFrame, columns: Sequence[str], prompt_sets: Sequence[str] = PROMPT_SETS
                ) -> tuple[int, int, dict[str, str]]:
    """(models whose argmax prompt set differs between ``columns``, models compared, best prompt set
    per column by the mean over models). Only models with every one of ``prompt_sets`` measured on
    every column count."""
    sub = obj[list(columns)].reset_index()
    sub = sub[sub["prompt_set"].isin(list(prompt_sets))].dropna()
    counts = sub.groupby("model")["prompt_set"].nunique()
    keep = counts.index[counts == len(set(prompt_sets))]
    sub = sub[sub["model"].isin(keep)].set_index(["model", "prompt_set"])
    if sub.empty:
        return 0, 0, {}
    best = sub.groupby(level="model").idxmax()  # (model, prompt_set) tuples per column
    per_model = best.apply(lambda r: len({v[1] for v in r}) > 1, axis=1)
    means = sub.groupby(level="prompt_set").mean()
    return int(per_model.sum()), int(len(per_model)), {c: str(means[c].idxmax()) for c in columns}


def share_estimate(obj: pd.DataFrame, columns: Sequence[str], prompt_sets: Sequence[str] = PROMPT_SETS,
                   rule: Rule = C9_RULE) -> Estimate:
    """:func:`mixed_share` as an :class:`~cliprobust.verdicts.Estimate` with its Wilson 95 % interval
    over models, judged by ``rule`` (missing below :data:`MIN_MODELS` models or without a column)."""
    absent = [c for c in columns if c not in obj.columns]
    if absent:
        return Estimate.missing(f"not measured: {', '.join(absent)}")
    k, n, best = mixed_share(obj, columns, prompt_sets)
    if n < MIN_MODELS:
        return Estimate.missing(f"{n} models with every prompt set and objective measured (< {MIN_MODELS})", n)
    low, high = stats.wilson_interval(k, n)
    return Estimate.judged(rule, k / n, low, high, n, note=f"best by mean: {best}", detail={"k": k})


def _spec(obj: pd.DataFrame, name: str, text: str, columns: Sequence[str], sets: Sequence[str] = PROMPT_SETS,
          rule: Rule = C9_RULE) -> Spec:
    return Spec(name, text, lambda: share_estimate(obj, columns, sets, rule))


def c9_specs(obj: pd.DataFrame, opts: Options = Options()) -> tuple[Spec, list[Spec]]:
    """The headline (accuracy, the options' calibration measure, the options' OOD score AUROC; all
    prompt sets) and the variant table: every other OOD score and calibration measure, objectives
    without OOD detection or with ER, the majority reading, each prompt set left out."""
    calib, score = "-" + opts.calibration, opts.ood_score
    cols = _columns(HEADLINE_OBJECTIVES, calib, score)
    head = _spec(obj, "headline", f"accuracy, {opts.calibration}, {score} AUROC on ImageNet val; all prompt sets", cols)
    out = [_spec(obj, f"ood_score={s}", f"OOD detection by {style.display(s)} AUROC",
                 _columns(HEADLINE_OBJECTIVES, calib, s)) for s in OOD_SCORES if s != score]
    out += [_spec(obj, f"calibration={c}", text, _columns(HEADLINE_OBJECTIVES, "-" + c, score))
            for c, text in CALIBRATIONS.items() if c != opts.calibration]
    out += [_spec(obj, "objectives=acc+calibration", "accuracy and calibration only (no OOD detection)",
                  _columns(("accuracy", "calibration"), calib, score)),
            _spec(obj, "objectives+=er", "ER (mean over the 5 shifts) as a fourth objective",
                  _columns((*HEADLINE_OBJECTIVES, "er"), calib, score)),
            _spec(obj, "reading=majority", "a majority of the models (margin 0.5)", cols, rule=C9_MAJORITY_RULE)]
    out += [_spec(obj, f"drop-prompt-set={ps}", f"without {style.display(ps)}", cols,
                  [p for p in PROMPT_SETS if p != ps]) for ps in PROMPT_SETS]
    return head, out


def _needs(p: CachePlan) -> str:
    return (f"per-sample caches (image features) of >= {MIN_MODELS} zero-shot CLIP models on {p.id_set} and "
            f"the OOD sets {', '.join(ood_sets_of(p)) or 'of the paper'} under every prompt set (profile 'full'): "
            f"cliprobust evaluate --models {p.models} --datasets {','.join(p.all_sets)} --data-root DIR "
            f"--prompt-set {REFERENCE_PROMPT_SET}; the other prompt sets derive from the cached features")


def _evidence(head: Estimate) -> str:
    return (f"{head.n} zero-shot CLIP models x {len(PROMPT_SETS)} prompt sets: the best prompt set differs between "
            f"objectives for {head.value:.2f} [{head.low:.2f}, {head.high:.2f}] of models (Wilson 95 % over "
            f"models; image sampling not resampled); {head.note}")


def claim_c9(run: Run = Run(), *, table: pd.DataFrame | None = None, er: pd.DataFrame | None = None,
             ood: pd.DataFrame | None = None) -> Claim:
    """C9: "test-time prompts change accuracy, calibration and OOD detection in mixed ways".

    Statistic: the share of zero-shot CLIP models whose best prompt set (argmax over the prompt sets)
    is not the same for accuracy, calibration and OOD detection, Wilson 95 % interval over models,
    :data:`C9_RULE`. ``not testable here`` without caches of >= :data:`MIN_MODELS` such models
    (``table`` etc. default to :func:`study` of the run); random-init or synthetic runs never judge it.
    """
    if not run.uses_caches:
        return not_testable("C9", C9_STATISTIC, _needs(PAPER_PLAN), "no published table reports zero-shot CLIP "
                            "per prompt set; the published profile reads no caches.", C9_RULE)
    if table is None:
        res = study(run, cache_inventory(run))
        table, er, ood = res["table"], res["er"], res["ood"]
    rows = table[table["group"] == CLAIM_GROUP] if len(table) else table
    obj = objective_frame(rows, er, ood) if len(rows) else pd.DataFrame()
    head, variants = c9_specs(obj, run.options_for(Options))
    claim = evaluate("C9", C9_STATISTIC, head, variants, rule=C9_RULE, needs=_needs(PAPER_PLAN), evidence=_evidence,
                     oc=lambda h: share_oc(C9_RULE, h.n, stats.wilson_interval))
    return guard_run(claim, run.banner, cache_based=True)


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """The section's claims under ``run``."""
    return (claim_c9(run),)


# --------------------------------------------------------------------------- figures


def plot_prompt_sets(table: pd.DataFrame, test_set: str) -> plt.Figure:
    """Accuracy and ECE per prompt set on ``test_set``: every model as a small dot, and the mean per
    pre-training source as a line (one series per source, in its :func:`style.source_color`)."""
    sub = table[table["test_set"] == test_set].assign(
        source_key=lambda d: [style.source_key(style.model_source(m)) for m in d["model"]])
    order = [p for p in PROMPT_SETS if p in set(sub["prompt_set"])]
    pos = {p: i for i, p in enumerate(order)}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for ax, metric in zip(axes, ("accuracy", "ece")):
        for src, g in sub.groupby("source_key"):
            colour = style.SOURCE_COLORS[src]
            ax.scatter(g["prompt_set"].map(pos), g[metric], s=8, alpha=0.5, color=colour, label="_nolegend_")
            mean = g.groupby("prompt_set")[metric].mean().reindex(order)
            ax.plot(range(len(order)), mean, marker="o", color=colour,
                    label=f"{style.display(src)} (mean of {g['model'].nunique()})")
        ax.set_xticks(range(len(order)), [style.display(p) for p in order], rotation=20, ha="right")
        ax.set(xlabel="prompt set", ylabel=style.display(metric),
               title=f"{style.display(metric)} on {style.display(test_set)}")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Zero-shot CLIP per prompt set (dots: models; lines: mean per pre-training source)")
    return fig


def plot_prompt_set_sizes(sets: pd.DataFrame) -> plt.Figure:
    """The prompt sets compared: number of templates each (log axis), with the first template."""
    fig, ax = plt.subplots(figsize=(7.5, 2.6), layout="constrained")
    y = np.arange(len(sets))
    ax.barh(y, sets["n_templates"], color=style.OKABE_ITO["blue"], height=0.55)
    for yi, (n, ex) in enumerate(zip(sets["n_templates"], sets["example"])):
        ax.text(n * 1.15, yi, f"{n} · e.g. “{ex}”", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.8, 3000)
    ax.set_xticks([1, 10, 100], ["1", "10", "100"])
    ax.minorticks_off()
    ax.set_yticks(y, sets["display"])
    ax.set_ylim(-0.6, len(sets) - 0.4)
    ax.invert_yaxis()
    ax.set(xlabel="templates per class (log scale)", ylabel="prompt set",
           title="Prompt sets compared by C9 (each is a text head over the same image features)")
    return fig


def plot_planned_grid(grid: pd.DataFrame, n_prompt_sets: int = len(PROMPT_SETS)) -> plt.Figure:
    """Models x data sets, coloured by the number of prompt sets with usable caches (0 .. 4): the grid
    a ``full`` run fills (models labelled by display name and grouped by pre-training source)."""
    sources = [style.source_key(style.model_source(m)) for m in grid.index]
    order = sorted(range(len(grid)), key=lambda i: (list(style.SOURCE_COLORS).index(sources[i]), grid.index[i]))
    g = grid.iloc[order]
    fig, ax = plt.subplots(figsize=(8.5, max(3.5, 1.6 + 0.17 * len(g))), layout="constrained")
    im = ax.imshow(g.to_numpy(), aspect="auto", cmap="Blues", vmin=0, vmax=n_prompt_sets)
    ax.set_xticks(range(g.shape[1]), [style.display(d) for d in g.columns], rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(g.shape[0]), [style.display(m) for m in g.index], fontsize=6)
    for lbl, m in zip(ax.get_yticklabels(), g.index):
        lbl.set_color(style.model_style(m)["color"])
    ax.grid(False)
    cells = int(grid.size) * n_prompt_sets
    done = int(grid.to_numpy().sum())
    ax.set(xlabel="data set (ImageNet val, 5 shifts, 5 OOD sets)", ylabel="zero-shot CLIP model (by pre-training data)",
           title=f"Planned cache grid for C9: {len(g)} models x {g.shape[1]} data sets x {n_prompt_sets} prompt sets "
                 f"({done} of {cells} cached)")
    ax.title.set_fontsize(9)
    bar = fig.colorbar(im, ax=ax, shrink=0.5, ticks=range(n_prompt_sets + 1))
    bar.set_label("prompt sets cached")
    return fig
