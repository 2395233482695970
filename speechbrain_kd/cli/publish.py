"""``sbkd-publish``: upload an exported hub folder to the Hugging Face Hub.

Usage (from the repository root)::

    sbkd-publish results/export/student_w16 \\
        --repo-id user/name [--dry-run] [--private] [--token TOKEN]

The folder is checked first (``speechbrain_kd.export.validate_hub_folder``
and ``enhance_standalone``): ``hyperparams.yaml`` and ``custom.yaml`` must
load and define what ``SpectralMaskEnhancement`` needs,
``enhance_model.ckpt`` must match their model and hold no adapter or
teacher weights, and the folder must load with ``foreign_class`` and
enhance its example in a fresh interpreter started in another directory
with an empty ``PYTHONPATH`` and without ``speechbrain_kd``. A folder that
fails is refused. ``--dry-run`` stops there and lists the files that would
be uploaded, without network.

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import sys

from speechbrain_kd.export import publish


def run(argv=None):
    """Parses the arguments and publishes the folder.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    list of str
        The files uploaded, or that would be with ``--dry-run``.

    Example
    -------
    >>> run(["--help"])
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    parser = argparse.ArgumentParser(
        prog="sbkd-publish",
        description="Validates an exported hub folder and uploads it.",
    )
    parser.add_argument("folder", help="a hub folder made by recipes/export.py")
    parser.add_argument("--repo-id", required=True, help="user/name")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and list the files, upload nothing",
    )
    parser.add_argument("--private", action="store_true")
    parser.add_argument(
        "--token", help="Hugging Face token (default: the cached login)"
    )
    args = parser.parse_args(argv)
    try:
        return publish(
            args.folder,
            args.repo_id,
            dry_run=args.dry_run,
            token=args.token,
            private=args.private,
        )
    except ValueError as error:
        parser.exit(1, f"Cannot publish {args.folder}: {error}\n")


def main():
    """The ``sbkd-publish`` command: :func:`run` on ``sys.argv[1:]``."""
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
