#!/usr/bin/env python3
"""Benchmark: a training step in fp32 and in bf16 autocast on this machine.

bfloat16 autocast is fast only where the hardware has native bfloat16
(AVX512-BF16 or AMX on a CPU); elsewhere it is emulated and slower than
fp32 (``speechbrain_kd.precision``). For the CPU teacher and a student,
the real recipe's ``EnhanceBrain`` trains on the same batches (2 s crops of
the real VoiceBank-DEMAND test pairs) once with ``precision: fp32`` and
once with ``precision: bf16``, the two interleaved so that machine load
affects both alike; the median step times, their ratio and what
``kd_precision: auto`` picks here go to ``results/bench/precision.json``.

Usage: ``python benchmarks/bench_precision.py --shared_data ../shared/data``

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import statistics
import tempfile

import torch
from common import step_benchmark_parser
from step_timing import make_brain, real_batches, time_steps

from speechbrain_kd.precision import native_bf16, resolve_precision

PRECISIONS = ("fp32", "bf16")


def time_model(model, batches, warmup, folder):
    """Median ``fit_batch`` seconds of ``model`` per precision, the number
    of steps timed and the precision the Brain ran them in."""
    brains = {
        precision: make_brain(
            "alone",
            folder,
            model,
            None,
            precision=precision,
            output_folder=os.path.join(folder, f"{model}_{precision}"),
        )
        for precision in PRECISIONS
    }
    times = {precision: [] for precision in PRECISIONS}
    for start in range(0, len(batches), 2):
        chunk = batches[start : start + 2]
        for precision, brain in brains.items():
            times[precision] += time_steps(brain, chunk, warmup - start)
    return {
        p: {
            "step_s": statistics.median(t),
            "steps_timed": len(t),
            # what SpeechBrain's Brain runs its steps in
            "brain_precision": brains[p].precision,
        }
        for p, t in times.items()
    }


def main(argv=None):
    """Runs the benchmark; returns the result dict."""
    parser = step_benchmark_parser(__doc__.split("\n")[0], steps=4, warmup=2)
    parser.add_argument(
        "--models", nargs="+", default=["teacher_cpu", "student_w16"]
    )
    args = parser.parse_args(argv)

    result = {
        "native_bf16": native_bf16("cpu"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "kd_precision_auto": resolve_precision("auto"),
        "batch": f"{args.batch_size} x 2 s crops of the real test pairs",
        "torch_threads": torch.get_num_threads(),
        "command": "make bench (python benchmarks/bench_precision.py)",
        "models": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        batches = real_batches(
            args.shared_data, folder, args.batch_size, args.steps + args.warmup
        )
        for model in args.models:
            timed = time_model(model, batches, args.warmup, folder)
            step = {p: timed[p]["step_s"] for p in PRECISIONS}
            result["models"][model] = {
                "fp32_step_s": step["fp32"],
                "bf16_step_s": step["bf16"],
                "bf16_speedup": step["fp32"] / step["bf16"],
                "steps_timed": {p: timed[p]["steps_timed"] for p in PRECISIONS},
                "brain_precision": {
                    p: timed[p]["brain_precision"] for p in PRECISIONS
                },
            }
            print(
                f"{model}: fp32 {step['fp32']:.3f} s, bf16 {step['bf16']:.3f}"
                f" s per step: bf16 {step['fp32'] / step['bf16']:.2f}x"
            )
    print(
        f"native bfloat16: {result['native_bf16']} "
        f"({result['cpu_capability']}); kd_precision auto -> "
        f"{result['kd_precision_auto']}"
    )
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "precision.json"), "w") as fout:
        json.dump(result, fout, indent=2)
    return result


if __name__ == "__main__":
    main()
