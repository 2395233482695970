#!/usr/bin/env python3
"""Benchmark: training steps per second of the published families.

Each member of the GTCRN and UL-UNAS families (published, 1/2, 1/4) and,
beside them, our ``student_w16`` and ``teacher_cpu``, trains on the same
batches (2 s crops of the real VoiceBank-DEMAND test pairs) with the real
recipe's ``EnhanceBrain``, fp32, each with its own front-end and loss
(the complex ones for the published families). The models take their
steps in turn, batch by batch, so that machine load affects all alike;
the median step times and each one's ratio to ``student_w16`` go to
``results/bench/family_steps.json``, with the operators that cost most
in one profiled step of the published GTCRN (``torch.profiler``,
``--profile`` another model).

Usage: ``python benchmarks/bench_family_steps.py --shared_data
../shared/data`` (``--models`` to choose, ``--steps`` to shorten)

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import statistics
import tempfile

import torch
from common import machine_info, step_benchmark_parser
from step_timing import make_brain, real_batches, time_steps

# Model file: its front-end and loss (None: the training YAML's)
MODELS = {
    "gtcrn": "complex_32ms",
    "gtcrn_half": "complex_32ms",
    "gtcrn_quarter": "complex_32ms",
    "ulunas": "complex_hann_32ms",
    "ulunas_half": "complex_hann_32ms",
    "ulunas_quarter": "complex_hann_32ms",
    "student_w16": None,
    "teacher_cpu": None,
}
REFERENCE = "student_w16"


def brain_for(model, folder):
    """An fp32 EnhanceBrain of ``model`` with its front-end and loss."""
    features = MODELS[model]
    settings = {"precision": "fp32"}
    if features:
        settings["features"] = f"!include:features/{features}.yaml"
        settings["loss"] = "!include:losses/compressed_complex.yaml"
    return make_brain(
        "alone",
        folder,
        model,
        None,
        output_folder=os.path.join(folder, model),
        **settings,
    )


def profile_step(brain, batch, rows=8):
    """The operators of largest self CPU time in one training step."""
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU]
    ) as prof:
        brain.fit_batch(batch)
    events = sorted(
        prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True
    )
    total = sum(e.self_cpu_time_total for e in events)
    return [
        {
            "op": e.key,
            "self_ms": round(e.self_cpu_time_total / 1000, 1),
            "share": round(e.self_cpu_time_total / total, 3),
            "calls": e.count,
        }
        for e in events[:rows]
    ]


def main(argv=None):
    """Times every model; writes and prints the figures."""
    parser = step_benchmark_parser(__doc__.split("\n")[0], steps=8, warmup=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--profile", default="gtcrn", help="the model of the profiled step"
    )
    args = parser.parse_args(argv)
    output = os.path.join(args.output, "family_steps.json")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        batches = real_batches(
            args.shared_data, folder, args.batch_size, args.warmup + args.steps
        )
        brains = {m: brain_for(m, folder) for m in args.models}
        times = {m: [] for m in args.models}
        for i, batch in enumerate(batches):
            for model, brain in brains.items():
                times[model] += time_steps(brain, [batch], args.warmup - i)
        profile = None
        if args.profile in brains:
            profile = profile_step(brains[args.profile], batches[-1])
    medians = {m: statistics.median(t) for m, t in times.items()}
    reference = medians.get(REFERENCE)
    results = {
        "batch": f"{args.batch_size} x 2 s",
        "threads": args.threads,
        "precision": "fp32",
        "steps_timed": args.steps,
        "models": {
            m: {
                "step_s": round(s, 4),
                "steps_per_s": round(1 / s, 3),
                "vs_" + REFERENCE: reference and round(s / reference, 2),
            }
            for m, s in medians.items()
        },
        "profile": {"model": args.profile, "top_ops": profile},
        "machine": machine_info(),
    }
    os.makedirs(args.output, exist_ok=True)
    with open(output, "w") as fout:
        json.dump(results, fout, indent=2)
    for model, figures in results["models"].items():
        print(model, figures)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
