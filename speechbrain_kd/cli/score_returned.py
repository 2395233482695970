"""``sbkd-score-returned``: score a grid's returned runs on more test sets.

A grid trained on another machine (a GPU machine, say, with a data bundle
of ``sbkd-bundle``) comes back scored on the test sets it had there; a
test set too large to travel (DNS) is scored here. Once its run folders
are unpacked here, this reruns each run's recorded command with the local
data and the extra test sets: training is found finished, the checkpoint
validation chose is loaded, and every test set is scored; the summaries go
to the grid's archive.

Usage (from the repository root)::

    sbkd-score-returned gpu_methods \\
        --data_folder=data/sample_corpus \\
        --extra_test_sets="{dns: ../shared/data/dns_test_noreverb}" \\
        --extra_train_noise="[../shared/data/noise_ambient]" \\
        [--device=cpu] [--jobs=2]

(The recipe builds its training data even when training is over, so the
paths the run trained from on the other machine, here
``extra_train_noise``, are pointed at this machine's copies.)

Then ``sbkd-grid gpu_methods --summary_only`` writes the tables with the
new test set.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.grid import load_grid
from speechbrain_kd.grid.rescore import score_returned

USAGE = (
    "usage: sbkd-score-returned GRID --data_folder=DIR "
    "--extra_test_sets='{name: DIR}' [--key=value ...]\n\n"
    "GRID is a name of hparams/experiment/ or a grid file; see the module "
    "docstring of speechbrain_kd.cli.score_returned."
)


def run(argv=None):
    """Scores the grid of the command-line arguments; returns the names of
    the runs scored.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    list of str

    Example
    -------
    >>> run(["tiny", "--data_folder=x"])
    Traceback (most recent call last):
    ...
    SystemExit: sbkd-score-returned: give extra_test_sets
    """
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        raise SystemExit(0 if argv else 2)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s - %(message)s"
    )
    grid_file, _, overrides = sb.parse_arguments(argv)
    settings = {"device": "cpu", "jobs": 1}
    if overrides:
        settings.update(load_hyperpyyaml(overrides))
    missing = {"data_folder", "extra_test_sets"} - set(settings)
    if missing:
        raise SystemExit(
            f"sbkd-score-returned: give {', '.join(sorted(missing))}"
        )
    jobs = int(settings.pop("jobs"))
    scored = score_returned(load_grid(grid_file), settings, jobs)
    print(f"Scored {len(scored)} runs of {grid_file}")
    return scored


def main():
    """The ``sbkd-score-returned`` command: :func:`run` on ``sys.argv[1:]``."""
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
