"""Section 10 (your model): the results-table checks, the card of a zoo model from its own published
row against the ER section's numbers, a model outside the zoo's rules, the CLI without torch, and the
caches path on the smoke models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cliprobust import paths
from cliprobust.sections import your_model as Y
from cliprobust.sections.effective_robustness.options import MEAN_SHIFT
from cliprobust.sections.effective_robustness.tables import er_frame, model_table
from cliprobust.sections.your_model import card as C
from cliprobust.sections.your_model import er_card as E
from cliprobust.sections.your_model import schema as S

HEAD = "name,imagenet,imagenet-v2,imagenet-r,imagenet-sketch,imagenet-a"


def _problems(text: str) -> list[str]:
    with pytest.raises(S.ResultsError) as err:
        S.parse(text, "t.csv")
    return err.value.problems


@pytest.mark.parametrize("text, expect", [
    (HEAD + ",imagenet-rr\nm,0.7,0.6,0.5,0.4,0.3,0.2\n", "'imagenet-rr': unknown; did you mean 'imagenet-r'"),
    ("name,imagenet,imagenet-v2,imagenet-r,imagenet-sketch\nm,0.7,0.6,0.5,0.4\n", "'imagenet-a': required and missing"),
    (HEAD + "\nm,70,60,50,40,30\nn,0.7,0.6,0.5,0.4,0.3\n", "percents mixed with fractions: row 2 ('n')"),
    ("# units: percent\n" + HEAD + "\nm,170,60,50,40,30\n", "row 1 ('m'), column 'imagenet': 170 is outside [0, 100]"),
    ("# units: fraction\n" + HEAD + "\nm,0.7,0.6,0.5,40,0.3\n", "column 'imagenet-sketch': 40 is outside [0, 1]"),
    (HEAD + "\nRN50/openai,0.7,0.6,0.5,0.4,0.3\n", "'RN50/openai' is a zoo id"),
    (HEAD + "\nm,0.7,0.6,x,0.4,0.3\n", "column 'imagenet-r': 'x' is not a number"),
    (HEAD + ",group\nm,0.7,0.6,0.5,0.4,0.3,clip\n", "column 'group': 'clip' is not one of"),
    (HEAD + "\nm,0.7,0.6,0.5,0.4,0.3\nm,0.7,0.6,0.5,0.4,0.3\n", "'m' names more than one row"),
])
def test_bad_tables_name_row_and_column(text, expect):
    assert any(expect in p for p in _problems(text)), _problems(text)


def test_units_said_once_scale_every_column():
    pct = S.parse("# units: percent\n" + HEAD + ",ece,shape_bias\nm,70,60,50,40,30,5,40\n")[0]
    frac = S.parse(HEAD + ",ece,shape_bias\nm,0.7,0.6,0.5,0.4,0.3,0.05,0.4\n")[0]
    assert pct.accuracy == pytest.approx(frac.accuracy) and pct.ece == pytest.approx(0.05)
    assert pct.shape_bias == pytest.approx(0.4) and "objectnet" not in pct.accuracy


def test_open_clip_column_names_are_read():
    row = S.parse("name,ImageNet 1k,ImageNet v2,ImageNet-R,ImageNet Sketch,ObjectNet,ImageNet-A\n"
                  "m,0.7,0.6,0.5,0.4,0.35,0.3\n")[0]
    assert row.shifts == ("imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")


def test_rejected_file_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEAD + "\nRN50/openai,0.7,0.6,0.5,0.4,0.3\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "cliprobust.cli", "card", "--results", str(bad), "--out", str(out)],
                          capture_output=True, text=True, env=os.environ | {"CLIPROBUST_FIGURES_DIR": str(out)})
    assert proc.returncode == 2 and "is a zoo id" in proc.stderr and not out.exists()


# --------------------------------------------------------------------------- published data


def _row_of(model: str, name: str) -> S.ModelRow:
    acc = model_table().set_index("model").loc[model]
    cols = ["imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a"]
    return S.ModelRow(name=name, group="clip-zeroshot", accuracy={c: float(acc[c]) for c in cols})


@pytest.mark.parametrize("model", ["open_clip:ViT-B-32/openai", "open_clip:ViT-L-14/laion2b_s32b_b82k"])
def test_card_of_a_zoo_model_equals_the_er_section(mirror, model):
    card = E.er_card(_row_of(model, "copy"))
    frame = er_frame()
    mine = frame[frame["model"] == model].set_index("shift")
    got = card.set_index("shift")
    for shift in got.index:
        assert got.loc[shift, "er"] == pytest.approx(mine.loc[shift, "er"], abs=1e-12), shift
        assert got.loc[shift, "line_low"] == pytest.approx(mine.loc[shift, "ci_low"], abs=1e-12), shift
        assert got.loc[shift, "low"] <= got.loc[shift, "er"] <= got.loc[shift, "high"]
    zoo_clip = frame[(frame["shift"] == MEAN_SHIFT) & frame["model"].isin(E.zoo_members()["clip-zeroshot"])]
    expected = int((zoo_clip["er"] > mine.loc[MEAN_SHIFT, "er"]).sum()) + 1  # the copy ties the original
    ranks = E.ranks(card).set_index("population")
    assert ranks.loc["clip-zeroshot", "rank"] == expected and ranks.loc["clip-zeroshot", "of"] == len(zoo_clip) + 1


def test_model_outside_the_zoo_rules_gets_a_card(mirror, tmp_path):
    row = Y.schema.read_results(paths.REPO_ROOT / Y.EXAMPLE)[0]
    card = C.build_card(row)
    assert set(card.er["shift"]) >= {"imagenet-r", MEAN_SHIFT} and card.er["er"].notna().all()
    c10 = card.joins.set_index("claim").loc["C10"]
    assert bool(c10["joins"]) and "all-open-clip" in c10["population"]  # MetaCLIP: outside rule 1b
    assert any("repeat the published row open_clip:ViT-B-16-quickgelu/metaclip_fullcc" in n for n in card.notes)
    written = C.write_card(card, tmp_path)
    assert {p.name for p in written} >= {"card.csv", "er.csv", "ranks.csv", "claims.csv", "er.png"}
    assert pd.read_csv(tmp_path / C.slug(row.name) / "card.csv")["er:mean-shift"].item() == pytest.approx(
        card.er.set_index("shift").loc[MEAN_SHIFT, "er"], abs=1e-5)


def test_cli_card_imports_no_torch(mirror, tmp_path):
    code = ("import sys; from cliprobust import cli; rc = cli.main(['card', '--results', %r, '--out', %r]); "
            "assert rc == 0, rc; assert 'torch' not in sys.modules, 'torch imported'" %
            (str(paths.REPO_ROOT / Y.EXAMPLE), str(tmp_path)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rank among the zoo's clip-zeroshot" in proc.stdout


def test_section_interface():
    assert Y.claims() == () and Y.cache_plan() is None and Y.cache_inventory().empty
    assert Y.Options().results_path() == paths.REPO_ROOT / Y.EXAMPLE


# --------------------------------------------------------------------------- caches (smoke models)

SMOKE_CACHE = Path(os.environ.get("CLIPROBUST_TEST_SMOKE_CACHE", "/tmp/yourcache"))


def test_caches_path_on_smoke_models(mirror, monkeypatch):
    from cliprobust import outputs
    from cliprobust.sections.your_model import caches

    if not any(SMOKE_CACHE.glob("*")):
        pytest.skip(f"no smoke caches under {SMOKE_CACHE} (cliprobust evaluate --models smoke "
                    f"--datasets imagenet-sample,cue-conflict with CLIPROBUST_CACHE_DIR there)")
    monkeypatch.setenv(paths.CACHE_ENV, str(SMOKE_CACHE))
    monkeypatch.setenv("CLIPROBUST_PROMPT_SET", "photo")
    row, missing = caches.row_from_caches("timm:test_resnet.r160_in1k")
    assert row is not None and 0 <= row.accuracy["imagenet"] <= 1 and 0 <= row.ece <= 1
    assert row.shape_bias is None or 0 <= row.shape_bias <= 1
    card = C.build_card(row)
    assert card.er.empty and card.ranks["rank"].isna().all()  # no shifts in the smoke plan
    with pytest.raises(outputs.CacheMiss, match="cliprobust evaluate --models timm:test_resnet.r160_in1k"):
        outputs.load("timm:test_resnet.r160_in1k", "imagenet-v2")
    assert not missing or all("cliprobust evaluate" in m for m in missing)
