#!/usr/bin/env python3
"""Benchmark: training-step time of distillation vs the student alone.

Both brains train the same student architecture from the same
initialisation on the same batches (2 s crops of the real VoiceBank-DEMAND
test pairs): ``EnhanceBrain`` alone, and ``DistillBrain`` with the CPU
teacher and the cosine-LIB method. Steps are timed after warm-up; the
median step time of each and their ratio are printed and written to
``results/bench/kd_overhead.json``.

Usage: ``python recipes/bench_kd_overhead.py --shared_data ../shared/data``

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import speechbrain as sb  # noqa: E402
import torch  # noqa: E402
from hyperpyyaml import load_hyperpyyaml  # noqa: E402

from speechbrain_kd.brains import DistillBrain, EnhanceBrain  # noqa: E402
from speechbrain_kd.data.pipeline import make_datasets  # noqa: E402
from speechbrain_kd.data.voicebank import prepare_voicebank  # noqa: E402
from speechbrain_kd.models import count_parameters  # noqa: E402


def real_batches(shared_data, folder, batch_size, n_batches):
    """``n_batches`` batches of 2 s crops of the real test pairs."""
    layout = os.path.join(folder, "layout")
    os.makedirs(layout)
    for kind in ("clean", "noisy"):
        source = os.path.join(
            os.path.abspath(shared_data), "voicebank", f"{kind}_testset_wav_16k"
        )
        for split in ("trainset_28spk", "testset"):
            os.symlink(source, os.path.join(layout, f"{kind}_{split}_wav_16k"))
    manifests = prepare_voicebank(
        layout, os.path.join(folder, "manifests"), valid_speakers=[]
    )
    dataset = make_datasets({"train": manifests["train"]}, layout)["train"]
    loader = sb.dataio.dataloader.make_dataloader(
        dataset, batch_size=batch_size, shuffle=True
    )
    batches = []
    while len(batches) < n_batches:
        batches.extend(loader)
    return batches[:n_batches]


def make_brain(kind, folder, student, teacher_file, **settings):
    """An EnhanceBrain (``alone``) or DistillBrain ready to step; more
    ``settings`` (e.g. ``precision="bf16"``) override the YAML's."""
    common = {
        "data_folder": folder,
        "output_folder": os.path.join(folder, kind),
        **settings,
    }
    if kind == "alone":
        path = os.path.join(REPO, "hparams", "train.yaml")
        overrides = {**common, "model": f"!include:models/{student}.yaml"}
    else:
        path = os.path.join(REPO, "hparams", "distill.yaml")
        overrides = {
            **common,
            "teacher": teacher_file,
            "student": f"!include:models/{student}.yaml",
        }
    text = "\n".join(f"{k}: {v}" for k, v in overrides.items())
    with open(path) as fin:
        hparams = load_hyperpyyaml(fin, text)
    brain_class = EnhanceBrain
    if kind == "distill":
        hparams["teacher_pretrainer"].collect_files()
        hparams["teacher_pretrainer"].load_collected()
        brain_class = DistillBrain
    brain = brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=hparams["checkpointer"],
    )
    brain.on_fit_start()
    hparams["epoch_counter"].current = 1  # joint training, as after warm-up
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    brain.modules.train()
    return brain


def time_steps(brain, batches, warmup):
    """Median wall time of ``fit_batch`` over the batches after warm-up."""
    times = []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        brain.fit_batch(batch)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def step_bench_parser(description, steps, warmup):
    """The options of a training-step benchmark: the shared data, the
    output folder, the batch size and how many steps to time after how
    many warm-up steps."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--shared_data", default=os.path.join(REPO, "..", "shared", "data")
    )
    parser.add_argument(
        "--output", default=os.path.join(REPO, "results", "bench")
    )
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--warmup", type=int, default=warmup)
    return parser


def main(argv=None):
    """Runs the benchmark; returns the result dict."""
    parser = step_bench_parser(__doc__.split("\n")[0], steps=20, warmup=3)
    parser.add_argument("--student", default="student_w16")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        teacher = load_hyperpyyaml(
            f"m: !include:{REPO}/hparams/models/teacher_cpu.yaml"
        )["m"]
        teacher_file = os.path.join(folder, "teacher.ckpt")
        torch.save(teacher.state_dict(), teacher_file)
        batches = real_batches(
            args.shared_data, folder, args.batch_size, args.steps + args.warmup
        )
        torch.manual_seed(0)
        alone = make_brain("alone", folder, args.student, teacher_file)
        torch.manual_seed(0)
        distill = make_brain("distill", folder, args.student, teacher_file)
        # Interleave the two so that machine load affects both alike
        alone_times, distill_times = [], []
        for start in range(0, len(batches), 4):
            chunk = batches[start : start + 4]
            warm = max(0, args.warmup - start)
            alone_times += time_steps(alone, chunk, warm)
            distill_times += time_steps(distill, chunk, warm)

    alone_s = statistics.median(alone_times)
    distill_s = statistics.median(distill_times)
    result = {
        "ratio": distill_s / alone_s,
        "distill_step_s": distill_s,
        "alone_step_s": alone_s,
        "student": args.student,
        "student_params": count_parameters(alone.modules.model),
        "teacher": "teacher_cpu",
        "teacher_params": count_parameters(teacher),
        "method": "cosine_lib",
        "kd_precision": distill.distillation.precision,
        "batch": f"{args.batch_size} x 2 s crops of the real test pairs",
        "steps_timed": len(alone_times),
        "torch_threads": torch.get_num_threads(),
        "command": "make bench (python recipes/bench_kd_overhead.py)",
    }
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "kd_overhead.json"), "w") as fout:
        json.dump(result, fout, indent=2)
    print(
        f"KD step {distill_s * 1000:.0f} ms vs alone {alone_s * 1000:.0f} ms:"
        f" ratio {result['ratio']:.2f} (target <= 1.3)"
    )
    return result


if __name__ == "__main__":
    main()
