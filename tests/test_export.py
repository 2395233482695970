"""Tests of the student export (speechbrain_kd.export) on real audio.

A distillation checkpoint is saved the way DistillBrain saves one (the
student's ``model`` and the method's ``kd_method`` adapter, through the
crash-safe checkpointer) with untrained weights: export only moves and
checks weights, so training them would only slow the tests down.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile as sf
import speechbrain as sb
import torch
from speechbrain.inference.enhancement import SpectralMaskEnhancement

from speechbrain_kd.checkpoints import CrashSafeCheckpointer
from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.distill import CosineLIB, FeatureTap
from speechbrain_kd.export import (
    CKPT_FILE,
    CUSTOM_CODE_FILE,
    CUSTOM_HPARAMS_FILE,
    HPARAMS_FILE,
    ONNX_FILE,
    SCRIPT_FILE,
    TORCHSCRIPT_FILE,
    ExportError,
    check_parity,
    export_student,
    load_model,
    load_student,
    load_torchscript,
    onnx_session,
    publish,
    validate_hub_folder,
)
from speechbrain_kd.features import load_front_end
from speechbrain_kd.models import count_parameters

REPO = Path(__file__).resolve().parents[1]
MODEL_FILE = REPO / "hparams" / "models" / "student_w64.yaml"
TEACHER_FILE = REPO / "hparams" / "models" / "teacher_cpu.yaml"
# Real test utterances of different lengths (1.6 s to 3.6 s)
EXAMPLE = "p232_162.wav"
PARITY = ("p257_139.wav", "p232_043.wav")
OTHER = "p257_011.wav"  # enhanced in the tests, unseen at export
FORBIDDEN = ("kd_method", "adapter", "teacher")


@pytest.fixture(scope="module")
def noisy(voicebank):
    """The folder of real noisy test utterances."""
    return voicebank / "noisy_testset_wav_16k"


@pytest.fixture(scope="module")
def distill_run(tmp_path_factory):
    """An experiment folder saved as DistillBrain saves its checkpoints.

    Returns the folder and the student.
    """
    torch.manual_seed(0)
    student = load_model(MODEL_FILE)
    teacher = load_model(TEACHER_FILE)
    method = CosineLIB()  # sized on the latents, as in DistillBrain

    def latents(frames):
        feats = torch.rand(1, frames, 257)
        return tuple(
            dict(FeatureTap(model.eval(), layers).run(model, feats))
            for model, layers in (
                (student, method.student_layers),
                (teacher, method.teacher_layers),
            )
        )

    with torch.no_grad():
        short = latents(40)
        method.find_time_dims(short, latents(80), student, teacher)
        method.setup(*short)
    folder = tmp_path_factory.mktemp("distill_run")
    checkpointer = CrashSafeCheckpointer(
        folder / "save", {"model": student, "kd_method": method}
    )
    checkpointer.save_checkpoint(meta={"pesq": 2.0})
    return folder, student


@pytest.fixture(scope="module")
def exported(distill_run, noisy, voicebank, tmp_path_factory):
    """The hub folder exported from the distillation run, and the report."""
    folder = tmp_path_factory.mktemp("export") / "student_w64"
    pairs = [
        (noisy / name, voicebank / "clean_testset_wav_16k" / name)
        for name in (EXAMPLE, PARITY[0])
    ]
    report = export_student(
        distill_run[0],
        MODEL_FILE,
        folder,
        noisy / EXAMPLE,
        parity_wavs=[noisy / name for name in PARITY],
        pesq_pairs=pairs,
        metrics={"pesq": {"mean": 2.5, "std": 0.5, "n": 30}},
        card_info={"kd_method": "cosine latent alignment through a LIB"},
        quantize=True,
    )
    return folder, report


def _enhance_in_memory(model, path):
    """The PyTorch enhancement of a wav by the model, as in training."""
    return load_front_end().enhance(model, read_audio(path)).numpy()


def test_export_report_and_card(exported, distill_run):
    """The export reports size, latency, parity and int8 results."""
    folder, report = exported
    student = distill_run[1]
    assert report["folder"] == str(folder)
    assert report["params"] == count_parameters(student)
    assert report["lookahead_frames"] > 0  # non-causal UNet
    assert report["latency_ms"] == 32 + 16 * report["lookahead_frames"]
    parity = report["parity"]
    assert max(parity[k]["mask"] for k in ("onnx", "torchscript")) < 1e-4
    assert parity["onnx"]["script_peak_relative"] < 1e-3
    assert max(parity["hub"].values()) < 1e-4  # from_hparams, foreign_class
    # a non-causal student has no streaming graph, and the report says why
    assert "not causal" in report["skipped"]["streaming_onnx"]
    assert not (folder / "enhance_model.stream.onnx").exists()
    # int8 weights; for a 6 k-parameter model the (de)quantisation nodes
    # outweigh the 4x smaller weights, so the file size is not asserted
    assert (folder / "enhance_model.int8.onnx").is_file()
    assert 0 < report["int8"]["mask_max_abs_diff"] < 0.05
    assert abs(report["int8"]["pesq_change"]) < 0.5
    card = (folder / "README.md").read_text()
    for text in (
        "look-ahead",
        "MMAC/s",
        "2.500 ± 0.500",
        "adapter",
        'pymodule_file="custom.py"',
    ):
        assert text in card
    assert not list(folder.parent.glob(".student_w64.*"))  # no leftovers


def test_hub_folder_enhances_offline(exported, distill_run, noisy, tmp_path):
    """(a) SpectralMaskEnhancement loads the folder and enhances a real
    file exactly as the in-memory model does."""
    folder, _ = exported
    assert (folder / "example.wav").read_bytes() == (
        noisy / EXAMPLE
    ).read_bytes()
    enhancer = SpectralMaskEnhancement.from_hparams(
        source=str(folder), savedir=str(tmp_path / "savedir")
    )
    output = tmp_path / "enhanced.wav"
    enhanced = enhancer.enhance_file(str(noisy / OTHER), str(output))
    reference = _enhance_in_memory(distill_run[1], noisy / OTHER)
    assert enhanced.shape == reference.shape
    np.testing.assert_allclose(enhanced.numpy(), reference, atol=1e-5)
    assert output.is_file()


def test_onnx_and_torchscript_parity(exported, distill_run, noisy):
    """(b) The exported mask networks equal PyTorch's on real speech of
    several lengths, odd ones included, and on a batch."""
    folder, _ = exported
    student = distill_run[1]
    session = onnx_session(folder / ONNX_FILE)
    scripted = load_torchscript(folder / TORCHSCRIPT_FILE)
    wavs = [read_audio(noisy / name) for name in (OTHER, *PARITY)]
    front_end = load_front_end()
    batches = [front_end.model_input(wav[None]) for wav in wavs]
    full = batches[0]
    batches += [full[:, :frames] for frames in (1, 2, 7, 33, 100, 101)]
    batches.append(torch.cat([b[:, :77] for b in batches[:3]]))
    for feats in batches:
        with torch.no_grad():
            reference = student(feats).numpy()
            traced = scripted(feats).numpy()
        onnx_mask = session.run(["mask"], {"feats": feats.numpy()})[0]
        np.testing.assert_allclose(onnx_mask, reference, atol=1e-4, rtol=0)
        np.testing.assert_allclose(traced, reference, atol=1e-4, rtol=0)


def test_no_adapter_or_teacher_weights(exported, distill_run):
    """(c) Only the student is exported, though the checkpoint folder
    holds the KD adapter (kd_method.ckpt)."""
    folder, report = exported
    student = distill_run[1]
    ckpt_folder = Path(report["checkpoint"]).parent
    assert (ckpt_folder / "kd_method.ckpt").is_file()
    assert report["adapter_params_dropped"] > count_parameters(student)

    state = torch.load(folder / CKPT_FILE, weights_only=True)
    assert list(state) == list(student.state_dict())
    scripted = load_torchscript(folder / TORCHSCRIPT_FILE)
    assert list(scripted.state_dict()) == list(student.state_dict())
    graph = onnx.load(str(folder / ONNX_FILE)).graph
    names = list(state) + [init.name for init in graph.initializer]
    assert not [n for n in names if any(k in n.lower() for k in FORBIDDEN)]
    # Folding batch norms only shrinks the ONNX weights; an adapter of
    # adapter_params_dropped weights would not fit
    onnx_weights = sum(np.prod(i.dims) for i in graph.initializer)
    assert onnx_weights <= sum(v.numel() for v in state.values())


def test_export_refuses_adapter_and_teacher_weights(distill_run, tmp_path):
    """(c) The adapter's or the teacher's state dict is never exported."""
    folder, _ = distill_run
    kd_ckpt = next(folder.glob("save/CKPT+*/kd_method.ckpt"))
    with pytest.raises(ValueError, match="adapters.0.linear.weight"):
        load_student(kd_ckpt, MODEL_FILE)
    teacher = load_model(TEACHER_FILE).state_dict()
    prefixed = tmp_path / "with_teacher.ckpt"
    torch.save({f"teacher.{k}": v for k, v in teacher.items()}, prefixed)
    with pytest.raises(ValueError, match="never exported: teacher"):
        load_student(prefixed, MODEL_FILE)
    with pytest.raises(ValueError, match="does not match the architecture"):
        load_student(folder, TEACHER_FILE)


def test_publish_dry_run(exported, tmp_path, capsys):
    """(d) A dry run validates and lists; broken folders are rejected."""
    folder, report = exported
    files = publish(folder, "user/student", dry_run=True)
    assert files == report["files"]
    assert {HPARAMS_FILE, CKPT_FILE, ONNX_FILE, SCRIPT_FILE} <= set(files)
    assert "loads in a fresh interpreter" in capsys.readouterr().out

    missing = tmp_path / "missing"
    shutil.copytree(folder, missing)
    (missing / CKPT_FILE).unlink()
    with pytest.raises(ValueError, match="missing enhance_model.ckpt"):
        publish(missing, "user/student", dry_run=True)

    mismatched = tmp_path / "mismatched"
    shutil.copytree(folder, mismatched)
    yaml = (mismatched / HPARAMS_FILE).read_text()
    assert "    base_channels: 2\n" in yaml
    (mismatched / HPARAMS_FILE).write_text(
        yaml.replace("    base_channels: 2\n", "    base_channels: 4\n")
    )
    with pytest.raises(ValueError, match="does not match the enhance_model"):
        validate_hub_folder(mismatched)

    incomplete = tmp_path / "incomplete"
    shutil.copytree(folder, incomplete)
    yaml = (incomplete / HPARAMS_FILE).read_text()
    (incomplete / HPARAMS_FILE).write_text(yaml.split("resynth:")[0])
    with pytest.raises(ValueError, match="lacks resynth"):
        validate_hub_folder(incomplete)

    command = [
        sys.executable,
        "-m",
        "speechbrain_kd.cli.publish",
        str(mismatched),
        "--repo-id",
        "user/student",
        "--dry-run",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1
    assert "does not match the enhance_model" in result.stderr


def test_reference_script_without_torch(exported, distill_run, noisy):
    """(e) enhance_onnx.py, run without PyTorch or SpeechBrain importable,
    writes what the PyTorch model enhances (1e-3 of the peak + 16 bits)."""
    folder, _ = exported
    output = folder.parent / "script_out.wav"
    blocker = (
        "import runpy, sys; "
        "sys.modules.update(torch=None, speechbrain=None); "
        f"sys.argv = [{str(folder / SCRIPT_FILE)!r}] + sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    subprocess.run(
        [sys.executable, "-c", blocker, str(noisy / OTHER), str(output)],
        check=True,
        cwd=folder.parent,
    )
    enhanced, rate = sf.read(output, dtype="float32")
    reference = _enhance_in_memory(distill_run[1], noisy / OTHER)
    assert rate == 16000 and enhanced.shape == reference.shape
    peak = np.abs(reference).max()
    # 1e-3 of the peak, plus the rounding of the 16-bit output file
    assert np.abs(enhanced - reference).max() < 1e-3 * peak + 2**-15


def test_failed_check_leaves_no_folder(distill_run, noisy, tmp_path):
    """(f) A failed parity check raises with the numbers; nothing is
    written."""
    with pytest.raises(ExportError, match=r"differs from PyTorch by 0.5"):
        check_parity("mask", np.zeros(4), np.full(4, 0.5), atol=1e-4)
    # numpy's float64 STFT cannot equal torch's float32 one bit for bit
    with pytest.raises(ExportError, match="enhance_onnx.py on p232_162"):
        export_student(
            distill_run[0],
            MODEL_FILE,
            tmp_path / "hub",
            noisy / EXAMPLE,
            script_rtol=0.0,
        )
    assert list(tmp_path.iterdir()) == []


def test_export_recipe(distill_run, shared_data, tmp_path):
    """recipes/export.py exports with hparams/export.yaml."""
    folder = tmp_path / "hub"
    command = [
        sys.executable,
        str(REPO / "recipes" / "export.py"),
        str(REPO / "hparams" / "export.yaml"),
        f"--checkpoint={distill_run[0]}",
        f"--output_folder={folder}",
        f"--model_file={MODEL_FILE}",
        f"--shared_data={shared_data}",
    ]
    subprocess.run(command, check=True, cwd=REPO, capture_output=True)
    assert validate_hub_folder(folder) == [
        "README.md",
        CUSTOM_CODE_FILE,
        CUSTOM_HPARAMS_FILE,
        CKPT_FILE,
        ONNX_FILE,
        TORCHSCRIPT_FILE,
        SCRIPT_FILE,
        "example.wav",
        HPARAMS_FILE,
    ]


def test_export_recipe_reads_the_runs_record(
    distill_run, shared_data, tmp_path
):
    """Without --model_file and --features, recipes/export.py takes the
    student and the features from the hyperparams.yaml that the recipe
    saved in the run folder (here a run on 16 ms / 8 ms features)."""
    run = tmp_path / "run"
    shutil.copytree(distill_run[0], run)
    sb.create_experiment_directory(
        experiment_directory=str(run),
        hyperparams_to_save=str(REPO / "hparams" / "distill.yaml"),
        overrides=f"student: !include:{MODEL_FILE}\ndata_folder: unused\n"
        "teacher: unused\nfeatures: !include:features/stft_16ms.yaml\n"
        "experiment: student_w64_cosine_lib\n",
    )
    (experiment,) = re.findall(
        r"^experiment: (\S+)$", (run / "hyperparams.yaml").read_text(), re.M
    )
    assert experiment == "student_w64_cosine_lib"
    folder = tmp_path / "hub"
    command = [
        sys.executable,
        str(REPO / "recipes" / "export.py"),
        str(REPO / "hparams" / "export.yaml"),
        f"--checkpoint={run}",
        f"--output_folder={folder}",
        f"--shared_data={shared_data}",
    ]
    subprocess.run(command, check=True, cwd=REPO, capture_output=True)
    validate_hub_folder(folder)
    hub = (folder / HPARAMS_FILE).read_text()
    assert "n_fft: 256" in hub and "base_channels: 2" in hub
    # named after the run folder given, not the YAML's default experiment
    assert "# speechbrain-kd run\n" in (folder / "README.md").read_text()
