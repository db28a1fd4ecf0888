"""Published-results loaders: real row counts from the data READMEs and spot checks of loader
output against the raw files read independently here with the ``csv`` module."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprobust import published as P
from cliprobust.published import imagenetx as PX

pytestmark = pytest.mark.usefixtures("mirror")


def _raw_rows(mirror: Path, name: str) -> list[dict[str, str]]:
    with open(mirror / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _sample(rows: list, k: int = 15, seed: int = 0) -> list:
    return random.Random(seed).sample(rows, min(k, len(rows)))


# --------------------------------------------------------------------------- constants


def test_canonical_names():
    assert set(P.SHIFTS) <= set(P.TEST_SETS)
    assert set(P.SHIFT_BASELINE) == set(P.SHIFTS)
    assert set(P.SHIFT_BASELINE.values()) <= set(P.TEST_SETS)
    assert len(set(P.TEST_SETS)) == len(P.TEST_SETS) == 11


def test_wide_rejects_duplicate_cells():
    df = pd.DataFrame({"model": ["a", "a"], "test_set": ["imagenet", "imagenet"], "top1": [0.1, 0.2]})
    with pytest.raises(ValueError, match="share"):
        P.wide(df)
    w = P.wide(df.iloc[:1])
    assert w.loc["a", "imagenet"] == 0.1


# --------------------------------------------------------------------------- open_clip


def test_open_clip_counts_and_quickgelu(mirror):
    full = P.open_clip_results(dedupe_quickgelu=False)
    assert full["model"].nunique() == 121
    assert full["arch"].nunique() == 58
    ded = P.open_clip_results()
    assert ded["model"].nunique() == 118
    dropped = set(full["model"]) - set(ded["model"])
    assert dropped == {f"open_clip:{a}/openai" for a in P.QUICKGELU_DUPLICATES}
    # the dropped rows really duplicate the plain rows' numbers
    w = P.wide(full)
    for a in P.QUICKGELU_DUPLICATES:
        plain = a.removesuffix("-quickgelu")
        assert np.allclose(w.loc[f"open_clip:{a}/openai"], w.loc[f"open_clip:{plain}/openai"])
    # all 121 pairs have all six IN-1k/V2/R/Sketch/ObjectNet/A values
    six = full[full["test_set"].isin(("imagenet",) + P.SHIFTS)]
    assert len(six) == 121 * 6 and six["top1"].between(0, 1).all()
    assert (full["family"] == "clip-zeroshot").all()


def test_open_clip_spot_check(mirror):
    rows = _raw_rows(mirror, P.OPENCLIP_RESULTS)
    df = P.open_clip_results(dedupe_quickgelu=False, all_datasets=True).set_index(["model", "test_set"])
    for r in _sample(rows):
        mid = f"open_clip:{r['name']}/{r['pretrained']}"
        for col, ts in [("ImageNet 1k", "imagenet"), ("ObjectNet", "objectnet"), ("SUN397", "SUN397")]:
            assert df.loc[(mid, ts), "top1"] == pytest.approx(float(r[col]))
        assert df.loc[(mid, "imagenet"), "params_m"] == pytest.approx(float(r["params (M)"]))


def test_pretrain_data_covers_every_tag(mirror):
    import open_clip

    table_tags = {r["pretrained"] for r in _raw_rows(mirror, P.OPENCLIP_RESULTS)}
    tags = table_tags | {t for _, t in open_clip.list_pretrained()}
    unknown = sorted(t for t in tags if P.pretrain_data_from_tag(t) == "unknown")
    assert unknown == []
    assert P.pretrain_data_from_tag("openai") == "WIT-400M"
    assert P.pretrain_data_from_tag("laion2b_s34b_b79k") == "LAION-2B"
    assert P.pretrain_data_from_tag("laion400m_e32") == "LAION-400M"
    assert P.pretrain_data_from_tag("datacomp_xl_s13b_b90k") == "DataComp-1B"
    assert P.pretrain_data_from_tag("commonpool_m_clip_s128m_b4k") == "CommonPool-M-clip"
    assert P.pretrain_data_from_tag("mscoco_finetuned_laion2b_s13b_b90k") != "LAION-2B"
    assert P.pretrain_data_from_tag("not_a_tag") == "unknown"
    df = P.open_clip_results()
    assert (df.loc[df["pretrained"] == "openai", "pretrain_data"] == "WIT-400M").all()
    assert P.samples_seen_from_tag("laion2b_s34b_b79k") == 34e9
    assert P.samples_seen_from_tag("datacomp_m_s128m_b4k") == 128e6
    assert np.isnan(P.samples_seen_from_tag("openai"))


def test_open_clip_profile_covers_archs():
    prof = P.open_clip_profile()
    assert len(prof) == 85
    assert set(P.open_clip_results()["arch"]) <= set(prof["arch"])


# --------------------------------------------------------------------------- timm


def test_timm_counts(mirror):
    df = P.timm_results()
    sizes = df.groupby("test_set").size()
    assert set(sizes.index) == set(P.TIMM_FILES.values()) and (sizes == 1556).all()
    assert (df.groupby("test_set")["name"].nunique() == 1266).all()
    names = {t: set(g["name"]) for t, g in df.groupby("test_set")}
    assert names["imagenet-a"] - names["imagenet"] == {"resmlp_24_224.fb_dino"}
    assert names["imagenet"] - names["imagenet-a"] == {"resnet50.tv_in1k"}
    assert names["imagenet-r"] == names["imagenet"]
    clip_names = {n for n in names["imagenet"] if "clip" in n}
    assert len(clip_names) == 35
    ft = set(df.loc[df["family"] == "clip-ft", "name"])
    assert ft == clip_names | {n for n in names["imagenet"] if "webli_ft_in1k" in n}
    assert len(ft) == 37
    assert df["top1"].between(0, 1).all()


def test_timm_spot_check_and_param_separators(mirror):
    df = P.timm_results().set_index(["test_set", "name", "img_size"])
    for f, ts in [("published/timm/results-imagenet-r.csv", "imagenet-r"),
                  ("published/timm/results-imagenet.csv", "imagenet")]:
        rows = _raw_rows(mirror, f)
        with_sep = [r for r in rows if "," in r["param_count"]]
        assert len(with_sep) == 5
        for r in _sample(rows) + with_sep:
            got = df.loc[(ts, r["model"], int(r["img_size"]))]
            assert got["top1"] == pytest.approx(float(r["top1"]) / 100)
            assert got["params_m"] == pytest.approx(float(r["param_count"].replace(",", "")))


def test_timm_default_resolution(mirror):
    from timm.models import get_pretrained_cfg

    df = P.timm_results(test_sets=("imagenet",), default_resolution=True)
    assert len(df) == 1266 and df["model"].is_unique
    full = P.timm_results(test_sets=("imagenet",))
    multi = full[full.duplicated("name", keep=False)]
    assert multi["name"].nunique() == 1556 - 1266
    kept = df.set_index("name")["img_size"]
    for name in _sample(sorted(set(multi["name"])), k=30):
        assert kept[name] == get_pretrained_cfg(name).input_size[-1]
    with pytest.raises(ValueError):
        P.wide(full)
    assert P.wide(df).shape == (1266, 1)
    with pytest.raises(ValueError, match="objectnet"):
        P.timm_results(test_sets=("objectnet",))


def test_frozen_timm_input_sizes_match_the_installed_timm(mirror):
    from cliprobust.published import timm as T

    frozen = pd.read_csv(T.INPUT_SIZE_FILE)
    pd.testing.assert_frame_equal(frozen, T.regenerate_input_sizes(), check_dtype=False)


# --------------------------------------------------------------------------- imagenet-testbed


def test_testbed_counts_and_spot_check(mirror):
    rows = _raw_rows(mirror, P.TESTBED_RESULTS)
    assert len(rows) == 338
    every = P.testbed_results(include_other=True)
    assert every["model"].nunique() == 338
    df = P.testbed_results()
    counts = df.groupby("test_set")["model"].nunique()
    assert set(counts.index) == set(P.TESTBED_TEST_SETS.values())
    assert counts["imagenet"] == 335 and counts["imagenet-r"] == 329
    assert df["top1"].between(0, 1).all()
    idx = df.set_index(["model", "test_set"])["top1"]
    for r in _sample(rows, k=25):
        for col, ts in P.TESTBED_TEST_SETS.items():
            key = (f"testbed:{r['model']}", ts)
            if r[col] == "":
                assert key not in idx.index
            else:
                assert idx[key] == pytest.approx(float(r[col]) / 100)


def test_testbed_families_and_baseline(mirror):
    types = {r["model"]: r["type"] for r in _raw_rows(mirror, P.TESTBED_TYPES)}
    df = P.testbed_results()
    fam = df.drop_duplicates("model").set_index("name")["family"]
    assert set(fam[fam == "clip-zeroshot"].index) == set(P.TESTBED_CLIP_ZEROSHOT)
    assert all(types[m] == "MORE_DATA" for m in P.TESTBED_CLIP_ZEROSHOT)
    others = fam.drop(list(P.TESTBED_CLIP_ZEROSHOT))
    assert all(others[m] == types[m] for m in others.index)
    base = P.testbed_baseline_models()
    brute = sorted(f"testbed:{r['model']}" for r in _raw_rows(mirror, P.TESTBED_RESULTS)
                   if types.get(r["model"]) == "STANDARD"
                   and not any(s in r["model"] for s in ("aws", "batch64", "subsample")))
    assert base == brute and len(base) > 50
    assert not any("clip" in m for m in base)


def test_testbed_baseline_rule_on_a_hand_made_table():
    """The line-fit rule: type STANDARD and no ablation token in the name (case-insensitive)."""
    types = pd.Series({"resnet50": "STANDARD", "resnet50_aws_baseline": "STANDARD", "BiT-M": "MORE_DATA",
                       "resnet18_Subsample_2": "STANDARD", "densenet121": "ROBUST_INTV",
                       "vgg16_batch64": "STANDARD", "alexnet": "STANDARD"})
    mask = P.testbed_baseline(types)
    assert list(mask.index) == list(types.index) and mask.dtype == bool
    assert [m for m in types.index if mask[m]] == ["resnet50", "alexnet"]


# --------------------------------------------------------------------------- label maps


def test_label_maps(mirror):
    wn = P.imagenet_wnids()
    assert len(wn) == 1000 and wn == sorted(wn) and len(set(wn)) == 1000
    r, a = P.imagenet_r_wnids(), P.imagenet_a_wnids()
    assert len(r) == len(a) == 200 and len(set(r) & set(a)) == 86
    ri, ai = P.wnid_indices(r), P.wnid_indices(a)
    assert ri == sorted(ri) and (min(ri), max(ri)) == (1, 988)
    assert ai == sorted(ai) and (min(ai), max(ai)) == (6, 988)
    with pytest.raises(KeyError):
        P.wnid_indices(["n00000000"])
    cats = P.mvh_16_categories()
    assert len(cats) == 16 and list(cats) == sorted(cats)
    assert sum(map(len, cats.values())) == 207
    assert len(cats["dog"]) == 109 and cats["airplane"] == [404] and cats["knife"] == [499]
    flat = [i for v in cats.values() for i in v]
    assert len(set(flat)) == 207


def test_objectnet_maps(mirror):
    raw = json.loads((mirror / P.OBJECTNET_META / "objectnet_to_imagenet_1k.json").read_text())
    labels = json.loads((mirror / P.OBJECTNET_META / "imagenet_to_labels.json").read_text())
    m = P.objectnet_to_imagenet()
    assert len(m) == 113 and sum(map(len, m.values())) == 125
    for label, idx in m.items():
        assert sorted(labels[str(i)] for i in idx) == sorted(raw[label].split("; "))
    assert len(P.objectnet_folder_to_label()) == 313
    assert len(P.objectnet_folder_to_imagenet()) == 113
    assert len(P.imagenet_index_to_name()) == 1000


# --------------------------------------------------------------------------- model-vs-human


def test_cue_conflict_trials(mirror):
    t = P.cue_conflict_trials()
    per = t.groupby(["kind", "subject"]).size()
    assert (per == 1280).all()
    assert t[t["kind"] == "human"]["subject"].nunique() == 10
    assert set(t[t["kind"] == "model"]["subject"]) == set(P.MVH_MODELS) and len(P.MVH_MODELS) == 15
    assert len(t) == 10 * 1280 + 15 * 1280
    assert (t.groupby("subject")["stimulus"].nunique() == 1280).all()
    assert ((t["shape"] == t["texture"]).groupby(t["subject"]).sum() == 80).all()
    cats = set(P.mvh_16_categories())
    assert set(t["shape"]) == cats and set(t["texture"]) == cats
    assert set(t["response"]) <= cats | {"na"}
    # spot check against the raw files, parsed here independently
    for fname, subj in [(P.MVH_HUMAN_FILE.format(3), "subject-03"), (P.MVH_MODEL_FILE.format("clip"), "clip")]:
        rows = _raw_rows(mirror, fname)
        got = t[t["subject"] == subj].set_index("trial")
        for r in _sample(rows):
            stim = r["imagename"].split("_")[-1]
            g = got.loc[int(r["trial"])]
            assert g["stimulus"] == stim and g["response"] == r["object_response"]
            assert g["shape"] == r["category"] and stim.startswith(g["shape"])
            assert stim.split("-")[1].removesuffix(".png").rstrip("0123456789") == g["texture"]


def test_model_duplicates_are_identical():
    t = P.cue_conflict_trials()
    resp = t[t["kind"] == "model"].pivot(index="stimulus", columns="subject", values="response")
    for a, b in P.MVH_DUPLICATES.items():
        assert (resp[a] == resp[b]).all()


def test_imagenet_val_decisions(mirror):
    rows = _raw_rows(mirror, P.MVH_VAL_FILE.format("clip"))
    acc = sum(r["object_response"] == r["category"] for r in rows) / len(rows)
    v = P.imagenet_val_decisions("clip")
    assert len(v) == 50000 and v["correct"].mean() == pytest.approx(acc) == pytest.approx(0.68344)
    assert v["label_index"].notna().all() and v["response_index"].between(0, 999).all()
    assert v["file_name"].is_unique
    with pytest.raises(ValueError, match="mirrored"):
        P.imagenet_val_decisions("resnet50")


# --------------------------------------------------------------------------- ImageNet-X

IMAGENETX_ROWS = {"imagenet_testbed": 335, "modelvshuman": 54, "crop": 1272, "colorjitter": 664,
                  "gaussian_blur": 161, "base": 4}


@pytest.mark.parametrize("group", sorted(IMAGENETX_ROWS))
def test_imagenetx_group_counts(mirror, group):
    df = P.imagenetx_factor_accuracies(group)
    assert df["model"].nunique() == IMAGENETX_ROWS[group]
    assert len(df) == 16 * IMAGENETX_ROWS[group]
    assert df["accuracy"].between(0, 1).all()
    # worst_factor is the min over the 16 factors
    per = df.groupby("model").agg(worst=("accuracy", "min"), pub=("worst_factor", "first"))
    assert np.allclose(per["worst"], per["pub"])


def test_imagenetx_constants_and_spot_check(mirror):
    import imagenet_x

    assert list(P.IMAGENETX_FACTORS) == list(imagenet_x.FACTORS)
    assert list(PX._IMAGENETX_METACLASSES) == [m for m in imagenet_x.METACLASSES if m != "other"]
    assert set(P.PAPER_FACTORS) <= set(P.IMAGENETX_FACTORS) and len(P.PAPER_FACTORS) == 10
    name = P.IMAGENETX_RESULTS.format(group="modelvshuman", suffix="")
    rows = _raw_rows(mirror, name)
    assert list(rows[0])[1:17] == list(P.IMAGENETX_FACTORS)
    df = P.imagenetx_factor_accuracies("modelvshuman").set_index(["name", "factor"])
    for r in _sample(rows):
        for f in ("pose", "texture", "multiple_objects"):
            assert df.loc[(r["model"], f), "accuracy"] == pytest.approx(float(r[f]))
        assert df.loc[(r["model"], "pose"), "average"] == pytest.approx(float(r["average"]))
    fam = df.reset_index().drop_duplicates("name").set_index("name")["family"]
    assert set(fam[fam == "clip-zeroshot"].index) == {"clip", "clipRN50"}
    tb = P.imagenetx_factor_accuracies("imagenet_testbed").drop_duplicates("name")
    assert set(tb.loc[tb["family"] == "clip-zeroshot", "name"]) == set(P.TESTBED_CLIP_ZEROSHOT)
    meta = P.imagenetx_factor_accuracies("base", metaclass=True)
    assert meta["metaclass"].nunique() == 17 and "worst_100_classes" not in meta
    with pytest.raises(ValueError, match="crop"):
        P.imagenetx_factor_accuracies("crop", metaclass=True)
    with pytest.raises(ValueError, match="group"):
        P.imagenetx_factor_accuracies("nope")


def test_imagenetx_annotations_match_package_loader():
    import imagenet_x

    ref = imagenet_x.load_annotations().set_index("file_name").sort_index()
    ours = P.imagenetx_annotations().set_index("file_name").sort_index()
    assert ours.index.is_unique and ours.index.equals(ref.index) and len(ours) == 46110
    assert (ours["label"] == ref["class"]).all()
    assert (ours["metaclass"] == ref["metaclass"]).all()
    for f in P.IMAGENETX_FACTORS:
        assert (ours[f] == ref[f].astype(bool)).all()
    jsonl = PX._imagenetx_annotation_dir() / "imagenet_x_val_top_factor.jsonl"
    n_lines = sum(1 for line in jsonl.open() if line.strip())
    assert len(P.imagenetx_annotations(filter_prototypes=False)) == n_lines == 48868
    long = P.imagenetx_annotations(long=True)
    assert len(long) == int(ours[list(P.IMAGENETX_FACTORS)].to_numpy().sum())


def test_imagenetx_predictions_reaggregate_to_published(mirror):
    """Per-image predictions x annotations reproduce the published base-group factor accuracies."""
    ann = P.imagenetx_annotations()
    pub = P.imagenetx_factor_accuracies("base").set_index(["name", "factor"])
    for name in P.IMAGENETX_PREDICTION_MODELS:
        pred = P.imagenetx_predictions(name)
        assert len(pred) == 50000 and pred["file_name"].is_unique
        m = ann.merge(pred, on="file_name")
        assert (m["label_x"] == m["label_y"]).all()
        for f in P.IMAGENETX_FACTORS:
            assert m.loc[m[f], "correct"].mean() == pytest.approx(pub.loc[(name, f), "accuracy"], abs=1e-12)
        assert m["correct"].mean() == pytest.approx(pub.loc[(name, "pose"), "average"], abs=1e-12)
    with pytest.raises(ValueError, match="mirrored"):
        P.imagenetx_predictions("CLIP")


# --------------------------------------------------------------------------- scaling laws, CLIP_benchmark


def test_scaling_laws(mirror):
    rows = _raw_rows(mirror, P.SCALING_RESULTS)
    assert len(rows) == 1312
    df = P.scaling_laws_results()
    assert df["model"].nunique() == 32
    assert (df.groupby("model")["test_set"].nunique() == 6).all()
    assert set(df["test_set"]) == {"imagenet", *P.SHIFTS}
    openai = df[df["pretrained"] == "openai"]
    assert sorted(openai["arch"].unique()) == ["ViT-B-16", "ViT-B-32", "ViT-L-14"]
    assert (openai["pretrain_data"] == "WIT-400M").all()
    assert df.loc[df["pretrained"] != "openai", "model"].nunique() == 29 == len(P.scaling_laws_models())
    assert df["pretrain_data"].notna().all()
    idx = df.set_index(["model", "test_set"])["top1"]
    for r in _sample([r for r in rows if r["downstream_dataset"] in P.CLIP_BENCHMARK_TEST_SETS], k=25):
        key = (f"scaling:{r['arch']}/{r['name']}", P.CLIP_BENCHMARK_TEST_SETS[r["downstream_dataset"]])
        assert idx[key] == pytest.approx(float(r["acc1"]))
    every = P.scaling_laws_results(all_datasets=True)
    n_cls = sum(r["task"] == "zeroshot_classification" for r in rows)
    assert len(every) == n_cls and "imagenet_robustness" in set(every["test_set"])


def test_clip_benchmark(mirror):
    b = P.clip_benchmark_results("benchmark")
    assert b["model"].nunique() == 13 and len(b) == 13 * 6
    assert len(_raw_rows(mirror, P.CLIP_BENCHMARK_FILES["benchmark"])) == 507
    # the benchmark's open_clip pairs agree with pretrain_data_from_tag and join to open_clip ids
    oc = set(P.open_clip_results(dedupe_quickgelu=False)["model"])
    assert b["open_clip_id"].notna().all() and set(b["open_clip_id"]) <= oc
    probe_rows = _raw_rows(mirror, P.CLIP_BENCHMARK_FILES["probe"])
    p = P.clip_benchmark_results("probe")
    assert p["model"].nunique() == 34 == len({r["model_fullname"] for r in probe_rows})
    assert (p.groupby("model").size() == 6).all() and p["pretrain_data"].notna().all()
    assert set(p["open_clip_id"].dropna()) <= oc
    idx = p.set_index(["model", "test_set"])["top1"]
    for r in _sample([r for r in probe_rows if r["downstream_dataset"] in P.CLIP_BENCHMARK_TEST_SETS], k=25):
        arch, tag = r["model_fullname"].split(" ", 1)
        key = (f"clip_benchmark:{arch}/{tag}", P.CLIP_BENCHMARK_TEST_SETS[r["downstream_dataset"]])
        assert idx[key] == pytest.approx(float(r["acc1"]))
    assert len(P.clip_benchmark_results("probe", all_datasets=True)) == sum(
        r["task"] == "zeroshot_classification" for r in probe_rows)
    with pytest.raises(ValueError):
        P.clip_benchmark_results("nope")
    assert len(P.clip_benchmark_templates()["imagenet1k"]) == 80
    assert len(P.clip_benchmark_classnames()["imagenet1k"]) == 1000
    assert len(P.clip_benchmark_dataset_types()) == 41


def test_same_models_agree_across_sources():
    """OpenAI ViT-B-32 ImageNet zero-shot: open_clip, scaling-laws and CLIP_benchmark tables agree."""
    oc = P.open_clip_results().set_index(["model", "test_set"])["top1"]
    sc = P.scaling_laws_results().set_index(["open_clip_id", "test_set"])["top1"].dropna()
    common = [k for k in sc.index if k in oc.index]
    assert len(common) >= 12
    assert np.allclose([oc[k] for k in common], [sc[k] for k in common], atol=0.01)


# --------------------------------------------------------------------------- OOD detection / calibration literature


@pytest.mark.parametrize("setting", ["ood", "fsood"])
def test_openood(mirror, setting):
    rows = _raw_rows(mirror, P.OPENOOD_FILES[setting])
    df = P.openood_results(setting)
    assert len(df) == len(rows) == 76 and df["model"].is_unique  # 76 data rows, not 75
    # docs/tables.md: Arch counts ResNet50 42, Swin-T 17, ViT-B/16 16, RegNet_Y_16GF 1
    assert df["arch"].value_counts().to_dict() == {"ResNet50": 42, "Swin-T": 17, "ViT-B/16": 16, "RegNet_Y_16GF": 1}
    assert not df["arch"].str.contains("CLIP", case=False).any()
    for r, (_, g) in zip(rows, df.iterrows()):
        assert g["near_ood_auroc"] == pytest.approx(float(r["Near-OOD_AUROC"]) / 100)
        if r["ID_Accuracy"] == "/":
            assert np.isnan(g["id_top1"])
        else:
            assert g["id_top1"] == pytest.approx(float(r["ID_Accuracy"]) / 100)
    assert df[["near_ood_auroc", "far_ood_auroc"]].stack().between(0, 1).all()
    assert len(P.openood_papers()) > 40


def test_cood(mirror):
    df = P.cood_results()
    assert len(df) == 20328 and df["model"].nunique() == 706
    per_fn = df.groupby("confidence")["model"].nunique().to_dict()
    assert per_fn == {"softmax": 539, "max_logit": 677, "entropy": 536,
                      "odin_temperature-2_noise_mag-1e-05": 65, "mcd_entropy": 31}
    fam = df.drop_duplicates("model").set_index("name")["family"]
    assert set(fam[fam == "clip-zeroshot"].index) == set(P.COOD_CLIP_ZEROSHOT)
    assert (fam == "clip-lp").sum() == 7 and (fam != "imagenet").sum() == 16
    assert (df.groupby(["model", "confidence"]).size() == 11).all()
    assert df[["ood_auroc", "id_top1", "id_auroc"]].stack().between(0, 1).all()
    rows = _raw_rows(mirror, P.COOD_RESULTS)
    idx = df.set_index(["name", "confidence", "severity"])
    for r in _sample(rows, k=25):
        g = idx.loc[(r["model name"], r["confidence function"], int(r["severity level"]))]
        assert g["ood_auroc"] == pytest.approx(float(r["ood-auroc"]))
        assert g["id_top1"] == pytest.approx(float(r["id-acc"]))


def test_ninco(mirror):
    df = P.ninco_results()
    assert len(df) == 24992 and df["model"].nunique() == 31
    fam = df.drop_duplicates("name").set_index("name")["family"]
    assert (fam == "imagenet").sum() == 25 and set(fam[fam == "clip-ft"].index) == set(P.NINCO_CLIP_FT)
    clip = df[df["family"] == "clip-zeroshot"]
    assert set(clip["method"]) == {"mcm-clip", "cosine-clip"} and clip["name"].nunique() == 2
    others = df[df["family"] != "clip-zeroshot"]
    assert (others.groupby("name")["method"].nunique() == 12).all()
    kinds = df.drop_duplicates("dataset")["dataset_kind"].value_counts().to_dict()
    assert kinds == {"ninco": 46, "unit_test": 17, "popular": 8} and df["dataset"].nunique() == 71
    pop = df[df["dataset_kind"] == "popular"].drop_duplicates("dataset")
    assert sorted(pop.groupby("popular")["variant"].apply(sorted).tolist()) == [["full", "ood"]] * 4
    assert df[["auroc", "fpr95", "id_top1"]].stack().between(0, 1).all()
    rows = _raw_rows(mirror, P.NINCO_RESULTS)
    idx = df.set_index(["name", "method", "dataset"])
    for r in _sample(rows, k=25):
        g = idx.loc[(r["model"], r["method"], r["dataset"])]
        assert g["auroc"] == pytest.approx(float(r["auroc"])) and g["fpr95"] == pytest.approx(float(r["fpr"]))


def test_uncertainty_baselines(mirror):
    rows = _raw_rows(mirror, P.UB_RESULTS)
    df = P.uncertainty_baselines_results()
    assert len(df) == len(rows) == 177
    assert df.loc[df["arch"] == "ResNet-50", "method"].nunique() == 17
    assert set(df["metric"]) == {"top1", "nll", "ece", "mce", "pm_k_acc"}
    assert df.loc[df["metric"] != "nll", "value"].between(0, 1).all()
    assert {"imagenet", "imagenet-v2", "imagenet-a", "objectnet"} <= set(df["test_set"])
    for r, (_, g) in zip(rows, df.iterrows()):
        scale = 100.0 if r["metric"].endswith("_pct") else 1.0
        assert g["value"] == pytest.approx(float(r["value"]) / scale)


# --------------------------------------------------------------------------- shift pairs


def test_shift_pairs(mirror):
    tb = P.testbed_results()
    pairs = P.shift_pairs(tb)
    assert set(pairs["shift"]) == set(P.SHIFTS)
    assert pairs.groupby("shift")["model"].nunique()["imagenet-r"] == 329
    w = P.wide(tb)
    for _, r in pairs.sample(20, random_state=0).iterrows():
        assert r["id_top1"] == w.loc[r["model"], P.SHIFT_BASELINE[r["shift"]]]
        assert r["ood_top1"] == w.loc[r["model"], r["shift"]]
    assert {"family", "type"} <= set(pairs.columns)
    oc = P.open_clip_results()
    with pytest.raises(ValueError, match="FULL_IMAGENET"):
        P.shift_pairs(oc[oc["test_set"].isin(["imagenet-r", "imagenet"])], {"imagenet-r": "imagenet-r-classes"})
    full = P.shift_pairs(oc, P.SHIFT_BASELINE_FULL_IMAGENET)
    assert len(full) == 118 * 5 and (full["baseline"] == "imagenet").all()
    # timm: R/A against the -clean tables, v2/sketch against full val; no ObjectNet
    tp = P.shift_pairs(P.timm_results(default_resolution=True))
    assert set(tp["shift"]) == {"imagenet-v2", "imagenet-sketch", "imagenet-r", "imagenet-a"}
