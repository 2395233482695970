"""Every figure of docs/ is referenced by a page, and the quality ladder's
plots name every run and every reference line (from the committed
docs/ladder.json)."""

import json
import re
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "recipes"))

import quality_ladder  # noqa: E402


def test_every_figure_of_docs_is_referenced_by_a_page():
    pages = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    referenced = {
        name
        for page in pages
        for name in re.findall(r"\(([\w./-]+\.png)\)", page.read_text())
    }
    figures = {path.name for path in (REPO / "docs").glob("*.png")}
    assert figures <= {name.rsplit("/", 1)[-1] for name in referenced}


def test_quality_plots_keep_runs_apart_and_label_every_line(
    tmp_path, monkeypatch
):
    rows = json.loads((REPO / "docs" / "ladder.json").read_text())
    figures = []
    new_figure = quality_ladder.new_figure

    def keep(**kwargs):
        figures.append(new_figure(**kwargs))
        return figures[-1]

    monkeypatch.setattr(quality_ladder, "new_figure", keep)
    quality_ladder.plot(rows, tmp_path)
    minutes_axis, params_axis = (figure.axes[0] for figure in figures)
    runs = [
        line for line in minutes_axis.lines if line.get_linestyle() == "None"
    ]
    # one marker per run, no line joining two runs, each run in the legend
    assert all(len(line.get_xdata()) == 1 for line in runs)
    assert len(runs) == sum(1 for row in rows if row["minutes"])
    legend = [text.get_text() for text in minutes_axis.get_legend().texts]
    assert all(
        f"{r['model']}: {r['run'].split('/')[-1]}" in legend for r in rows
    )
    for axis in (minutes_axis, params_axis):
        dotted = [line for line in axis.lines if line.get_linestyle() == ":"]
        names = {text.get_text() for text in axis.texts}
        # every reference line has its name beside it
        assert dotted and len(names) >= len(dotted)
        for line in dotted:
            level = line.get_ydata()[0]
            assert any(
                abs(text.get_position()[1] - level) < 1e-9
                for text in axis.texts
            )
