"""DistillBrain on real audio: a frozen teacher, a trained adapter, the
schedule across a resume, a student that is not our UNet, and DDP."""

import json

import pytest
import speechbrain as sb
import torch
from conftest import FAST, REPO, TEACHER, read_log, run_recipe
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.brains import DistillBrain
from speechbrain_kd.distill.recipe import distill_arguments
from speechbrain_kd.run import prepare_data

STUDENT = "--student=!include:models/student_w64.yaml"


def _distill_hparams(method, tiny_corpus, teacher, out, **extra):
    """The distillation recipe's hyperparameters, as its command line
    would load them (method settings included), the teacher loaded."""
    overrides = {
        "data_folder": str(tiny_corpus),
        "teacher": str(teacher),
        "output_folder": str(out),
        "valid_speakers": ["p257"],
        "batch_size": 4,
        "segment_seconds": 1.0,
        "number_of_epochs": 1,
        **extra,
    }
    hparams_file, *args = distill_arguments(
        [
            str(REPO / "hparams" / "distill.yaml"),
            f"--kd_method=!include:methods/{method}.yaml",
            *(f"--{k}={_text(v)}" for k, v in overrides.items()),
            TEACHER,
            STUDENT,
        ]
    )
    # every argument an override of the YAML (precision too, which the
    # command line would make a run option)
    text = "\n".join(arg[2:].replace("=", ": ", 1) for arg in args)
    with open(hparams_file) as fin:
        hparams = load_hyperpyyaml(fin, text)
    pretrainer = hparams["teacher_pretrainer"]
    pretrainer.collect_files()
    pretrainer.load_collected()
    return hparams


def _text(value):
    """A value as command-line YAML text."""
    return value if isinstance(value, str) else json.dumps(value)


def test_teacher_frozen_adapter_trained_student_saved_alone(
    tiny_corpus, teacher, tmp_path
):
    hparams = _distill_hparams("cosine_lib", tiny_corpus, teacher, tmp_path)
    datasets = prepare_data(hparams)
    brain = DistillBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=hparams["checkpointer"],
    )
    teacher_model = hparams["teacher_model"]
    # Loaded from the trained checkpoint, not a fresh initialisation
    trained = torch.load(
        next((teacher / "save").glob("CKPT+*/model.ckpt")), map_location="cpu"
    )
    assert any(
        torch.equal(v, teacher_model.state_dict()[k])
        for k, v in trained.items()
        if v.is_floating_point() and v.numel() > 1
    )
    before = {k: v.clone() for k, v in teacher_model.state_dict().items()}
    student_before = {
        k: v.clone() for k, v in hparams["student"].state_dict().items()
    }

    # One step by hand: gradients reach the adapter, never the teacher
    loader = sb.dataio.dataloader.make_dataloader(
        datasets["train"], batch_size=4
    )
    batch = next(iter(loader))
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    brain.modules.train()
    predictions = brain.compute_forward(batch, sb.Stage.TRAIN)
    loss = brain.compute_objectives(predictions, batch, sb.Stage.TRAIN)
    loss.backward()
    adapter = hparams["modules"]["kd_method"].adapter.linear
    assert adapter.weight.grad is not None
    assert adapter.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher_model.parameters())
    assert not teacher_model.training
    for param in brain.modules.parameters():
        param.grad = None

    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    # Teacher: outside modules, the optimizer and the checkpointer
    assert teacher_model not in brain.modules.values()
    optimised = {
        id(p) for g in brain.optimizer.param_groups for p in g["params"]
    }
    assert not optimised & {id(p) for p in teacher_model.parameters()}
    assert {id(p) for p in adapter.parameters()} <= optimised
    assert teacher_model not in brain.checkpointer.recoverables.values()
    for key, value in teacher_model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(not p.requires_grad for p in teacher_model.parameters())
    assert any(
        not torch.equal(v, student_before[k])
        for k, v in hparams["student"].state_dict().items()
    )
    # The saved student holds the student's weights only
    saved = torch.load(
        next((tmp_path / "save").glob("CKPT+*/model.ckpt")), map_location="cpu"
    )
    assert set(saved) == set(hparams["student"].state_dict())
    assert not any("adapter" in k for k in saved)
    fresh = load_hyperpyyaml(
        f"m: !include:{REPO}/hparams/models/student_w64.yaml"
    )["m"]
    fresh.load_state_dict(saved, strict=True)
    adapter_file = next((tmp_path / "save").glob("CKPT+*/kd_method.ckpt"))
    assert "adapters.0.linear.weight" in torch.load(adapter_file)
    log = read_log(tmp_path)[0]
    assert float(log["train kd"]) > 0 and float(log["train denoise"]) > 0


def test_resume_continues_the_two_step_schedule(tiny_corpus, teacher, tmp_path):
    """Also runs a recipe file of earlier versions, as a grid recorded it
    (hparams/distill/sp_two_step.yaml, models included from ../models)."""
    common = [
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        TEACHER.replace("models/", "../models/"),
        STUDENT.replace("models/", "../models/"),
        "--kd_warmup_epochs=1",
        *FAST,
    ]
    # KD-only first step, then "interrupted"; the rerun must go on with the
    # supervised second step, not start the schedule over
    run_recipe(
        "distill.py",
        "hparams/distill/sp_two_step.yaml",
        *common,
        "--number_of_epochs=1",
    )
    run_recipe(
        "distill.py",
        "hparams/distill/sp_two_step.yaml",
        *common,
        "--number_of_epochs=3",
    )
    epochs = [e for e in read_log(tmp_path) if "epoch" in e]
    assert [int(e["epoch"]) for e in epochs] == [1, 2, 3]
    assert "train kd" in epochs[0]
    # In the KD-only step the loss is the KD term alone
    assert float(epochs[0]["train loss"]) == pytest.approx(
        float(epochs[0]["train kd"]), rel=1e-3
    )
    assert all("train kd" not in e for e in epochs[1:])


def test_a_student_that_is_not_our_unet(tiny_corpus, teacher, tmp_path):
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        TEACHER,
        "--student=!include:models/student_transformer.yaml",
        "--student_latent=encoder",
        "--number_of_epochs=1",
        *FAST,
    )
    epoch = read_log(tmp_path)[0]
    assert float(epoch["train kd"]) > 0
    summary = json.loads((tmp_path / "test_summary.json").read_text())
    assert summary["pesq"]["n"] == 30


def test_wrong_latent_path_lists_the_modules(tiny_corpus, teacher, tmp_path):
    with pytest.raises(AssertionError, match="available: .*'bottleneck'"):
        run_recipe(
            "distill.py",
            "hparams/distill.yaml",
            f"--data_folder={tiny_corpus}",
            f"--teacher={teacher}",
            f"--output_folder={tmp_path}",
            TEACHER,
            STUDENT,
            "--student_latent=bottle_neck",
            *FAST,
        )


def test_distributed_distillation_on_two_cpu_ranks(
    tiny_corpus, teacher, tmp_path
):
    result = run_recipe(
        str(REPO / "tests" / "scripts" / "ddp_probe.py"),
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        TEACHER,
        STUDENT,
        "--number_of_epochs=1",
        "--device=cpu",
        "--distributed_backend=gloo",
        *FAST,
        torchrun=2,
        timeout=400,
    )
    # No rank takes a checkpoint being saved for an interrupted one
    assert "not completely saved" not in result.stdout + result.stderr
    ranks = [
        json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)
    ]
    n_train = len(
        json.loads((tmp_path / "manifests" / "train.json").read_text())
    )
    for rank in ranks:
        assert rank["world_size"] == 2
        assert rank["batches"] > 0
        assert rank["student_ddp"] and rank["kd_method_ddp"]
        assert not rank["teacher_ddp"] and not rank["teacher_trainable"]
    # The two ranks shared the epoch's utterances
    assert sum(r["utterances"] for r in ranks) >= n_train
    assert all(r["utterances"] < n_train for r in ranks)
    saved = torch.load(
        next((tmp_path / "save").glob("CKPT+*/model.ckpt")), map_location="cpu"
    )
    fresh = load_hyperpyyaml(
        f"m: !include:{REPO}/hparams/models/student_w64.yaml"
    )["m"]
    fresh.load_state_dict(saved, strict=True)


def test_distributed_debug_run_shares_one_checkpoint_folder(
    tiny_corpus, teacher, tmp_path
):
    """The README's torchrun command with --debug: each rank used to get
    its own temporary checkpoint folder and the ranks waited for each other
    forever after epoch 2."""
    result = run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path}",
        TEACHER,
        STUDENT,
        "--device=cpu",
        "--distributed_backend=gloo",
        "--debug",
        *FAST,
        torchrun=2,
        timeout=240,
    )
    epochs = [int(e["epoch"]) for e in read_log(tmp_path) if "epoch" in e]
    assert epochs == [1, 2]
    assert "not completely saved" not in result.stdout + result.stderr
    with open(tmp_path / "test_metrics.csv") as fin:
        assert len(fin.read().splitlines()) == 1 + 2  # debug: 2 batches of 1
    assert not list(tmp_path.glob("*.tmp*"))


NEW_METHOD = """\
# A KD method of one's own: its class, its settings and its schedule
name: frame_energy
latent: bottleneck
kd_weight: 1.0
method: !new:frame_energy_kd.FrameEnergyKD
    latent: !ref <latent>
schedule: !new:speechbrain_kd.distill.KDSchedule
    weight: !ref <kd_weight>
"""


def test_a_new_method_is_one_class_and_one_yaml(tiny_corpus, teacher, tmp_path):
    """A class (tests/byo/frame_energy_kd.py, the user's file) and a short
    YAML in a folder of the user's: the grid takes the YAML's path as a
    method and runs it through recipes/distill.py, no other file edited;
    its settings are options of the run (kd_weight, from the grid)."""
    from speechbrain_kd.grid import run_grid
    from speechbrain_kd.grid.config import check_grid

    method_yaml = tmp_path / "frame_energy.yaml"
    method_yaml.write_text(NEW_METHOD)
    code = REPO / "tests" / "byo" / "frame_energy_kd.py"
    grid = check_grid(
        {
            "output_folder": str(tmp_path / "runs"),
            "data_folder": str(tiny_corpus),
            "teacher": {"model": "student_w4", "folder": str(teacher)},
            "scenarios": [
                {"name": "w64", "student": "student_w64", "mismatch": "width"}
            ],
            "methods": [
                {
                    "name": "frame_energy",
                    "recipe": str(method_yaml),
                    "overrides": {"code_path": str(code), "kd_weight": 0.25},
                }
            ],
            "comparisons": [],
            "seeds": [1],
            "student_epochs": 1,
            "batch_size": 4,
            "segment_seconds": 1.0,
            "overrides": {"valid_speakers": ["p257"]},
        }
    )
    run_grid(grid)
    run = tmp_path / "runs" / "w64" / "frame_energy" / "seed1"
    assert "KD method FrameEnergyKD: no adapter, 1 trainable parameters" in (
        (run / "log.txt").read_text()
    )
    # the class's own parameter was trained and checkpointed with the run
    (kd_file,) = (run / "save").glob("CKPT+*/kd_method.ckpt")
    assert set(torch.load(kd_file)) == {"scale"}
    assert torch.load(kd_file)["scale"].item() != 1.0
    # the grid's kd_weight reached the method file's schedule
    epoch = read_log(run)[0]
    loss, denoise, kd = (
        float(epoch[f"train {key}"]) for key in ("loss", "denoise", "kd")
    )
    assert kd > 0
    assert loss == pytest.approx(denoise + 0.25 * kd, rel=2e-2)
    assert json.loads((run / "test_summary.json").read_text())["pesq"]["n"]


def test_a_student_that_requires_lengths(tiny_corpus, teacher, tmp_path):
    """SpeechBrain's MetricGAN generator: forward(x, lengths), no default;
    the probe passes lengths as training does (it used to fail here)."""
    student = tmp_path / "metricgan.yaml"
    student.write_text(
        "!new:speechbrain.lobes.models.MetricGAN.EnhancementGenerator\n"
        "    num_layers: 1\n"
    )
    run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={teacher}",
        f"--output_folder={tmp_path / 'run'}",
        TEACHER,
        f"--student=!include:{student}",
        "--student_latent=blstm",
        "--number_of_epochs=1",
        *FAST,
    )
    # its BiLSTM's 2 x 200 outputs, adapted to the teacher's bottleneck
    run = tmp_path / "run"
    assert "KD adapter adapters.0.linear of CosineLIB: 400 -> " in (
        (run / "log.txt").read_text()
    )
    assert float(read_log(run)[0]["train kd"]) > 0
    summary = json.loads((run / "test_summary.json").read_text())
    assert summary["pesq"]["n"] == 30


def test_a_teacher_folder_of_another_model_names_it(tiny_corpus, tmp_path):
    """--teacher is a run folder whose own hyperparams.yaml names another
    class than teacher_model: the error names that folder and that file,
    not the copy the Pretrainer made."""
    other = "speechbrain.lobes.models.MetricGAN.EnhancementGenerator"
    run = tmp_path / "metricgan_run"
    run.mkdir()
    (run / "hyperparams.yaml").write_text(
        f"model: !new:{other}\n    num_layers: 1\n"
    )
    model = load_hyperpyyaml((run / "hyperparams.yaml").read_text())["model"]
    sb.utils.checkpoints.Checkpointer(
        run / "save", {"model": model}
    ).save_checkpoint()
    with pytest.raises(AssertionError) as error:
        run_recipe(
            "distill.py",
            "hparams/distill.yaml",
            f"--data_folder={tiny_corpus}",
            f"--teacher={run}",
            f"--output_folder={tmp_path / 'out'}",
            TEACHER,
            *FAST,
        )
    (message,) = [
        line
        for line in str(error.value).splitlines()
        if line.startswith("ValueError: Teacher weights")
    ]
    assert f"Teacher weights {run} do not fit" in message
    recorded = run / "hyperparams.yaml"
    assert f"own {recorded} names another class, {other}" in message
    assert "save/teacher" not in message
