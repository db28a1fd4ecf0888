"""Section-level assembly for the notebooks: join published tables / caches and call metrics.

One module per notebook (``NN_topic.ipynb`` ↔ ``sections/topic.py`` ↔ ``tests/test_topic.py``), so the
notebooks stay a few lines per cell and everything they compute is tested here.
"""

#: Verdict vocabulary of every ``claim_cN()`` function (printed by notebook 08).
REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "not reproduced", "not testable here"
VERDICTS: tuple[str, ...] = (REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE)
