#!/usr/bin/env python3
"""What the teacher's pruned weights are worth before any training.

The official VoiceBank-DEMAND GTCRN is pruned into narrower GTCRNs
(``speechbrain_kd.models.gtcrn_pruning``, the ``--init_from`` start of the
compression grid) and each is scored as it is, untrained, on the test
pairs of ``../shared/data``: the family's members (half, quarter) and,
for the half member, each of its three narrowings alone (main channels,
the temporal blocks' expanded width, their attention GRUs), which shows
where the pruned start loses. The teacher and the noisy input are scored
beside them.

Usage (from the repository root)::

    python benchmarks/pruned_start.py [--shared_data ../shared/data] \\
        [--output docs/results_compression/pruned_start.json]

Writes the JSON file and a markdown table beside it (``.md``).

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
from pathlib import Path

import torch
from common import (
    TEST_SETS,
    machine_info,
    machine_lines,
    score_system,
    scoring_pairs,
)

from speechbrain_kd.features import load_front_end
from speechbrain_kd.models import count_parameters
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.published import load_published
from speechbrain_kd.warm_start import start_from

CHECKPOINT = "gtcrn/model_trained_on_vctk.tar"
# name: GTCRN's (channels, hidden_channels, attention_channels)
PRUNINGS = {
    "half (12, 4, 8)": (12, 4, 8),
    "quarter (8, 2, 4)": (8, 2, 4),
    "half's channels only (12, 16, 16)": (12, 16, 16),
    "half's expanded width only (16, 4, 16)": (16, 4, 16),
    "half's attention only (16, 16, 8)": (16, 16, 8),
}


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared_data", default="../shared/data", type=Path)
    parser.add_argument(
        "--shared_models", default="../shared/models", type=Path
    )
    parser.add_argument(
        "--output",
        default="docs/results_compression/pruned_start.json",
        type=Path,
    )
    return parser.parse_args(argv)


def markdown_table(rows):
    """The results as a markdown table: PESQ / STOI / SI-SDR per set."""
    lines = [
        "| model | learnable parameters | "
        + " | ".join(f"`{t}` PESQ / STOI / SI-SDR" for t in TEST_SETS)
        + " |",
        "|---" * (len(TEST_SETS) + 2) + "|",
    ]
    for row in rows:
        cells = [
            f"{r['pesq']:.3f} / {r['stoi']:.3f} / {r['sisdr']:.2f}"
            for r in row["results"].values()
        ]
        params = row["params"] or "-"
        lines.append(f"| {row['name']} | {params} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv=None):
    """Scores the noisy input, the teacher and every pruned start."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    checkpoint = args.shared_models / CHECKPOINT
    teacher = load_published(GTCRN(), checkpoint).eval()
    front_end = load_front_end("complex_32ms")
    pairs = {t: scoring_pairs(args.shared_data, t) for t in TEST_SETS}
    models = {"noisy input": None, "teacher (16, 16, 16)": teacher}
    for name, widths in PRUNINGS.items():
        student = GTCRN(*widths)
        start_from(student, str(checkpoint), teacher)
        models[f"pruned start, {name}"] = student.eval()
    rows = []
    for name, model in models.items():

        def enhance_fn(wav, model=model):
            with torch.no_grad():
                return front_end.enhance(model, wav)

        rows.append(
            {
                "name": name,
                "params": model and count_parameters(model, True),
                "results": {
                    t: score_system(model and enhance_fn, pairs[t], name)
                    for t in TEST_SETS
                },
            }
        )
        print(markdown_table(rows[-1:]).splitlines()[-1], flush=True)
    report = {
        "checkpoint": CHECKPOINT,
        "machine": machine_info(),
        "models": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table(rows)
    args.output.with_suffix(".md").write_text(
        table + "\n" + machine_lines(report["machine"])
    )
    print(table)


if __name__ == "__main__":
    main()
