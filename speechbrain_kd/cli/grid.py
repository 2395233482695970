"""``sbkd-grid``: run an experiment grid (students x methods x seeds).

Usage (from the repository root, or anywhere once installed)::

    sbkd-grid mismatch          # a grid of hparams/experiment/
    sbkd-grid hparams/experiment/gpu_voicebank.yaml \\
        --data_folder=/path/to/vbd --output_folder=results/experiment/gpu

Trains the teacher once (unless the grid names a trained one), then every
scenario x method x seed with the real recipes (``recipes/train.py`` and
``recipes/distill.py``), ``jobs`` at a time, each in
``<output_folder>/<scenario>/<method>/seed<k>``; the small results of each
finished run are copied to ``<archive_folder>`` (committed, so that a
later session continues the grid). Complete runs are skipped and an
interrupted run resumes from its checkpoints, so the same command
continues a grid. ``--methods`` and ``--scenarios`` overrides run part of
a grid (one cell, a new variant); the summary still covers the whole grid
file, with the part added. Then writes ``results.json``, ``results.md``,
``paired_difference.png`` (against the mismatch size) and
``paired_forest.png`` (every comparison, one row each) into the archive
folder (or the output folder without one) and prints the tables.
``--summary_only`` runs nothing: it archives the runs already complete
and writes the summary. ``--executor=ray`` trains the runs on a Ray
cluster instead of this machine (``--executor=local``, or the grid's
``executor``); see the README's cluster guide.
Any key of the grid file can be overridden with ``--key=value``.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import sys

import speechbrain as sb

from speechbrain_kd.grid import run_grid, write_summary
from speechbrain_kd.grid.config import load_grid_part
from speechbrain_kd.grid.runner import archive_complete
from speechbrain_kd.grid.summary import results_markdown

USAGE = (
    "usage: sbkd-grid GRID [--summary_only] [--key=value ...]\n\n"
    "GRID is a name of hparams/experiment/ or a grid file; see the module "
    "docstring of speechbrain_kd.cli.grid."
)


def run(argv=None):
    """Runs the grid of the command-line arguments; returns its summary.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        The summary of the whole grid file.

    Example
    -------
    >>> run(["--help"])
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        raise SystemExit(0 if argv else 2)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s - %(message)s"
    )
    summary_only = "--summary_only" in argv
    executor = [a.split("=", 1)[1] for a in argv if a.startswith("--executor=")]
    argv = [
        arg
        for arg in argv
        if arg != "--summary_only" and not arg.startswith("--executor=")
    ]
    grid_file, _, overrides = sb.parse_arguments(argv)
    part, whole = load_grid_part(grid_file, overrides)
    if summary_only:
        archive_complete(part)
    else:
        run_grid(part, executor=executor[-1] if executor else None)
    labels = whole.get("test_labels")
    summary = write_summary(whole, labels)
    print(results_markdown(summary, labels))
    print(f"\nResults in {whole['archive_folder'] or whole['output_folder']}")
    return summary


def main():
    """The ``sbkd-grid`` command: :func:`run` on ``sys.argv[1:]``."""
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
