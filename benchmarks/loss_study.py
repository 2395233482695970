#!/usr/bin/env python3
"""Study: which denoising loss trains a student best, at equal steps.

Trains the same student with every loss file of ``hparams/losses/`` (same
seed, same dynamic mixtures, same step budget and schedule) and writes the
best validation PESQ of each (the choice is made on it) with the test
scores beside it, to ``results/losses/summary.json`` and ``summary.md``.
Finished runs are skipped, so an interrupted study resumes.

Usage::

    python benchmarks/loss_study.py --shared_data ../shared/data \\
        --model student_w16 --max_steps 1000

Authors
 * speechbrain-kd contributors 2026
"""

import glob
import json
import os
import subprocess
import sys

from common import HPARAMS, REPO, benchmark_parser

from speechbrain_kd.data.mixing import build_sample_corpus
from speechbrain_kd.report import markdown_table


def best_valid_pesq(folder):
    """The best validation PESQ of a run's ``train_log.txt``."""
    with open(os.path.join(folder, "train_log.txt"), encoding="utf-8") as fin:
        return max(
            float(line.split("valid pesq: ")[1].split(",")[0])
            for line in fin
            if "valid pesq: " in line
        )


def main(argv=None):
    """Runs the study; returns the summary."""
    parser = benchmark_parser(
        __doc__.split("\n")[0], "results/losses", corpus=True, seed=True
    )
    parser.add_argument("--model", default="student_w16")
    parser.add_argument("--max_steps", type=int, default=1000)
    args = parser.parse_args(argv)
    shared = os.path.abspath(args.shared_data)
    corpus = os.path.abspath(args.corpus)
    build_sample_corpus(shared, corpus, seed=1234)
    out = os.path.abspath(args.output)
    losses = sorted(
        os.path.basename(path)[: -len(".yaml")]
        for path in glob.glob(str(HPARAMS / "losses" / "*"))
    )
    summary = {}
    for loss in losses:
        folder = os.path.join(out, f"{args.model}_{loss}")
        if not os.path.exists(os.path.join(folder, "test_summary.json")):
            command = [
                sys.executable,
                "recipes/train.py",
                "hparams/train.yaml",
                f"--data_folder={corpus}",
                f"--model=!include:models/{args.model}.yaml",
                f"--loss=!include:losses/{loss}.yaml",
                "--train_data=dynamic",
                f"--extra_train_noise=[{shared}/noise_ambient]",
                f"--max_steps={args.max_steps}",
                "--precision=bf16",
                f"--seed={args.seed}",
                f"--output_folder={folder}",
            ]
            print(f"[loss study] {' '.join(command)}", flush=True)
            subprocess.run(command, cwd=REPO, check=True)
        with open(os.path.join(folder, "test_summary.json")) as fin:
            test = json.load(fin)
        summary[loss] = {
            "best_valid_pesq": best_valid_pesq(folder),
            **{f"test_{k}": round(test[k]["mean"], 3) for k in test},
        }
    chosen = max(summary, key=lambda name: summary[name]["best_valid_pesq"])
    table = markdown_table(
        ["loss", "best valid PESQ", "test PESQ", "test STOI", "test SI-SDR"],
        [
            [
                f"{name}{' (chosen)' if name == chosen else ''}",
                f"{s['best_valid_pesq']:.3f}",
                f"{s['test_pesq']:.3f}",
                f"{s['test_stoi']:.3f}",
                f"{s['test_sisdr']:.2f}",
            ]
            for name, s in summary.items()
        ],
    )
    command = (
        f"python benchmarks/loss_study.py --model {args.model} "
        f"--max_steps {args.max_steps}"
    )
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "summary.json"), "w") as fout:
        json.dump({"command": command, "chosen": chosen, **summary}, fout)
    with open(os.path.join(out, "summary.md"), "w") as fout:
        fout.write(f"`{command}`\n\n{table}\n")
    print(table)
    return summary


if __name__ == "__main__":
    main()
