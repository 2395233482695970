#!/usr/bin/env python3
"""Recipe: run an experiment grid (students x methods x seeds), aggregate.

Usage (from the repository root)::

    python recipes/experiment.py hparams/experiment/cpu_sample.yaml
    python recipes/experiment.py hparams/experiment/gpu_voicebank.yaml \\
        --data_folder=/path/to/vbd --output_folder=results/experiment/gpu

Trains the teacher once, then every scenario x method x seed with the real
recipes (``recipes/train.py`` and ``recipes/distill.py``), each in
``<output_folder>/<scenario>/<method>/seed<k>``. Runs already complete are
skipped and an interrupted run resumes from its checkpoints, so the same
command continues a grid. Then writes ``results.csv``, ``results.md``,
``metric_vs_size.png`` and ``gain_over_alone.png`` in the output folder
and prints the table. Any key of the grid file can be overridden with
``--key=value``.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import speechbrain as sb  # noqa: E402

from speechbrain_kd.experiments import (  # noqa: E402
    aggregate,
    load_grid,
    results_markdown,
    run_grid,
)


def main(argv):
    """Runs the grid of the command-line arguments ``argv``; returns the
    aggregated table."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s - %(message)s"
    )
    grid_file, _, overrides = sb.parse_arguments(argv)
    grid = load_grid(grid_file, overrides)
    run_grid(grid)
    table = aggregate(grid)
    print(results_markdown(table))
    print(f"\nResults and plots in {grid['output_folder']}")
    return table


if __name__ == "__main__":
    main(sys.argv[1:])
