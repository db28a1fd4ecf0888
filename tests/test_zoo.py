"""Tests of cliprobust.zoo: paper counts, the written rules re-run on the installed registries
(and re-implemented independently here) regenerate ``models.csv``, the CSV format, registry
resolution and selectors. Published coverage is tested in ``test_zoo_and_data.py``."""

from __future__ import annotations

import csv
import difflib
import io
import re
import subprocess
import sys
import warnings
from dataclasses import fields

import open_clip
import pandas as pd
import pytest
import timm
import torch
from timm.models import get_arch_pretrained_cfgs, get_deprecated_models

from cliprobust import published, zoo
from cliprobust.zoo import rules
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
    assert rules.derive("clip-zeroshot") == zoo.list_models(group="clip-zeroshot")


def test_rule2_reproduces_frozen_clip_ft_list():
    assert rules.derive("clip-ft") == zoo.list_models(group="clip-ft")


def test_rule3_reproduces_frozen_imagenet_list(mirror):
    assert rules.derive("imagenet") == zoo.list_models(group="imagenet")


def test_rules_regenerate_models_csv_exactly(mirror):
    """The frozen lists are data (``models.csv``); the three rules rebuild that file byte for byte."""
    shipped = zoo.read_models_csv()
    regenerated = rules.regenerate()
    diff = list(difflib.unified_diff(shipped.splitlines(), regenerated.splitlines(), "models.csv", "rules", lineterm=""))
    assert regenerated == shipped, "\n".join(diff[:40])


def test_models_csv_round_trips_and_matches_the_fields():
    text = zoo.read_models_csv()
    assert text.splitlines()[0].split(",") == [f.name for f in fields(zoo.ModelEntry)]
    assert zoo.to_csv_text(zoo.load_entries(text)) == text
    assert zoo.load_entries(text) == list(zoo.REGISTRY)
    rows = list(csv.DictReader(io.StringIO(text)))  # cells read independently of the loader
    assert len(rows) == len(zoo.REGISTRY) == 214
    vit = next(r for r in rows if r["id"] == "open_clip:ViT-B-32/openai")
    entry = zoo.get("open_clip:ViT-B-32/openai")
    assert entry.samples_seen == int(vit["samples_seen"]) == rules.OPENAI_SAMPLES_SEEN
    assert entry.aliases == (vit["aliases"],) == ("open_clip:ViT-B-32-quickgelu/openai",)
    assert entry.finetune_data is None and vit["finetune_data"] == ""


def test_models_csv_format_errors_name_the_problem():
    row = zoo.entry_to_row(zoo.get("timm:resnet18.a1_in1k"))
    assert zoo.entry_from_row(row) == zoo.get("timm:resnet18.a1_in1k")
    with pytest.raises(ValueError, match="True or False"):
        zoo.entry_from_row({**row, "extra_data": "yes"})
    with pytest.raises(ValueError, match="columns"):
        zoo.entry_from_row({k: v for k, v in row.items() if k != "aliases"})


def test_rule_names_live_in_the_rules_module_only():
    """The registry does not forward rule names: importing it never imports the rules."""
    assert not hasattr(zoo, "CLIP_ARCH")  # the rules live in zoo.rules only (no zoo <-> rules cycle)
    with pytest.raises(AttributeError):
        zoo.no_such_name  # noqa: B018


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
    meta = pd.read_csv(fetch(rules.TIMM_METADATA))["model"]
    modules = rules.timm_modules()
    dep = get_deprecated_models()
    era = {(dep[m] if m in dep else m).split(".")[0] for m in meta if (dep[m] if m in dep else m)}
    strata: dict[tuple, dict[str, list[str]]] = {}
    for name in params:
        arch = name.split(".")[0]
        if arch not in era or arch not in modules or re.search(rules.LANGUAGE_SUPERVISED, name):
            continue
        key = (modules[arch], rules.timm_pretrain_data(name), rules.timm_training(name))
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
    meta = pd.read_csv(fetch(rules.TIMM_METADATA))
    dep = get_deprecated_models()
    pairs = [(dep[m], p) for m, p in zip(meta["model"], meta["pretrain"]) if "." in (dep.get(m) or "")]
    assert len(pairs) > 100 and {p for _, p in pairs} == set(data) - {"in21k-selfsl"}  # BEiT: no map
    for name, label in pairs:
        assert (rules.timm_pretrain_data(name), rules.timm_training(name)) == (data[label], method[label]), name


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
    assert (rules.timm_pretrain_data(name), rules.timm_training(name)) == (data, method)


def test_rule1c_matches_published_accuracy_threshold(mirror):
    """Rule 1c drops exactly the rows under 30 % ImageNet zero-shot among rule-1a/1b models."""
    df = published.open_clip_results(dedupe_quickgelu=False)
    top1 = df[df["test_set"] == "imagenet"].set_index(["arch", "pretrained"])["top1"]
    kept = {(e.arch, e.pretrained) for e in zoo.collection("clip-zeroshot")}
    for (arch, tag), acc in top1.items():
        ab = rules.CLIP_ARCH.match(arch) and published.pretrain_data_from_tag(tag).startswith(
            rules.ZEROSHOT_DATA + rules.ZEROSHOT_DATA_PREFIXES)
        if ab:
            assert (acc >= 0.30) == rules.zeroshot_candidate(arch, tag), (arch, tag, acc)
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
            assert rules.open_clip_weights(arch, tag) == rules.open_clip_weights(e.arch, e.pretrained)
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
    assert zs["pretrain_data"].map(lambda d: d in rules.ZEROSHOT_DATA or d.startswith(rules.ZEROSHOT_DATA_PREFIXES)).all()
    openai = zs[zs["pretrained"] == "openai"]
    assert (openai["samples_seen"] == rules.OPENAI_SAMPLES_SEEN).all() and openai["quick_gelu"].all()
    stated = zs[zs["pretrained"].str.contains(r"_s\d+[bm]_")]
    assert (stated["samples_seen"] >= rules.MIN_SAMPLES_SEEN).all()
    ft = frame[frame["group"] == "clip-ft"]
    assert set(ft["arch_family"]) == {"ViT", "ConvNeXt"} and set(ft["pretrain_data"]) == {"WIT-400M", "LAION-2B"}
    assert (ft["finetune_data"] == ft["pretrained"].map(
        lambda t: "in12k→in1k" if "in12k" in t else "in1k")).all()
    im = frame[frame["group"] == "imagenet"]
    assert (im["extra_data"] == (im["pretrain_data"] != "ImageNet-1k")).all()
    assert (im["finetune_data"].notna() == im["extra_data"]).all()


def test_published_ids_prefer_the_training_activation():
    qg = zoo.get("open_clip:ViT-B-32/laion400m_e32")
    assert qg.quick_gelu and zoo.published_ids(qg) == ("open_clip:ViT-B-32-quickgelu/laion400m_e32", qg.id)
    plain = zoo.get("open_clip:ViT-B-32/laion2b_s34b_b79k")
    assert not plain.quick_gelu and zoo.published_ids(plain) == (plain.id,)


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


# --------------------------------------------------------------------------- import layering

_TORCH_FREE = ("cliprobust.published", "cliprobust.zoo", "cliprobust.labels", "cliprobust.datasets")


def test_data_layer_imports_without_torch():
    """The published tables, the zoo registry, the label maps and the data sets import in a fresh
    interpreter without pulling in torch, open_clip or timm (the published profile needs none)."""
    code = (f"import sys\nimport {', '.join(_TORCH_FREE)}\n"
            "print(sorted(m for m in ('torch', 'open_clip', 'timm') if m in sys.modules), 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] True", out.stdout + out.stderr  # pandas: the probe sees imports


def test_labels_do_not_import_published():
    """Layering: label maps sit below the published loaders (datasets imports labels only)."""
    code = "import sys, cliprobust.datasets; print('cliprobust.published' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
