#!/usr/bin/env python3
"""Recipe for scoring enhanced speech against clean references.

Pairs the wav files of two folders by name, scores every pair with PESQ,
STOI, SI-SDR, CSIG, CBAK and COVL (``speechbrain_kd.metrics``) and prints
the mean ± std of each metric. The clean references are a folder, or the
test set of a dataset as the recipes read it (``--data_folder``, with
``--dataset_format`` and ``--test_folder`` as in the recipes' YAML; see
``speechbrain_kd.data.datasets``).

To run this recipe, do the following:
> python recipes/evaluate.py --enhanced_dir DIR --clean_dir DIR \
      [--n_jobs 2] [--csv scores.csv] [--json summary.json]
> python recipes/evaluate.py --enhanced_dir DIR --data_folder DIR \
      [--test_folder DIR] [--dataset_format auto]

Authors
 * speechbrain-kd contributors 2025
"""

import argparse

from speechbrain_kd.cli import score
from speechbrain_kd.data.datasets import evaluation_folders


def run(argv=None):
    """Parses the recipe's arguments and runs ``sbkd-score``.

    ``--enhanced_dir`` and ``--clean_dir`` become the two folders; every
    other option (``--n_jobs``, ``--csv``, ``--json``, ``--sample_rate``)
    is passed on unchanged.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    dict
        The summary ``{metric: {"mean": .., "std": .., "n": ..}}``.
    """
    parser = argparse.ArgumentParser(
        description=(
            "Scores enhanced wav files against clean ones paired by name "
            "and prints mean ± std of PESQ, STOI, SI-SDR, CSIG, CBAK, COVL."
        ),
        epilog=(
            "Other options, passed on to sbkd-score: "
            "--n_jobs N (default 2), --csv FILE, --json FILE, "
            "--sample_rate HZ (default 16000)."
        ),
    )
    parser.add_argument("--enhanced_dir", required=True)
    references = parser.add_mutually_exclusive_group(required=True)
    references.add_argument("--clean_dir")
    references.add_argument(
        "--data_folder", help="a dataset: its test set's clean files"
    )
    parser.add_argument("--dataset_format", default="auto")
    parser.add_argument("--test_folder", help="replaces its test set")
    args, options = parser.parse_known_args(argv)
    clean_dir = args.clean_dir
    if clean_dir is None:
        _, clean_dir = evaluation_folders(
            args.data_folder, args.dataset_format, args.test_folder
        )
    return score.run([args.enhanced_dir, str(clean_dir), *options])


if __name__ == "__main__":
    run()
