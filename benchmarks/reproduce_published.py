#!/usr/bin/env python3
"""Reproduces the published models' figures with our implementations.

Every test pair of ``voicebank/`` (30 VoiceBank-DEMAND pairs) and
``dns_test_noreverb/`` (150 DNS-Challenge pairs) is enhanced whole by each
official checkpoint loaded strictly into our implementation, and scored
with the project's metric pipeline (wide-band PESQ, STOI, SI-SDR); the
means are compared with the figures of ``../shared/models/README.md``.
Each published model is one entry of ``SYSTEMS``; another model is added
as another entry.

Usage (from the repository root)::

    python benchmarks/reproduce_published.py [--shared_data ../shared/data] \\
        [--shared_models ../shared/models] \\
        [--output results/bench/published.json]

Writes the JSON file and a markdown table beside it (``.md``).

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
from pathlib import Path

import torch
from common import (
    METRICS,
    TEST_SETS,
    machine_info,
    machine_lines,
    score_system,
    scoring_pairs,
)

from speechbrain_kd.features import load_front_end
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.published import load_published
from speechbrain_kd.models.ulunas import ULUNAS

# Published systems: name, model class, checkpoint under ../shared/models,
# the features file of its front-end, and the figures of
# ../shared/models/README.md
# (PESQ, STOI, SI-SDR per test set) that they must reproduce.
SYSTEMS = [
    {
        "name": "GTCRN, VoiceBank-DEMAND weights",
        "model": GTCRN,
        "checkpoint": "gtcrn/model_trained_on_vctk.tar",
        "features": "complex_32ms",
        "expected": {
            "voicebank": (2.612, 0.917, 17.19),
            "dns_test_noreverb": (1.697, 0.871, 8.95),
        },
    },
    {
        "name": "GTCRN, DNS3 weights",
        "model": GTCRN,
        "checkpoint": "gtcrn/model_trained_on_dns3.tar",
        "features": "complex_32ms",
        "expected": {
            "voicebank": (2.389, 0.899, 14.05),
            "dns_test_noreverb": (2.253, 0.934, 14.84),
        },
    },
    {
        "name": "UL-UNAS, DNS3 weights",
        "model": ULUNAS,
        "checkpoint": "ul_unas/model_trained_on_dns3.tar",
        "features": "complex_hann_32ms",
        "expected": {
            "voicebank": (2.321, 0.899, 14.72),
            "dns_test_noreverb": (2.569, 0.949, 16.27),
        },
    },
]

NOISY_EXPECTED = {
    "voicebank": (1.787, 0.891, 7.13),
    "dns_test_noreverb": (1.582, 0.915, 9.23),
}


def markdown_table(rows, test_sets):
    """The results as a markdown table, measured beside expected."""
    header = "| system | " + " | ".join(
        f"`{t}` PESQ / STOI / SI-SDR (expected)" for t in test_sets
    )
    header += " | real-time factor, one thread (" + ", ".join(test_sets) + ")"
    lines = [header + " |", "|---" * (len(test_sets) + 2) + "|"]
    for row in rows:
        cells = []
        for test_set in test_sets:
            got = row["results"][test_set]
            expected = row["expected"][test_set]
            cells.append(
                f"{got['pesq']:.3f} / {got['stoi']:.3f} / {got['sisdr']:.2f}"
                f" ({expected[0]:.3f} / {expected[1]:.3f} / "
                f"{expected[2]:.2f})"
            )
        speeds = [row["results"][t]["real_time_factor"] for t in test_sets]
        enhanced = "checkpoint" in row
        cells.append(", ".join(f"{v:.3f}" for v in speeds) if enhanced else "-")
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared_data", default="../shared/data", type=Path)
    parser.add_argument(
        "--shared_models", default="../shared/models", type=Path
    )
    parser.add_argument(
        "--output", default="results/bench/published.json", type=Path
    )
    parser.add_argument(
        "--test_sets", nargs="+", default=list(TEST_SETS), choices=TEST_SETS
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Scores the noisy input and every system of ``SYSTEMS``."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    pairs = {t: scoring_pairs(args.shared_data, t) for t in args.test_sets}
    rows = [{"name": "noisy input", "expected": NOISY_EXPECTED}]
    rows[0]["results"] = {
        t: score_system(None, pairs[t], f"noisy {t}") for t in args.test_sets
    }
    for system in SYSTEMS:
        checkpoint = args.shared_models / system["checkpoint"]
        model = load_published(system["model"](), checkpoint).eval()
        front_end = load_front_end(system["features"])
        front_end.check_model(model, system["features"])

        def enhance_fn(wav, model=model, front_end=front_end):
            return front_end.enhance(model, wav)

        rows.append(
            {
                "name": system["name"],
                "checkpoint": system["checkpoint"],
                "expected": system["expected"],
                "results": {
                    t: score_system(enhance_fn, pairs[t], system["name"])
                    for t in args.test_sets
                },
            }
        )
    for row in rows:
        row["abs_difference"] = {
            t: dict(
                zip(
                    METRICS,
                    (
                        abs(row["results"][t][m] - e)
                        for m, e in zip(METRICS, row["expected"][t])
                    ),
                )
            )
            for t in args.test_sets
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_info(), "systems": rows}
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table(rows, args.test_sets)
    args.output.with_suffix(".md").write_text(
        table + machine_lines(report["machine"])
    )
    print(table)
    return report


if __name__ == "__main__":
    main()
