"""Published per-model results as tidy long DataFrames, one module per upstream source.

Every loader reads a pinned public table through :func:`cliprobust.fetch.fetch` (never a
mirror path) and returns one row per (model, test set) -- or per trial / per image for the
model-vs-human and ImageNet-X tables -- with these shared columns:

- ``model``: a prefixed id (``open_clip:<arch>/<tag>``, ``timm:<name.tag>``, ``testbed:<name>``,
  ``scaling:<arch>/<name>``, ``clip_benchmark:<arch>/<tag>``, ``imagenetx:<name>``, ``mvh:<name>``,
  ``cood:<name>``, ``ninco:<name>``, ``openood:<arch>/<training>/<postprocessor>``,
  ``ub:<model>/<method>``);
- ``family``: ``clip-zeroshot``, ``clip-ft`` (CLIP image towers fine-tuned on ImageNet),
  ``imagenet`` (other ImageNet classifiers) or, for the testbed, its model type;
- ``test_set``: one of :data:`TEST_SETS` (other data sets keep their source name when asked for);
- ``top1``: top-1 accuracy as a FRACTION in [0, 1] (percent tables are divided by 100 on load).

Modules: :mod:`._common` (canonical names, :func:`wide`, :func:`shift_pairs`), :mod:`.open_clip`
(open_clip, LAION scaling laws, CLIP_benchmark), :mod:`.timm`, :mod:`.testbed`
(imagenet-testbed), :mod:`.model_vs_human`, :mod:`.imagenetx`, :mod:`.ood` (OpenOOD, COOD, NINCO),
:mod:`.uncertainty_baselines`. Label maps live in :mod:`cliprobust.labels` and are re-exported
here. Every name is importable from this package (``published.timm_results()``). Sources, shapes,
units and traps of each table: ``docs/tables.md``; protocol choices: ``docs/protocols.md``.
"""

from __future__ import annotations

from ..labels import (
    LABEL_MAPS, OBJECTNET_META, imagenet_a_wnids, imagenet_index_to_name, imagenet_r_wnids,
    imagenet_wnids, mvh_16_categories, objectnet_folder_to_imagenet, objectnet_folder_to_label,
    objectnet_to_imagenet, wnid_indices,
)
from ._common import (
    FAMILIES, IMAGENET, SHIFT_BASELINE, SHIFT_BASELINE_FULL_IMAGENET, SHIFTS, TEST_SETS, shift_pairs, wide,
)
from .imagenetx import (
    IMAGENETX_CLIP_ZEROSHOT, IMAGENETX_FACTORS, IMAGENETX_GROUPS, IMAGENETX_PREDICTION_MODELS,
    IMAGENETX_PREDICTIONS, IMAGENETX_RESULTS, IMAGENETX_SUMMARY, PAPER_FACTORS, imagenetx_annotations,
    imagenetx_factor_accuracies, imagenetx_predictions,
)
from .model_vs_human import (
    MVH_DUPLICATES, MVH_HUMAN_FILE, MVH_HUMANS, MVH_MODEL_FILE, MVH_MODELS, MVH_VAL_FILE,
    cue_conflict_trials, imagenet_val_decisions,
)
from .ood import (
    COOD_CLIP_ZEROSHOT, COOD_RESULTS, NINCO_CLIP_FT, NINCO_CLIP_ZEROSHOT, NINCO_POPULAR, NINCO_RESULTS,
    NINCO_UNIT_TESTS, OPENOOD_FILES, cood_family, cood_results, ninco_results, openood_papers, openood_results,
)
from .open_clip import (
    CLIP_BENCHMARK_DIR, CLIP_BENCHMARK_FILES, CLIP_BENCHMARK_TEST_SETS, OPENCLIP_PROFILE, OPENCLIP_RESULTS,
    OPENCLIP_TEST_SETS, QUICKGELU_DUPLICATES, SCALING_MODELS, SCALING_RESULTS, UPSTREAM_DATA,
    clip_benchmark_classnames, clip_benchmark_dataset_types, clip_benchmark_results, clip_benchmark_templates,
    open_clip_profile, open_clip_results, pretrain_data_from_tag, samples_seen_from_tag, scaling_laws_models,
    scaling_laws_results,
)
from .testbed import (
    TESTBED_BASELINE_TYPE, TESTBED_CLIP_ZEROSHOT, TESTBED_EXCLUDE, TESTBED_RESULTS, TESTBED_TEST_SETS,
    TESTBED_TYPES, testbed_baseline, testbed_baseline_models, testbed_model_types, testbed_results,
)
from .timm import TIMM_FILES, timm_default_resolution, timm_family, timm_results
from .uncertainty_baselines import UB_RESULTS, UB_TEST_SETS, uncertainty_baselines_results

__all__ = [
    # canonical names and pivots
    "FAMILIES", "IMAGENET", "SHIFTS", "SHIFT_BASELINE", "SHIFT_BASELINE_FULL_IMAGENET", "TEST_SETS",
    "shift_pairs", "wide",
    # label maps (cliprobust.labels)
    "LABEL_MAPS", "OBJECTNET_META", "imagenet_a_wnids", "imagenet_index_to_name", "imagenet_r_wnids",
    "imagenet_wnids", "mvh_16_categories", "objectnet_folder_to_imagenet", "objectnet_folder_to_label",
    "objectnet_to_imagenet", "wnid_indices",
    # open_clip, LAION scaling laws, CLIP_benchmark
    "CLIP_BENCHMARK_DIR", "CLIP_BENCHMARK_FILES", "CLIP_BENCHMARK_TEST_SETS", "OPENCLIP_PROFILE",
    "OPENCLIP_RESULTS", "OPENCLIP_TEST_SETS", "QUICKGELU_DUPLICATES", "SCALING_MODELS", "SCALING_RESULTS",
    "UPSTREAM_DATA", "clip_benchmark_classnames", "clip_benchmark_dataset_types", "clip_benchmark_results",
    "clip_benchmark_templates", "open_clip_profile", "open_clip_results", "pretrain_data_from_tag",
    "samples_seen_from_tag", "scaling_laws_models", "scaling_laws_results",
    # timm
    "TIMM_FILES", "timm_default_resolution", "timm_family", "timm_results",
    # imagenet-testbed
    "TESTBED_BASELINE_TYPE", "TESTBED_CLIP_ZEROSHOT", "TESTBED_EXCLUDE", "TESTBED_RESULTS",
    "TESTBED_TEST_SETS", "TESTBED_TYPES", "testbed_baseline", "testbed_baseline_models",
    "testbed_model_types", "testbed_results",
    # model-vs-human
    "MVH_DUPLICATES", "MVH_HUMAN_FILE", "MVH_HUMANS", "MVH_MODEL_FILE", "MVH_MODELS", "MVH_VAL_FILE",
    "cue_conflict_trials", "imagenet_val_decisions",
    # ImageNet-X
    "IMAGENETX_CLIP_ZEROSHOT", "IMAGENETX_FACTORS", "IMAGENETX_GROUPS", "IMAGENETX_PREDICTION_MODELS",
    "IMAGENETX_PREDICTIONS", "IMAGENETX_RESULTS", "IMAGENETX_SUMMARY", "PAPER_FACTORS",
    "imagenetx_annotations", "imagenetx_factor_accuracies", "imagenetx_predictions",
    # OOD literature
    "COOD_CLIP_ZEROSHOT", "COOD_RESULTS", "NINCO_CLIP_FT", "NINCO_CLIP_ZEROSHOT", "NINCO_POPULAR",
    "NINCO_RESULTS", "NINCO_UNIT_TESTS", "OPENOOD_FILES", "cood_family", "cood_results", "ninco_results",
    "openood_papers", "openood_results",
    # uncertainty-baselines
    "UB_RESULTS", "UB_TEST_SETS", "uncertainty_baselines_results",
]
