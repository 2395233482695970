"""A published model's family member in every path, on real audio: GTCRN
at a quarter of its size trains with the complex front-end and loss,
learns as a student from our teacher, exports (hub folder loaded offline,
TorchScript, ONNX) with parity; the official GTCRN checkpoint teaches one
of our UNet students."""

import json
from pathlib import Path

import pytest
from conftest import FAST, REPO, TEACHER, read_log, run_recipe

from speechbrain_kd.export import export_student

SHARED_MODELS = REPO.parent / "shared" / "models"
QUARTER = "--model=!include:models/gtcrn_quarter.yaml"
COMPLEX = [
    "--features=!include:features/complex_32ms.yaml",
    "--loss=!include:losses/compressed_complex.yaml",
]


@pytest.fixture(scope="module")
def gtcrn_run(tiny_corpus, tmp_path_factory):
    """The quarter-size GTCRN trained 1 epoch through recipes/train.py."""
    out = tmp_path_factory.mktemp("gtcrn_quarter") / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={out}",
        QUARTER,
        *COMPLEX,
        "--number_of_epochs=1",
        *FAST,
    )
    return out


def test_a_gtcrn_member_trains(gtcrn_run):
    """Its run scores the test set and records its complex front-end."""
    summary = json.loads((gtcrn_run / "test_summary.json").read_text())
    assert summary["pesq"]["n"] == 30
    record = (gtcrn_run / "hyperparams.yaml").read_text()
    assert "!new:speechbrain_kd.features.ComplexSpectrum" in record
    assert "window: sqrt_hann" in record


def test_a_gtcrn_member_exports_and_loads_offline(gtcrn_run, voicebank):
    """Hub folder (from_hparams, and foreign_class in a fresh interpreter
    without speechbrain_kd), TorchScript, ONNX and its own streaming graph
    (one frame per call, caches in and out) equal PyTorch; the card counts
    learnable and fixed parameters apart."""
    noisy = voicebank / "noisy_testset_wav_16k"
    report = export_student(
        gtcrn_run / "save",
        gtcrn_run / "hyperparams.yaml",
        gtcrn_run.parent / "export",
        noisy / "p232_003.wav",
        parity_wavs=[noisy / "p257_011.wav"],
    )
    parity = report["parity"]
    assert parity["hub"]["foreign_class"] < 1e-4
    assert parity["onnx"]["script_peak_relative"] < 1e-3
    assert report["lookahead_frames"] == 0
    stream = parity["streaming_onnx"]
    assert stream["onnx_spectrum"] <= stream["bound"] < 1e-3
    assert stream["frames"] > 100
    assert (Path(report["folder"]) / "enhance_model.stream.onnx").is_file()
    card = (Path(report["folder"]) / "README.md").read_text()
    assert "input `spec` `[1, bins, 1, 2]`" in card
    assert "29,977 (5,401 learnable, 24,576 fixed)" in card
    assert 'classname="ComplexSpectrumEnhancement"' in card


def test_a_gtcrn_member_learns_from_our_teacher(tiny_corpus, teacher, tmp_path):
    """Cosine-LIB from the magnitude-mask teacher to the GTCRN student's
    bottleneck."""
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        TEACHER,
        "--student=!include:models/gtcrn_quarter.yaml",
        *COMPLEX,
        "--number_of_epochs=1",
        *FAST,
    )
    assert float(read_log(tmp_path)[0]["train kd"]) > 0
    log = (tmp_path / "log.txt").read_text()
    assert "KD adapter adapters.0.linear of CosineLIB" in log


def test_the_official_gtcrn_teaches_a_unet(tiny_corpus, tmp_path):
    """The official VoiceBank-DEMAND checkpoint as the teacher: loaded
    through its key map, checked on validation (better than the noisy
    input), distilled into a MaskUNet student."""
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={SHARED_MODELS / 'gtcrn' / 'model_trained_on_vctk.tar'}",
        "--teacher_model=!include:models/gtcrn.yaml",
        "--teacher_features=!include:features/complex_32ms.yaml",
        f"--output_folder={tmp_path}",
        "--student=!include:models/student_wd64.yaml",
        "--number_of_epochs=1",
        *FAST,
    )
    check = json.loads((tmp_path / "teacher_check.json").read_text())
    assert check["teacher"]["pesq"] > check["noisy"]["pesq"] + 0.3
    assert float(read_log(tmp_path)[0]["train kd"]) > 0


def test_a_published_model_refuses_other_features(tiny_corpus, tmp_path):
    """GTCRN with today's magnitude features: an error naming both."""
    with pytest.raises(AssertionError, match="GTCRN requires the features"):
        run_recipe(
            "train.py",
            "hparams/train.yaml",
            f"--data_folder={tiny_corpus}",
            f"--output_folder={tmp_path}",
            QUARTER,
            "--number_of_epochs=1",
            *FAST,
        )
