"""Section-level assembly for the notebooks: join published tables / caches and call metrics.

One module (or package) per notebook (``NN_topic.ipynb`` ↔ ``sections/topic`` ↔ ``tests/test_topic.py``),
so the notebooks stay a few lines per cell and everything they compute is tested here. Every section
exposes the same interface (:data:`INTERFACE`, checked by ``tests/test_sections.py``): a frozen
``Options`` dataclass (the notebook's protocol parameters, a :class:`cliprobust.runs.Options`), the
cache plans ``PAPER_PLAN`` / ``SMOKE_PLAN`` and ``cache_plan(run)``, ``cache_inventory(run)``, and
``claims(run)``. Runs come from :mod:`cliprobust.runs`, claim results from :mod:`cliprobust.verdicts`.
"""

#: Notebook stem -> section module, in notebook order.
SECTIONS: dict[str, str] = {
    "00_zoo_and_data": "zoo_and_data",
    "01_effective_robustness": "effective_robustness",
    "02_visual_factors": "visual_factors",
    "03_shape_bias": "shape_bias",
    "04_ood_detection": "ood_detection",
    "05_calibration": "calibration",
    "06_prompt_sensitivity": "prompt_sensitivity",
    "07_outlier_features": "outlier_features",
    "08_claims": "claims",
    "09_model_cards": "model_cards",
    "10_your_model": "your_model",
}

#: The names every section module exposes.
INTERFACE: tuple[str, ...] = ("Options", "PAPER_PLAN", "SMOKE_PLAN", "cache_plan", "cache_inventory", "claims")
