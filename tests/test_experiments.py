"""Experiment grids end to end on real audio: a tiny grid (2 students x
2 methods x 2 seeds) runs the real recipes, aggregates over seeds, and
continues where it stopped when started again."""

import csv
import math
import subprocess
import sys

import pytest
from conftest import REPO

from speechbrain_kd.experiments import (
    METRICS,
    RunFailedError,
    aggregate,
    check_grid,
    load_grid,
    run_grid,
)

GRID = REPO / "hparams" / "experiment" / "tiny.yaml"
N_TRAIN, N_VALID, N_TEST = 6, 3, 6  # pairs of p232, p257, either


@pytest.fixture(scope="module")
def small_corpus(tiny_corpus, tmp_path_factory):
    """A subset of ``tiny_corpus`` (real pairs, same layout), so that the
    nine recipe runs of the grid fit in a few minutes on two cores: each
    run scores its test set with all six metrics."""
    root = tmp_path_factory.mktemp("small_corpus")
    for kind in ("clean", "noisy"):
        train = sorted(
            (tiny_corpus / f"{kind}_trainset_28spk_wav_16k").glob("*")
        )
        picked = {
            f"{kind}_trainset_28spk_wav_16k": [
                *[f for f in train if f.name.startswith("p232")][:N_TRAIN],
                *[f for f in train if f.name.startswith("p257")][:N_VALID],
            ],
            f"{kind}_testset_wav_16k": train[:N_TEST],
        }
        for folder, files in picked.items():
            (root / folder).mkdir()
            for source in files:
                (root / folder / source.name).symlink_to(source.resolve())
    return root


@pytest.fixture(scope="module")
def grid(small_corpus, tmp_path_factory):
    """The tiny grid, run once for the module; its first table."""
    out = tmp_path_factory.mktemp("grid")
    grid = load_grid(
        GRID, {"data_folder": str(small_corpus), "output_folder": str(out)}
    )
    done = run_grid(grid)
    return {"grid": grid, "out": out, "done": done, "table": aggregate(grid)}


def _summaries(out):
    return {
        p.parent.relative_to(out).as_posix(): p.stat().st_mtime_ns
        for p in out.glob("**/test_summary.json")
        if p.parent.name != "noisy"
    }


def test_grid_table_and_plots(grid):
    assert [d["status"] for d in grid["done"]] == ["run"] * 9
    table = grid["table"]
    references = [r for r in table if r["scenario"] == "reference"]
    assert [r["method"] for r in references] == ["noisy", "teacher"]
    rows = [r for r in table if r["scenario"] != "reference"]
    assert {(r["scenario"], r["method"]) for r in rows} == {
        (s, m)
        for s in ("student_w64", "student_wd64")
        for m in ("student_alone", "cosine_lib")
    }
    assert len(rows) == 4 and len(table) == 6
    for row in table:
        assert all(math.isfinite(row[f"{m}_mean"]) for m in METRICS), row
    for row in rows:
        assert row["n_runs"] == 2
        assert all(math.isfinite(row[f"{m}_std"]) for m in METRICS), row
        assert row["params"] < 7000 and row["macs_per_s"] > 0
        gain = row["pesq_gain_mean"]
        assert math.isfinite(gain) == (row["method"] == "cosine_lib")
    for scenario in ("student_w64", "student_wd64"):
        flags = [r["near_best"] for r in rows if r["scenario"] == scenario]
        assert flags.count("best") == 1
    # every scenario x method x seed has its own folder and full results
    for name in ("student_wd64/cosine_lib/seed2", "teacher"):
        assert (grid["out"] / name / "test_metrics.csv").exists()
    out = grid["out"]
    with open(out / "results.csv") as fin:
        assert len(list(csv.DictReader(fin))) == 6
    markdown = (out / "results.md").read_text()
    assert "| student_wd64 | both |" in markdown
    assert "best - mean <= max(std_best, std)" in markdown  # the ≈ rule
    for plot in ("metric_vs_size.png", "gain_over_alone.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_skips_complete_and_finishes_interrupted(grid):
    out = grid["out"]
    with open(out / "runs.csv") as fin:
        before = {row["name"]: row for row in csv.DictReader(fin)}
    assert len(before) == 9 and all(
        float(r["wall_s"]) > 0 for r in before.values()
    )
    interrupted = "student_w64/cosine_lib/seed2"
    (out / interrupted / "test_summary.json").unlink()
    mtimes = _summaries(out)

    done = run_grid(grid["grid"])

    assert [d["name"] for d in done if d["status"] == "run"] == [interrupted]
    assert sum(d["status"] == "skip" for d in done) == 8
    after = _summaries(out)
    changed = [name for name in after if after[name] != mtimes.get(name)]
    assert changed == [interrupted]
    with open(out / "runs.csv") as fin:
        rows = {row["name"]: row for row in csv.DictReader(fin)}
    assert [n for n in rows if rows[n] != before[n]] == [interrupted]
    # it resumed from its last checkpoint: one epoch logged, not two
    log = (out / interrupted / "train_log.txt").read_text().splitlines()
    assert sum(line.startswith("epoch: ") for line in log) == 1


def test_recipe_continues_the_grid(grid):
    result = subprocess.run(
        [
            sys.executable,
            "recipes/experiment.py",
            str(GRID),
            f"--data_folder={grid['grid']['data_folder']}",
            f"--output_folder={grid['out']}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count(" - skip ") == 9
    assert "| reference |  |  |  | noisy |" in result.stdout


def test_bad_settings_are_named(small_corpus, tmp_path):
    settings = {
        "data_folder": str(small_corpus),
        "output_folder": str(tmp_path),
    }
    grid = load_grid(GRID, settings)
    bad = {
        "unknown method 'kd'": {"methods": ["kd"]},
        "unknown model file 'student_w3'": {
            "scenarios": [
                {"name": "w3", "student": "student_w3", "mismatch": "width"}
            ]
        },
        "seeds: give at least 1 seed": {"seeds": []},
        "mismatch: 'size' is not one of": {
            "scenarios": [
                {"name": "w", "student": "student_w64", "mismatch": "size"}
            ]
        },
        "sp_two_step.kd_warmup_epochs": {"methods": ["sp_two_step"]},
        "'batch_size' is set by the grid": {"overrides": {"batch_size": 2}},
    }
    for message, change in bad.items():
        with pytest.raises(ValueError, match=message):
            check_grid({**grid, **change})


def test_failing_run_raises_with_command_and_output(small_corpus, tmp_path):
    grid = load_grid(
        GRID,
        {
            "data_folder": str(small_corpus),
            "output_folder": str(tmp_path),
            "overrides": {"valid_speakers": ["p999"]},
        },
    )
    with pytest.raises(RunFailedError) as error:
        run_grid(grid)
    message = str(error.value)
    assert message.startswith("run teacher failed")
    assert "recipes/train.py hparams/train.yaml" in message
    assert "has no utterance" in message  # the recipe's own error
    assert not (tmp_path / "runs.csv").exists()
