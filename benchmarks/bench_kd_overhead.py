#!/usr/bin/env python3
"""Benchmark: training-step time of distillation vs the student alone.

Both brains train the same student architecture from the same
initialisation on the same batches (2 s crops of the real VoiceBank-DEMAND
test pairs): ``EnhanceBrain`` alone, and ``DistillBrain`` with the CPU
teacher and the cosine-LIB method. Steps are timed after warm-up; the
median step time of each and their ratio are printed and written to
``results/bench/kd_overhead.json``.

Usage: ``python benchmarks/bench_kd_overhead.py --shared_data ../shared/data``

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import statistics
import tempfile

import torch
from common import HPARAMS, step_benchmark_parser
from hyperpyyaml import load_hyperpyyaml
from step_timing import make_brain, real_batches, time_steps

from speechbrain_kd.models import count_parameters


def main(argv=None):
    """Runs the benchmark; returns the result dict."""
    parser = step_benchmark_parser(__doc__.split("\n")[0], steps=20, warmup=3)
    parser.add_argument("--student", default="student_w16")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        teacher = load_hyperpyyaml(
            f"m: !include:{HPARAMS}/models/teacher_cpu.yaml"
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
        "command": "make bench (python benchmarks/bench_kd_overhead.py)",
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
