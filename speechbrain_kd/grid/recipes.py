"""Where a grid finds the recipes and hyperparameters it runs.

In a checkout they are the repository's ``recipes/`` and ``hparams/``;
an installed package carries copies of both inside itself (package data,
see ``setup.py``), so a grid runs the same way from a wheel. Relative
paths of a grid are taken from the repository root in a checkout and from
the working directory otherwise.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import sys

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def recipe_command(recipe, settings):
    """The command that trains one run of a grid.

    Arguments
    ---------
    recipe : str
        ``student_alone`` or ``teacher`` (``recipes/train.py`` with
        ``hparams/train.yaml``), or a method of ``hparams/distill``
        (``recipes/distill.py`` with that file).
    settings : dict
        Command-line overrides; strings are passed as YAML text.

    Returns
    -------
    list of str

    Example
    -------
    >>> command = recipe_command("cosine_lib", {"seed": 7, "x": [1]})
    >>> [os.path.basename(arg) for arg in command[1:3]], command[3:]
    (['distill.py', 'cosine_lib.yaml'], ['--seed=7', '--x=[1]'])
    """
    if recipe in ("student_alone", "teacher"):
        script, hparams = "train.py", "train.yaml"
    else:
        script, hparams = (
            "distill.py",
            os.path.join("distill", f"{recipe}.yaml"),
        )
    return [
        sys.executable,
        os.path.join(recipes_folder(), script),
        os.path.join(hparams_folder(), hparams),
        *(override(key, value) for key, value in settings.items()),
    ]


def override(key, value):
    """Formats a recipe override; strings are passed as YAML text.

    Example
    -------
    >>> override("kd_weight", 0.1), override("student", "!include:x.yaml")
    ('--kd_weight=0.1', '--student=!include:x.yaml')
    """
    text = value if isinstance(value, str) else json.dumps(value)
    return f"--{key}={text}"
