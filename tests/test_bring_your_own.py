"""Bringing one's own model, teacher and data, on real audio: a Conv1d
student defined outside the package, teachers from stock SpeechBrain
checkpoints, options that would train silently wrong, teachers that do not
fit their model file."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import ruamel.yaml
import speechbrain as sb
import torch
from conftest import FAST, REPO, TEACHER, run_recipe
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter
from speechbrain.utils.logger import format_order_of_magnitude

from speechbrain_kd.brains import DistillBrain
from speechbrain_kd.checkpoints import find_model_checkpoint
from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.data.mixing import mix_corpus
from speechbrain_kd.distill.layout import time_axes
from speechbrain_kd.distill.taps import FeatureTap
from speechbrain_kd.features import front_end_of
from speechbrain_kd.models import MaskUNet
from speechbrain_kd.run import prepare_data
from speechbrain_kd.teacher import check_teacher, load_strict
from speechbrain_kd.user_code import add_code_path

BYO = REPO / "tests" / "byo"
CODE_PATH = f"--code_path={BYO / 'conv_mask.py'}"
CONV_STUDENT = f"--student=!include:{BYO / 'conv_mask.yaml'}"


def _load_model(text):
    return load_hyperpyyaml(f"m: {text}")["m"]


def _best_model_file(run):
    return max((run / "save").glob("CKPT+*/model.ckpt"))


@pytest.fixture(scope="module")
def stock_save(teacher, tmp_path_factory):
    """The teacher's weights in the ``save/`` folder of a stock SpeechBrain
    recipe: written by SpeechBrain's own ``Checkpointer``."""
    run = tmp_path_factory.mktemp("stock_recipe") / "results" / "1234"
    model = _load_model(f"!include:{REPO}/hparams/models/student_w4.yaml")
    model.load_state_dict(torch.load(_best_model_file(teacher)))
    checkpointer = Checkpointer(
        run / "save", {"model": model, "counter": EpochCounter(2)}
    )
    checkpointer.save_and_keep_only(meta={"pesq": 1.5}, max_keys=["pesq"])
    return run / "save"


@pytest.fixture(scope="module")
def conv_student_run(tiny_corpus, stock_save, tmp_path_factory):
    """A Conv1d student of the user's own code distilled from a teacher in
    a stock SpeechBrain save/ folder (README options only)."""
    out = tmp_path_factory.mktemp("conv_student") / "run"
    result = run_recipe(
        "distill.py",
        "hparams/distill.yaml",
        f"--data_folder={tiny_corpus}",
        f"--teacher={stock_save}",
        f"--output_folder={out}",
        TEACHER,
        CODE_PATH,
        CONV_STUDENT,
        "--student_latent=latent",
        "--number_of_epochs=1",
        *FAST,
    )
    return out, result.stdout + result.stderr


def test_conv1d_student_latent_is_read_channels_first(conv_student_run):
    out, _ = conv_student_run
    adapter = torch.load(next(out.glob("save/CKPT+*/kd_method.ckpt")))
    # latent [batch, 16 channels, time]: 16 features a frame, not the
    # 63 frames of a 1 s crop
    assert adapter["adapters.0.linear.weight"].shape[1] == 16


def test_stock_speechbrain_save_folder_is_a_teacher(conv_student_run):
    _, log = conv_student_run
    assert "not completely saved" not in log
    assert "Teacher on the validation set: PESQ" in log


def test_adapter_counts_in_the_trainable_parameters(conv_student_run):
    out, log = conv_student_run
    student = torch.load(next(out.glob("save/CKPT+*/model.ckpt")))
    adapter = torch.load(next(out.glob("save/CKPT+*/kd_method.ckpt")))
    total = sum(v.numel() for v in [*student.values(), *adapter.values()])
    expected = format_order_of_magnitude(total)
    assert f"Total Number of Trainable Parameters: {expected}" in log


def test_teacher_found_wherever_a_speechbrain_user_keeps_it(
    stock_save, teacher, tmp_path
):
    best = next(stock_save.glob("CKPT+*"))
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "enhance_model.ckpt").symlink_to(best / "model.ckpt")
    places = [stock_save, stock_save.parent, best, best / "model.ckpt", hub]
    weights = torch.load(best / "model.ckpt")
    for place in places:
        found = find_model_checkpoint(str(place))
        model = _load_model(f"!include:{REPO}/hparams/models/student_w4.yaml")
        load_strict(model, found)
        for key, value in model.state_dict().items():
            assert torch.equal(value, weights[key]), (place, key)
    # our own run folders still resolve to their best checkpoint
    assert find_model_checkpoint(str(teacher)) == str(
        max(
            (teacher / "save").glob("CKPT+*"),
            key=lambda c: float(
                re.search(r"pesq: (\S+)", (c / "CKPT.yaml").read_text())[1]
            ),
        )
        / "model.ckpt"
    )


def test_teacher_weights_that_do_not_fit_are_refused(
    tiny_corpus, teacher, tmp_path
):
    # The user's Conv1d model file with the UNet teacher's weights: no key
    # in common, which a non-strict transfer loads without a word
    with pytest.raises(AssertionError) as error:
        run_recipe(
            "distill.py",
            "hparams/distill.yaml",
            f"--data_folder={tiny_corpus}",
            f"--teacher={teacher}",
            f"--output_folder={tmp_path}",
            CODE_PATH,
            f"--teacher_model=!include:{BYO / 'conv_mask.yaml'}",
            "--teacher_latent=latent",
            "--number_of_epochs=1",
            *FAST,
        )
    message = str(error.value)
    assert "do not fit the teacher_model model file (ConvMask)" in message
    assert "missing keys: encoder.weight" in message
    assert "unexpected keys: encoder.0." in message
    assert not list(tmp_path.glob("save/CKPT+*"))


def _distill_brain(tiny_corpus, teacher, out, teacher_model):
    overrides = {
        "data_folder": str(tiny_corpus),
        "teacher": str(teacher),
        "output_folder": str(out),
        "valid_speakers": ["p257"],
        "segment_seconds": 1.0,
    }
    text = "\n".join(f"{k}: {json.dumps(v)}" for k, v in overrides.items())
    text += f"\nteacher_model: {teacher_model}"
    text += "\nstudent: !include:models/student_w64.yaml"
    hparams_file = REPO / "hparams" / "distill.yaml"
    with open(hparams_file) as fin:
        hparams = load_hyperpyyaml(fin, text)
    # as the recipe does: the run's resolved hyperparams.yaml
    sb.create_experiment_directory(
        experiment_directory=str(out),
        hyperparams_to_save=str(hparams_file),
        overrides=text,
    )
    hparams["teacher_pretrainer"].collect_files()
    hparams["teacher_pretrainer"].load_collected()
    datasets = prepare_data(hparams)
    brain = DistillBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=hparams["checkpointer"],
    )
    return brain, datasets["valid"]


def test_teacher_check_reveals_a_causal_model_file(
    tiny_corpus, teacher, tmp_path
):
    unet = "!include:models/student_w4.yaml"
    right, valid = _distill_brain(tiny_corpus, teacher, tmp_path / "a", unet)
    # A model file with the same shapes, other behaviour: loads fine
    causal = tmp_path / "student_w4_causal.yaml"
    text = (REPO / "hparams" / "models" / "student_w4.yaml").read_text()
    causal.write_text(text.replace("causal: False", "causal: True"))
    wrong, _ = _distill_brain(
        tiny_corpus, teacher, tmp_path / "b", f"!include:{causal}"
    )
    assert wrong.teacher.causal and not right.teacher.causal
    opts = {"batch_size": 1}
    good = check_teacher(right, valid, opts)
    bad = check_teacher(wrong, valid, opts)
    assert good["noisy"] == bad["noisy"]
    # The causal reading of a non-causal model scores lower and is flagged
    assert bad["teacher"]["pesq"] < good["teacher"]["pesq"]
    assert bad["teacher"]["pesq"] <= bad["noisy"]["pesq"]
    log = (tmp_path / "b" / "log.txt").read_text()
    log = log[log.rindex("Teacher on the validation set") :]
    assert f"PESQ {bad['teacher']['pesq']:.2f}" in log
    assert "NO BETTER THAN THE NOISY INPUT" in log
    # and the teacher's run folder recorded the model it was trained as
    assert "causal: True (trained with False)" in log
    saved = json.loads((tmp_path / "b" / "teacher_check.json").read_text())
    assert saved == bad


def _real_feats(voicebank, seconds):
    wav = read_audio(voicebank / "noisy_testset_wav_16k" / "p232_003.wav")
    with open(REPO / "hparams" / "train.yaml") as fin:
        hparams = load_hyperpyyaml(fin, {"data_folder": "unused"})
    front_end = front_end_of(hparams)
    return front_end.model_input(wav[None, : int(seconds * 16000)])


@pytest.mark.parametrize(
    "model, path, expected",
    [
        ("!new:speechbrain_kd.models.MaskUNet", "bottleneck", 2),  # BCTF
        (
            f"!include:{REPO}/hparams/models/student_transformer.yaml",
            "encoder",
            1,
        ),  # [B, T, D]
        ("!new:conv_mask.ConvMask", "latent", 2),  # [B, D, T]
    ],
)
def test_latent_time_axis_is_found_by_probing(voicebank, model, path, expected):
    add_code_path(str(BYO / "conv_mask.py"))
    net = _load_model(model).eval()
    tap = FeatureTap(net, [path])
    seen = []
    for seconds in (1.0, 2.0):
        with torch.no_grad():
            net(_real_feats(voicebank, seconds))
        seen.append(dict(tap.features))
    assert time_axes(*seen, "student", net) == {path: expected}


def test_latent_without_time_axis_is_an_error_naming_it(voicebank):
    net = torch.nn.Sequential(
        torch.nn.Flatten(0, 0), torch.nn.AdaptiveAvgPool1d(4)
    )
    tap = FeatureTap(net, ["1"])
    seen = []
    for seconds in (1.0, 2.0):
        net(_real_feats(voicebank, seconds).transpose(1, 2))
        seen.append(dict(tap.features))
    with pytest.raises(ValueError, match=r"student latent '1' \(Sequential\)"):
        time_axes(*seen, "student", net)


@pytest.mark.parametrize(
    "override, message",
    [
        ("--kd_after_warmup=supervise", "kd_after_warmup='supervise'.*joint"),
        ("--kd_weight=-1", "kd_weight=-1 is not allowed: use a number >= 0"),
        ("--number_of_epochs=0", "number_of_epochs=0 .* integer >= 1"),
        ("--kd_precision=fp16", "kd_precision='fp16'.*'bf16'"),
        ("--batch_size=0", "batch_size=0"),
        ("--student_time_dim=0", "student_time_dim must be null"),
        ("--student_latent=[a, b]", "2 student layers but 1 teacher layers"),
        (
            "--kd_reduction=frames",
            "kd_reduction='frames' is not allowed: use one of 'frame'",
        ),
    ],
)
def test_bad_options_are_refused_naming_them(
    tiny_corpus, teacher, tmp_path, override, message
):
    with pytest.raises(AssertionError, match=message):
        run_recipe(
            "distill.py",
            "hparams/distill.yaml",
            f"--data_folder={tiny_corpus}",
            f"--teacher={teacher}",
            f"--output_folder={tmp_path}",
            TEACHER,
            override,
        )
    # refused before the run starts: no experiment folder, no checkpoint
    assert not (tmp_path / "log.txt").exists()
    assert not list(tmp_path.glob("save/CKPT+*"))


def test_own_class_without_code_path_says_how(tmp_path):
    with pytest.raises(AssertionError, match="--code_path=path/to/your"):
        run_recipe(
            "train.py",
            "hparams/train.yaml",
            f"--data_folder={tmp_path}",
            f"--output_folder={tmp_path / 'out'}",
            "--model=!new:conv_mask.ConvMask",
        )


def test_model_includes_read_the_same_in_train_and_distill(teacher):
    """``models/<name>.yaml`` in the overrides of both recipes."""
    w64 = _load_model(f"!include:{REPO}/hparams/models/student_w64.yaml")
    for hparams_file, key in (
        ("train.yaml", "model"),
        ("distill.yaml", "student"),
    ):
        overrides = (
            f"data_folder: unused\nteacher: {teacher}\n"
            f"{key}: !include:models/student_w64.yaml"
        )
        if key == "model":
            overrides = overrides.replace(f"teacher: {teacher}\n", "")
        with open(REPO / "hparams" / hparams_file) as fin:
            hparams = load_hyperpyyaml(fin, overrides)
        assert isinstance(hparams[key], MaskUNet)
        assert sum(p.numel() for p in hparams[key].parameters()) == sum(
            p.numel() for p in w64.parameters()
        )


def _readme_walkthrough():
    """The files and commands of the README's "Bring your own model"."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Bring your own model")[1].split("\n## ")[0]
    section = section.split("\n### ")[0]
    files = dict(
        re.findall(r"`(my_models/[\w.]+)`:\n\n```\w+\n(.*?)```", section, re.S)
    )
    commands = [
        command.replace("\\\n", " ")
        for block in re.findall(r"```bash\n(.*?)```", section, re.S)
        for command in re.split(r"\n(?=python |sbkd-)", block.strip())
    ]
    return files, commands


def _program(command):
    """``recipes/train.py`` of ``python recipes/train.py ...``, or the
    console command (``sbkd-publish``) of one."""
    words = command.split()
    return words[1] if words[0] == "python" else words[0]


def test_readme_walkthrough_trains_and_distils_ones_own_model(
    tiny_corpus, shared_data, console_scripts, tmp_path
):
    files, commands = _readme_walkthrough()
    assert set(files) == {
        "my_models/conv_mask.py",
        "my_models/conv_mask_wide.yaml",
    }
    assert [_program(c) for c in commands] == [
        "recipes/train.py",
        "recipes/distill.py",
        "recipes/export.py",
        "sbkd-publish",
    ]
    # A user's folder: their code, the recipes, a corpus
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(content)
    for name in ("recipes", "hparams"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample_corpus").symlink_to(tiny_corpus)
    python = str(Path(sys.executable).parent)
    options = {
        "recipes/train.py": f"--number_of_epochs=1 {' '.join(FAST)}",
        "recipes/distill.py": f"--number_of_epochs=1 {' '.join(FAST)}",
        "recipes/export.py": f"--shared_data={shared_data}",
        "sbkd-publish": "",
    }
    for command in commands:
        result = subprocess.run(
            f"{command} {options[_program(command)]}",
            shell=True,
            cwd=tmp_path,
            env={
                **os.environ,
                "PATH": f"{console_scripts}:{python}:{os.environ['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "results" / "distill" / "conv_mask_cosine_lib" / "1234"
    summary = json.loads((run / "test_summary.json").read_text())
    assert summary["pesq"]["n"] == 30
    adapter = torch.load(next(run.glob("save/CKPT+*/kd_method.ckpt")))
    # student latent 16 channels -> teacher latent 64 channels, per frame
    assert adapter["adapters.0.linear.weight"].shape == (64, 16)
    assert (run / "teacher_check.json").exists()
    # the run records where the user's code is, for an export to find it
    with open(run / "hyperparams.yaml") as fin:
        recorded = ruamel.yaml.YAML().load(fin)["code_path"]
    assert recorded == str(tmp_path / "my_models" / "conv_mask.py")
    # exported with its code, the model read from the run's record; the
    # dry run loaded it in a fresh interpreter
    export = tmp_path / "results" / "export" / "conv_mask"
    assert "class ConvMask" in (export / "custom.py").read_text()
    assert "loads in a fresh interpreter" in result.stdout


def test_resuming_another_models_folder_is_a_clear_error(tiny_corpus, tmp_path):
    common = [
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={tmp_path}",
        "--debug",
        "--debug_persistently",
        *FAST,
    ]
    run_recipe(*common, "--model=!include:models/student_w64.yaml")
    with pytest.raises(AssertionError) as error:
        run_recipe(*common, "--model=!include:models/student_w4.yaml")
    message = str(error.value)
    assert f"Cannot resume from {tmp_path / 'save'}" in message
    assert "another model" in message and "--experiment" in message


def test_own_speech_folders_say_how_speakers_were_found(
    shared_data, tmp_path, caplog
):
    """Top-level subfolders are speakers: the log says so, and warns when
    the held-out speakers take most of a small corpus."""
    sources = sorted((shared_data / "speech").iterdir())[:5]
    for source in sources:
        (tmp_path / "speech" / source.name).mkdir(parents=True)
        for path in sorted(source.iterdir())[:2]:
            (tmp_path / "speech" / source.name / path.name).symlink_to(path)
    noise = sorted((shared_data / "noise").rglob("*.flac"))[:2]
    (tmp_path / "noise").mkdir()
    for path in noise:
        (tmp_path / "noise" / path.name).symlink_to(path)
    caplog.set_level("INFO")
    info = mix_corpus(
        tmp_path / "speech",
        tmp_path / "noise",
        tmp_path / "out",
        max_seconds=1.0,
    )
    valid, total = info["counts"]["valid"], sum(info["counts"].values())
    assert len(info["valid_speakers"]) == 4 and valid > total / 2
    assert "one per top-level subfolder" in caplog.text
    assert "(5 found: " in caplog.text
    share = f"{100 * valid / total:.0f} %"
    assert f"{valid} of the {total} utterances ({share})" in caplog.text
