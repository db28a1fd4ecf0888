"""Notebook 00 summaries agree with the zoo and the artifact table they summarise."""

from __future__ import annotations

from cliprobust import fetch, zoo
from cliprobust.sections import zoo_and_data as sec


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
    assert (st["in_mirror"] <= st["files"]).all()
