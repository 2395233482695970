"""What the benchmarks and studies of this folder share: their options.

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
from pathlib import Path

import torch

# The checkout these scripts belong to (its hparams/ and recipes/)
REPO = Path(__file__).resolve().parents[1]
HPARAMS = REPO / "hparams"
DEFAULT_SHARED_DATA = REPO.parent / "shared" / "data"


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
