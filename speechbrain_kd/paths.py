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


def resolve_shared_path(path):
    """A relative path of the shared data, as given or from the project.

    ``../shared/data`` (the recipes' default) means the folder beside the
    checkout: a path that does not exist from the working directory is
    taken from the project root (:func:`project_root`) if it exists there.

    Arguments
    ---------
    path : str
        A folder or file.

    Returns
    -------
    str
        ``path`` if it exists or is absolute or exists nowhere, else the
        path from the project root.

    Example
    -------
    >>> resolve_shared_path("hparams") == os.path.join(
    ...     project_root(), "hparams"
    ... ) or os.path.isdir("hparams")
    True
    >>> resolve_shared_path("no/such/folder")
    'no/such/folder'
    """
    if os.path.isabs(path) or os.path.exists(path):
        return path
    from_project = os.path.join(project_root(), path)
    return from_project if os.path.exists(from_project) else path
