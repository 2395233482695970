"""``sbkd-score``: score a folder of enhanced speech against clean speech.

Pairs the wav files of two folders by name, scores every pair with PESQ,
STOI, SI-SDR, CSIG, CBAK and COVL (:mod:`speechbrain_kd.metrics`) and
prints the mean ± std of each::

    sbkd-score ENHANCED_DIR CLEAN_DIR --n_jobs 2

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import math
import sys
from pathlib import Path

from speechbrain_kd.metrics import evaluate_folder
from speechbrain_kd.report import format_summary


def run(argv=None):
    """Command line: scores a folder and prints mean ± std per metric.

    ``sbkd-score ENHANCED_DIR CLEAN_DIR [--n_jobs 2] [--csv out.csv]
    [--json summary.json] [--sample_rate 16000]``

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    dict
        The summary (see ``evaluate_folder``), also written as JSON (NaN as
        null) if ``--json`` is given.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile as sf
    >>> t = np.arange(16000) / 16000
    >>> buzz = np.sign(np.sin(2 * np.pi * 120 * t))  # 120 Hz pulses
    >>> clean = 0.5 * buzz * np.sin(2 * np.pi * 3 * t) ** 2  # syllables
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for folder in ("clean", "enh"):
    ...         Path(tmp, folder).mkdir()
    ...         sf.write(Path(tmp, folder, "utt1.wav"), clean, 16000)
    ...     summary = run([f"{tmp}/enh", f"{tmp}/clean", "--n_jobs", "1"])
    pesq:    4.644 ± 0.000 (n=1)
    stoi:    1.000 ± 0.000 (n=1)
    sisdr: 156.536 ± 0.000 (n=1)
    csig:    5.000 ± 0.000 (n=1)
    cbak:    5.000 ± 0.000 (n=1)
    covl:    5.000 ± 0.000 (n=1)
    """
    parser = argparse.ArgumentParser(
        prog="sbkd-score",
        description=(
            "Scores enhanced wav files against clean ones paired by name "
            "(PESQ, STOI, SI-SDR, CSIG, CBAK, COVL) and prints mean ± std."
        ),
    )
    parser.add_argument("enhanced_dir", help="folder of enhanced *.wav")
    parser.add_argument(
        "clean_dir", help="folder of clean *.wav (or *.flac) of the same names"
    )
    parser.add_argument(
        "--n_jobs", type=int, default=2, help="worker processes (default 2)"
    )
    parser.add_argument("--csv", help="write per-utterance scores here")
    parser.add_argument("--json", help="write the summary here")
    parser.add_argument(
        "--sample_rate",
        type=int,
        default=16000,
        help="sampling rate of every file (default 16000)",
    )
    args = parser.parse_args(argv)
    _, summary = evaluate_folder(
        args.enhanced_dir,
        args.clean_dir,
        n_jobs=args.n_jobs,
        csv_path=args.csv,
        sample_rate=args.sample_rate,
    )
    print(format_summary(summary))
    if args.json is not None:
        json_path = Path(args.json)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_summary = {
            metric: {
                key: None if isinstance(v, float) and math.isnan(v) else v
                for key, v in stats.items()
            }
            for metric, stats in summary.items()
        }
        json_path.write_text(json.dumps(json_summary, indent=2) + "\n")
    return summary


def main():
    """The ``sbkd-score`` command: :func:`run` on ``sys.argv[1:]``."""
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
