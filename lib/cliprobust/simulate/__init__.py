"""SYNTHETIC cache entries: a rehearsal of the full pipeline at scale, never a result.

``cliprobust simulate`` writes cache entries for the zoo x test sets through the engine's own
storage writer (:func:`cliprobust.cache.init_entry` / :func:`~cliprobust.cache.write_chunk` /
:func:`~cliprobust.cache.finalize`) under the engine's key and meta.json (:func:`cliprobust.keys.entry_key`,
:func:`~cliprobust.keys.entry_meta`), so every reader -- ``cache ls``, ``outputs.load``, the
notebooks -- runs on them exactly as on real outputs. No model is built and no image is read:
the per-sample outputs are DRAWN so that the analyses have known answers:

- accuracy: exactly ``round(acc * n)`` samples of a labelled set are correct under the set's
  protocol (1000-way argmax; the 200 R/A columns; the 113 collapsed ObjectNet classes), where
  ``acc`` is the model's PUBLISHED accuracy (open_clip table for zero-shot CLIP, timm tables for
  fine-tunes and ImageNet models) or, without one, a documented default (:func:`accuracy_targets`);
  ``meta.json`` records the number and its source;
- confidence: a latent calibrated confidence ``p ~ Beta`` (mean = accuracy) decides which samples
  are correct; the stored softmax confidence is ``sigmoid(logit(p) / T)`` with a per-model
  temperature ``T`` solved so that ImageNet ECE equals a target drawn in :data:`ECE_RANGE`;
- OOD sets: the latent confidence of OOD images is shifted so that MSP AUROC against ImageNet
  equals a target drawn in :data:`AUROC_RANGES`;
- cue-conflict: exact shape / texture / other decision counts giving the published shape bias
  (model-vs-human) where a model has one, else a group default (:func:`shape_targets`);
- features: Gaussian vectors of the model's real embedding width (open_clip config JSON; timm
  ``num_features`` read from a model built on the ``meta`` device -- no weights, no memory);
- file ids: ImageNet val entries list REAL val file names and labels, drawn from the 46,110 images
  annotated by ImageNet-X (so the visual-factor analyses run); other sets get made-up ids.

Every key carries ``"synthetic": true`` (so a synthetic entry never shares a key with a real one)
and every ``meta.json`` carries ``synthetic: true`` and :data:`~cliprobust.simulate.writer.SYNTHETIC_NOTE`.
Entries go to the cache folder passed in (:func:`simulate`; the CLI's default ``data/synthetic-outputs``,
never the real output cache). Deterministic given ``--seed``. Memory:
one chunk of one entry is generated at a time; ``finalize`` assembles one entry.

    cliprobust simulate --fraction 0.01                 # paper zoo x 12 test sets, 1 % of each set
    python -m cliprobust.simulate --models 'open_clip:ViT-B-32/openai' --datasets imagenet,imagenet-r

Modules by job: ``targets`` (the published numbers drawn to, and the defaults), ``model_plan`` (what is
drawn once per model), ``files`` (synthetic file lists), ``draws`` (per-sample decisions and logits),
``writer`` (one entry through the engine's writer); here the driver and the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Iterator

from .. import datasets, paths, prompts
from ..model_entries import select_entries
from ..progress import progress
from .model_plan import plan_model
from .writer import CHUNK_SIZE, SYNTHETIC_CACHE, check_names, check_target, default_cache_dir, write_entry

#: The 12 test sets of the full profile (run_all.sh FULL_DATASETS).
FULL_DATASETS: tuple[str, ...] = (
    "imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a", "imagenet-o",
    "inaturalist", "sun", "places", "textures", "cue-conflict")


def simulate(models: str, dataset_names: list[str], fraction: float, cache_dir: Path, seed: int = 0,
             prompt_set: str | None = None, chunk_size: int = CHUNK_SIZE, progress_bar: bool = True,
             fsync: bool = False) -> Iterator[Path]:
    """Write the synthetic entries of every (model, data set) into the cache at ``cache_dir``, model by
    model (yields each entry folder). ``fsync``: write durably, as the engine does for real outputs."""
    prompt_set = prompt_set or prompts.default_prompt_set()
    entries = select_entries(models)
    ood = tuple(d for d in dataset_names if datasets.get(d).ood)
    with progress(total=len(entries) * len(dataset_names), unit="entry", desc="simulate (SYNTHETIC)",
                  disable=not progress_bar, dynamic_ncols=True) as bar:
        for entry in entries:
            plan = plan_model(entry, ood, seed)
            for name in dataset_names:
                bar.set_postfix_str(f"{entry.id} | {name}", refresh=False)
                yield write_entry(plan, name, fraction, seed, prompt_set, cache_dir, chunk_size, durable=fsync)
                bar.update(1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cliprobust simulate``."""
    parser.add_argument("--models", default="paper", help="zoo selector (default: the 210 paper models)")
    parser.add_argument("--datasets", default=",".join(FULL_DATASETS), help="comma-separated test sets "
                        "(default: the 12 of the full profile)")
    parser.add_argument("--fraction", type=float, default=0.01, help="share of each set's images (default 0.01; "
                        "shipped sets are always simulated in full)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt-set", default=None, help="CLIP head named in the keys (default: the "
                        "default prompt set, $CLIPROBUST_PROMPT_SET)")
    parser.add_argument("--cache-dir", default=None, help=f"where to write (default: $CLIPROBUST_CACHE_DIR, else "
                        f"data/{SYNTHETIC_CACHE}); never the real output cache")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--fsync", action="store_true", help="fsync every file as the engine does for real "
                        "outputs (off by default: synthetic entries are cheap to redraw)")


def main(args: argparse.Namespace) -> int:
    """Run ``cliprobust simulate``; returns the exit status."""
    if not 0 < args.fraction <= 1:
        print(f"cliprobust simulate: --fraction must be in (0, 1], got {args.fraction}", file=sys.stderr)
        return 2
    target = Path(args.cache_dir or os.environ.get(paths.CACHE_ENV) or default_cache_dir()).expanduser().resolve()
    check_target(target)
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    check_names(names)
    print(f"cliprobust simulate: SYNTHETIC outputs (a rehearsal, never a result) -> {target}", file=sys.stderr)
    n = sum(1 for _ in simulate(args.models, names, args.fraction, target, args.seed, args.prompt_set,
                                args.chunk_size, progress_bar=not args.no_progress, fsync=getattr(args, "fsync", False)))
    print(f"{n} synthetic cache entries complete under {target}")
    return 0
