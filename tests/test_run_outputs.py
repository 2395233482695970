"""What a person sees of a run (real audio): progress of the teacher check,
one plot of the training curves per run, and --help listing the recipe's
own options."""

import subprocess
import sys

import pytest
from conftest import FAST, REPO, TEACHER, run_recipe
from matplotlib.image import imread

from speechbrain_kd.curves import CURVES_FILE


@pytest.fixture(scope="module")
def distilled(tiny_corpus, teacher, tmp_path_factory):
    """A cosine-LIB run of 2 epochs; returns its folder and process."""
    out = tmp_path_factory.mktemp("distill") / "run"
    result = run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={out}",
        TEACHER,
        "--student=!include:models/student_w64.yaml",
        "--number_of_epochs=2",
        "--scoring_workers=0",
        *FAST,
    )
    return out, result


def test_teacher_check_shows_its_progress(distilled):
    # 4 validation utterances of p257 in batches of 1
    assert "teacher check: 100%" in distilled[1].stderr


def test_each_run_draws_its_training_curves(distilled, teacher):
    for run in (distilled[0], teacher):
        image = imread(run / CURVES_FILE)
        assert image.shape[0] > 200 and image.shape[1] > 400
        # not a blank canvas: lines and text in several colours
        assert len({tuple(pixel) for pixel in image.reshape(-1, 4)}) > 50


@pytest.mark.parametrize(
    "recipe, expected",
    [
        ("train.py", ["--max_steps=null", "dynamic: an epoch is this many"]),
        ("distill.py", ["--kd_weight=", "--teacher=!PLACEHOLDER"]),
        ("export.py", ["--streaming=auto", "--shared_data=../shared/data"]),
    ],
)
def test_help_lists_the_recipes_own_options(recipe, expected):
    result = subprocess.run(
        [sys.executable, str(REPO / "recipes" / recipe), "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--device" in result.stdout  # SpeechBrain's own flags
    for text in expected:
        assert text in result.stdout
