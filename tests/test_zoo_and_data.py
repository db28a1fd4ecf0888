"""Notebook 00 summaries agree with the zoo, the published tables and the artifact table they summarise."""

from __future__ import annotations

import csv

from cliprobust import fetch, published, zoo
from cliprobust.sections import zoo_and_data as sec

PAPER = {"clip-zeroshot": 51, "clip-ft": 32, "imagenet": 127}  # Tu et al. (NeurIPS 2023), Sec. 3


def test_zoo_by_data_counts_add_up_to_groups() -> None:
    df = sec.zoo_by_data()
    per_group = df.groupby("group")["models"].sum().to_dict()
    assert per_group == {g: len(zoo.collection(g)) for g in zoo.PAPER_GROUPS}
    wit = df[(df.group == "clip-zeroshot") & (df.pretrain_data == "WIT-400M")]["models"].item()
    assert wit == sum(e.pretrain_data == "WIT-400M" for e in zoo.collection("clip-zeroshot"))


def test_zoo_by_family_is_a_partition() -> None:
    wide = sec.zoo_by_family()
    assert int(wide.to_numpy().sum()) == len(zoo.collection("paper"))


def test_data_status_covers_every_artifact() -> None:
    st = sec.data_status()
    assert st["files"].sum() == len(fetch.artifacts())
    cue = st.set_index("source").loc["stimuli/cue-conflict"]
    assert cue["files"] == len(fetch.select("stimuli/cue-conflict/")) and cue["license"] == "CC-BY-4.0"
    assert "cached" not in st and "in_mirror" not in st  # machine state never reaches a committed output
    here = sec.data_status(local=True)
    assert (here["in_mirror"] <= here["files"]).all() and (here["files"] == st["files"]).all()


# --------------------------------------------------------------------------- published coverage


def _raw_published() -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
    with open(fetch.fetch(published.OPENCLIP_RESULTS), newline="") as fh:
        oc = {(r["name"], r["pretrained"]) for r in csv.DictReader(fh) if r["ImageNet 1k"]}
    timm_sets = {}
    for file, test_set in published.TIMM_FILES.items():
        with open(fetch.fetch(file), newline="") as fh:
            timm_sets[test_set] = {r["model"] for r in csv.DictReader(fh)}
    return oc, timm_sets


def test_coverage_matches_raw_tables(mirror) -> None:
    cov = sec.coverage()
    assert len(cov) == 210 * len(sec.COVERAGE_TEST_SETS)
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


def test_coverage_summary_counts(mirror) -> None:
    cov = sec.coverage()
    summary = sec.coverage_summary(cov)
    assert list(summary.index) == list(PAPER) and summary["n_models"].to_dict() == PAPER
    for group, g in cov.groupby("group"):
        for test_set in sec.COVERAGE_TEST_SETS:
            assert summary.loc[group, test_set] == g[(g["test_set"] == test_set) & g["available"]]["id"].nunique()
        per_model = g[g["test_set"].isin(published.SHIFTS)].groupby("id")["available"]
        assert summary.loc[group, "all_shifts"] == per_model.all().sum()
        assert summary.loc[group, "any_shift"] == per_model.any().sum()
    # rule 3a guarantees published ImageNet numbers for every ImageNet model
    assert summary.loc["imagenet", "imagenet"] == PAPER["imagenet"]


def test_section_interface_without_caches_or_claims() -> None:
    """Notebook 00 reads no caches and judges no claim: no plan, an empty inventory, no claims."""
    from cliprobust import outputs
    from cliprobust.runs import Run, UnknownOptionError

    for run in (Run(), Run("full"), Run("smoke")):
        assert sec.cache_plan(run) is None and sec.claims(run) == ()
        inv = sec.cache_inventory(run)
        assert inv.empty and list(inv.columns) == list(outputs.INVENTORY_COLUMNS)
    assert sec.PAPER_PLAN is None and sec.SMOKE_PLAN is None and sec.Options.names() == []
    try:
        Run.from_params("published", sec.Options, collection="paper")
    except UnknownOptionError as exc:
        assert "no option 'collection'" in str(exc)
    else:
        raise AssertionError("an unknown notebook option must raise")


def test_zoo_by_data_figure_draws_every_row() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_data = sec.zoo_by_data()
    fig = sec.plot_zoo_by_data(by_data)
    bars = fig.axes[0].patches
    assert [b.get_width() for b in bars] == by_data["models"].tolist()
    assert f"({len(zoo.collection('paper'))} models)" in fig.axes[0].get_title()
    plt.close(fig)
