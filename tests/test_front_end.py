"""The feature front-end on real audio: today's magnitude-mask contract is
SpeechBrain's own computation bit for bit, the complex contract is a
correct STFT, and a complex-spectrum model (a toy written for the tests)
trains, distils and exports like any other."""

import json

import numpy as np
import pytest
import torch
from conftest import FAST, REPO, TEACHER, read_log, run_recipe
from speechbrain.inference.enhancement import SpectralMaskEnhancement
from speechbrain.processing.features import ISTFT, STFT, spectral_magnitude
from speechbrain.processing.signal_processing import resynthesize

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.export import export_student
from speechbrain_kd.features import (
    ComplexSpectrum,
    MagnitudeMask,
    load_front_end,
)
from speechbrain_kd.models import MaskUNet
from speechbrain_kd.user_code import add_code_path

TOY_FILE = REPO / "tests" / "byo" / "complex_toy.py"
TOY_CODE = f"--code_path={TOY_FILE}"
TOY_MODEL = "--model=!new:complex_toy.ComplexToy"
COMPLEX = [
    "--features=!include:features/complex_32ms.yaml",
    "--loss=!include:losses/compressed_complex.yaml",
]


@pytest.fixture(scope="module")
def noisy_wav(voicebank):
    return read_audio(voicebank / "noisy_testset_wav_16k" / "p232_003.wav")


def test_magnitude_front_end_is_spectral_mask_enhancement(noisy_wav):
    """Features, mask application and resynthesis equal, bit for bit,
    those of SpeechBrain's SpectralMaskEnhancement built from its own
    STFT objects."""
    torch.manual_seed(0)
    model = MaskUNet(depth=2, base_channels=4).eval()
    options = dict(sample_rate=16000, n_fft=256, win_length=16, hop_length=8)
    stft, istft = STFT(**options), ISTFT(**options)
    stock = SpectralMaskEnhancement(
        modules={"enhance_model": model},
        hparams={
            "compute_stft": stft,
            "spectral_magnitude": lambda x: spectral_magnitude(x, power=0.5),
            "resynth": lambda x, noisy: resynthesize(
                x, noisy, stft, istft, normalize_wavs=False
            ),
        },
    )
    front_end = MagnitudeMask(**options)
    batch = noisy_wav[None]
    assert torch.equal(
        front_end.model_input(batch), stock.compute_features(batch)
    )
    with torch.no_grad():
        assert torch.equal(
            front_end.enhance(model, noisy_wav)[None],
            stock.enhance_batch(batch, lengths=torch.ones(1)),
        )


@pytest.mark.parametrize("window", ["hann", "sqrt_hann"])
def test_complex_front_end_is_the_stft_of_its_window(noisy_wav, window):
    """The spectrum of each frame is numpy's FFT of the reflection-padded,
    windowed frame; the inverse gives the waveform back."""
    front_end = ComplexSpectrum(16000, 512, 32, 16, window=window)
    spec = front_end.model_input(noisy_wav[None])[0]  # [freq, time, 2]
    signal = noisy_wav.double().numpy()
    padded = np.pad(signal, 256, mode="reflect")
    n = np.arange(512)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * n / 512)
    if window == "sqrt_hann":
        win = np.sqrt(win)
    for frame in (0, 7, spec.shape[1] - 1):
        expected = np.fft.rfft(padded[frame * 256 :][:512] * win)
        got = spec[:, frame, 0].numpy() + 1j * spec[:, frame, 1].numpy()
        assert np.abs(got - expected).max() < 1e-4 * np.abs(expected).max()
    back = front_end.waveform(spec[None], noisy_wav[None])[0]
    assert torch.allclose(back, noisy_wav, atol=1e-5)


def test_a_published_models_stft_is_enforced():
    """A model declaring its STFT refuses another, naming both."""
    model = torch.nn.Identity()
    model.required_features = {"n_fft": 512, "window": "sqrt_hann"}
    load_front_end("complex_32ms").check_model(model)
    with pytest.raises(ValueError, match="window=sqrt_hann.*window=hann"):
        load_front_end("complex_hann_32ms").check_model(model)


@pytest.fixture(scope="module")
def complex_run(tiny_corpus, tmp_path_factory):
    """The complex toy trained 2 epochs through recipes/train.py."""
    out = tmp_path_factory.mktemp("complex_toy") / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={out}",
        TOY_CODE,
        TOY_MODEL,
        *COMPLEX,
        "--number_of_epochs=2",
        *FAST,
    )
    return out


def test_a_complex_model_trains(complex_run):
    """The denoising loss falls and the test set is scored."""
    log = (complex_run / "train_log.txt").read_text().splitlines()
    losses = [
        float(line.split("train loss: ")[1].split(",")[0])
        for line in log
        if "train loss" in line
    ]
    assert len(losses) == 2 and losses[1] < losses[0]
    summary = json.loads((complex_run / "test_summary.json").read_text())
    assert summary["pesq"]["n"] == 30 and summary["pesq"]["mean"] > 1.0


def test_a_complex_model_exports_with_parity(complex_run, voicebank):
    """Hub folder (from_hparams and foreign_class), TorchScript and ONNX
    (with enhance_onnx.py), each checked against PyTorch on real speech;
    streaming is refused with the reason."""
    noisy = voicebank / "noisy_testset_wav_16k"
    add_code_path(str(TOY_FILE))
    report = export_student(
        complex_run / "save",
        complex_run / "hyperparams.yaml",
        complex_run.parent / "export",
        noisy / "p232_003.wav",
        parity_wavs=[noisy / "p257_011.wav"],
        front_end=load_front_end("complex_32ms"),
    )
    parity = report["parity"]
    assert set(parity) == {"hub", "torchscript", "onnx"}
    assert parity["hub"]["foreign_class"] < 1e-4
    assert parity["onnx"]["script_peak_relative"] < 1e-3
    assert "no streaming form" in report["skipped"]["streaming_onnx"]
    assert report["stft"]["n_fft"] == 512


def test_a_complex_student_distils_from_a_magnitude_teacher(
    tiny_corpus, teacher, tmp_path
):
    """Cosine-LIB from the magnitude-mask teacher (its own recorded
    front-end) into the complex toy: the adapter joins the two latents."""
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        TEACHER,
        TOY_CODE,
        "--student=!new:complex_toy.ComplexToy",
        *COMPLEX,
        "--number_of_epochs=1",
        *FAST,
    )
    epoch = read_log(tmp_path)[0]
    assert float(epoch["train kd"]) > 0
    log = (tmp_path / "log.txt").read_text()
    assert "The teacher runs on its own features: MagnitudeMask" in log


def test_a_complex_teacher_distils_into_a_magnitude_student(
    tiny_corpus, complex_run, tmp_path
):
    """The trained complex toy as the teacher of a MaskUNet student."""
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={complex_run}",
        f"--output_folder={tmp_path}",
        TOY_CODE,
        "--teacher_model=!new:complex_toy.ComplexToy",
        "--student=!include:models/student_wd64.yaml",
        "--number_of_epochs=1",
        *FAST,
    )
    assert float(read_log(tmp_path)[0]["train kd"]) > 0
    check = json.loads((tmp_path / "teacher_check.json").read_text())
    assert check["teacher"]["stoi"] > 0


def test_a_teacher_on_other_features_than_recorded_stops(
    tiny_corpus, teacher, tmp_path
):
    """teacher_features that differ from those the teacher's run folder
    recorded stop the run, naming both."""
    with pytest.raises(AssertionError) as error:
        run_recipe(
            "distill.py",
            "hparams/distill.yaml",
            f"--data_folder={tiny_corpus}",
            f"--teacher={teacher}",
            f"--output_folder={tmp_path}",
            TEACHER,
            "--teacher_features=!include:features/stft_16ms.yaml",
            "--number_of_epochs=1",
            *FAST,
        )
    message = str(error.value)
    assert "teacher_features gives MagnitudeMask(sample_rate=16000, " in (
        message
    )
    assert "n_fft=256" in message and "was trained with" in message
    assert "n_fft=512" in message
