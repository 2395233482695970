"""``make demo``'s script (benchmarks/demo.py) end to end on real audio,
with a tiny budget: the published GTCRN teacher, four real test pairs,
one-second utterances, two student steps."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO
from pesq import pesq

# The real VoiceBank-DEMAND pairs export.yaml reads (example and parity)
PAIRS = ("p232_003.wav", "p232_162.wav", "p257_011.wav", "p257_231.wav")
SYSTEMS = ("noisy", "teacher", "student_alone", "student_distilled")


@pytest.fixture(scope="module")
def small_shared_data(shared_data, tmp_path_factory):
    """``shared/data`` with four of its 30 VoiceBank-DEMAND test pairs."""
    root = tmp_path_factory.mktemp("shared") / "data"
    root.mkdir()
    for name in ("speech", "noise", "noise_ambient", "sources.csv"):
        (root / name).symlink_to(shared_data / name)
    for kind in ("clean", "noisy"):
        folder = root / "voicebank" / f"{kind}_testset_wav_16k"
        folder.mkdir(parents=True)
        for name in PAIRS:
            (folder / name).symlink_to(
                shared_data / "voicebank" / f"{kind}_testset_wav_16k" / name
            )
    return root


def test_demo_distils_exports_and_reports(small_shared_data, tmp_path):
    out, corpus = tmp_path / "demo", tmp_path / "corpus"
    command = [
        sys.executable,
        str(REPO / "benchmarks" / "demo.py"),
        f"--shared_data={small_shared_data}",
        f"--output={out}",
        f"--corpus={corpus}",
        "--max_seconds=1",
        "--student_steps=2",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stderr[-3000:]

    full = json.loads((out / "summary_full.json").read_text())["summaries"]
    assert list(full) == list(SYSTEMS)
    for system in SYSTEMS:
        assert full[system]["pesq"]["n"] == len(PAIRS), system
    # the noisy row is PESQ-WB of the real pairs, computed here directly
    voicebank = small_shared_data / "voicebank"
    direct = [
        pesq(
            16000,
            sf.read(voicebank / "clean_testset_wav_16k" / name)[0],
            sf.read(voicebank / "noisy_testset_wav_16k" / name)[0],
            "wb",
        )
        for name in PAIRS
    ]
    assert full["noisy"]["pesq"]["mean"] == pytest.approx(np.mean(direct))
    # the students ran the budget given; the distilled one started from
    # the published teacher's pruned weights, which were checked
    for system in ("student_alone", "student_distilled"):
        log = (out / system / "train_log.txt").read_text()
        assert "train steps: 2," in log.splitlines()[0], system
    assert (out / "student_distilled" / "teacher_check.json").is_file()
    log = (out / "student_distilled" / "log.txt").read_text()
    assert "Started GTCRN from the pruned weights" in log
    assert (
        "Started GTCRN" not in (out / "student_alone" / "log.txt").read_text()
    )
    # the teacher's own figures: the published GTCRN scored here
    assert len((out / "teacher" / "test_metrics.csv").read_text().split()) > 4

    report = (out / "report.md").read_text()
    for system in SYSTEMS:
        assert f"| {system} |" in report
    paired = report.split("## Distilled minus alone")[1]
    rows = [line for line in paired.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| PESQ",
        "| STOI",
        "| SI-SDR",
    ]
    assert all(row.split(" | ")[3] == str(len(PAIRS)) for row in rows[1:])
    for figure in ("paired.png", "spectrograms.png"):
        assert f"]({figure})" in report
        assert (out / figure).stat().st_size > 10_000, figure

    # both students exported; ONNX Runtime enhanced the real example
    for folder in ("export", "export_alone"):
        assert (out / folder / "enhance_onnx.py").is_file(), folder
        assert (out / folder / "enhance_model.onnx").is_file(), folder
    noisy, _ = sf.read(voicebank / "noisy_testset_wav_16k" / PAIRS[0])
    enhanced, rate = sf.read(out / "p232_003_enhanced_onnx.wav")
    assert rate == 16000 and enhanced.shape == noisy.shape
    assert np.abs(enhanced - noisy).max() > 1e-3  # it did change the audio
