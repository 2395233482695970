#!/usr/bin/env python3
"""Recipe: pack a mixed corpus compactly for another machine, or unpack it.

Packs the training speech and noise of a corpus (and the extra training
noise folders) as Opus, its validation mixtures and test pairs as FLAC,
into a folder small enough to travel with the checkout to a lent GPU
machine (see ``speechbrain_kd.data.bundle``); unpacking decodes it into a
corpus the recipes read with ``--data_folder`` and
``--extra_train_noise``, which it prints as YAML.

Usage::

    python recipes/device_bundle.py pack data/sample_corpus .bundle \\
        --extra_train_noise ../shared/data/noise_ambient
    python recipes/device_bundle.py unpack .bundle /tmp/corpus

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from speechbrain_kd.data.bundle import pack_corpus, unpack_corpus  # noqa: E402


def main(argv=None):
    """Packs or unpacks a corpus bundle, as the command line says."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("pack", "unpack"))
    parser.add_argument("source", help="corpus (pack) or bundle (unpack)")
    parser.add_argument("output", help="bundle (pack) or folder (unpack)")
    parser.add_argument("--extra_train_noise", nargs="*", default=[])
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
