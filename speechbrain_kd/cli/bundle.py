"""``sbkd-bundle``: pack a mixed corpus compactly for another machine, or
unpack it there.

Packs the training speech and noise of a corpus (and the extra training
noise folders) as Opus, its validation mixtures and test pairs as FLAC,
into a folder small enough to copy to a GPU machine with the checkout
(see :mod:`speechbrain_kd.data.bundle`); unpacking decodes it into a
corpus the recipes read with ``--data_folder`` and
``--extra_train_noise``, which it prints as JSON.

Usage::

    sbkd-bundle pack data/sample_corpus data_bundle \\
        --extra_train_noise ../shared/data/noise_ambient
    sbkd-bundle unpack data_bundle corpus

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import logging

from speechbrain_kd.data.bundle import pack_corpus, unpack_corpus


def main(argv=None):
    """Packs or unpacks a corpus bundle, as the command line says.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Example
    -------
    >>> main(["--help"])
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    parser = argparse.ArgumentParser(
        prog="sbkd-bundle",
        description="Packs a mixed corpus compactly (Opus training pools, "
        "FLAC validation and test) for another machine, or unpacks it.",
    )
    parser.add_argument("action", choices=("pack", "unpack"))
    parser.add_argument("source", help="corpus (pack) or bundle (unpack)")
    parser.add_argument("output", help="bundle (pack) or folder (unpack)")
    parser.add_argument(
        "--extra_train_noise",
        nargs="*",
        default=[],
        help="with pack: more noise folders to train with",
    )
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.action == "pack":
        info = pack_corpus(
            args.source,
            args.output,
            args.extra_train_noise,
            workers=args.workers,
        )
        print(f"{args.output}: {info['megabytes']} MB")
    else:
        print(json.dumps(unpack_corpus(args.source, args.output, args.workers)))


if __name__ == "__main__":
    main()
