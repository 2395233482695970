"""What the benchmarks and studies of this folder share: their options,
the machine they ran on, and the scoring of a system on the test pairs of
``../shared/data``.

Every script here runs from a checkout with the package installed
(``make install``, or ``pip install -e .``), as
``python benchmarks/<name>.py``; each reads the real audio of
``--shared_data`` and writes its results under ``--output``. Relative
paths are taken from the working directory.

Example
-------
>>> parser = benchmark_parser("A benchmark.", "results/bench")
>>> args = parser.parse_args(["--shared_data", "data"])
>>> args.shared_data, args.output
('data', 'results/bench')
>>> parser = step_benchmark_parser("Steps.", steps=20, warmup=3)
>>> args = parser.parse_args([])
>>> args.steps, args.warmup, args.batch_size
(20, 3, 16)

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.metrics import pesq_wb, sisdr, stoi

# The checkout these scripts belong to (its hparams/ and recipes/)
REPO = Path(__file__).resolve().parents[1]
HPARAMS = REPO / "hparams"
DEFAULT_SHARED_DATA = REPO.parent / "shared" / "data"

# Test sets: folder of ../shared/data, noisy and clean sub-folders, pattern.
TEST_SETS = {
    "voicebank": (
        "voicebank",
        "noisy_testset_wav_16k",
        "clean_testset_wav_16k",
        "*.wav",
    ),
    "dns_test_noreverb": ("dns_test_noreverb", "noisy", "clean", "*.flac"),
}
METRICS = ("pesq", "stoi", "sisdr")


def benchmark_parser(
    description, output, shared_data=True, corpus=False, seed=False
):
    """The options every benchmark and study takes.

    Arguments
    ---------
    description : str
        The script's one-line description.
    output : str
        The default results folder (or file).
    shared_data : bool
        Whether to take ``--shared_data`` (the scripts that only read
        finished runs do not).
    corpus : bool
        Whether to take ``--corpus``: the sample corpus, built from
        ``--shared_data`` if missing.
    seed : bool
        Whether to take ``--seed``.

    Returns
    -------
    argparse.ArgumentParser
        For the script to add its own options to.
    """
    parser = argparse.ArgumentParser(description=description)
    if shared_data:
        parser.add_argument(
            "--shared_data",
            default=str(DEFAULT_SHARED_DATA),
            help="the shared/data folder of real audio (default: beside "
            "the checkout)",
        )
    parser.add_argument(
        "--output", default=output, help=f"results (default: {output})"
    )
    if corpus:
        parser.add_argument(
            "--corpus",
            default="data/sample_corpus",
            help="the sample corpus, built there if missing",
        )
    if seed:
        parser.add_argument("--seed", type=int, default=1234)
    return parser


def step_benchmark_parser(description, steps, warmup):
    """The options of a training-step benchmark: :func:`benchmark_parser`'s
    and the batch size, how many steps to time after how many warm-up
    steps; results go to ``results/bench`` by default."""
    parser = benchmark_parser(description, "results/bench")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--warmup", type=int, default=warmup)
    return parser


def machine_info():
    """CPU model, flags and Python/torch versions of this machine, for
    the result files of benchmarks and studies."""
    info = {
        "platform": platform.platform(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and "cpu_model" not in info:
                info["cpu_model"] = value.strip()
            elif key == "flags" and "cpu_flags" not in info:
                info["cpu_flags"] = value.strip()
    return info


def scoring_pairs(shared_data, test_set):
    """Lists the (noisy, clean) file pairs of one test set.

    Arguments
    ---------
    shared_data : pathlib.Path
        The ``shared/data`` folder.
    test_set : str
        A key of ``TEST_SETS``.

    Returns
    -------
    list of (pathlib.Path, pathlib.Path)
    """
    folder, noisy, clean, pattern = TEST_SETS[test_set]
    noisy_files = sorted((shared_data / folder / noisy).glob(pattern))
    if not noisy_files:
        raise FileNotFoundError(
            f"No {pattern} files in {shared_data / folder / noisy}"
        )
    pairs = [(f, shared_data / folder / clean / f.name) for f in noisy_files]
    missing = [str(c) for _, c in pairs if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"Clean references missing: {missing}")
    return pairs


def score_system(enhance_fn, pairs, label):
    """Mean PESQ, STOI and SI-SDR of ``enhance_fn`` over ``pairs``.

    Arguments
    ---------
    enhance_fn : callable or None
        Maps a noisy waveform to the enhanced one (None: score the noisy).
    pairs : list of (pathlib.Path, pathlib.Path)
        Noisy and clean files.
    label : str
        Progress-bar label.

    Returns
    -------
    dict
        ``{metric: mean}``, ``n`` files and ``seconds`` of enhancement.
    """
    scores = {m: [] for m in METRICS}
    enhance_seconds = audio_seconds = 0.0
    for noisy_path, clean_path in tqdm(pairs, desc=label, leave=False):
        noisy = read_audio(noisy_path)
        clean = read_audio(clean_path)
        start = time.perf_counter()
        output = noisy if enhance_fn is None else enhance_fn(noisy)
        enhance_seconds += time.perf_counter() - start
        audio_seconds += noisy.numel() / 16000
        name = noisy_path.name
        scores["pesq"].append(pesq_wb(output, clean, name=name))
        scores["stoi"].append(stoi(output, clean, name=name))
        scores["sisdr"].append(sisdr(output, clean, name=name))
    means = {m: float(np.nanmean(v)) for m, v in scores.items()}
    return {
        **means,
        "n": len(pairs),
        "real_time_factor": enhance_seconds / audio_seconds,
    }


def machine_lines(machine):
    """The machine of a benchmark as markdown lines (CPU model, flags)."""
    return (
        f"\nMachine: {machine.get('cpu_model', 'unknown CPU')}, "
        f"{machine['logical_cpus']} logical CPUs, torch "
        f"{machine['torch']} on {machine['torch_threads']} thread(s).\n\n"
        f"CPU flags: {machine.get('cpu_flags', 'unknown')}\n"
    )
