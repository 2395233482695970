"""Shared fixtures: the real audio in ``../shared/data`` beside the repo."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("SBKD_SHARED_DATA", REPO.parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data():
    """Path to ``../shared/data``; the suite needs it (no download)."""
    if not (SHARED_DATA / "voicebank").is_dir():
        pytest.fail(
            f"Real audio not found at {SHARED_DATA}; clone the repo next to "
            "shared/ or set SBKD_SHARED_DATA."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def voicebank(shared_data):
    """The real VoiceBank-DEMAND pairs in their own layout."""
    return shared_data / "voicebank"


@pytest.fixture(scope="session")
def tiny_corpus(voicebank, tmp_path_factory):
    """A VoiceBank-DEMAND layout of symlinks to the 30 real test pairs.

    Its trainset holds the same pairs as its testset; with
    ``valid_speakers=[p257]`` speaker p232 trains and p257 validates.
    For fast recipe tests only: the splits are not independent.
    """
    root = tmp_path_factory.mktemp("tiny_corpus")
    for kind in ("clean", "noisy"):
        source = voicebank / f"{kind}_testset_wav_16k"
        (root / f"{kind}_trainset_28spk_wav_16k").symlink_to(source)
        (root / f"{kind}_testset_wav_16k").symlink_to(source)
    return root


FAST = [
    "--valid_speakers=[p257]",
    "--batch_size=4",
    "--segment_seconds=1.0",
]


# The teacher of the distillation tests: the 1/4 student architecture
TEACHER = "--teacher_model=!include:models/student_w4.yaml"


@pytest.fixture(scope="session")
def teacher(tiny_corpus, tmp_path_factory):
    """A small teacher (the 1/4 student architecture) trained 2 epochs."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={out}",
        "--model=!include:models/student_w4.yaml",
        "--number_of_epochs=2",
        *FAST,
    )
    return out


@pytest.fixture(scope="session")
def console_scripts(tmp_path_factory):
    """A folder of the console commands ``setup.py`` declares (``sbkd-*``),
    each written as pip writes it, for this interpreter and checkout: put
    it first on ``PATH`` to run the commands as the README writes them."""
    import re
    import sys

    declared = re.findall(
        r'"(sbkd-[\w-]+) = ([\w.]+):(\w+)"', (REPO / "setup.py").read_text()
    )
    assert declared, "setup.py declares no sbkd-* console_scripts"
    folder = tmp_path_factory.mktemp("bin")
    for name, module, function in declared:
        script = folder / name
        script.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            f"from {module} import {function}\n"
            f"sys.exit({function}())\n"
        )
        script.chmod(0o755)
    return folder


def run_recipe(script, hparams, *overrides, torchrun=None, timeout=600):
    """Runs a recipe of ``recipes/`` as a user would; returns the process."""
    import subprocess
    import sys

    if torchrun:
        launcher = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={torchrun}",
        ]
    else:
        launcher = [sys.executable]
    command = [*launcher, str(REPO / "recipes" / script), hparams, *overrides]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-5000:]}"
        )
    return result


def read_log(folder):
    """Parses ``train_log.txt`` into a list of ``{key: value}`` per line."""
    entries = []
    for line in (Path(folder) / "train_log.txt").read_text().splitlines():
        entry = {}
        for part in line.replace(" - ", ", ").split(", "):
            key, _, value = part.rpartition(": ")
            entry[key.strip()] = value.strip()
        entries.append(entry)
    return entries


def training_brain(*overrides):
    """The Brain ``recipes/train.py`` builds from ``hparams/train.yaml``
    with ``overrides`` (``--key=value``), before any training step."""
    from speechbrain_kd.brains import EnhanceBrain
    from speechbrain_kd.run import load_experiment

    hparams, run_opts = load_experiment(
        [str(REPO / "hparams" / "train.yaml"), *overrides]
    )
    return EnhanceBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
