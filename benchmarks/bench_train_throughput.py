#!/usr/bin/env python3
"""Benchmark: training throughput, old path vs new, side by side.

For each model (the CPU teacher and two students) the real training recipe
(``recipes/train.py``'s Brain and data) runs the same number of optimizer
steps twice, one path after the other in this run:

- ``old``: the static sample corpus (28-step epochs, one validation after
  each), fp32, metrics computed in the training process;
- ``new``: dynamic mixing with one epoch of all the steps (one validation),
  SpeechBrain's bf16 autocast where the CPU runs it natively (fp32
  elsewhere), metrics in two worker processes.

Both use a constant learning rate, so the validation PESQ after the equal
number of steps shows whether the faster path learns worse. The wall time
of ``Brain.fit`` (training and its validations; loading the audio pools
and the test stage excluded) gives steps/s and audio-seconds trained per
second. Figures go to ``results/bench/train_throughput.json``.

Usage::

    python benchmarks/bench_train_throughput.py --shared_data ../shared/data

(``--steps`` and ``--models`` to shorten it).

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import os
import subprocess
import sys
import time

from common import REPO, benchmark_parser

from speechbrain_kd.brains import EnhanceBrain
from speechbrain_kd.data.mixing import build_sample_corpus
from speechbrain_kd.precision import resolve_precision
from speechbrain_kd.run import (
    load_experiment,
    prepare_data,
    train_loader_kwargs,
)

PATHS = {
    "old": ["--train_data=static", "--precision=fp32", "--scoring_workers=0"],
    "new": [
        "--train_data=dynamic",
        # bf16 autocast where this CPU runs it natively, else fp32
        f"--precision={resolve_precision('auto')}",
        "--scoring_workers=2",
    ],
}
STATIC_EPOCH_STEPS = 28  # 444 training mixtures / batch 16


def time_fit(argv):
    """Trains with the recipe's Brain; returns the timing and the quality.

    Arguments
    ---------
    argv : list of str
        ``hparams/train.yaml`` and overrides, as for ``recipes/train.py``.

    Returns
    -------
    dict
        ``fit_seconds``, ``steps``, ``valid_pesq`` (after the last epoch).
    """
    hparams, run_opts = load_experiment(argv)
    datasets = prepare_data(hparams)
    brain = EnhanceBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    start = time.perf_counter()
    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=train_loader_kwargs(hparams, datasets["train"]),
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    seconds = time.perf_counter() - start
    brain.scoring.close()
    with open(hparams["train_log"], encoding="utf-8") as fin:
        last = fin.read().strip().splitlines()[-1]
    pesq = float(last.split("valid pesq: ")[1].split(",")[0])
    return {"fit_seconds": seconds, "valid_pesq": pesq}


def run_path(model, path, steps, corpus, shared_data, folder):
    """Runs one path in a fresh process; returns its figures."""
    epochs = steps // STATIC_EPOCH_STEPS
    extra = (
        [f"--number_of_epochs={epochs}"]
        if path == "old"
        else ["--number_of_epochs=1", f"--steps_per_epoch={steps}"]
    )
    argv = [
        "hparams/train.yaml",
        f"--data_folder={corpus}",
        f"--model=!include:models/{model}.yaml",
        f"--output_folder={folder}/{model}_{path}",
        f"--extra_train_noise=[{shared_data}/noise_ambient]",
        *PATHS[path],
        *extra,
    ]
    out = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(argv)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    seconds = result["fit_seconds"]
    return {
        # other processes' load skews the figures: it is recorded with them
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "steps": steps,
        "fit_seconds": round(seconds, 2),
        "steps_per_s": round(steps / seconds, 4),
        "audio_s_per_s": round(steps * 16 * 2.0 / seconds, 2),
        "valid_pesq": result["valid_pesq"],
    }


def main(argv=None):
    """Runs the benchmark and writes its JSON."""
    parser = benchmark_parser(
        __doc__.split("\n")[0], "results/bench", corpus=True
    )
    parser.add_argument(
        "--models", default="teacher_cpu,student_w16,student_wd64"
    )
    parser.add_argument("--steps", type=int, default=112)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(time_fit(json.loads(args.one))))
        return None
    if args.steps % STATIC_EPOCH_STEPS:
        parser.error(f"--steps must be a multiple of {STATIC_EPOCH_STEPS}")
    corpus = os.path.abspath(args.corpus)
    shared_data = os.path.abspath(args.shared_data)
    build_sample_corpus(shared_data, corpus, seed=1234)
    output = os.path.abspath(args.output)
    folder = os.path.join(output, "throughput_runs")
    results = {}
    for model in args.models.split(","):
        results[model] = {}
        for path in PATHS:
            figures = run_path(
                model, path, args.steps, corpus, shared_data, folder
            )
            results[model][path] = figures
            print(f"{model:14s} {path}: {figures}", flush=True)
        old, new = results[model]["old"], results[model]["new"]
        results[model]["speedup"] = round(
            new["steps_per_s"] / old["steps_per_s"], 2
        )
        print(f"{model:14s} speed-up x{results[model]['speedup']}")
    report = {
        "command": "python benchmarks/bench_train_throughput.py",
        "paths": {name: " ".join(opts) for name, opts in PATHS.items()},
        "batch": "16 x 2.0 s",
        "threads": os.environ.get("OMP_NUM_THREADS", "torch default"),
        "results": results,
    }
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, "train_throughput.json")
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(report, fout, indent=2)
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
