#!/usr/bin/env python3
"""Recipe: score a grid's returned runs on test sets they lacked.

A grid trained on a lent GPU machine (``recipes/device_students.sh``)
comes back scored on the test sets of its bundle only; the DNS set is too
large to travel. Once its run folders are unpacked here (``tar xzf
runs.tar.gz``), this reruns each run's recorded command with the local
data and the extra test sets: training is found finished, the checkpoint
validation chose is loaded, and every test set is scored; the summaries go
to the grid's archive.

Usage (from the repository root)::

    python recipes/score_returned.py gpu_methods \\
        --data_folder=data/sample_corpus \\
        --extra_test_sets="{dns: ../shared/data/dns_test_noreverb}" \\
        --extra_train_noise="[../shared/data/noise_ambient]" \\
        [--device=cpu] [--jobs=2]

(The recipe builds its training data even when training is over, so the
paths the run trained from on the other machine, here
``extra_train_noise``, are pointed at this machine's copies.)

Then ``python recipes/experiment.py gpu_methods --summary_only`` writes
the tables with the new test set.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import sys

import speechbrain as sb

from speechbrain_kd.grid import load_grid
from speechbrain_kd.grid.rescore import score_returned


def main(argv):
    """Scores the grid of the command-line arguments ``argv``; returns the
    names of the runs scored."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s - %(message)s"
    )
    grid_file, _, overrides = sb.parse_arguments(argv)
    settings = {"device": "cpu", "jobs": 1}
    if overrides:
        from hyperpyyaml import load_hyperpyyaml

        settings.update(load_hyperpyyaml(overrides))
    missing = {"data_folder", "extra_test_sets"} - set(settings)
    if missing:
        raise SystemExit(
            f"score_returned.py: give {', '.join(sorted(missing))}"
        )
    jobs = int(settings.pop("jobs"))
    scored = score_returned(load_grid(grid_file), settings, jobs)
    print(f"Scored {len(scored)} runs of {grid_file}")
    return scored


if __name__ == "__main__":
    main(sys.argv[1:])
