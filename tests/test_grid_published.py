"""The compression grid in small, on real audio: the official GTCRN
checkpoint teaches the quarter GTCRN, which starts from its pruned
weights, against the same student alone from random weights, two seeds,
a few steps, to paired differences; the archived commands hold no path of
this machine."""

import json

import pytest
from conftest import REPO

from speechbrain_kd.grid import load_grid, run_grid, write_summary

CHECKPOINT = (
    REPO.parent / "shared" / "models" / "gtcrn" / ("model_trained_on_vctk.tar")
)

QUARTER = {
    "name": "gtcrn_quarter",
    "student": "gtcrn_quarter",
    "mismatch": "width",
}


@pytest.fixture(scope="module")
def small_dns(shared_data, tmp_path_factory):
    """Three real DNS no-reverb pairs, the grid's second test set."""
    root = tmp_path_factory.mktemp("dns")
    for kind in ("clean", "noisy"):
        (root / kind).mkdir()
        for name in ("no_reverb_fileid_0.flac", "no_reverb_fileid_101.flac"):
            source = shared_data / "dns_test_noreverb" / kind / name
            (root / kind / name).symlink_to(source)
    return root


@pytest.fixture(scope="module")
def grid(tiny_corpus, small_dns, tmp_path_factory):
    """compress_gtcrn with two methods, two seeds and two steps a run,
    static training on the tiny corpus."""
    out = tmp_path_factory.mktemp("grid")
    archive = tmp_path_factory.mktemp("archive")
    settings = {
        "output_folder": str(out),
        "archive_folder": str(archive),
        "data_folder": str(tiny_corpus),
        "shared_data": None,
        "seeds": [1, 2],
        "scenarios": [QUARTER],
        "student_epochs": 1,
        "batch_size": 2,
        "segment_seconds": 1.0,
        "methods": [
            "student_alone",
            {
                "name": "output_kd_pruned",
                "recipe": "output_kd",
                "overrides": {"init_from": str(CHECKPOINT)},
            },
        ],
        "comparisons": [["output_kd_pruned", "student_alone"]],
        "overrides": {
            "features": "!include:features/complex_32ms.yaml",
            "loss": "!include:losses/compressed_complex.yaml",
            "valid_speakers": ["p257"],
            "train_data": "static",
            "extra_train_noise": [],
            "extra_test_sets": {"dns": str(small_dns)},
            "max_steps": 2,
            "scoring_workers": 1,
        },
    }
    grid = load_grid("compress_gtcrn", settings)
    done = run_grid(grid)
    return {"archive": archive, "done": done, "summary": write_summary(grid)}


def test_a_published_teacher_runs_to_paired_differences(grid):
    assert [d["status"] for d in grid["done"]] == ["run"] * 4
    summary = grid["summary"]
    assert summary["missing"] == []
    for test_set in ("test", "dns"):
        (row,) = [
            r
            for r in summary["comparisons"]
            if r["metric"] == "pesq" and r["test_set"] == test_set
        ]
        assert (row["method"], row["reference"]) == (
            "output_kd_pruned",
            "student_alone",
        )
        assert row["seeds"] == [1, 2] and len(row["differences"]) == 2
    # the quarter GTCRN counts its learnable parameters only
    (scenario,) = summary["scenarios"]
    assert scenario["params"] == 5401


def test_the_distilled_runs_start_from_the_pruned_teacher(grid):
    run = grid["archive"] / "gtcrn_quarter" / "output_kd_pruned" / "seed1"
    command = json.loads((run / "run.json").read_text())["command"]
    assert "--init_from=../shared/models/gtcrn/model_trained_on_vctk.tar" in (
        command
    )
    assert (
        "--teacher=../shared/models/gtcrn/model_trained_on_vctk.tar" in command
    )
    assert command[:2] == ["recipes/distill.py", "hparams/distill.yaml"]
    check = json.loads((run / "teacher_check.json").read_text())
    assert check["teacher"]["pesq"] > check["noisy"]["pesq"]
