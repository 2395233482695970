#!/usr/bin/env python3
"""Quality against size: the compression grid beside its reference points.

Reads the archived summary of a compression grid (``sbkd-grid
compress_gtcrn`` writes ``grid_runs/compress_gtcrn/results.json``), the
published models' reproduction (``benchmarks/reproduce_published.py``
writes ``docs/results_published/published.json``) and the students alone
of the strong-teacher grid (our MaskUNet peers), and plots PESQ against
learnable parameters on both test sets: each method of the grid as its
mean ± std over seeds, the published models and our peers as reference
points, the noisy input as a line. A second figure (``validation.png``
beside it) follows each method's validation PESQ over the training steps,
mean ± std over seeds, from the archived train logs: where it flattens.

Usage (from the repository root)::

    python benchmarks/compression_figure.py \\
        [--grid grid_runs/compress_gtcrn/results.json] \\
        [--output docs/results_compression/quality_vs_params.png]

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import glob
import json
import os

import numpy as np
from common import machine_info

from speechbrain_kd.curves import read_train_log
from speechbrain_kd.grid.summary import model_parameters
from speechbrain_kd.report import new_figure

# Test sets: label, key in the grid summaries, key in published.json
TEST_SETS = (
    ("VoiceBank-DEMAND (30 pairs)", "test", "voicebank"),
    ("DNS no-reverb (150 pairs)", "dns", "dns_test_noreverb"),
)
# Published systems of published.json: their model file (for the count of
# learnable parameters) and marker
PUBLISHED = {
    "GTCRN, VoiceBank-DEMAND weights": ("gtcrn", "*"),
    "GTCRN, DNS3 weights": ("gtcrn", "P"),
    "UL-UNAS, DNS3 weights": ("ulunas", "X"),
}
PEERS = ("student_w16", "student_wd64")


def parse_args(argv=None):
    """The figure's inputs and output."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--grid", default="grid_runs/compress_gtcrn/results.json"
    )
    parser.add_argument(
        "--published", default="docs/results_published/published.json"
    )
    parser.add_argument(
        "--peers", default="grid_runs/strong_teacher/results.json"
    )
    parser.add_argument(
        "--output", default="docs/results_compression/quality_vs_params.png"
    )
    return parser.parse_args(argv)


def read_json(path):
    """A JSON file, with an error naming it and the command that writes it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: run the grid (sbkd-grid ... --summary_only "
            "rebuilds its summary) or benchmarks/reproduce_published.py"
        )
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)


def points(args):
    """The plotted points: ``{test_set: [(label, params, mean, std,
    kind)]}`` and the noisy input's PESQ per test set."""
    grid = read_json(args.grid)
    published = read_json(args.published)
    peers = read_json(args.peers)
    params = {s["name"]: s["params"] for s in grid["scenarios"]}
    found, noisy = {}, {}
    for _, key, published_key in TEST_SETS:
        rows = [
            (
                f"{c['scenario']}, {c['method']}",
                params[c["scenario"]],
                c["pesq_mean"],
                c["pesq_std"],
                "grid",
            )
            for c in grid["cells"]
            if c["test_set"] == key
        ]
        for system in published["systems"]:
            if system["name"] == "noisy input":
                noisy[key] = system["results"][published_key]["pesq"]
            elif system["name"] in PUBLISHED:
                model, _ = PUBLISHED[system["name"]]
                rows.append(
                    (
                        system["name"],
                        model_parameters(model),
                        system["results"][published_key]["pesq"],
                        0.0,
                        "published",
                    )
                )
        rows += [
            (
                f"{c['scenario']} alone (MaskUNet)",
                model_parameters(c["scenario"]),
                c["pesq_mean"],
                c["pesq_std"],
                "peer",
            )
            for c in peers["cells"]
            if c["test_set"] == key
            and c["method"] == "student_alone"
            and c["scenario"] in PEERS
        ]
        found[key] = rows
    return found, noisy


def draw(found, noisy, path):
    """Two panels, PESQ against learnable parameters (log)."""
    from matplotlib import colormaps

    figure = new_figure(figsize=(12, 4.6))
    axes = figure.subplots(1, len(TEST_SETS), squeeze=False)[0]
    colors = colormaps["tab10"].colors

    # a grid row is "scenario, method": colour by method, marker by scenario
    def series(row):
        return row[0].split(", ", 1)[1] if row[4] == "grid" else row[0]

    names = sorted({series(r) for rows in found.values() for r in rows})
    color_of = {m: colors[i % len(colors)] for i, m in enumerate(names)}
    scenarios = sorted(
        {
            r[0].split(", ")[0]
            for v in found.values()
            for r in v
            if r[4] == "grid"
        }
    )
    grid_markers = dict(zip(scenarios, "oD^v<>"))
    for ax, (label, key, _) in zip(axes, TEST_SETS):
        for name, params, mean, std, kind in found[key]:
            if kind == "published":
                marker = PUBLISHED[name][1]
            elif kind == "peer":
                marker = "s"
            else:
                marker = grid_markers[name.split(", ")[0]]
            same_size = [
                r[0] for r in found[key] if r[4] == kind and r[1] == params
            ]
            # the methods of one student share its size: spread them
            i = same_size.index(name)
            offset = 1 + 0.04 * (i - len(same_size) / 2)
            ax.errorbar(
                params * offset,
                mean,
                yerr=std,
                fmt=marker,
                markersize=9 if kind == "published" else 6,
                color=color_of[series((name, params, mean, std, kind))],
                label=name,
                capsize=3,
            )
        ax.axhline(noisy[key], color="grey", linestyle="--", label="noisy")
        ax.set_xscale("log")
        ax.set_xlabel("learnable parameters (log)")
        ax.set_ylabel("PESQ")
        ax.set_title(label, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="center right", fontsize=8)
    figure.tight_layout(rect=(0, 0, 0.72, 1))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path, dpi=110)


def validation_curves(archive):
    """``{scenario/method: (steps, mean, std)}`` of validation PESQ over
    the seeds of an archived grid (``<archive>/<scenario>/<method>/seed*``)."""
    curves = {}
    for folder in sorted(glob.glob(os.path.join(archive, "*", "*"))):
        logs = glob.glob(os.path.join(folder, "seed*", "train_log.txt"))
        epochs = [read_train_log(log) for log in logs]
        epochs = [e for e in epochs if e]
        if not epochs:
            continue
        length = min(len(e) for e in epochs)
        steps = [row["train steps"] for row in epochs[0][:length]]
        values = np.array(
            [[r["valid pesq"] for r in e[:length]] for e in epochs]
        )
        name = os.path.relpath(folder, archive).replace(os.sep, "/")
        curves[name] = (steps, values.mean(0).tolist(), values.std(0).tolist())
    return curves


def draw_validation(curves, path):
    """Validation PESQ against training steps, one line per method."""
    figure = new_figure(figsize=(6, 4))
    ax = figure.add_subplot()
    for name, (steps, mean, std) in curves.items():
        mean, std = np.array(mean), np.array(std)
        ax.plot(steps, mean, marker="o", label=name)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("training steps")
    ax.set_ylabel("validation PESQ (mean over seeds)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv=None):
    """Writes the figures and their points beside them (``.json``)."""
    args = parse_args(argv)
    found, noisy = points(args)
    draw(found, noisy, args.output)
    curves = validation_curves(os.path.dirname(args.grid))
    draw_validation(
        curves, os.path.join(os.path.dirname(args.output), "validation.png")
    )
    with open(os.path.splitext(args.output)[0] + ".json", "w") as fout:
        json.dump(
            {
                "points": found,
                "noisy": noisy,
                "validation": curves,
                "machine": machine_info(),
            },
            fout,
            indent=2,
        )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
