"""Section-level assembly for the notebooks: join published tables / caches and call metrics.

One module per notebook (``NN_topic.ipynb`` ↔ ``sections/topic.py`` ↔ ``tests/test_topic.py``), so the
notebooks stay a few lines per cell and everything they compute is tested here. The shared types
(run configuration, claim result, verdict tiers) live in :mod:`._base`.
"""

from ._base import FRAGILE, NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, TIERS, Claim, Run, Variant

__all__ = ["FRAGILE", "NOT_REPRODUCED", "NOT_TESTABLE", "REPRODUCED", "TIERS", "Claim", "Run", "Variant"]
