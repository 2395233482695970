"""Causal students, streaming inference and their export, on real audio.

Weights are random (seeded): causality and streaming parity are
properties of the computation, not of trained values.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.export import (
    STREAM_ONNX_FILE,
    ExportError,
    ExportTarget,
    default_targets,
    export_student,
    load_model,
    onnx_session,
    stream_onnx_masks,
)
from speechbrain_kd.export.onnx_offline import load_script
from speechbrain_kd.features import load_front_end
from speechbrain_kd.streaming import StreamingMaskUNet, stream_masks

REPO = Path(__file__).resolve().parents[1]
CAUSAL = sorted((REPO / "hparams" / "models" / "causal").glob("*.yaml"))
LOW_LATENCY = load_front_end("stft_16ms")
DEFAULT = load_front_end()
EXAMPLE = "p232_162.wav"
OTHER = "p257_011.wav"  # unseen at export


@pytest.fixture(scope="module")
def noisy(voicebank):
    """The folder of real noisy test utterances."""
    return voicebank / "noisy_testset_wav_16k"


def _trained_like(model_file):
    """A model of the file with random weights and non-trivial BatchNorm
    statistics (as after training), in eval mode."""
    torch.manual_seed(0)
    model = load_model(model_file)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.05, 0.05)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(0.1, 0.5)  # ReLUs alive
    return model.eval()


@pytest.mark.parametrize("model_file", CAUSAL, ids=lambda p: p.stem)
def test_causal_students_ignore_the_future(model_file, noisy):
    """Changing the future frames of real speech changes no past output
    of a causal student; its non-causal original does change."""
    feats = DEFAULT.model_input(read_audio(noisy / EXAMPLE)[None])
    other = DEFAULT.model_input(read_audio(noisy / OTHER)[None])
    cut = 60
    changed = feats.clone()
    changed[:, cut:] = other[:, : feats.shape[1] - cut]
    original = REPO / "hparams" / "models" / model_file.name
    for path, causal in ((model_file, True), (original, False)):
        model = _trained_like(path)
        with torch.no_grad():
            past = model(feats)[:, :cut]
            past_changed = model(changed)[:, :cut]
        same = torch.allclose(past, past_changed, atol=1e-6, rtol=0)
        assert same is causal, f"{path.name}: causal={causal}"


def test_streaming_refusals():
    """Models without a frame-by-frame form are refused with the
    reason."""
    strided = load_model(REPO / "hparams" / "models" / "student_w16.yaml")
    strided.causal = True
    with pytest.raises(ValueError, match="time_downsample: 0"):
        StreamingMaskUNet(strided, 257)
    transformer = load_model(
        REPO / "hparams" / "models" / "student_transformer.yaml"
    )
    with pytest.raises(ValueError, match="no streaming form"):
        StreamingMaskUNet(transformer, 257)


def test_pytorch_stream_equals_offline_on_real_speech(noisy):
    """The stateful PyTorch student, one 8 ms hop at a time, reproduces
    the offline causal masks on a real utterance."""
    feats = LOW_LATENCY.model_input(read_audio(noisy / OTHER)[None])
    model = _trained_like(CAUSAL[[p.stem for p in CAUSAL].index("student_w16")])
    with torch.no_grad():
        offline = model(feats)
    streamed = stream_masks(StreamingMaskUNet(model, 129), feats)
    assert feats.shape[1] > 300
    assert (streamed - offline).abs().max() <= 1e-5


class DummyTarget(ExportTarget):
    """A target added by a test, without touching the others: writes the
    number of bins, checks it against the student's features."""

    name = "dummy"
    files = ("dummy.txt",)

    def write(self, ctx):
        (ctx.folder / "dummy.txt").write_text(str(ctx.n_freq))

    def check(self, ctx):
        bins = int((ctx.folder / "dummy.txt").read_text())
        ctx.record(self.name, bins_diff=float(abs(bins - ctx.n_freq)))


@pytest.fixture(scope="module")
def causal_export(noisy, tmp_path_factory):
    """A causal 25 k student exported with 16 ms / 8 ms features, plus a
    dummy target appended to the default list."""
    folder = tmp_path_factory.mktemp("causal")
    model_file = CAUSAL[[p.stem for p in CAUSAL].index("student_w16")]
    model = _trained_like(model_file)
    torch.save(model.state_dict(), folder / "model.ckpt")
    report = export_student(
        folder / "model.ckpt",
        model_file,
        folder / "hub",
        noisy / EXAMPLE,
        parity_wavs=[noisy / "p257_139.wav"],
        targets=[*default_targets(), DummyTarget()],
        front_end=LOW_LATENCY,
    )
    return folder / "hub", report, model


def test_causal_export_streams_with_parity(causal_export, noisy):
    """Every target of the causal student passed; the streaming graph,
    run hop by hop in ONNX Runtime, reproduces the offline causal masks
    on a real file it was not checked on; the card states 16 ms."""
    folder, report, model = causal_export
    parity = report["parity"]
    assert set(parity) == {
        "hub",
        "torchscript",
        "onnx",
        "streaming_onnx",
        "dummy",
    }
    assert parity["dummy"] == {"bins_diff": 0.0}
    assert (folder / "dummy.txt").read_text() == "129"
    stream = parity["streaming_onnx"]
    assert max(stream[k] for k in ("torch_mask", "onnx_mask")) <= 1e-5
    assert stream["script_wav"] <= 1e-5
    assert report["lookahead_frames"] == 0 and report["latency_ms"] == 16
    assert "**16 ms**" in (folder / "README.md").read_text()

    feats = LOW_LATENCY.model_input(read_audio(noisy / OTHER)[None])
    with torch.no_grad():
        offline = model(feats).numpy()
    session = onnx_session(folder / STREAM_ONNX_FILE)
    assert np.abs(stream_onnx_masks(session, feats) - offline).max() <= 1e-5


def test_stream_script_equals_offline(causal_export, noisy, tmp_path):
    """enhance_onnx.py --stream, run without PyTorch, writes what the
    offline run writes; in memory the two agree within 1e-5, and with
    the PyTorch pipeline within 1e-3 of the peak."""
    folder, _, model = causal_export
    script = load_script(folder)
    signal = read_audio(noisy / OTHER)
    offline = script["enhance"](
        signal.numpy(), onnx_session(folder / "enhance_model.onnx")
    )
    streamed = script["enhance_stream"](
        signal.numpy(), onnx_session(folder / STREAM_ONNX_FILE)
    )
    assert np.abs(streamed - offline).max() <= 1e-5
    reference = LOW_LATENCY.enhance(model, signal).numpy()
    assert np.abs(streamed - reference).max() < 1e-3 * np.abs(reference).max()

    outputs = {}
    for flag in ("", "--stream"):
        output = tmp_path / f"out{flag}.wav"
        _run_script(folder, noisy / OTHER, output, flag)
        outputs[flag], rate = sf.read(output, dtype="float32")
        assert rate == 16000
    # the same samples, up to the 16-bit rounding of the files
    assert np.abs(outputs[""] - outputs["--stream"]).max() <= 2**-15


def _run_script(folder, noisy, output, *flags, check=True):
    """Runs the folder's enhance_onnx.py with torch and speechbrain
    unimportable; returns the finished process."""
    blocker = (
        "import runpy, sys; "
        "sys.modules.update(torch=None, speechbrain=None); "
        f"sys.argv = [{str(folder / 'enhance_onnx.py')!r}] + sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    args = [str(a) for a in (noisy, output, *flags) if a]
    return subprocess.run(
        [sys.executable, "-c", blocker, *args],
        check=check,
        capture_output=True,
        text=True,
        cwd=folder.parent,
    )


def test_script_rejects_bad_input(causal_export, noisy, tmp_path):
    """Stereo, another rate or an empty file: a clear error; --help
    shows no placeholder."""
    folder, _, _ = causal_export
    speech = read_audio(noisy / OTHER).numpy()[:16000]
    cases = {
        "stereo.wav": (np.stack([speech, speech], axis=1), 16000, "mono"),
        "rate.wav": (speech, 8000, "expected 16000 Hz"),
        "empty.wav": (np.zeros(0, dtype=np.float32), 16000, "no samples"),
    }
    for name, (data, rate, message) in cases.items():
        sf.write(tmp_path / name, data, rate)
        for flag in ("", "--stream"):
            result = _run_script(
                folder, tmp_path / name, tmp_path / "o.wav", flag, check=False
            )
            assert result.returncode != 0 and message in result.stderr, name
    result = _run_script(folder, "--help", "", check=False)
    assert result.returncode == 0 and "--stream" in result.stdout
    assert "SAMPLE_RATE" not in result.stdout and "$" not in result.stdout


def test_streaming_export_refuses_non_causal(noisy, tmp_path):
    """Requiring the streaming target of a non-causal student fails with
    the reason, and writes nothing."""
    model_file = REPO / "hparams" / "models" / "student_wd64.yaml"
    torch.save(load_model(model_file).state_dict(), tmp_path / "m.ckpt")
    with pytest.raises(ExportError, match="streaming_onnx: MaskUNet is not"):
        export_student(
            tmp_path / "m.ckpt",
            model_file,
            tmp_path / "hub",
            noisy / EXAMPLE,
            streaming=True,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ckpt"]


USER_MODULE = '''\
"""A user's own mask model, outside speechbrain_kd."""

import torch


class Conv1dMask(torch.nn.Module):
    """A one-layer Conv1d mask over [batch, time, freq]; no lengths."""

    def __init__(self, n_freq=257, kernel_size=3):
        super().__init__()
        self.conv = torch.nn.Conv1d(
            n_freq, n_freq, kernel_size, padding=kernel_size // 2
        )

    def forward(self, x):
        return torch.sigmoid(self.conv(x.transpose(1, 2))).transpose(1, 2)
'''

FOREIGN = textwrap.dedent(
    """\
    import importlib.util, sys
    assert importlib.util.find_spec("my_denoiser") is None
    sys.modules["speechbrain_kd"] = None
    from speechbrain.inference.interfaces import foreign_class
    folder, noisy, output = sys.argv[1:]
    enhancer = foreign_class(
        source=folder, hparams_file="custom.yaml",
        pymodule_file="custom.py", classname="SpectralMaskEnhancement",
        savedir="savedir",
    )
    enhancer.enhance_file(noisy, output_filename=output)
    """
)


def test_custom_model_hub_folder_loads_anywhere(noisy, tmp_path, monkeypatch):
    """A Conv1d model of a file outside the package, whose forward takes
    no lengths, exports; its folder loads with foreign_class and enhances
    a real file in a fresh interpreter started in another directory,
    where neither its module nor speechbrain_kd is importable; publish
    --dry-run loads it the same way."""
    code = tmp_path / "user_code"
    code.mkdir()
    (code / "my_denoiser.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(code))
    model_file = code / "conv1d.yaml"
    model_file.write_text("--- !new:my_denoiser.Conv1dMask\nn_freq: 257\n")
    torch.manual_seed(0)
    model = load_model(model_file).eval()
    torch.save(model.state_dict(), code / "model.ckpt")
    folder = tmp_path / "hub"
    report = export_student(
        code / "model.ckpt", model_file, folder, noisy / EXAMPLE
    )
    assert "no streaming form" in report["skipped"]["streaming_onnx"]
    assert "class Conv1dMask" in (folder / "custom.py").read_text()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = elsewhere / "enhanced.wav"
    env = {**os.environ, "PYTHONPATH": ""}
    subprocess.run(
        [
            sys.executable,
            "-c",
            FOREIGN,
            str(folder),
            str(noisy / OTHER),
            str(output),
        ],
        check=True,
        cwd=elsewhere,
        env=env,
        capture_output=True,
    )
    enhanced, _ = sf.read(output, dtype="float32")
    reference = DEFAULT.enhance(model, read_audio(noisy / OTHER))
    assert np.abs(enhanced - reference.numpy()).max() < 1e-4 + 2**-15

    command = [
        sys.executable,
        "-m",
        "speechbrain_kd.cli.publish",
        str(folder),
        "--repo-id",
        "user/conv1d",
        "--dry-run",
    ]
    # the publishing tool itself runs with this checkout's package; the
    # folder is loaded in a fresh interpreter with an empty PYTHONPATH
    tool_env = {**env, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        command, cwd=elsewhere, env=tool_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "loads in a fresh interpreter" in result.stdout
    # a folder that needs speechbrain_kd loads here, not in a fresh one
    code_text = (folder / "custom.py").read_text()
    (folder / "custom.py").write_text("import speechbrain_kd\n" + code_text)
    result = subprocess.run(
        command, cwd=elsewhere, env=tool_env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "does not load with foreign_class" in result.stderr


def test_feature_files_check_themselves(tmp_path):
    """Each file of hparams/features loads through !include and checks
    its settings; a window shorter than the hop fails naming both."""
    from hyperpyyaml import load_hyperpyyaml

    folder = REPO / "hparams" / "features"
    latency = {}
    for path in sorted(folder.glob("*.yaml")):
        loaded = load_hyperpyyaml(f"f: !include:{path}\n")["f"]
        front_end = loaded["front_end"]
        assert front_end.win_length == loaded["win_length"]
        latency[path.stem] = front_end.latency_ms()
    assert latency == {
        "complex_32ms": 32,
        "complex_hann_32ms": 32,
        "stft_16ms": 16,
        "stft_32ms": 32,
        "stft_8ms": 8,
    }
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (folder / "stft_8ms.yaml")
        .read_text()
        .replace("win_length: 8", "win_length: 2")
    )
    with pytest.raises(ValueError, match="win_length=2 ms .* hop_length=4"):
        load_hyperpyyaml(f"f: !include:{broken}\n")
