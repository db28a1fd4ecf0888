"""Section 07 (outlier features): feature table from caches (brute-force cross-check), ER join, the
detector on synthetic features, C13/C14 on tables built to come out reproduced, fragile and not
reproduced, C15 never testable, and the figures passing the layout rules."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.stats import binom  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from cliprobust import outputs, plots, zoo  # noqa: E402
from cliprobust import verdicts as V  # noqa: E402
from cliprobust.cache import slot_dir  # noqa: E402
from cliprobust.outputs import Outputs  # noqa: E402
from cliprobust.runs import Run, UnknownOptionError  # noqa: E402
from cliprobust.sections import outlier_features as S  # noqa: E402
from cliprobust.sections.outlier_features import c13_c14 as C  # noqa: E402
from cliprobust.sections.outlier_features import features as FT  # noqa: E402
from cliprobust.sections.outlier_features import figures as FG  # noqa: E402

CLIP = [e.id for e in zoo.select("clip-zeroshot")][:4]
INET = [e.id for e in zoo.select("imagenet")][:4]
FULL = Run("full")


def _features(model: str, n_out: int) -> np.ndarray:
    f = np.random.default_rng(abs(hash(model)) % 2**32).standard_normal((200, 64))
    f[:, :n_out] *= 50.0
    return f


def _loader(n_out: dict[str, int]):
    def load(model, dataset, prompt_set=None):
        if model not in n_out:
            raise outputs.CacheMiss(model)
        f = _features(model, n_out[model]).astype(np.float16)
        return Outputs(model, dataset, "x", np.zeros((200, 3), np.float16), f, np.zeros(200, int),
                       tuple(map(str, range(200))), None, None, {})
    return load


def _slots(models, dataset="imagenet"):
    for m in models:
        slot_dir(m, dataset).mkdir(parents=True)


def test_feature_table_brute_force_and_er_join(tmp_cache):
    n_out = {CLIP[0]: 3, CLIP[1]: 0, INET[0]: 0}
    _slots(n_out)
    er = pd.Series({CLIP[0]: 0.2, INET[0]: -0.01})
    table, missing = FT.feature_table([*n_out, CLIP[2]], "imagenet", loader=_loader(n_out), er=er)
    assert missing == [CLIP[2]] and list(table.columns) == FT.FEATURE_COLUMNS
    for r in table.itertuples():
        f = _features(r.model, n_out[r.model]).astype(np.float16).astype(np.float64)
        a = np.abs(f).mean(0)  # brute force: outlier dims by the ratio rule
        assert r.n_outliers == int(np.sum(a / np.median(a) > FT.F.OUTLIER_RATIO_THRESHOLD)) == n_out[r.model]
        assert getattr(r, "n_outliers_5x") == int(np.sum(a / np.median(a) > 5))
        assert r.max_kurtosis == pytest.approx(stats.kurtosis(f, axis=0, fisher=False, bias=True).max())
    got = table.set_index("model")["er"]
    assert got[CLIP[0]] == 0.2 and np.isnan(got[CLIP[1]]) and got[INET[0]] == -0.01


def test_random_init_models_get_no_published_er(tmp_cache):
    smoke = [e.id for e in zoo.select("smoke") if e.source == "timm"][0]
    _slots([smoke], "imagenet-sample")
    table, _ = FT.feature_table([smoke], "imagenet-sample", loader=_loader({smoke: 0}), er=pd.Series({smoke: 0.05}))
    assert np.isnan(table["er"].iloc[0])  # the published ER belongs to the pretrained weights


def test_synthetic_check_detects_planted_outliers():
    s = FT.synthetic_check().set_index("features")
    assert s["n_outliers"].tolist() == [0, FT.SYNTHETIC_PLANTED]
    assert s["flat_kurtosis"].iloc[0] == pytest.approx(3.0, abs=0.1)  # Gaussian


# --------------------------------------------------------------------------- C13 / C14 rules


def _table(clip: list[tuple[int, int, int]], less: list[tuple[int, int, int]], fam: str = "ViT") -> pd.DataFrame:
    """Rows with outlier counts (5x, 10x, 20x) per model; CLIP from two sources, ER rising with outliers."""
    rows = [{"model": f"c{i}", "group": "clip-zeroshot", "pretrain_data": ("WIT-400M", "LAION-2B")[i % 2],
             "arch_family": fam, "n_outliers_5x": a, "n_outliers": b, "n_outliers_20x": c,
             "mean_sample_kurtosis": 3.0 + 5 * b, "max_activation_ratio": 1 + 10 * b + i, "er": 0.1 + 0.01 * b + 0.001 * i}
            for i, (a, b, c) in enumerate(clip)]
    rows += [{"model": f"i{i}", "group": ("imagenet", "clip-ft")[i % 2], "pretrain_data": "ImageNet-1k",
              "arch_family": fam, "n_outliers_5x": a, "n_outliers": b, "n_outliers_20x": c,
              "mean_sample_kurtosis": 3.0 + 5 * b, "max_activation_ratio": 1 + 2 * a + 0.1 * i, "er": -0.01 * i}
             for i, (a, b, c) in enumerate(less)]
    return pd.DataFrame(rows).reindex(columns=FT.FEATURE_COLUMNS)


STRONG = [(4, 3, 2)] * 10
NONE = [(0, 0, 0)] * 40  # >= 35 models with none: C14's Wilson upper bound 3.84 / 43.84 < its margin 0.1


def test_c13_c14_reproduced_when_every_protocol_agrees():
    t = _table(STRONG, NONE)
    c13, c14, c15 = S.claims(FULL, t)
    assert c13.tier == c14.tier == V.REPRODUCED, (c13.breaking_variants, c14.breaking_variants)
    assert c13.value == 1.0 and c14.value == 0.0 and c13.outcome == c14.outcome == "supports"
    low, high = proportion_confint(0, 40, alpha=0.05, method="wilson")
    assert (c14.low, c14.high) == pytest.approx((low, high)) and high < C.C14_MARGIN
    assert {"threshold=5", "threshold=20", "criterion=kurtosis", "drop-source=WIT-400M"} <= {v.name for v in c13.variants}
    assert {"reading=difference", "reading=er-correlation", "less-robust=clip-ft"} <= {v.name for v in c14.variants}
    assert c15.tier == V.NOT_TESTABLE and "concept" in c15.needs


def test_c13_fragile_under_the_strict_threshold_and_c14_under_the_lenient_one():
    t = _table([(4, 3, 0)] * 10, [(2, 0, 0)] * 40)  # CLIP: nothing above 20x; less robust: dims above 5x
    c13, c14, _ = S.claims(FULL, t)
    assert c13.tier == V.FRAGILE and c13.breaking_variants == ("threshold=20",)
    assert c14.tier == V.FRAGILE and "threshold=5" in c14.breaking_variants
    assert "threshold=20" in c13.evidence


def test_contradicted_when_clip_lacks_them_or_less_robust_models_have_them():
    c13 = S.claim_c13(FULL, table=_table(NONE[:10], NONE))
    assert c13.tier == V.CONTRADICTED and c13.value == 0.0 and c13.high < C.C13_MARGIN
    both = _table(STRONG, [(4, 3, 2)] * 40).assign(er=np.nan)  # no ER: the correlation reading is not computed
    c14 = S.claim_c14(FULL, table=both)
    assert c14.tier == V.CONTRADICTED and c14.value == 1.0
    no_robust = S.claim_c14(FULL, table=_table(NONE[:10], NONE).assign(er=np.nan))
    # "only in the robust ones" also needs them in the robust ones: the difference reading contradicts
    assert no_robust.tier == V.FRAGILE and "reading=difference" in no_robust.breaking_variants


def test_c14_inconclusive_with_too_few_less_robust_models():
    c14 = S.claim_c14(FULL, table=_table(STRONG, NONE[:12]))  # 0 of 12: upper bound 0.24 > 0.1
    assert c14.tier == V.INCONCLUSIVE and c14.outcome == "inconclusive"


def test_operating_characteristics_match_the_binomial_design():
    c13, c14, _ = S.claims(FULL, _table(STRONG, NONE))
    ks = np.arange(11)
    lows, highs = proportion_confint(ks, 10, alpha=0.05, method="wilson")
    exact = float(binom.pmf(ks, 10, C.C13_MARGIN)[(lows > 0) & (highs >= C.C13_MARGIN)].sum())
    assert c13.oc.supports_at_margin == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / c13.oc.n_sims))
    assert c14.oc.supports_at_zero == 1.0  # 0 of 40 always: upper bound below the margin
    at_margin = binom.pmf(0, 40, C.C14_MARGIN)  # only k = 0 has an upper bound below 0.1
    assert c14.oc.supports_at_margin == pytest.approx(at_margin, abs=0.01)


def test_not_testable_without_caches_few_models_or_random_weights():
    for c in S.claims(Run()):  # published: features are never published
        assert c.tier == V.NOT_TESTABLE and c.needs
    few = S.claim_c13(FULL, table=_table(STRONG[: C.MIN_MODELS - 1], NONE))
    assert few.tier == V.NOT_TESTABLE
    smoke = _table(STRONG, NONE).assign(group="smoke")
    assert S.claim_c13(FULL, table=smoke).tier == V.NOT_TESTABLE and "0 cached models" in S.claim_c13(FULL, table=smoke).evidence
    synthetic = S.claim_c13(Run("rehearsal"), table=_table(STRONG, NONE))
    assert synthetic.tier == V.NOT_TESTABLE and "synthetic" in synthetic.evidence


def test_options_choose_the_headline_threshold():
    with pytest.raises(UnknownOptionError, match="threshold"):
        Run.from_params("full", S.Options, treshold=20.0)
    t = _table([(4, 3, 0)] * 10, NONE)
    strict = S.claim_c13(Run.from_params("full", S.Options, threshold=20.0), table=t)
    assert strict.outcome == "contradicts" and "threshold=10" in strict.supporting_variants


# --------------------------------------------------------------------------- published profile, figures


def test_published_profile_reads_no_caches_and_its_figures_pass_layout(mirror):
    res = S.study(Run())
    assert res["table"].empty and len(res["missing"]) == len(zoo.select("paper"))
    er = FT.published_er()
    assert {"clip-zeroshot", "clip-ft", "imagenet"} <= set(er["group"]) and er["er"].notna().all()
    profiles = {k: FT.activation_profile(f) for k, f in FT.synthetic_features().items()}
    for fig in (FG.plot_published_er(er), FG.plot_activation_profiles(profiles, "Detector check")):
        assert plots.check_layout(fig) == []
        plt.close(fig)


def test_cached_figures_pass_layout():
    t = _table(STRONG, NONE)
    t["model"] = (CLIP * 10)[: len(STRONG)] + (INET * 10)[: len(NONE)]
    fig = FG.plot_outliers_vs_er(t)
    assert plots.check_layout(fig) == []
    plt.close(fig)
    fig = FG.plot_activation_profiles({m: np.sort(np.random.default_rng(0).gamma(2, size=64))[::-1] for m in CLIP},
                                     "Activation profiles")
    assert plots.check_layout(fig) == []
    plt.close(fig)


# --------------------------------------------------------------------------- memory-bounded reduction


@pytest.mark.parametrize("rows", [1, 7, 64, 10_000])
def test_block_reduction_equals_the_full_array_computation(rows):
    """The block-wise two-pass reduction gives the numbers of ``metrics.features`` on the whole array
    (and scipy's kurtosis), whatever the block size, with a float16 memory map as input."""
    g = np.random.default_rng(3).standard_normal((203, 48)) * np.linspace(0.5, 2, 48) + 0.3
    g[:, :2] *= 25.0
    g[5, 10] = 0.0
    f = g.astype(np.float16)
    full = FT.F.feature_summary(f)
    ratio = FT.F.activation_ratio(f)
    got = FT.reduce_features(f, rows=rows)
    row = got.row()
    for k, v in full.items():
        assert row[k] == pytest.approx(v, rel=1e-9), k
    np.testing.assert_allclose(got.ratio, ratio, rtol=1e-10)
    np.testing.assert_allclose(got.kurtosis, stats.kurtosis(f.astype(np.float64), axis=0, fisher=False), rtol=1e-9)
    assert row["flat_kurtosis"] == pytest.approx(stats.kurtosis(f.astype(np.float64).ravel(), fisher=False), rel=1e-9)
    assert row["mean_sample_kurtosis"] == pytest.approx(
        np.mean(stats.kurtosis(f.astype(np.float64), axis=1, fisher=False)), rel=1e-9)
    assert row["n_outliers_5x"] == int(np.sum(ratio > 5)) and row["n_outliers"] == 2
    np.testing.assert_allclose(got.profile(), np.sort(ratio)[::-1], rtol=1e-10)


def test_reduction_reads_a_memory_map_without_loading_it(tmp_path):
    """A float16 .npy memory map is reduced in place (the array stays a memmap; same numbers)."""
    f = np.random.default_rng(4).standard_normal((300, 16)).astype(np.float16)
    np.save(tmp_path / "f.npy", f)
    mm = np.load(tmp_path / "f.npy", mmap_mode="r")
    a, b = FT.reduce_features(mm, rows=50).row(), FT.reduce_features(f).row()
    assert isinstance(mm, np.memmap) and a == pytest.approx(b, rel=1e-12)


def test_reduction_rejects_non_finite_features():
    f = np.ones((10, 4))
    f[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FT.reduce_features(f, rows=4)
