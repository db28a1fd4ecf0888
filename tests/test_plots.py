"""The figure helper: stamp and banner in reserved margins, PNG + PDF written reproducibly, the
explicit-run API, every layout rule failing on a figure built to break it and passing once the figure
is fixed, tick labels thinned until they fit, and a user's own run warned (not stopped) by a broken rule."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cliprobust import layout, paths, plots, runs, scales, style  # noqa: E402
from cliprobust.runs import RANDOM_WEIGHTS_BANNER, SYNTHETIC_BANNER, Run  # noqa: E402


@pytest.fixture
def figdir(tmp_path, monkeypatch):
    import warnings

    monkeypatch.setenv(paths.FIGURES_ENV, str(tmp_path))
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # plots.setup sets both
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))
    yield tmp_path
    plt.close("all")


def _texts(fig: plt.Figure) -> list[str]:
    return [t.get_text() for t in fig.texts]


def _good_figure(n_points: int = 40) -> tuple[plt.Figure, plt.Axes]:
    """A figure that passes every rule: title, labels, legend outside the data, distinct series."""
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.scatter(rng.uniform(0, 1, n_points), rng.uniform(0, 1, n_points), color=style.source_color("LAION-2B"),
               label="LAION-2B")
    ax.plot([0, 1], [0, 1], color=style.BASELINE_GREY, label="baseline fit")
    ax.set_xlabel("ImageNet top-1")
    ax.set_ylabel("ImageNet-R top-1")
    ax.set_title("Shift accuracy vs ImageNet accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    return fig, ax


def _rules(fig: plt.Figure) -> set[str]:
    return {rule for rule, _ in plots.check_layout(fig)}


# --------------------------------------------------------------------------- profiles, stamp, banner


@pytest.mark.parametrize("profile,published_only,banner", [
    ("published", False, None), ("full", False, None), ("smoke", False, RANDOM_WEIGHTS_BANNER),
    ("smoke", True, None), ("rehearsal", False, SYNTHETIC_BANNER), ("rehearsal", True, None)])
def test_banner_rule(figdir, profile, published_only, banner) -> None:
    run = Run(profile)
    out = plots.output_dir(run)
    fig, _ = _good_figure()
    png = plots.save_figure(fig, "x", run=run, source="unit test", published_only=published_only)
    assert png.is_file() and png.with_suffix(".pdf").is_file() and png.parent == out
    assert png.read_bytes()[:4] == b"\x89PNG" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    assert (banner is not None and banner.upper() in _texts(fig)) or (banner is None and len(fig.texts) == 1)
    assert any(t.startswith("data: unit test") for t in _texts(fig))
    table = pd.read_csv(plots.save_table(pd.DataFrame({"a": [1]}), "t", run=run, published_only=published_only))
    assert ("note" in table.columns) is (banner is not None)
    if banner:
        assert table["note"].iloc[0] == banner


def test_outputs_that_are_not_results_go_to_their_own_folder(figdir) -> None:
    assert plots.output_dir(Run("smoke")) == figdir / "smoke"
    assert plots.output_dir(Run("rehearsal")) == figdir / "rehearsal"
    assert plots.output_dir(Run("published")) == figdir == plots.output_dir(Run("full"))
    elsewhere = figdir / "cards" / "mine"
    elsewhere.mkdir(parents=True)
    fig, _ = _good_figure()
    assert plots.save_figure(fig, "x", run=Run("published"), source="unit test", folder=elsewhere).parent == elsewhere


def test_stamp_and_banner_sit_in_margins_nothing_else_uses(figdir) -> None:
    fig, ax = _good_figure()
    ax.set_xlabel("a long x label that reaches across the whole bottom of the axes, where the stamp used to be")
    plots.stamp(fig, "unit test", run=Run("smoke"))
    plots.stamp(fig, "unit test", run=Run("smoke"))  # re-stamping replaces, never duplicates
    assert len([t for t in fig.texts if t.get_gid() == plots.STAMP_GID]) == 2
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    stamp_box = next(t for t in fig.texts if t.get_text().startswith("data:")).get_window_extent(r)
    banner_box = next(t for t in fig.texts if t.get_text() == RANDOM_WEIGHTS_BANNER.upper()).get_window_extent(r)
    others = [a.get_tightbbox(r) for a in fig.axes + list(fig.legends)]
    assert all(stamp_box.y1 <= b.y0 for b in others)
    assert all(banner_box.y0 >= b.y1 for b in others)
    assert not plots.check_layout(fig)


# --------------------------------------------------------------------------- rules


def test_good_figure_passes_and_every_rule_is_declared() -> None:
    fig, _ = _good_figure()
    assert plots.check_layout(fig) == []
    assert set(plots.LAYOUT_RULES) == {layout.RULE_TEXT_OVERLAP, layout.RULE_AXIS_LABELS, layout.RULE_TITLE,
                                       layout.RULE_CODE_KEYS, layout.RULE_LEGEND_COVER, layout.RULE_DISTINCT_SERIES}
    plt.close(fig)


def test_overlapping_texts_fail_and_pass_when_moved() -> None:
    fig, ax = _good_figure()
    ax.text(0.5, 0.5, "annotation one", transform=ax.transAxes)
    note = ax.text(0.52, 0.5, "annotation two", transform=ax.transAxes)
    assert _rules(fig) == {layout.RULE_TEXT_OVERLAP}
    note.set_position((0.52, 0.2))
    assert _rules(fig) == set()
    plt.close(fig)


def test_crowded_logit_ticks_fail_and_style_logit_axis_fixes_them() -> None:
    """The 01 figure's bug: logit-axis labels running together ('0.20.3')."""
    fig, ax = _good_figure()
    ax.set_xscale("logit")
    ax.set_xlim(0.15, 0.95)
    ax.set_xticks(np.arange(0.2, 0.95, 0.05))
    broken = plots.check_layout(fig)
    assert {r for r, _ in broken} == {layout.RULE_TEXT_OVERLAP}
    assert any("x tick label" in d for _, d in broken)
    scales.logit_axis(ax, "x", limits=(0.15, 0.95))
    assert _rules(fig) == set()
    plt.close(fig)


def test_missing_axis_label_fails_shared_and_sup_labels_count() -> None:
    fig, ax = _good_figure()
    ax.set_ylabel("")
    assert _rules(fig) == {layout.RULE_AXIS_LABELS}
    fig.supylabel("ImageNet-R top-1")
    assert _rules(fig) == set()
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, sharey=True, figsize=(7, 3), layout="constrained")
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("ImageNet top-1")
        ax.set_title("panel")
    assert _rules(fig) == {layout.RULE_AXIS_LABELS}
    axes[0].set_ylabel("shift top-1")  # the right panel shares it
    assert _rules(fig) == set()
    plt.close(fig)


def test_missing_title_fails_suptitle_passes() -> None:
    fig, ax = _good_figure()
    ax.set_title("")
    assert _rules(fig) == {layout.RULE_TITLE}
    fig.suptitle("Shift accuracy vs ImageNet accuracy")
    assert _rules(fig) == set()
    plt.close(fig)


def test_code_keys_fail_display_names_pass() -> None:
    fig, ax = _good_figure()
    ax.set_title("imagenet-r")
    assert _rules(fig) == {layout.RULE_CODE_KEYS}
    ax.set_title(style.display("imagenet-r"))
    assert _rules(fig) == set()
    ax.set_xticks([0.2, 0.8], ["partial_view", "pose"])
    assert _rules(fig) == {layout.RULE_CODE_KEYS}
    ax.set_xticks([0.2, 0.8], [style.display("partial_view"), style.display("pose")])
    assert _rules(fig) == set()
    plt.close(fig)


def test_legend_over_the_data_fails_outside_passes() -> None:
    fig, ax = _good_figure(n_points=0)
    g = np.linspace(0.02, 0.98, 20)
    xx, yy = np.meshgrid(g, g)
    ax.scatter(xx.ravel(), yy.ravel(), s=4, color=style.source_color("WIT-400M"), label="WIT-400M (OpenAI)")
    ax.legend(loc="center", fontsize=14)
    broken = plots.check_layout(fig)
    assert {r for r, _ in broken} == {layout.RULE_LEGEND_COVER}
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    assert _rules(fig) == set()
    plt.close(fig)


def test_look_alike_series_fail_distinct_ones_pass() -> None:
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    x = np.arange(5)
    lines = [ax.plot(x, x + i, label=f"model {i}")[0] for i in range(11)]  # the default cycle has 10 colours
    ax.set(xlabel="test set", ylabel="ECE", title="ECE per test set")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    broken = plots.check_layout(fig)
    assert {r for r, _ in broken} == {layout.RULE_DISTINCT_SERIES}
    assert "'model 0'" in broken[0][1] and "'model 10'" in broken[0][1]
    lines[10].set_marker("s")  # same colour, different marker: told apart (style.model_style's design)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    assert _rules(fig) == set()
    plt.close(fig)


def test_save_figure_raises_naming_figure_and_rule_and_writes_nothing(figdir) -> None:
    fig, ax = _good_figure()
    ax.set_title("")
    with pytest.raises(plots.LayoutError, match=r"'broken'.*'title'") as err:
        plots.save_figure(fig, "broken", run=Run("published"), source="unit test")
    assert err.value.figure == "broken" and err.value.rule == layout.RULE_TITLE
    assert not list(figdir.glob("broken.*"))
    plt.close(fig)


@pytest.mark.parametrize("n_labels,overlap", [(6, False), (30, True)])
def test_rotated_tick_labels_are_measured_as_rotated_boxes(n_labels, overlap) -> None:
    """Rotated labels whose axis-aligned hulls overlap but whose glyph boxes do not must pass."""
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    ax.plot(range(n_labels), range(n_labels))
    ax.set(xlabel="test set", ylabel="accuracy", title="Accuracy per test set")
    names = ["ImageNet", "ImageNet-V2", "ImageNet-Sketch", "ObjectNet", "iNaturalist", "Textures"]
    ax.set_xticks(range(n_labels), [names[i % 6] + f" {i}" for i in range(n_labels)], rotation=35, ha="right")
    assert (_rules(fig) == {layout.RULE_TEXT_OVERLAP}) is overlap
    plt.close(fig)


# --------------------------------------------------------------------------- explicit run, stamp, reproducible files


def test_setup_shows_warnings_without_this_machines_paths(monkeypatch) -> None:
    import warnings

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # restored after the test
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))
    plots.setup(runs.Run("published"))
    shown = warnings.formatwarning(UserWarning("3 of 5 images uncached"), UserWarning,
                                   str(paths.REPO_ROOT / "lib" / "x.py"), 7)
    assert shown == "UserWarning: 3 of 5 images uncached\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plots.setup(runs.Run("published"))
        warnings.warn("IProgress not found. Please update jupyter and ipywidgets.")
    assert caught == []  # tqdm's widget notice is filtered in notebooks


def test_explicit_run_api_needs_no_module_state(figdir) -> None:
    assert plots.setup(Run("published")) is None  # a notebook's last line shows no path
    fig, _ = _good_figure()
    smoke = Run("smoke")
    png = plots.save_figure(fig, "x", run=smoke, source="unit test")
    assert png.parent == figdir / "smoke" and RANDOM_WEIGHTS_BANNER.upper() in _texts(fig)
    csv = plots.save_table(pd.DataFrame({"a": [1 / 3, 2.0]}), "t", run=smoke)
    assert csv.parent == figdir / "smoke"
    raw = csv.read_bytes()
    assert raw.startswith(b"a,note\n0.333333,") and b"\n2," in raw and b"\r" not in raw  # fixed float format
    assert list(pd.read_csv(csv)["note"]) == [RANDOM_WEIGHTS_BANNER] * 2
    assert not hasattr(plots, "configure") and not hasattr(plots, "_state")  # no module-level run


def test_stamp_names_profile_and_pinned_inputs_not_the_commit(figdir, tmp_path, monkeypatch) -> None:
    fig, _ = _good_figure()
    plots.stamp(fig, "unit test", run=runs.Run("full"))
    text = next(t for t in _texts(fig) if t.startswith("data:"))
    assert "profile full" in text and f"pinned inputs {plots.inputs_fingerprint()}" in text
    assert "cliprobust@" not in text
    # the fingerprint follows the pinned sha256s: change one, it changes; restore it, it comes back
    original = plots.inputs_fingerprint()
    lines = plots.ARTIFACTS_MANIFEST.read_text().splitlines()
    row = lines[1].split(",")
    row[1] = "0" * 64
    changed = tmp_path / "artifacts.csv"
    changed.write_text("\n".join([lines[0], ",".join(row)] + lines[2:]) + "\n")
    monkeypatch.setattr(plots, "ARTIFACTS_MANIFEST", changed)
    plots.inputs_fingerprint.cache_clear()
    assert plots.inputs_fingerprint() != original and len(plots.inputs_fingerprint()) == plots.FINGERPRINT_HEX
    monkeypatch.undo()
    plots.inputs_fingerprint.cache_clear()
    assert plots.inputs_fingerprint() == original
    plt.close(fig)


def test_saving_the_same_figure_twice_writes_the_same_bytes_without_dates(figdir) -> None:
    out = []
    for name in ("a", "b"):
        fig, _ = _good_figure()
        png = plots.save_figure(fig, name, run=runs.Run("published"), source="unit test")
        out.append((png.read_bytes(), png.with_suffix(".pdf").read_bytes()))
        plt.close(fig)
    assert out[0] == out[1]
    png, pdf = out[0]
    assert b"Software" not in png and b"tIME" not in png
    assert b"CreationDate" not in pdf and b"ModDate" not in pdf and b"Matplotlib" not in pdf


def _broken_title_figure() -> plt.Figure:
    fig, ax = _good_figure()
    ax.set_title("")
    return fig


@pytest.mark.parametrize("profile", ["full", "rehearsal"])
def test_a_users_own_run_warns_loudly_and_still_writes_the_figure(figdir, profile, capsys) -> None:
    with pytest.warns(plots.LayoutWarning, match=r"'broken'.*'title'.*written anyway"):
        png = plots.save_figure(_broken_title_figure(), "broken", run=runs.Run(profile), source="unit test")
    assert png.is_file() and png.with_suffix(".pdf").is_file()
    assert "!!! LAYOUT" in capsys.readouterr().err


@pytest.mark.parametrize("profile", runs.COMMITTED_PROFILES)
def test_committed_profiles_stay_strict(figdir, profile) -> None:
    with pytest.raises(plots.LayoutError, match=r"'broken'.*'title'"):
        plots.save_figure(_broken_title_figure(), "broken", run=runs.Run(profile), source="unit test")
    assert not list(figdir.rglob("broken.*"))


@pytest.mark.parametrize("lo,hi", [(0.1250, 0.1300), (0.1249, 0.1276), (1230.0, 1231.5), (-3e-5, 9e-5)])
def test_crowded_automatic_ticks_are_thinned_until_they_fit(figdir, lo, hi) -> None:
    """Notebook 08's rehearsal failure ('0.1250' overlapping '0.1275'): whatever the range, save_figure
    thins automatic ticks until the labels fit, and never below two ticks."""
    fig, ax = plt.subplots(figsize=(2.6, 2.2), layout="constrained")
    ax.plot([lo, hi], [0, 1], "o-", color=style.BASELINE_GREY)
    ax.set(xlabel="statistic", ylabel="variant", title="Narrow range")
    ax.tick_params(labelsize=13)
    ax.xaxis.set_major_locator(layout.MaxNLocator(nbins=12))
    assert _rules(fig) == {layout.RULE_TEXT_OVERLAP}  # the figure as drawn collides
    assert layout.fit_ticks(fig) == ["axes 0 x"]
    assert _rules(fig) == set()
    assert layout._n_major(ax.xaxis) >= layout.MIN_TICKS
    plots.save_figure(fig, "narrow", run=runs.Run("published"), source="unit test")  # strict profile passes
    plt.close(fig)


def test_fixed_ticks_are_left_to_the_figure() -> None:
    fig, ax = _good_figure()
    ax.set_xticks(np.linspace(0, 1, 40))
    assert layout.fit_ticks(fig) == []
    assert len(ax.get_xticks()) == 40 and _rules(fig) == {layout.RULE_TEXT_OVERLAP}
    plt.close(fig)
