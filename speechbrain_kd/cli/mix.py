"""``sbkd-mix``: mix clean speech and noise into a corpus the recipes read.

The project's sample corpus mixes the speech and noise of ``shared/data``
and links the real VoiceBank-DEMAND test pairs as its test set::

    sbkd-mix --shared_data ../shared/data --output_folder data/sample_corpus

and ``--speech_folder``/``--noise_folder`` (instead of ``--shared_data``)
mix folders of one's own (:mod:`speechbrain_kd.data.mixing`).

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import logging

from speechbrain_kd.data.mixing import (
    build_sample_corpus,
    link_test_pairs,
    mix_corpus,
)


def main(argv=None):
    """Command line: builds the sample corpus or mixes one's own folders.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Example
    -------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    parser = argparse.ArgumentParser(
        prog="sbkd-mix",
        description="Mixes clean speech and noise into a VoiceBank-DEMAND "
        "style corpus: the project's sample corpus from --shared_data, or "
        "a corpus from --speech_folder and --noise_folder.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--shared_data", help="the shared/data folder")
    source.add_argument("--speech_folder", help="folder of clean speech")
    parser.add_argument("--noise_folder", help="folder of noise")
    parser.add_argument(
        "--test_folder",
        help="with --speech_folder: a folder of clean/ and noisy/ pairs, "
        "linked as the corpus' test set",
    )
    parser.add_argument("--output_folder", required=True)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--max_seconds", type=float)
    mix_only = {
        "snrs": {"type": float, "nargs": "+"},
        "n_valid_speakers": {"type": int},
        "valid_noise_fraction": {"type": float},
        "mixtures_per_utterance": {"type": int},
        "speaker_table": {},
        "sample_rate": {"type": int},
    }
    for name, kwargs in mix_only.items():
        parser.add_argument(f"--{name}", help="with --speech_folder", **kwargs)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    given = {
        name: getattr(args, name)
        for name in mix_only
        if getattr(args, name) is not None
    }
    if args.shared_data is not None:
        if given or args.noise_folder or args.test_folder:
            parser.error("--shared_data takes only --seed and --max_seconds")
        info = build_sample_corpus(
            args.shared_data, args.output_folder, args.seed, args.max_seconds
        )
    else:
        if args.noise_folder is None:
            parser.error("--speech_folder needs --noise_folder")
        info = mix_corpus(
            args.speech_folder,
            args.noise_folder,
            args.output_folder,
            seed=args.seed,
            max_seconds=args.max_seconds,
            **given,
        )
        if args.test_folder is not None:
            link_test_pairs(args.test_folder, args.output_folder)
    print(json.dumps({k: info[k] for k in ("counts", "durations_s")}))


if __name__ == "__main__":
    main()
