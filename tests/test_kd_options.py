"""The options of the distillation study on real audio: the scale-free
KD weight, KD then supervised fine-tuning, a centred cosine over two
latents, the same initial student in every recipe, and the precision of
the teacher pass chosen by the hardware."""

import json
import logging
import subprocess
import sys

import pytest
import speechbrain as sb
import torch
from conftest import FAST, REPO, TEACHER, read_log, run_recipe
from hyperpyyaml import load_hyperpyyaml
from test_distillation import _distill_hparams

from speechbrain_kd import precision
from speechbrain_kd.brains import DistillBrain, EnhanceBrain
from speechbrain_kd.distill.losses import center_over_time, frame_mask
from speechbrain_kd.run import prepare_data


def _brain(hparams):
    return DistillBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=hparams["checkpointer"],
    )


def _training_step(brain, hparams):
    """One real batch through the brain in training: predictions, batch."""
    datasets = prepare_data(hparams)
    loader = sb.dataio.dataloader.make_dataloader(
        datasets["train"], batch_size=4
    )
    batch = next(iter(loader))
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    hparams["epoch_counter"].current = 1
    brain.modules.train()
    return brain.compute_forward(batch, sb.Stage.TRAIN), batch


@pytest.mark.parametrize("method", ["cosine_lib", "feature_mse"])
def test_balance_makes_kd_a_fraction_of_the_denoising_loss(
    method, tiny_corpus, teacher, tmp_path
):
    hparams = _distill_hparams(
        method, tiny_corpus, teacher, tmp_path, kd_balance=0.5, kd_weight=7.0
    )
    brain = _brain(hparams)
    predictions, batch = _training_step(brain, hparams)
    denoise = EnhanceBrain.compute_objectives(
        brain, predictions, batch, sb.Stage.TRAIN
    )

    loss = brain.compute_objectives(predictions, batch, sb.Stage.TRAIN)
    loss.backward(retain_graph=True)

    # kd_weight is ignored: the KD term is half the denoising loss
    assert loss.item() == pytest.approx(1.5 * denoise.item(), rel=1e-5)
    adapter = hparams["modules"]["kd_method"].adapter.linear
    assert adapter.weight.grad.abs().sum() > 0
    # the gradient scale is balance x denoise / kd: the adapter's gradient
    # is the unweighted KD loss's times this factor (to bf16 rounding)
    with brain.distillation.autocast():  # as in training (bf16 by default)
        kd = hparams["modules"]["kd_method"](
            predictions["student_latents"],
            predictions["teacher_latents"],
            batch.noisy_sig[1],
        ).float()
    grad = adapter.weight.grad.clone()
    adapter.weight.grad = None
    kd.backward()
    factor = 0.5 * denoise.item() / kd.item()
    unweighted = adapter.weight.grad
    ratio = (grad.norm() / unweighted.norm()).item()
    assert ratio == pytest.approx(factor, rel=1e-2)
    cosine = torch.nn.functional.cosine_similarity(
        grad.flatten(), unweighted.flatten(), dim=0
    )
    assert cosine > 0.999


def test_kd_epochs_end_with_supervised_fine_tuning(
    tiny_corpus, teacher, tmp_path
):
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        "--student=!include:models/student_w64.yaml",
        TEACHER,
        "--number_of_epochs=2",
        "--kd_epochs=1",
        *FAST,
    )
    epochs = [e for e in read_log(tmp_path) if "epoch" in e]
    assert [e["epoch"] for e in epochs] == ["1", "2"]
    assert float(epochs[0]["train kd"]) > 0
    assert "train kd" not in epochs[1]  # the teacher idle, KD off


def test_centred_cosine_over_two_latents(tiny_corpus, teacher, tmp_path):
    levels = ["bottleneck", "decoder.0"]
    hparams = _distill_hparams(
        "cosine_lib",
        tiny_corpus,
        teacher,
        tmp_path,
        student_latent=levels,
        teacher_latent=levels,
        kd_center=True,
    )
    method = hparams["modules"]["kd_method"]
    brain = _brain(hparams)  # probes both models, sizes one adapter per pair
    assert len(method.adapters) == 2
    predictions, batch = _training_step(brain, hparams)

    loss = brain.compute_objectives(predictions, batch, sb.Stage.TRAIN)
    loss.backward()

    for adapter in method.adapters:
        assert adapter.linear.weight.grad.abs().sum() > 0
    # centring removes each channel's mean over an utterance's valid frames
    lengths = batch.noisy_sig[1]
    frames = method.frames(predictions["teacher_latents"], "teacher", levels[0])
    centred = center_over_time(frames.float(), lengths)
    mask = frame_mask(lengths, frames.shape[1])
    for i in range(frames.shape[0]):
        valid = centred[i][mask[i]]
        assert valid.mean(0).abs().max() < 1e-4
        assert frames[i][mask[i]].float().mean(0).abs().max() > 1e-3
    # the option changes what is compared
    args = (
        predictions["student_latents"],
        predictions["teacher_latents"],
        lengths,
    )
    centred_kd = method(*args)
    method.center = False
    assert method(*args).item() != pytest.approx(centred_kd.item(), abs=1e-4)


def test_same_seed_same_student_in_every_recipe(tiny_corpus, teacher, tmp_path):
    def student_weights(kind, seed):
        out = tmp_path / f"{kind}{seed}"
        if kind == "alone":
            overrides = {
                "data_folder": str(tiny_corpus),
                "output_folder": str(out),
                "seed": seed,
                "valid_speakers": ["p257"],
            }
            text = "\n".join(
                f"{k}: {json.dumps(v)}" for k, v in overrides.items()
            )
            text += "\nmodel: !include:models/student_w64.yaml"
            with open(REPO / "hparams" / "train.yaml") as fin:
                hparams = load_hyperpyyaml(fin, text)
            brain_class = EnhanceBrain
        else:
            hparams = _distill_hparams(
                "cosine_lib", tiny_corpus, teacher, out, seed=seed
            )
            brain_class = DistillBrain
        brain = brain_class(
            modules=hparams["modules"],
            opt_class=hparams["opt_class"],
            hparams=hparams,
            run_opts={"device": "cpu"},
            checkpointer=hparams["checkpointer"],
        )
        return brain.modules.model.state_dict()

    alone, distilled = student_weights("alone", 3), student_weights("kd", 3)
    assert alone.keys() == distilled.keys()
    assert all(torch.equal(alone[k], distilled[k]) for k in alone)
    other = student_weights("kd", 4)
    assert not torch.equal(other["head.weight"], alone["head.weight"])


@pytest.mark.parametrize("native", [True, False])
def test_kd_precision_auto_follows_the_hardware(
    native, tiny_corpus, teacher, tmp_path, monkeypatch, caplog
):
    """``kd_precision: auto`` (the YAMLs' default) runs the teacher pass in
    bfloat16 where it is native and in fp32 elsewhere; an explicit
    ``bf16`` (``kd_precision`` or SpeechBrain's training ``precision``) is
    kept, with a warning naming the setting where it is not native."""
    monkeypatch.setattr(precision, "native_bf16", lambda device: native)
    hparams = _distill_hparams("cosine_lib", tiny_corpus, teacher, tmp_path)
    assert hparams["kd_precision"] == "auto"
    brain = _brain(hparams)
    predictions, _ = _training_step(brain, hparams)
    expected = torch.bfloat16 if native else torch.float32
    assert brain.distillation.precision == ("bf16" if native else "fp32")
    (teacher_latent,) = predictions["teacher_latents"].values()
    (student_latent,) = predictions["student_latents"].values()
    assert teacher_latent.dtype == expected
    assert student_latent.dtype == torch.float32

    caplog.clear()
    forced = _distill_hparams(
        "cosine_lib",
        tiny_corpus,
        teacher,
        tmp_path,
        kd_precision="bf16",
        precision="bf16",
    )
    with caplog.at_level(logging.WARNING, logger="speechbrain_kd"):
        forced = _brain(forced)
    assert (forced.distillation.precision, forced.precision) == ("bf16", "bf16")
    warned = [r.getMessage() for r in caplog.records]
    for key in ("kd_precision", "precision"):
        assert any(m.startswith(f"{key}: bf16") for m in warned) != native


def run_step_bench(script, shared_data, output, *args):
    """Runs a training-step benchmark of ``benchmarks/`` with a tiny
    budget (batches of 2, one warm-up and two timed steps) on real audio;
    returns the JSON file it wrote into ``output``."""
    subprocess.run(
        [
            sys.executable,
            f"benchmarks/{script}",
            f"--shared_data={shared_data}",
            f"--output={output}",
            *args,
            "--batch_size=2",
            "--steps=2",
            "--warmup=1",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    (written,) = output.glob("*.json")
    return json.loads(written.read_text())


def test_precision_bench_times_both_precisions(shared_data, tmp_path):
    """``benchmarks/bench_precision.py`` (in ``make bench``) trains on real
    audio in fp32 and bf16 and records what ``auto`` picks here."""
    report = run_step_bench(
        "bench_precision.py", shared_data, tmp_path, "--models", "student_w64"
    )
    assert report["native_bf16"] == precision.native_bf16("cpu")
    assert report["kd_precision_auto"] == precision.resolve_precision("auto")
    step = report["models"]["student_w64"]
    # each Brain ran in the precision it times, the steps after warm-up
    assert step["brain_precision"] == {"fp32": "fp32", "bf16": "bf16"}
    assert step["steps_timed"] == {"fp32": 2, "bf16": 2}
    assert step["fp32_step_s"] > 0 and step["bf16_step_s"] > 0
    speedup = step["fp32_step_s"] / step["bf16_step_s"]
    assert step["bf16_speedup"] == pytest.approx(speedup)


def test_family_bench_times_published_members_beside_ours(
    shared_data, tmp_path
):
    """``benchmarks/bench_family_steps.py`` trains a published family
    member with its complex front-end beside a MaskUNet, in turns, and
    profiles a step."""
    report = run_step_bench(
        "bench_family_steps.py",
        shared_data,
        tmp_path,
        "--models",
        "gtcrn_quarter",
        "student_w16",
        "--profile=gtcrn_quarter",
    )
    models = report["models"]
    assert set(models) == {"gtcrn_quarter", "student_w16"}
    assert models["student_w16"]["vs_student_w16"] == 1.0
    ratio = models["gtcrn_quarter"]["step_s"] / models["student_w16"]["step_s"]
    assert models["gtcrn_quarter"]["vs_student_w16"] == pytest.approx(
        ratio, abs=0.01
    )
    ops = report["profile"]["top_ops"]
    assert report["profile"]["model"] == "gtcrn_quarter" and len(ops) == 8
    assert sum(op["share"] for op in ops) <= 1.0


def test_a_method_option_out_of_range_is_refused_first(tiny_corpus, tmp_path):
    """--kd_reduction=pixel: one clear error naming the option and the
    values it takes, before anything loads (it used to end a 50-line
    traceback of the YAML loader, naming CosineLIB's argument)."""
    result = subprocess.run(
        [
            sys.executable,
            "recipes/distill.py",
            "hparams/distill.yaml",
            f"--data_folder={tiny_corpus}",
            f"--teacher={tmp_path / 'no_teacher'}",
            f"--output_folder={tmp_path / 'out'}",
            "--kd_reduction=pixel",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        "ValueError: Option kd_reduction='pixel' is not allowed: use one of "
        "'frame', 'utterance', 'channel'"
    )
    assert len(lines) < 15
    assert not (tmp_path / "out").exists()


def test_the_adapter_size_is_logged(tiny_corpus, teacher, tmp_path, caplog):
    """The LIB adapter's in and out features and its parameters, in the
    log, as the probe sized it."""
    hparams = _distill_hparams("cosine_lib", tiny_corpus, teacher, tmp_path)
    with caplog.at_level(logging.INFO, logger="speechbrain_kd"):
        _brain(hparams)
    linear = hparams["modules"]["kd_method"].adapter.linear
    # student_w64 and student_w4 (the test teacher) at their bottlenecks
    student = hparams["student"].bottleneck
    teacher_model = hparams["teacher_model"].bottleneck
    assert linear.in_features % _channels(student) == 0
    assert linear.out_features % _channels(teacher_model) == 0
    size = linear.in_features * linear.out_features + linear.out_features
    expected = (
        f"KD adapter adapters.0.linear of CosineLIB: {linear.in_features} -> "
        f"{linear.out_features} features, {size} parameters"
    )
    assert expected in [record.getMessage() for record in caplog.records]


def _channels(module):
    """Output channels of the last convolution of a module."""
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    return convs[-1].out_channels
