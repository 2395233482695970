#!/usr/bin/env python3
"""Study: does a stronger teacher make distillation pay? One plot.

Reads the summaries (``results.json``) of grids that differ in their
teacher, and plots, for one student and one comparison, the paired
difference (mean over seeds and its 95 % interval) against the teacher's
own score, one panel per test set; prints the same as a table.

Usage (the grids' summaries written first by ``--summary_only``)::

    python benchmarks/teacher_strength.py mismatch strong_teacher \\
        gpu_teacher_full --scenario student_w16 \\
        --output docs/teacher_strength.png

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os

from common import benchmark_parser

from speechbrain_kd.grid import load_grid
from speechbrain_kd.report import metric_label


def points(grids, scenario, method, reference, metric):
    """The paired differences of one comparison, grid by grid.

    Arguments
    ---------
    grids : list
        Grid names or files, or loaded grids, with their summaries.
    scenario, method, reference, metric : str
        The comparison: ``method - reference`` on ``scenario``.

    Returns
    -------
    tuple of dict
        ``{test_set: [(grid, teacher score, mean, low, high), ...]}`` and
        the test sets' display names.
    """
    found, labels = {}, {}
    for grid in grids:
        name = grid if isinstance(grid, str) else grid["archive_folder"]
        grid = load_grid(grid) if isinstance(grid, str) else grid
        labels.update(grid.get("test_labels") or {})
        folder = grid["archive_folder"] or grid["output_folder"]
        with open(os.path.join(folder, "results.json"), encoding="utf-8") as f:
            summary = json.load(f)
        teacher = summary["references"].get("teacher", {})
        for row in summary["comparisons"]:
            if (row["scenario"], row["method"], row["reference"]) != (
                scenario,
                method,
                reference,
            ) or row["metric"] != metric:
                continue
            score = teacher.get(row["test_set"], {}).get(metric)
            found.setdefault(row["test_set"], []).append(
                (name, score, row["mean"], row["low"], row["high"])
            )
    return found, labels


def main(argv=None):
    """Plots and prints the paired difference against teacher strength."""
    parser = benchmark_parser(
        __doc__.split("\n")[0], "docs/teacher_strength.png", shared_data=False
    )
    parser.add_argument("grids", nargs="+", help="grid names or files")
    parser.add_argument("--scenario", default="student_w16")
    parser.add_argument("--method", default="cosine_lib")
    parser.add_argument("--reference", default="student_alone")
    parser.add_argument("--metric", default="pesq")
    parser.add_argument(
        "--target", type=float, default=0.10, help="dashed line (the goal)"
    )
    args = parser.parse_args(argv)
    found, labels = points(
        args.grids, args.scenario, args.method, args.reference, args.metric
    )
    if not found:
        raise SystemExit(
            f"no {args.method} - {args.reference} comparison of "
            f"{args.scenario} in the summaries of {args.grids}"
        )
    label = metric_label(args.metric)
    print(f"| test set | grid | teacher {label} | paired difference | 95 % |")
    print("|---|---|---|---|---|")
    for test_set, rows in sorted(found.items()):
        for name, score, mean, low, high in rows:
            shown = labels.get(test_set, test_set)
            print(
                f"| {shown} | {name} | {score:.2f} | {mean:+.3f} | "
                f"[{low:+.3f}, {high:+.3f}] |"
            )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        1, len(found), figsize=(5 * len(found), 4), squeeze=False
    )
    for axis, (test_set, rows) in zip(axes[0], sorted(found.items())):
        for name, score, mean, low, high in rows:
            axis.errorbar(
                score,
                mean,
                yerr=[[mean - low], [high - mean]],
                fmt="o",
                capsize=4,
                label=name,
            )
        axis.axhline(0, color="black", linewidth=0.8)
        axis.axhline(args.target, color="gray", linestyle="--", label="target")
        axis.set_title(f"{args.scenario}: {labels.get(test_set, test_set)}")
        axis.set_xlabel(f"teacher's {label} on this test set")
        axis.set_ylabel(f"{args.method} - {args.reference}, {label}")
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(args.output, dpi=110)
    print(f"plot: {args.output}")


if __name__ == "__main__":
    main()
