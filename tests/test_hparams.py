"""Every YAML of hparams/ loads, with its placeholders filled.

A broken ``!include`` or ``!ref``, a class that moved, or a key that a
recipe reads but a YAML renamed fails here, before any recipe runs.
Recipe files and grid files load whole (``load_hyperpyyaml`` with
overrides for their ``!PLACEHOLDER`` entries); the files of ``models/``,
``losses/``, ``features/`` and ``methods/`` are fragments, loaded the way
recipes use them, through ``!include``.
"""

import os
from pathlib import Path

import pytest
import ruamel.yaml
import torch
from conftest import REPO
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.distill import KDMethod, KDSchedule
from speechbrain_kd.features import SETTINGS

HPARAMS = REPO / "hparams"
# Included by the recipes, never loaded alone
FRAGMENTS = ("models", "losses", "features", "methods")

# What the recipes and Brains read from each kind of recipe file
RECIPE_KEYS = (
    *SETTINGS,
    "features",
    "seed",
    "data_folder",
    "output_folder",
    "manifest_folder",
    "enhanced_folder",
    "valid_speakers",
    "skip_prep",
    "segment_seconds",
    "train_data",
    "dataset_format",
    "test_folder",
    "extra_train_noise",
    "steps_per_epoch",
    "snr_range",
    "level_range",
    "batch_size",
    "extra_test_sets",
    "train_dataloader_opts",
    "valid_dataloader_opts",
    "scoring_workers",
    "loss",
    "modules",
    "opt_class",
    "epoch_counter",
    "budget",
    "train_logger",
    "checkpointer",
)
DISTILL_KEYS = (
    "teacher",
    "teacher_model",
    "teacher_pretrainer",
    "student",
    "kd_method",
    "kd_precision",
    "distillation",
)
EXPORT_KEYS = (
    "checkpoint",
    "model_file",
    "features",
    "output_folder",
    "noisy_folder",
    "clean_folder",
    "example_wav",
    "parity_wavs",
    "pesq_files",
    "metrics_file",
    "card_info",
    "quantize",
    "streaming",
    "targets",
    "overwrite",
)


def yaml_files(kind):
    """The YAML files of hparams/ (symlinked folders not followed)."""
    found = []
    for root, _, files in os.walk(HPARAMS):
        relative = Path(root).relative_to(HPARAMS)
        is_fragment = relative.parts[:1] and relative.parts[0] in FRAGMENTS
        if bool(is_fragment) == (kind == "fragment"):
            found += [Path(root) / f for f in files if f.endswith(".yaml")]
    return sorted(found)


def placeholders(path):
    """The keys of a file whose value is ``!PLACEHOLDER``."""
    with open(path, encoding="utf-8") as fin:
        tree = ruamel.yaml.YAML().load(fin)
    return [
        key
        for key, value in tree.items()
        if getattr(getattr(value, "tag", None), "value", None) == "!PLACEHOLDER"
    ]


def plausible_values(path, tmp_path, shared_data):
    """Overrides filling the placeholders of a file, and its output folder."""
    teacher = tmp_path / "teacher" / "model.ckpt"
    teacher.parent.mkdir()
    teacher.touch()
    values = {
        "data_folder": str(shared_data / "voicebank"),
        "teacher": str(teacher),
        "checkpoint": str(teacher.parent),
        "output_folder": str(tmp_path / "out"),
    }
    overrides = {}
    for key in placeholders(path):
        assert key in values, (
            f"{path.relative_to(REPO)}: no plausible value for the "
            f"placeholder {key!r}; add one to tests/test_hparams.py"
        )
        overrides[key] = values[key]
    with open(path, encoding="utf-8") as fin:
        keys = ruamel.yaml.YAML().load(fin)
    if "output_folder" in keys:
        overrides["output_folder"] = values["output_folder"]
    return overrides


@pytest.mark.parametrize(
    "path",
    yaml_files("whole"),
    ids=lambda path: str(path.relative_to(HPARAMS)),
)
def test_every_recipe_and_grid_file_loads(path, tmp_path, shared_data):
    """Each recipe and grid file loads whole, with the keys its recipe
    reads; its output folder is the only thing written."""
    overrides = plausible_values(path, tmp_path, shared_data)
    with open(path, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    relative = path.relative_to(HPARAMS)
    expected = ()
    if relative.name == "distill.yaml":
        expected = RECIPE_KEYS + DISTILL_KEYS
    elif relative.name == "train.yaml":
        expected = RECIPE_KEYS + ("model",)
    elif relative.name == "export.yaml":
        expected = EXPORT_KEYS
    missing = [key for key in expected if key not in hparams]
    assert not missing, f"{relative} lacks {missing}"
    if "modules" in hparams:
        assert isinstance(hparams["modules"]["model"], torch.nn.Module)
        assert {hparams[key] for key in SETTINGS} == {
            hparams["features"][key] for key in SETTINGS
        }


@pytest.mark.parametrize(
    "path",
    yaml_files("fragment"),
    ids=lambda path: str(path.relative_to(HPARAMS)),
)
def test_every_fragment_loads_through_include(path):
    """Each model, loss, features and method file loads as recipes
    include it."""
    loaded = load_hyperpyyaml(f"fragment: !include:{path}\n")["fragment"]
    kind = path.relative_to(HPARAMS).parts[0]
    if kind == "models":
        assert isinstance(loaded, torch.nn.Module)
    elif kind == "losses":
        assert callable(loaded["compute_cost"])
    elif kind == "methods":
        assert isinstance(loaded["method"], KDMethod)
        assert isinstance(loaded["schedule"], KDSchedule)
        assert loaded["name"] == path.stem
    else:
        described = loaded["front_end"].describe()
        assert {key: described[key] for key in SETTINGS} == {
            key: loaded[key] for key in SETTINGS
        }


def test_feature_settings_are_written_only_in_features_files():
    """n_fft and the other STFT settings have values only in the files of
    hparams/features; every other YAML refers to one of them."""
    literal = []
    for path in yaml_files("whole") + yaml_files("fragment"):
        if path.parent.name == "features":
            continue
        with open(path, encoding="utf-8") as fin:
            for number, line in enumerate(fin, 1):
                key, _, value = line.partition(":")
                value = value.split("#")[0].strip()
                if key.strip() in SETTINGS and not value.startswith("!ref"):
                    literal.append(f"{path.name}:{number}: {line.strip()}")
    assert literal == []


def test_a_recipe_takes_other_features_by_include(tmp_path):
    """--features='!include:features/stft_16ms.yaml' sets every setting,
    in the training and the distillation recipes alike."""
    teacher = tmp_path / "model.ckpt"
    teacher.touch()
    for path in (
        HPARAMS / "train.yaml",
        HPARAMS / "distill.yaml",
    ):
        overrides = (
            f"data_folder: unused\noutput_folder: {tmp_path}\n"
            "features: !include:features/stft_16ms.yaml\n"
        )
        if path.name == "distill.yaml":
            overrides += f"teacher: {teacher}\n"
        with open(path, encoding="utf-8") as fin:
            hparams = load_hyperpyyaml(fin, overrides)
        assert [hparams[key] for key in SETTINGS] == [16000, 256, 16, 8]


def test_the_grid_lists_the_methods_folder():
    """The grid's KD methods are the files of hparams/methods, each run by
    hparams/distill.yaml with --kd_method naming it."""
    from speechbrain_kd.grid.config import DISTILL_METHODS
    from speechbrain_kd.grid.recipes import recipe_command

    files = sorted(path.stem for path in (HPARAMS / "methods").glob("*.yaml"))
    assert sorted(DISTILL_METHODS) == files
    for method in files:
        command = recipe_command(method, {})
        assert Path(command[2]) == HPARAMS / "distill.yaml"
        assert command[3] == f"--kd_method=!include:methods/{method}.yaml"
