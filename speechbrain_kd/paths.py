"""Where the project's recipes and hyperparameters are.

In a checkout they are the repository's ``recipes/`` and ``hparams/``; an
installed package carries copies of both inside itself (package data, see
``setup.py``), so that features files, experiment grids and the recipes
they run are found the same way from a wheel. Relative paths (of a grid,
for instance) are taken from the repository root in a checkout and from
the working directory otherwise.

Authors
 * speechbrain-kd contributors 2026
"""

import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(PACKAGE)


def _in_checkout():
    return all(
        os.path.isdir(os.path.join(CHECKOUT, name))
        for name in ("hparams", "recipes")
    )


def project_root():
    """The folder relative paths of a grid start from.

    Example
    -------
    >>> os.path.isdir(project_root())
    True
    """
    return CHECKOUT if _in_checkout() else os.getcwd()


def hparams_folder():
    """The ``hparams`` folder: the checkout's, or the package's copy.

    Example
    -------
    >>> os.path.isfile(os.path.join(hparams_folder(), "train.yaml"))
    True
    """
    return os.path.join(CHECKOUT if _in_checkout() else PACKAGE, "hparams")


def recipes_folder():
    """The ``recipes`` folder: the checkout's, or the package's copy."""
    return os.path.join(CHECKOUT if _in_checkout() else PACKAGE, "recipes")
