#!/usr/bin/env python3
"""The main job: distil a compact student end to end on the sample corpus.

1. builds the sample corpus (once) from ``../shared/data``: clean speech
   mixed with real noise at 0/5/10/15 dB, with the real VoiceBank-DEMAND
   test pairs as its test set; its held-out speakers and noises validate;
2. trains the CPU teacher (a time budget), the student alone and the
   student distilled with cosine latent alignment through a LIB adapter
   (same student, same number of steps, same seed), all on fresh dynamic
   mixtures of the corpus' training speech and noise (plus
   ``noise_ambient``) at -5 to 20 dB, with bf16 autocast;
3. scores noisy input, teacher and students on the real test pairs;
4. writes ``results/demo/report.md`` (table and plot) and
   ``results/demo/summary.json``.

Every step is a recipe a user can run alone (the commands are printed); a
step already complete is skipped, and an interrupted one resumes from its
last checkpoint.

Usage: ``python recipes/demo.py --shared_data ../shared/data``

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from speechbrain_kd import metrics  # noqa: E402
from speechbrain_kd.data.mixing import build_sample_corpus  # noqa: E402
from speechbrain_kd.report import write_report  # noqa: E402

SYSTEMS = ("teacher", "student_alone", "student_cosine_lib")


def run_step(name, command, output_folder):
    """Runs a recipe unless its test summary already exists."""
    summary = os.path.join(output_folder, "test_summary.json")
    if os.path.exists(summary):
        print(f"[demo] {name}: done already ({summary})", flush=True)
    else:
        print(f"[demo] {name}: {' '.join(command)}", flush=True)
        start = time.time()
        subprocess.run(command, cwd=REPO, check=True)
        print(f"[demo] {name}: {time.time() - start:.0f} s", flush=True)
    with open(summary, encoding="utf-8") as fin:
        return json.load(fin)


def main(argv=None):
    """Runs the demo; returns the summary of mean metrics per system."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--shared_data", default=os.path.join(REPO, "..", "shared", "data")
    )
    parser.add_argument("--output_folder", default="results/demo")
    parser.add_argument("--corpus", default="data/sample_corpus")
    parser.add_argument("--teacher_minutes", type=float, default=7.0)
    parser.add_argument("--student_steps", type=int, default=1000)
    parser.add_argument("--student", default="student_wd64")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)
    start = time.time()
    out = os.path.join(REPO, args.output_folder)
    corpus = os.path.join(REPO, args.corpus)

    print("[demo] building the sample corpus (once)", flush=True)
    build_sample_corpus(args.shared_data, corpus, seed=args.seed)

    py = sys.executable
    common = [
        f"--data_folder={corpus}",
        f"--seed={args.seed}",
        # fresh mixtures every 100-step epoch, bf16 autocast, a time budget
        "--train_data=dynamic",
        f"--extra_train_noise=[{os.path.abspath(args.shared_data)}"
        "/noise_ambient]",
        "--precision=bf16",
    ]
    folders = {s: os.path.join(out, s) for s in SYSTEMS}
    summaries = {}
    summaries["teacher"] = run_step(
        "teacher",
        [
            py,
            "recipes/train.py",
            "hparams/train.yaml",
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
            "recipes/train.py",
            "hparams/train.yaml",
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
            "recipes/distill.py",
            "hparams/distill/cosine_lib.yaml",
            *common,
            f"--teacher={folders['teacher']}",
            f"--student=!include:../models/{args.student}.yaml",
            f"--output_folder={folders['student_cosine_lib']}",
            f"--max_steps={args.student_steps}",
        ],
        folders["student_cosine_lib"],
    )

    export_folder = os.path.join(out, "export")
    noisy_wav = os.path.join(
        args.shared_data, "voicebank", "noisy_testset_wav_16k", "p232_003.wav"
    )
    if not os.path.isdir(export_folder):
        print("[demo] exporting the distilled student", flush=True)
        distilled = folders["student_cosine_lib"]
        card = (
            "{training_data: 'speechbrain-kd sample corpus (read speech "
            "mixed with real noise at 0-15 dB)', kd_method: 'cosine latent "
            "alignment through a linear inverted bottleneck', teacher: "
            f"'teacher_cpu, {args.teacher_minutes} minutes', test_data: '30 "
            "real VoiceBank-DEMAND test pairs (p232, p257)'}"
        )
        subprocess.run(
            [
                py,
                "recipes/export.py",
                "hparams/export.yaml",
                f"--checkpoint={distilled}",
                f"--model_file=hparams/models/{args.student}.yaml",
                f"--output_folder={export_folder}",
                f"--shared_data={args.shared_data}",
                f"--metrics_file={distilled}/test_summary.json",
                f"--card_info={card}",
            ],
            cwd=REPO,
            check=True,
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
    print(open(report, encoding="utf-8").read())
    return summaries


if __name__ == "__main__":
    main()
