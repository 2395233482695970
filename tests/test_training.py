"""EnhanceBrain recipes end to end on real audio: training, test outputs,
checkpoints, resume after a crash, and clear errors for bad input."""

import csv
import json
import math
import signal
import subprocess
import sys
import time

import pytest
from conftest import FAST, REPO, read_log, run_recipe


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={out}",
        "--model=!include:models/student_w4.yaml",
        "--number_of_epochs=4",
        *FAST,
    )
    return out


def test_training_loss_falls(trained):
    epochs = [e for e in read_log(trained) if "epoch" in e]
    assert [int(e["epoch"]) for e in epochs] == [1, 2, 3, 4]
    first, last = (float(epochs[i]["train loss"]) for i in (0, -1))
    assert last < 0.8 * first
    assert all(0 < float(e["valid pesq"]) < 4.7 for e in epochs)


def test_test_stage_writes_wavs_and_metrics(trained):
    wavs = sorted((trained / "enhanced").glob("*.wav"))
    assert len(wavs) == 30
    with open(trained / "test_metrics.csv") as fin:
        rows = list(csv.DictReader(fin))
    assert len(rows) == 30
    assert {r["id"] for r in rows} == {w.stem for w in wavs}
    for row in rows:
        for metric in ("pesq", "stoi", "sisdr", "csig", "cbak", "covl"):
            assert math.isfinite(float(row[metric]))
    summary = json.loads((trained / "test_summary.json").read_text())
    assert summary["pesq"]["n"] == 30


def test_checkpointer_keeps_best_pesq_and_latest(trained):
    checkpoints = list((trained / "save").glob("CKPT+*"))
    assert 1 <= len(checkpoints) <= 2
    metas = [(c / "CKPT.yaml").read_text() for c in checkpoints]
    best = max(float(m.split("pesq:")[1].split()[0]) for m in metas)
    logged = max(
        float(e["valid pesq"]) for e in read_log(trained) if "epoch" in e
    )
    assert best == pytest.approx(logged, abs=0.01)


def test_resume_after_a_crash_loses_at_most_one_epoch(tiny_corpus, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable,
        str(REPO / "recipes" / "train.py"),
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={out}",
        "--model=!include:models/student_w64.yaml",
        "--number_of_epochs=3",
        *FAST,
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while not list((out / "save").glob("CKPT+*/CKPT.yaml")):
        assert process.poll() is None, "training ended before a checkpoint"
        assert time.time() < deadline
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    crashed = [int(e["epoch"]) for e in read_log(out) if "epoch" in e]
    assert crashed and crashed[-1] < 3
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    epochs = [int(e["epoch"]) for e in read_log(out) if "epoch" in e]
    resumed = epochs[len(crashed) :]
    # The run continues from its last complete checkpoint: at most the
    # epoch during which it was killed is trained again.
    assert resumed == list(range(resumed[0], 4))
    assert resumed[0] >= crashed[-1]


def test_not_voicebank_folder_is_a_clear_error(tmp_path):
    (tmp_path / "wavs").mkdir()
    with pytest.raises(AssertionError, match="clean_trainset_28spk_wav"):
        run_recipe(
            "train.py",
            "hparams/train.yaml",
            f"--data_folder={tmp_path}",
            f"--output_folder={tmp_path / 'out'}",
        )


def test_unknown_model_option_names_it(tmp_path):
    bad = tmp_path / "bad_model.yaml"
    bad.write_text(
        "--- !new:speechbrain_kd.models.MaskUNet\ndepth: 2\nwidht: 4\n"
    )
    with pytest.raises(AssertionError, match="widht"):
        run_recipe(
            "train.py",
            "hparams/train.yaml",
            f"--data_folder={tmp_path}",
            f"--output_folder={tmp_path / 'out'}",
            f"--model=!include:{bad}",
        )
