#!/usr/bin/env python3
"""The main job: distil a published denoiser into one of a quarter its size.

1. builds the sample corpus (once) from ``../shared/data``: clean speech
   mixed with real noise at 0/5/10/15 dB, with the real VoiceBank-DEMAND
   test pairs as its test set; its held-out speakers and noises validate;
2. the teacher: the published GTCRN trained on VoiceBank-DEMAND (its
   official weights in ``../shared/models``, read in place), chosen because
   the demo's test set is VoiceBank-DEMAND's; it enhances and is scored on
   the test pairs like the students. ``--teacher ours`` trains our own
   MaskUNet teacher instead (a time budget) and distils it with cosine-LIB
   into a MaskUNet student, as earlier versions did;
3. the student: GTCRN at a quarter of the teacher's learnable parameters
   (``hparams/models/gtcrn_quarter.yaml``, 5.4 k against 23.7 k), trained
   twice with the same seed, steps and mixtures (fresh dynamic mixtures of
   the corpus' training speech and noise plus ``noise_ambient``, -5 to
   20 dB): alone from random weights, and distilled, starting from the
   teacher's pruned weights with output KD (the teacher's enhanced
   spectrum as a target beside the clean one);
4. scores noisy input, teacher and students on the real test pairs,
   exports the distilled student to ``results/demo/export`` and its twin
   trained alone to ``results/demo/export_alone`` (each checked for
   parity, with its model card);
5. writes ``results/demo/report.md`` with ``summary.json``: the table, the
   paired per-utterance difference of the two students with its 95 %
   interval (``paired.png``) and the spectrograms of one test utterance
   (``spectrograms.png``: noisy, teacher, alone, distilled, clean).

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

import torch
from common import HPARAMS, REPO, benchmark_parser, machine_info
from tqdm import tqdm

from speechbrain_kd import metrics
from speechbrain_kd.atomic import atomic_write
from speechbrain_kd.data.audio import read_audio, write_audio
from speechbrain_kd.data.mixing import build_sample_corpus
from speechbrain_kd.features import load_front_end
from speechbrain_kd.grid.runner import run_once
from speechbrain_kd.grid.stats import paired_difference
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.published import load_published
from speechbrain_kd.precision import resolve_precision
from speechbrain_kd.report import (
    metric_label,
    plot_paired_differences,
    plot_spectrograms,
    write_report,
)

SYSTEMS = ("teacher", "student_alone", "student_distilled")
# The published teacher: GTCRN's official VoiceBank-DEMAND checkpoint
PUBLISHED_TEACHER = (
    REPO.parent / "shared" / "models" / "gtcrn" / "model_trained_on_vctk.tar"
)
PUBLISHED_FEATURES = "complex_32ms"
# How the two students' initial weights relate
STARTS = {
    "published": "the distilled student starts from the teacher's pruned "
    "weights, the one alone from random weights",
    "ours": "both start from the same random weights",
}
# What the distilled student's card says of its training
KD_DESCRIPTIONS = {
    "published": "output KD from the teacher's pruned weights (structured "
    "pruning, then the teacher's enhanced spectrum as a second target)",
    "ours": "cosine latent alignment through a linear inverted bottleneck",
}


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


def paired_lines(distilled, alone, start):
    """Report lines: the paired per-utterance difference of two students
    (``start``: how their initial weights relate)."""
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
        f"Same student, same seed (same training mixtures), same steps; "
        f"{start}. The interval is over the test utterances "
        "of this one seed, so it says how sure the difference is on these "
        "files, not across seeds (see docs/results.md for that).",
        "",
    ]


def score_published_teacher(args, folder):
    """Enhances and scores the test pairs with the published teacher.

    Writes the enhanced files, ``test_metrics.csv`` and
    ``test_summary.json`` into ``folder`` (as a run of the recipes does);
    returns the summary, read back if already there.
    """
    summary_path = os.path.join(folder, "test_summary.json")
    if os.path.exists(summary_path):
        with open(summary_path, encoding="utf-8") as fin:
            return json.load(fin)
    model = load_published(GTCRN(), args.teacher_checkpoint).eval()
    front_end = load_front_end(PUBLISHED_FEATURES)
    front_end.check_model(model, PUBLISHED_FEATURES)
    voicebank = os.path.join(args.shared_data, "voicebank")
    enhanced = os.path.join(folder, "enhanced")
    os.makedirs(enhanced, exist_ok=True)
    noisy_folder = os.path.join(voicebank, "noisy_testset_wav_16k")
    names = sorted(f for f in os.listdir(noisy_folder) if f.endswith(".wav"))
    with torch.no_grad():
        for name in tqdm(names, desc="[demo] published teacher"):
            wav = read_audio(os.path.join(noisy_folder, name))
            write_audio(
                os.path.join(enhanced, name), front_end.enhance(model, wav)
            )
    _, summary = metrics.evaluate_folder(
        enhanced,
        os.path.join(voicebank, "clean_testset_wav_16k"),
        csv_path=os.path.join(folder, "test_metrics.csv"),
    )
    with atomic_write(summary_path) as fout:
        json.dump(summary, fout, indent=2)
    return summary


def enhanced_file(folder, utterance):
    """The enhanced ``utterance`` of a run folder (or of the teacher's)."""
    return os.path.join(folder, "enhanced", f"{utterance}.wav")


def draw_figures(args, out, folders):
    """The paired differences and the spectrograms of one utterance."""
    differences = {}
    for metric in ("pesq", "stoi", "sisdr"):
        distilled = per_utterance(folders["student_distilled"], metric)
        alone = per_utterance(folders["student_alone"], metric)
        differences[metric_label(metric)] = (
            [distilled[u] - alone[u] for u in sorted(distilled)],
            paired_difference(distilled, alone),
        )
    plot_paired_differences(
        differences,
        os.path.join(out, "paired.png"),
        "distilled minus alone, per test utterance (same seed, same steps)",
    )
    voicebank = os.path.join(args.shared_data, "voicebank")
    name = f"{args.utterance}.wav"
    waveforms = {
        "noisy": os.path.join(voicebank, "noisy_testset_wav_16k", name),
        "teacher": enhanced_file(folders["teacher"], args.utterance),
        "student alone": enhanced_file(
            folders["student_alone"], args.utterance
        ),
        "student distilled": enhanced_file(
            folders["student_distilled"], args.utterance
        ),
        "clean": os.path.join(voicebank, "clean_testset_wav_16k", name),
    }
    plot_spectrograms(
        {label: read_audio(path) for label, path in waveforms.items()},
        os.path.join(out, "spectrograms.png"),
    )
    return [
        "![paired differences](paired.png)",
        "",
        f"Spectrograms of test utterance {args.utterance}:",
        "",
        "![spectrograms](spectrograms.png)",
        "",
    ]


def parse_args(argv):
    """The demo's options."""
    parser = benchmark_parser(
        __doc__.split("\n")[0], "results/demo", corpus=True, seed=True
    )
    parser.add_argument(
        "--max_seconds",
        type=float,
        help="crop the corpus' utterances to this (a quick run; the "
        "corpus differs from the full one, so give another --corpus)",
    )
    parser.add_argument(
        "--teacher",
        choices=("published", "ours"),
        default="published",
        help="the published GTCRN (VoiceBank-DEMAND weights), or our own "
        "MaskUNet teacher trained here for --teacher_minutes",
    )
    parser.add_argument(
        "--teacher_checkpoint",
        default=str(PUBLISHED_TEACHER),
        help="the published teacher's official checkpoint",
    )
    parser.add_argument("--teacher_minutes", type=float, default=5.0)
    parser.add_argument("--student_steps", type=int, default=None)
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--student", default=None)
    parser.add_argument("--kd_method", default=None)
    parser.add_argument(
        "--utterance",
        default="p232_003",
        help="the test utterance of the spectrograms (chosen by name)",
    )
    args = parser.parse_args(argv)
    for key, value in PLANS[args.teacher].items():
        if key != "settings" and getattr(args, key) is None:
            setattr(args, key, value)
    return args


# The two demos: the student, its steps and batch, the KD method and the
# settings of both students (the whole demo within 20 minutes on 2 cores)
PLANS = {
    "published": {
        "student": "gtcrn_quarter",
        "student_steps": 400,
        "batch_size": 8,
        "kd_method": "output_kd",
        "settings": [
            f"--features=!include:features/{PUBLISHED_FEATURES}.yaml",
            "--loss=!include:losses/compressed_complex.yaml",
            # GRUs: bf16 autocast does not pay on the CPU
            "--precision=fp32",
        ],
    },
    "ours": {
        "student": "student_wd64",
        "student_steps": 1000,
        "batch_size": 16,
        "kd_method": "cosine_lib",
        "settings": [f"--precision={resolve_precision('auto')}"],
    },
}


def main(argv=None):
    """Runs the demo; returns the summary of mean metrics per system."""
    args = parse_args(argv)
    plan = PLANS[args.teacher]
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
    common = [
        f"--data_folder={corpus}",
        f"--seed={args.seed}",
        # fresh mixtures every 100-step epoch
        "--train_data=dynamic",
        f"--extra_train_noise=[{os.path.abspath(args.shared_data)}"
        "/noise_ambient]",
        f"--batch_size={args.batch_size}",
        f"--max_steps={args.student_steps}",
        *plan["settings"],
    ]
    folders = {s: os.path.join(out, s) for s in SYSTEMS}
    summaries = {}
    if args.teacher == "published":
        teacher = os.path.abspath(args.teacher_checkpoint)
        teacher_args = [
            f"--teacher={teacher}",
            "--teacher_model=!include:models/gtcrn.yaml",
            f"--init_from={teacher}",  # the pruned teacher's weights
        ]
        summaries["teacher"] = score_published_teacher(args, folders["teacher"])
        teacher_label = "GTCRN, official VoiceBank-DEMAND weights"
    else:
        summaries["teacher"] = run_step(
            "teacher",
            [
                py,
                str(REPO / "recipes" / "train.py"),
                str(HPARAMS / "train.yaml"),
                *common[:4],
                *plan["settings"],
                f"--output_folder={folders['teacher']}",
                f"--max_minutes={args.teacher_minutes}",
            ],
            folders["teacher"],
        )
        teacher_args = [f"--teacher={folders['teacher']}"]
        teacher_label = f"teacher_cpu, {args.teacher_minutes} minutes"
    summaries["student_alone"] = run_step(
        "student alone",
        [
            py,
            str(REPO / "recipes" / "train.py"),
            str(HPARAMS / "train.yaml"),
            *common,
            f"--model=!include:models/{args.student}.yaml",
            f"--output_folder={folders['student_alone']}",
        ],
        folders["student_alone"],
    )
    summaries["student_distilled"] = run_step(
        f"student distilled ({args.kd_method})",
        [
            py,
            str(REPO / "recipes" / "distill.py"),
            str(HPARAMS / "distill.yaml"),
            *common,
            *teacher_args,
            f"--kd_method=!include:methods/{args.kd_method}.yaml",
            f"--student=!include:models/{args.student}.yaml",
            f"--output_folder={folders['student_distilled']}",
        ],
        folders["student_distilled"],
    )

    export_folder = os.path.join(out, "export")
    noisy_wav = os.path.join(
        args.shared_data, "voicebank", "noisy_testset_wav_16k", "p232_003.wav"
    )
    card = {
        "training_data": "speechbrain-kd sample corpus (read speech mixed "
        "with real noise at -5 to 20 dB)",
        "teacher": teacher_label,
        "test_data": "30 real VoiceBank-DEMAND test pairs (p232, p257)",
    }
    export_student(
        "the distilled student",
        folders["student_distilled"],
        export_folder,
        args,
        json.dumps({**card, "kd_method": KD_DESCRIPTIONS[args.teacher]}),
    )
    export_student(
        "the student trained alone",
        folders["student_alone"],
        os.path.join(out, "export_alone"),
        args,
        json.dumps(
            {
                **card,
                "kd_method": "none (trained alone: the twin of the "
                "distilled student)",
            }
        ),
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
            "teacher": teacher_label,
            "student": args.student,
            "kd_method": args.kd_method,
            "student_steps": args.student_steps,
            "batch_size": args.batch_size,
            "seed": args.seed,
            "minutes": round((time.time() - start) / 60, 1),
            "machine": machine_info(),
        },
        bars=False,
    )
    with open(report, "a", encoding="utf-8") as fout:
        lines = paired_lines(
            folders["student_distilled"],
            folders["student_alone"],
            STARTS[args.teacher],
        )
        fout.write("\n" + "\n".join(lines + draw_figures(args, out, folders)))
    print(open(report, encoding="utf-8").read())
    return summaries


if __name__ == "__main__":
    main()
