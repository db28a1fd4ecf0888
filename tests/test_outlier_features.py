"""Section 07 (outlier features): feature table from caches, ER join, detector check, C13/C14/C15 rules."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from cliprobust import cache, zoo  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.sections import claims  # noqa: E402
from cliprobust.sections import outlier_features as S  # noqa: E402

CLIP = [e.id for e in zoo.select("clip-zeroshot")][:4]
INET = [e.id for e in zoo.select("imagenet")][:4]


def _features(model: str, n_out: int) -> np.ndarray:
    f = np.random.default_rng(abs(hash(model)) % 2**32).standard_normal((200, 64))
    f[:, :n_out] *= 50.0
    return f


def _loader(n_out: dict[str, int]):
    def load(model, dataset, prompt_set=None):
        if model not in n_out:
            raise cache.CacheMiss(model)
        f = _features(model, n_out[model]).astype(np.float16)
        return Outputs(model, dataset, "x", np.zeros((200, 3), np.float16), f, np.zeros(200, int),
                       tuple(map(str, range(200))), None, None, {})
    return load


def _slots(models, dataset="imagenet"):
    for m in models:
        cache.slot_dir(m, dataset).mkdir(parents=True)


def test_feature_table_brute_force_and_er_join(tmp_cache):
    n_out = {CLIP[0]: 3, CLIP[1]: 0, INET[0]: 0}
    _slots(n_out)
    er = pd.Series({CLIP[0]: 0.2, INET[0]: -0.01})
    table, missing = S.feature_table([*n_out, CLIP[2]], "imagenet", loader=_loader(n_out), er=er)
    assert missing == [CLIP[2]] and list(table.columns) == S.FEATURE_COLUMNS
    for r in table.itertuples():
        f = _features(r.model, n_out[r.model]).astype(np.float16).astype(np.float64)
        a = np.abs(f).mean(0)  # brute force: outlier dims by the ratio rule
        assert r.n_outliers == int(np.sum(a / np.median(a) > S.F.OUTLIER_RATIO_THRESHOLD)) == n_out[r.model]
        assert r.max_kurtosis == pytest.approx(stats.kurtosis(f, axis=0, fisher=False, bias=True).max())
    got = table.set_index("model")["er"]
    assert got[CLIP[0]] == 0.2 and np.isnan(got[CLIP[1]]) and got[INET[0]] == -0.01


def test_random_init_models_get_no_published_er(tmp_cache):
    smoke = [e.id for e in zoo.select("smoke") if e.source == "timm"][0]
    _slots([smoke], "imagenet-sample")
    table, _ = S.feature_table([smoke], "imagenet-sample", loader=_loader({smoke: 0}), er=pd.Series({smoke: 0.05}))
    assert np.isnan(table["er"].iloc[0])  # the published ER belongs to the pretrained weights


def test_synthetic_check_detects_planted_outliers():
    s = S.synthetic_check().set_index("features")["n_outliers"]
    assert s.tolist() == [0, S.SYNTHETIC_PLANTED]


def _table(clip_out, less_out):
    rows = [{"model": f"c{i}", "group": "clip-zeroshot", "n_outliers": k, "max_kurtosis": 3.0 + k,
             "max_activation_ratio": 1 + 10 * k, "er": 0.2 + 0.01 * i} for i, k in enumerate(clip_out)]
    rows += [{"model": f"i{i}", "group": "imagenet", "n_outliers": k, "max_kurtosis": 3.0 + k,
              "max_activation_ratio": 1 + 10 * k, "er": -0.01 * i} for i, k in enumerate(less_out)]
    return pd.DataFrame(rows).reindex(columns=S.FEATURE_COLUMNS)


def test_claim_rules():
    t = _table([2, 3, 0], [0, 0, 0])
    assert S.claim_c13(t)["verdict"] == S.claim_c14(t)["verdict"] == claims.REPRODUCED
    assert S.claim_c14(t)["numbers"]["share_robust"] == pytest.approx(2 / 3)
    t = _table([0, 0, 1], [0, 0, 0])
    assert S.claim_c13(t)["verdict"] == S.claim_c14(t)["verdict"] == claims.NOT_REPRODUCED
    t = _table([2, 3, 4], [1, 0, 0])  # outliers in a less robust model too
    assert S.claim_c13(t)["verdict"] == claims.REPRODUCED and S.claim_c14(t)["verdict"] == claims.NOT_REPRODUCED
    assert S.claim_c14(_table([2, 3, 4], [0, 0]))["verdict"] == claims.NOT_TESTABLE
    smoke = _table([2, 3, 4], [0, 0, 0]).assign(group="smoke")
    assert S.claim_c13(smoke)["verdict"] == claims.NOT_TESTABLE and "never count" in S.claim_c13(smoke)["evidence"]
    assert S.claim_c15()["verdict"] == claims.NOT_TESTABLE and "concept" in S.claim_c15()["evidence"]


def test_published_profile_without_caches(tmp_cache):
    res = S.run(S.PAPER_PLAN)
    assert res["table"].empty and len(res["missing"]) == len(zoo.select("paper"))
    assert {c["verdict"] for c in res["claims"].values()} == {claims.NOT_TESTABLE}
    fig = S.plot_activation_profiles({"gaussian": S.activation_profile(np.random.default_rng(0).normal(size=(50, 8)))})
    assert len(fig.axes) == 1
    plt.close(fig)
