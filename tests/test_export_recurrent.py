"""A user's recurrent student trained and exported (real audio): a BiGRU
exports whole-file targets, streaming refused with the reason; its model
card names the run, counts the GRU's MACs and states the run's test
metrics; the export finds the shared data from another folder, and its
reference script says when an input wav does not exist."""

import json
import re
import subprocess
import sys

import pytest
import torch
from conftest import FAST, REPO, run_recipe

from speechbrain_kd.export import (
    ONNX_FILE,
    SCRIPT_FILE,
    TORCHSCRIPT_FILE,
    lookahead_frames,
)
from speechbrain_kd.export.common import STREAM_ONNX_FILE

GRU_CODE = REPO / "tests" / "byo" / "gru_mask.py"
HIDDEN = 8
N_FREQ = 257  # the 512-point STFT of hparams/features/stft_32ms.yaml
FRAMES_PER_SECOND = 62.5  # its 16 ms hop


@pytest.fixture(scope="module")
def bigru_run(tiny_corpus, tmp_path_factory):
    """A BiGRU student trained alone for one epoch, with --output_folder
    and no --experiment."""
    folder = tmp_path_factory.mktemp("bigru")
    model_file = folder / "bigru_mask.yaml"
    model_file.write_text(
        f"--- !new:gru_mask.GRUMask\nhidden: {HIDDEN}\nbidirectional: True\n"
    )
    run = folder / "my_bigru"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={run}",
        f"--code_path={GRU_CODE}",
        f"--model=!include:{model_file}",
        "--number_of_epochs=1",
        "--scoring_workers=0",
        *FAST,
    )
    return run


def export(run, folder, *options, cwd=REPO):
    """Runs recipes/export.py on a run; returns the finished process."""
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "recipes" / "export.py"),
            str(REPO / "hparams" / "export.yaml"),
            f"--checkpoint={run}",
            f"--output_folder={folder}",
            f"--code_path={GRU_CODE}",
            *options,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def bigru_export(bigru_run, shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bigru_export") / "hub"
    result = export(bigru_run, folder, f"--shared_data={shared_data}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{\n") :])
    return folder, report, result.stderr


def test_bigru_exports_whole_file_targets(bigru_export):
    folder, report, _ = bigru_export
    assert (folder / ONNX_FILE).is_file()
    assert (folder / TORCHSCRIPT_FILE).is_file()
    assert not (folder / STREAM_ONNX_FILE).exists()
    assert "GRUMask" in report["skipped"]["streaming_onnx"]
    assert report["lookahead_frames"] is None
    assert "**whole file**" in (folder / "README.md").read_text()


def test_bigru_streaming_refused_with_the_reason(
    bigru_run, shared_data, tmp_path
):
    folder = tmp_path / "hub"
    result = export(
        bigru_run, folder, f"--shared_data={shared_data}", "--streaming=True"
    )
    assert result.returncode != 0
    assert "GRUMask has no streaming form" in result.stderr
    assert not folder.exists()


def test_card_names_the_run_counts_gru_macs_and_states_test_metrics(
    bigru_run, bigru_export
):
    card = (bigru_export[0] / "README.md").read_text()
    assert "\n# speechbrain-kd my_bigru\n" in card
    # per frame: 3 GRU gates x 2 directions x HIDDEN x (N_FREQ + HIDDEN)
    # products, then the linear layer from 2 x HIDDEN to N_FREQ
    per_frame = 3 * 2 * HIDDEN * (N_FREQ + HIDDEN) + 2 * HIDDEN * N_FREQ
    mmacs = float(re.search(r"\| ([\d.]+) MMAC/s", card).group(1))
    assert mmacs == pytest.approx(per_frame * FRAMES_PER_SECOND / 1e6, 0.05)
    summary = json.loads((bigru_run / "test_summary.json").read_text())
    pesq = summary["pesq"]
    assert f"| pesq | {pesq['mean']:.3f} ± {pesq['std']:.3f} (n=30) |" in card


def test_shared_data_found_from_another_folder_or_named(bigru_run, tmp_path):
    # run from a folder with no ../shared/data beside it: the default
    # shared_data is the one beside the project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = export(bigru_run, tmp_path / "hub", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    missing = tmp_path / "no_shared"
    result = export(
        bigru_run, tmp_path / "hub2", f"--shared_data={missing}", cwd=elsewhere
    )
    assert result.returncode != 0
    assert f"{missing}/voicebank/" in result.stderr
    assert "not found" in result.stderr and "--shared_data" in result.stderr


def test_reference_script_says_a_missing_wav_does_not_exist(
    bigru_export, voicebank, tmp_path
):
    script = bigru_export[0] / SCRIPT_FILE
    result = subprocess.run(
        [sys.executable, str(script), "missing.wav", "out.wav"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "missing.wav: no such file" in result.stderr
    noisy = voicebank / "noisy_testset_wav_16k" / "p232_003.wav"
    result = subprocess.run(
        [sys.executable, str(script), str(noisy), "out.wav"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_export_shows_its_progress(bigru_export):
    # one step per target: hub, TorchScript, ONNX, streaming ONNX (skipped)
    assert "export: 100%" in bigru_export[2]
    assert "4/4" in bigru_export[2]


def test_a_model_requiring_lengths_exports(tiny_corpus, tmp_path):
    """SpeechBrain's MetricGAN generator (forward(x, lengths), no default)
    trains, then exports whole-file: hub folder, TorchScript and ONNX
    trace it on whole utterances and equal PyTorch."""
    model_file = tmp_path / "metricgan.yaml"
    model_file.write_text(
        "--- !new:speechbrain.lobes.models.MetricGAN.EnhancementGenerator\n"
        "num_layers: 1\n"
    )
    run = tmp_path / "metricgan"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={run}",
        f"--model=!include:{model_file}",
        "--number_of_epochs=1",
        *FAST,
    )
    folder = tmp_path / "hub"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "recipes" / "export.py"),
            str(REPO / "hparams" / "export.yaml"),
            f"--checkpoint={run}",
            f"--output_folder={folder}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert {"hub", "torchscript", "onnx"} <= set(report["parity"])
    assert report["parity"]["torchscript"]["mask"] < 1e-4
    assert report["latency_ms"] is None  # a BLSTM over time: whole file
    for name in (ONNX_FILE, TORCHSCRIPT_FILE):
        assert (folder / name).is_file()


class _Recurrent(torch.nn.Module):
    """Two recurrent layers over the time axis of [batch, time, freq]."""

    def __init__(self, layer, bidirectional):
        super().__init__()
        self.rnn = layer(N_FREQ, 4, num_layers=2, bidirectional=bidirectional)

    def forward(self, feats):
        return self.rnn(feats.transpose(0, 1))[0].transpose(0, 1)


@pytest.mark.parametrize("layer", [torch.nn.GRU, torch.nn.LSTM])
@pytest.mark.parametrize("seed", range(5))
def test_recurrent_lookahead_does_not_depend_on_the_random_weights(layer, seed):
    """Random weights let a GRU's gradient vanish within the long probe,
    which then saw a bounded look-ahead in a bidirectional layer; the probe
    sets recurrent layers so that their state carries."""
    torch.manual_seed(seed)
    assert lookahead_frames(_Recurrent(layer, True), N_FREQ) is None
    assert lookahead_frames(_Recurrent(layer, False), N_FREQ) == 0
