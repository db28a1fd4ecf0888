"""The figure helper: source stamp everywhere, random-weights banner only on smoke outputs from caches."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cliprobust import paths, plots  # noqa: E402


@pytest.fixture
def figdir(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.FIGURES_ENV, str(tmp_path))
    yield tmp_path
    plots.configure("published")


def _texts(fig: plt.Figure) -> list[str]:
    return [t.get_text() for t in fig.texts]


@pytest.mark.parametrize("profile,published_only,banner", [
    ("published", False, False), ("smoke", False, True), ("smoke", True, False)])
def test_banner_rule(figdir, profile, published_only, banner) -> None:
    out = plots.configure(profile)
    fig, _ = plt.subplots()
    png = plots.save_figure(fig, "x", source="unit test", published_only=published_only)
    assert png.is_file() and png.with_suffix(".pdf").is_file() and png.parent == out
    assert (plots.SMOKE_BANNER in _texts(fig)) is banner
    assert any(t.startswith("data: unit test") for t in _texts(fig))
    table = pd.read_csv(plots.save_table(pd.DataFrame({"a": [1]}), "t", published_only=published_only))
    assert ("note" in table.columns) is banner
    plt.close(fig)


def test_smoke_outputs_go_to_their_own_folder(figdir) -> None:
    assert plots.configure("smoke") == figdir / "smoke"
    assert plots.configure("published") == figdir
    with pytest.raises(ValueError, match="unknown profile"):
        plots.configure("nope")
