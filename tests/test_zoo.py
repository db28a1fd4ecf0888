"""Tests of cliprobust.zoo: paper counts, the written rules re-run on the installed registries
(and re-implemented independently here), registry resolution, selectors, and published coverage."""

from __future__ import annotations

import csv
import re
import warnings

import open_clip
import pandas as pd
import pytest
import timm
import torch
from timm.models import get_arch_pretrained_cfgs, get_deprecated_models

from cliprobust import published, zoo
from cliprobust.fetch import fetch

PAPER = {"clip-zeroshot": 51, "clip-ft": 32, "imagenet": 127}  # Tu et al. (NeurIPS 2023), Sec. 3


def ids(entries) -> list[str]:
    return [e.id for e in entries]


# --------------------------------------------------------------------------- counts and ids


@pytest.mark.parametrize("group", list(PAPER))
def test_paper_counts(group):
    assert len(zoo.collection(group)) == PAPER[group] == zoo.PAPER_COUNTS[group]


def test_paper_collection_is_the_three_groups_without_smoke():
    paper = zoo.collection("paper")
    assert len(paper) == sum(PAPER.values()) == 210
    assert {e.group for e in paper} == set(PAPER)
    smoke = zoo.collection("smoke")
    assert len(smoke) == 4 and not set(ids(smoke)) & set(ids(paper))


def test_ids_unique_and_follow_the_convention():
    all_ids = zoo.list_models()
    assert len(all_ids) == len(set(all_ids)) == len(zoo.REGISTRY)
    for e in zoo.REGISTRY:
        if e.source == "open_clip":
            assert e.id == f"open_clip:{e.arch}/{e.pretrained or 'none'}"
        else:
            assert e.id == f"timm:{e.name}" and re.fullmatch(r"timm:[\w.]+\.\w+", e.id)


def test_registry_rejects_duplicates_and_inconsistent_entries():
    entry = zoo.get("open_clip:ViT-B-32/openai")
    reg = zoo.Registry([entry])
    with pytest.raises(ValueError, match="duplicate"):
        reg.register(entry)
    with pytest.raises(ValueError, match="duplicate"):
        zoo.Registry([entry, entry])
    with pytest.raises(ValueError, match="group"):
        zoo.Registry([zoo.ModelEntry(**{**entry.__dict__, "group": "nope"})])
    with pytest.raises(ValueError, match="id must be"):
        zoo.Registry([zoo.ModelEntry(**{**entry.__dict__, "id": "open_clip:ViT-B-32/laion"})])


# --------------------------------------------------------------------------- rules = frozen lists


def test_rule1_reproduces_frozen_zeroshot_list():
    assert zoo.derive("clip-zeroshot") == zoo.list_models(group="clip-zeroshot")


def test_rule2_reproduces_frozen_clip_ft_list():
    assert zoo.derive("clip-ft") == zoo.list_models(group="clip-ft")


def test_rule3_reproduces_frozen_imagenet_list(mirror):
    assert zoo.derive("imagenet") == zoo.list_models(group="imagenet")


def test_rule1_independent_filter():
    """Rule 1 re-written as a plain filter: allowed tag prefixes, excluded arch words, and the
    -quickgelu suffix dropped (twins collapse onto one id)."""
    allowed = re.compile(r"^(openai|yfcc15m|cc12m|laion400m_|laion2b_|datacomp_(xl|l)_|datacomp_s34b|"
                         r"commonpool_(l|xl)_)")
    excluded = ("SigLIP", "CLIPA", "coca", "EVA", "roberta", "nllb", "MobileCLIP", "ViTamin",
                "PE-Core", "worldwide")
    expected = {f"open_clip:{arch.removesuffix('-quickgelu')}/{tag}"
                for arch, tag in open_clip.list_pretrained()
                if allowed.match(tag) and not any(x in arch for x in excluded)}
    assert expected == set(zoo.list_models(group="clip-zeroshot"))


def test_rule2_independent_filter():
    expected = {f"timm:{n}" for n in timm.list_pretrained("*clip*")
                if re.search(r"_ft_(in12k_)?in1k(_\d+)?$", n) and not n.startswith("eva")
                and "laiona" not in n}
    assert expected == set(zoo.list_models(group="clip-ft"))


def _params(raw: str) -> float:
    return float(raw.replace(",", ""))


def test_rule3_bruteforce_loop(mirror):
    """Rule 3 re-implemented with loops over the raw timm table (no pandas groupby)."""
    with open(fetch("published/timm/results-imagenet.csv"), newline="") as fh:
        params = {r["model"]: _params(r["param_count"]) for r in csv.DictReader(fh)}
    meta = pd.read_csv(fetch(zoo.TIMM_METADATA))["model"]
    modules = zoo.timm_modules()
    dep = get_deprecated_models()
    era = {(dep[m] if m in dep else m).split(".")[0] for m in meta if (dep[m] if m in dep else m)}
    strata: dict[tuple, dict[str, list[str]]] = {}
    for name in params:
        arch = name.split(".")[0]
        if arch not in era or arch not in modules or re.search(zoo.LANGUAGE_SUPERVISED, name):
            continue
        key = (modules[arch], zoo.timm_pretrain_data(name), zoo.timm_training(name))
        strata.setdefault(key, {}).setdefault(arch, []).append(name)
    picked = set()
    for archs in strata.values():
        by_size = sorted(archs, key=lambda a: (min(params[n] for n in archs[a]), a))
        for arch in {by_size[0], by_size[-1]}:
            order = list(get_arch_pretrained_cfgs(arch))
            picked.add(min(archs[arch], key=lambda n: (order.index(n), n)))
    assert {f"timm:{n}" for n in picked} == set(zoo.list_models(group="imagenet"))


def test_timm_labels_agree_with_timm_metadata(mirror):
    """Tag-derived data/method labels vs timm's own pretrain labels (model_metadata-in1k.csv),
    for every old name that timm's deprecation map sends to an explicit ``arch.tag``."""
    data = {"in1k": "ImageNet-1k", "in1k-dist": "ImageNet-1k", "in1k-ap": "ImageNet-1k",
            "in1k-adv": "ImageNet-1k", "in21k": "ImageNet-21k", "in21k-selfsl": "ImageNet-21k",
            "jft300m-ns": "JFT-300M", "yfc-semisl": "YFCC-100M", "ig1b-swsl": "IG-1B", "ig1b-wsl": "IG-1B"}
    method = {"in1k": "supervised", "in21k": "supervised", "in1k-dist": "distilled",
              "in1k-ap": "adversarial", "in1k-adv": "adversarial", "in21k-selfsl": "self-supervised",
              "jft300m-ns": "semi-supervised", "yfc-semisl": "semi-supervised",
              "ig1b-swsl": "semi-supervised", "ig1b-wsl": "weakly-supervised"}
    meta = pd.read_csv(fetch(zoo.TIMM_METADATA))
    dep = get_deprecated_models()
    pairs = [(dep[m], p) for m, p in zip(meta["model"], meta["pretrain"]) if "." in (dep.get(m) or "")]
    assert len(pairs) > 100 and {p for _, p in pairs} == set(data) - {"in21k-selfsl"}  # BEiT: no map
    for name, label in pairs:
        assert (zoo.timm_pretrain_data(name), zoo.timm_training(name)) == (data[label], method[label]), name


@pytest.mark.parametrize("name, data, method", [
    ("tf_efficientnet_b0.ns_jft_in1k", "JFT-300M", "semi-supervised"),
    ("resnext101_32x8d.fb_wsl_ig1b_ft_in1k", "IG-1B", "weakly-supervised"),
    ("regnety_160.swag_ft_in1k", "IG-3.6B", "weakly-supervised"),
    ("regnety_320.seer_ft_in1k", "IG-1B", "self-supervised"),
    ("inception_v3.tf_adv_in1k", "ImageNet-1k", "adversarial"),
    ("deit_base_distilled_patch16_224.fb_in1k", "ImageNet-1k", "distilled"),
    ("beit_base_patch16_224.in22k_ft_in22k_in1k", "ImageNet-21k", "self-supervised"),
    ("resnetv2_152x2_bit.goog_teacher_in21k_ft_in1k", "ImageNet-21k", "supervised"),  # a teacher
    ("swinv2_cr_small_ns_224.sw_in1k", "ImageNet-1k", "supervised"),  # "ns" in the arch name
    ("regnety_160.sw_in12k_ft_in1k", "ImageNet-12k", "supervised"),
])
def test_timm_label_examples(name, data, method):
    assert (zoo.timm_pretrain_data(name), zoo.timm_training(name)) == (data, method)


def test_rule1c_matches_published_accuracy_threshold(mirror):
    """Rule 1c drops exactly the rows under 30 % ImageNet zero-shot among rule-1a/1b models."""
    df = published.open_clip_results(dedupe_quickgelu=False)
    top1 = df[df["test_set"] == "imagenet"].set_index(["arch", "pretrained"])["top1"]
    kept = {(e.arch, e.pretrained) for e in zoo.collection("clip-zeroshot")}
    for (arch, tag), acc in top1.items():
        ab = zoo.CLIP_ARCH.match(arch) and published.pretrain_data_from_tag(tag).startswith(
            zoo.ZEROSHOT_DATA + zoo.ZEROSHOT_DATA_PREFIXES)
        if ab:
            assert (acc >= 0.30) == zoo.zeroshot_candidate(arch, tag), (arch, tag, acc)
    assert all(top1.get(k, 1.0) >= 0.30 for k in kept)


# --------------------------------------------------------------------------- registry resolution


def test_open_clip_entries_resolve_and_do_not_share_weights():
    pretrained = set(open_clip.list_pretrained())
    zs = zoo.collection("clip-zeroshot")
    urls = []
    for e in zs:
        assert (e.arch, e.pretrained) in pretrained
        cfg = open_clip.get_pretrained_cfg(e.arch, e.pretrained)
        assert e.quick_gelu == bool(cfg.get("quick_gelu", False))
        urls.append(cfg["url"] or cfg["hf_hub"])
        for alias in e.aliases:  # the -quickgelu twin: same checkpoint, not itself in the zoo
            arch, tag = alias.removeprefix("open_clip:").split("/")
            assert arch == e.arch + "-quickgelu" and (arch, tag) in pretrained and alias not in zoo.REGISTRY
            assert zoo.open_clip_weights(arch, tag) == zoo.open_clip_weights(e.arch, e.pretrained)
    assert len(set(urls)) == len(zs) == 51
    twins = {(a.removesuffix("-quickgelu"), t) for a, t in pretrained if a.endswith("-quickgelu")}
    assert {(e.arch, e.pretrained) for e in zs if e.aliases} == twins & {(e.arch, e.pretrained) for e in zs}


def test_timm_entries_resolve():
    names = set(timm.list_pretrained())
    for e in zoo.REGISTRY:
        if e.source == "timm":
            assert e.name in names, e.id
            assert timm.models.get_pretrained_cfg(e.name) is not None


def test_smoke_entries():
    smoke = {e.id: e for e in zoo.collection("smoke")}
    assert set(smoke) == {"timm:test_vit.r160_in1k", "timm:test_resnet.r160_in1k",
                          "open_clip:cliprobust-tiny/none", "open_clip:ViT-B-32/none"}
    assert all(e.pretrained is None and e.training == "random-init" for e in smoke.values())
    assert {e.name for e in smoke.values() if e.source == "timm"} <= set(timm.list_pretrained("test_*"))


def _family_representatives() -> list[zoo.ModelEntry]:
    first: dict[tuple[str, str], zoo.ModelEntry] = {}
    for e in zoo.collection("paper"):
        first.setdefault((e.source, e.arch_family), e)
    return list(first.values())


@pytest.mark.slow
@pytest.mark.parametrize("entry", _family_representatives(), ids=lambda e: e.id)
def test_every_family_builds_with_published_param_count(entry, mirror):
    """One entry per (source, family) builds on the meta device (no memory, no init cost); its
    parameter count equals timm's published ``param_count`` / open_clip's ``model_profile``."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        if entry.source == "timm":
            model = timm.create_model(entry.name, pretrained=False)
            table = published.timm_results(("imagenet",)).drop_duplicates("name")
            expected = float(table.set_index("name").loc[entry.name, "params_m"])
        else:
            model = open_clip.create_model(entry.arch, pretrained=None, device="meta")
            expected = float(published.open_clip_profile().set_index("arch").loc[entry.arch, "mparams"])
    n = sum(p.numel() for p in model.parameters()) / 1e6
    assert n == pytest.approx(expected, abs=0.006)


def test_tiny_smoke_models_build_and_run_on_cpu():
    """The tiny smoke models really build (random init) and run; ViT-B-32 is covered on meta."""
    pytest.importorskip("cliprobust.inference.models")  # registers the cliprobust-tiny config
    torch.manual_seed(0)
    with torch.no_grad():
        for e in zoo.collection("smoke"):
            if e.source == "timm":
                out = timm.create_model(e.name, pretrained=False).eval()(torch.zeros(1, 3, 160, 160))
                assert out.shape == (1, 1000)
            elif e.arch != "ViT-B-32":
                model = open_clip.create_model(e.arch, pretrained=None).eval()
                assert model.encode_image(torch.zeros(1, 3, 64, 64)).shape == (1, 32)


# --------------------------------------------------------------------------- entry fields


def test_entry_fields():
    frame = zoo.to_frame()
    assert len(frame) == len(zoo.REGISTRY) and frame["id"].is_unique
    assert set(zoo.ModelEntry.__dataclass_fields__) | {"name"} == set(frame.columns)
    zs = frame[frame["group"] == "clip-zeroshot"]
    assert set(zs["arch_family"]) == {"ResNet", "ViT", "ConvNeXt"}
    assert zs["pretrain_data"].map(lambda d: d in zoo.ZEROSHOT_DATA or d.startswith(zoo.ZEROSHOT_DATA_PREFIXES)).all()
    openai = zs[zs["pretrained"] == "openai"]
    assert (openai["samples_seen"] == zoo.OPENAI_SAMPLES_SEEN).all() and openai["quick_gelu"].all()
    stated = zs[zs["pretrained"].str.contains(r"_s\d+[bm]_")]
    assert (stated["samples_seen"] >= zoo.MIN_SAMPLES_SEEN).all()
    ft = frame[frame["group"] == "clip-ft"]
    assert set(ft["arch_family"]) == {"ViT", "ConvNeXt"} and set(ft["pretrain_data"]) == {"WIT-400M", "LAION-2B"}
    assert (ft["finetune_data"] == ft["pretrained"].map(
        lambda t: "in12k→in1k" if "in12k" in t else "in1k")).all()
    im = frame[frame["group"] == "imagenet"]
    assert (im["extra_data"] == (im["pretrain_data"] != "ImageNet-1k")).all()
    assert (im["finetune_data"].notna() == im["extra_data"]).all()


# --------------------------------------------------------------------------- selectors


@pytest.mark.parametrize("name", zoo.COLLECTIONS)
def test_select_collection(name):
    assert ids(zoo.select(name)) == ids(zoo.collection(name))


def test_select_glob_and_lists():
    got = ids(zoo.select("open_clip:ViT-B-32/*"))
    assert got == [i for i in zoo.list_models() if i.startswith("open_clip:ViT-B-32/")]
    assert "open_clip:ViT-B-32/none" in got and "open_clip:ViT-B-32-256/datacomp_s34b_b86k" not in got
    combo = ids(zoo.select("timm:resnet18.a1_in1k, clip-ft,timm:resnet18.a1_in1k"))
    assert combo == ["timm:resnet18.a1_in1k"] + zoo.list_models(group="clip-ft")
    assert ids(zoo.select("open_clip:RN50/openai")) == ["open_clip:RN50/openai"]
    assert zoo.list_models("timm:*", group="clip-ft") == zoo.list_models(group="clip-ft")


def test_select_errors_name_the_problem():
    with pytest.raises(KeyError, match="did you mean"):
        zoo.select("open_clip:ViT-B-32/opena")
    with pytest.raises(KeyError, match="matches no model"):
        zoo.select("timm:nothing_like_this*")
    with pytest.raises(ValueError, match="empty"):
        zoo.select(" , ")
    with pytest.raises(KeyError, match="collections are"):
        zoo.collection("papers")
    with pytest.raises(ValueError, match="groups are"):
        zoo.list_models(group="zeroshot")


# --------------------------------------------------------------------------- coverage


def _raw_published() -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
    with open(fetch(published.OPENCLIP_RESULTS), newline="") as fh:
        oc = {(r["name"], r["pretrained"]) for r in csv.DictReader(fh) if r["ImageNet 1k"]}
    timm_sets = {}
    for file, test_set in published.TIMM_FILES.items():
        with open(fetch(file), newline="") as fh:
            timm_sets[test_set] = {r["model"] for r in csv.DictReader(fh)}
    return oc, timm_sets


def test_coverage_matches_raw_tables(mirror):
    cov = zoo.coverage()
    assert len(cov) == 210 * len(zoo.COVERAGE_TEST_SETS)
    oc, timm_sets = _raw_published()
    imagenet = cov[cov["test_set"] == "imagenet"].set_index("id")
    for e in zoo.collection("paper"):
        row = imagenet.loc[e.id]
        if e.source == "timm":
            assert row["available"] == (e.name in timm_sets["imagenet"])
        else:
            names = [(e.arch + "-quickgelu", e.pretrained)] if e.quick_gelu else []
            hit = next((n for n in names + [(e.arch, e.pretrained)] if n in oc), None)
            assert row["available"] == (hit is not None)
            if hit:
                assert row["published_id"] == zoo.open_clip_id(*hit)
    sketch = cov[(cov["test_set"] == "imagenet-sketch") & (cov["table"] == "timm")]
    assert (sketch["available"] == sketch["published_id"].str.removeprefix("timm:").isin(
        timm_sets["imagenet-sketch"])).all()


def test_coverage_summary_counts(mirror):
    cov = zoo.coverage()
    summary = zoo.coverage_summary(cov)
    assert list(summary.index) == list(PAPER) and summary["n_models"].to_dict() == PAPER
    for group, g in cov.groupby("group"):
        for test_set in zoo.COVERAGE_TEST_SETS:
            assert summary.loc[group, test_set] == g[(g["test_set"] == test_set) & g["available"]]["id"].nunique()
        per_model = g[g["test_set"].isin(published.SHIFTS)].groupby("id")["available"]
        assert summary.loc[group, "all_shifts"] == per_model.all().sum()
        assert summary.loc[group, "any_shift"] == per_model.any().sum()
    # rule 3a guarantees published ImageNet numbers for every ImageNet model
    assert summary.loc["imagenet", "imagenet"] == PAPER["imagenet"]
