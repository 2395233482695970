#!/usr/bin/env python3
"""The main job: distil a compact student end to end on the sample corpus.

1. builds the sample corpus (once) from ``../shared/data``: clean speech
   mixed with real noise at 0/5/10/15 dB, with the real VoiceBank-DEMAND
   test pairs as its test set; its held-out speakers and noises validate;
2. trains the CPU teacher (a time budget), the student alone and the
   student distilled with cosine latent alignment through a LIB adapter
   (same student, same number of steps, same seed), all on fresh dynamic
   mixtures of the corpus' training speech and noise (plus
   ``noise_ambient``) at -5 to 20 dB, with bf16 autocast where the CPU
   runs it natively (AVX512-BF16 or AMX; fp32 elsewhere, where bf16 is
   several times slower);
3. scores noisy input, teacher and students on the real test pairs,
   exports the distilled student to ``results/demo/export`` and its twin
   trained alone to ``results/demo/export_alone`` (each checked for
   parity, with its model card);
4. writes ``results/demo/report.md`` (table and plot) and
   ``results/demo/summary.json``; the report gives the paired
   per-utterance difference of the two students with its 95 % interval.

Every step is a recipe a user can run alone (the commands are printed); a
step already complete is skipped, and an interrupted one resumes from its
last checkpoint.

Usage: ``python benchmarks/demo.py --shared_data ../shared/data``
(``make demo``)

Authors
 * speechbrain-kd contributors 2026
"""

import csv
import json
import logging
import os
import subprocess
import sys
import time

from common import HPARAMS, REPO, benchmark_parser

from speechbrain_kd import metrics
from speechbrain_kd.data.mixing import build_sample_corpus
from speechbrain_kd.grid.runner import run_once
from speechbrain_kd.grid.stats import paired_difference
from speechbrain_kd.precision import resolve_precision
from speechbrain_kd.report import metric_label, write_report

SYSTEMS = ("teacher", "student_alone", "student_cosine_lib")


def run_step(name, command, output_folder):
    """Runs a recipe unless its test summary exists; returns the summary."""
    summary = os.path.join(output_folder, "test_summary.json")
    seconds = run_once(f"[demo] {name}", summary, command)
    if seconds:
        print(f"[demo] {name}: {seconds:.0f} s", flush=True)
    with open(summary, encoding="utf-8") as fin:
        return json.load(fin)


def export_student(name, folder, export_folder, args, card):
    """Exports a trained student (parity-checked) unless already done."""
    run_once(
        f"[demo] exporting {name}",
        export_folder,  # written whole, then renamed into place
        [
            sys.executable,
            str(REPO / "recipes" / "export.py"),
            str(HPARAMS / "export.yaml"),
            f"--checkpoint={folder}",
            f"--output_folder={export_folder}",
            f"--shared_data={args.shared_data}",
            f"--metrics_file={folder}/test_summary.json",
            f"--card_info={card}",
        ],
    )


def per_utterance(folder, metric="pesq"):
    """``{utterance: score}`` from a run's ``test_metrics.csv``."""
    path = os.path.join(folder, "test_metrics.csv")
    with open(path, newline="", encoding="utf-8") as fin:
        return {row["id"]: float(row[metric]) for row in csv.DictReader(fin)}


def paired_lines(distilled, alone):
    """Report lines: the paired per-utterance difference of two students."""
    lines = [
        "## Distilled minus alone, utterance by utterance",
        "",
        "| metric | mean difference ± std | 95 % interval | utterances "
        "| verdict |",
        "|---|---|---|---|---|",
    ]
    for metric in ("pesq", "stoi", "sisdr"):
        diff = paired_difference(
            per_utterance(distilled, metric), per_utterance(alone, metric)
        )
        lines.append(
            f"| {metric_label(metric)} | {diff['mean']:+.3f} ± "
            f"{diff['std']:.3f} "
            f"| [{diff['low']:+.3f}, {diff['high']:+.3f}] | {diff['n']} "
            f"| {diff['verdict']} |"
        )
    return lines + [
        "",
        "Same student, same seed (same initial weights and training "
        "mixtures), same steps; the interval is over the test utterances "
        "of this one seed, so it says how sure the difference is on these "
        "files, not across seeds (see docs/results.md for that).",
        "",
    ]


def main(argv=None):
    """Runs the demo; returns the summary of mean metrics per system."""
    parser = benchmark_parser(
        __doc__.split("\n")[0], "results/demo", corpus=True, seed=True
    )
    parser.add_argument(
        "--max_seconds",
        type=float,
        help="crop the corpus' utterances to this (a quick run; the "
        "corpus differs from the full one, so give another --corpus)",
    )
    # the teacher's time budget: the whole demo within 20 minutes on 2 cores
    parser.add_argument("--teacher_minutes", type=float, default=5.0)
    parser.add_argument("--student_steps", type=int, default=1000)
    parser.add_argument("--student", default="student_wd64")
    args = parser.parse_args(argv)
    # the steps' progress lines (run_once: run or done already)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.time()
    out = os.path.abspath(args.output)
    corpus = os.path.abspath(args.corpus)

    print("[demo] building the sample corpus (once)", flush=True)
    build_sample_corpus(
        args.shared_data, corpus, seed=args.seed, max_seconds=args.max_seconds
    )

    py = sys.executable
    precision = resolve_precision("auto")
    print(f"[demo] training precision: {precision}", flush=True)
    common = [
        f"--data_folder={corpus}",
        f"--seed={args.seed}",
        # fresh mixtures every 100-step epoch, a time budget
        "--train_data=dynamic",
        f"--extra_train_noise=[{os.path.abspath(args.shared_data)}"
        "/noise_ambient]",
        f"--precision={precision}",
    ]
    folders = {s: os.path.join(out, s) for s in SYSTEMS}
    summaries = {}
    summaries["teacher"] = run_step(
        "teacher",
        [
            py,
            str(REPO / "recipes" / "train.py"),
            str(HPARAMS / "train.yaml"),
            *common,
            f"--output_folder={folders['teacher']}",
            f"--max_minutes={args.teacher_minutes}",
        ],
        folders["teacher"],
    )
    student = f"--model=!include:models/{args.student}.yaml"
    summaries["student_alone"] = run_step(
        "student alone",
        [
            py,
            str(REPO / "recipes" / "train.py"),
            str(HPARAMS / "train.yaml"),
            *common,
            student,
            f"--output_folder={folders['student_alone']}",
            f"--max_steps={args.student_steps}",
        ],
        folders["student_alone"],
    )
    summaries["student_cosine_lib"] = run_step(
        "student distilled (cosine-LIB)",
        [
            py,
            str(REPO / "recipes" / "distill.py"),
            str(HPARAMS / "distill.yaml"),
            *common,
            f"--teacher={folders['teacher']}",
            f"--student=!include:models/{args.student}.yaml",
            f"--output_folder={folders['student_cosine_lib']}",
            f"--max_steps={args.student_steps}",
        ],
        folders["student_cosine_lib"],
    )

    export_folder = os.path.join(out, "export")
    noisy_wav = os.path.join(
        args.shared_data, "voicebank", "noisy_testset_wav_16k", "p232_003.wav"
    )
    card = (
        "{training_data: 'speechbrain-kd sample corpus (read speech mixed "
        "with real noise at -5 to 20 dB)', kd_method: '%s', teacher: "
        f"'teacher_cpu, {args.teacher_minutes} minutes', test_data: '30 "
        "real VoiceBank-DEMAND test pairs (p232, p257)'}"
    )
    export_student(
        "the distilled student",
        folders["student_cosine_lib"],
        export_folder,
        args,
        card % "cosine latent alignment through a linear inverted bottleneck",
    )
    export_student(
        "the student trained alone",
        folders["student_alone"],
        os.path.join(out, "export_alone"),
        args,
        card % "none (trained alone: the twin of the distilled student)",
    )
    enhanced_onnx = os.path.join(out, "p232_003_enhanced_onnx.wav")
    subprocess.run(
        [
            py,
            os.path.join(export_folder, "enhance_onnx.py"),
            noisy_wav,
            enhanced_onnx,
        ],
        check=True,
    )
    print(f"[demo] ONNX Runtime enhanced {noisy_wav} -> {enhanced_onnx}")

    print("[demo] scoring the noisy input", flush=True)
    voicebank = os.path.join(args.shared_data, "voicebank")
    _, noisy = metrics.evaluate_folder(
        os.path.join(voicebank, "noisy_testset_wav_16k"),
        os.path.join(voicebank, "clean_testset_wav_16k"),
    )
    summaries = {"noisy": noisy, **summaries}
    report = write_report(
        summaries,
        out,
        command="make demo",
        details={
            "student": args.student,
            "teacher_minutes": args.teacher_minutes,
            "student_steps": args.student_steps,
            "seed": args.seed,
            "minutes": round((time.time() - start) / 60, 1),
        },
    )
    with open(report, "a", encoding="utf-8") as fout:
        fout.write(
            "\n"
            + "\n".join(
                paired_lines(
                    folders["student_cosine_lib"], folders["student_alone"]
                )
            )
        )
    print(open(report, encoding="utf-8").read())
    return summaries


if __name__ == "__main__":
    main()
