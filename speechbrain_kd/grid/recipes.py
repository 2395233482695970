"""The command that trains one run of a grid: a recipe of ``recipes/``
with its file of ``hparams/``, found by :mod:`speechbrain_kd.paths` in a
checkout or an installed wheel alike.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import sys

from speechbrain_kd.distill.recipe import (
    RECIPE_FILE,
    distill_arguments,
    method_override,
)
from speechbrain_kd.paths import hparams_folder, project_root, recipes_folder


def recipe_command(recipe, settings):
    """The command that trains one run of a grid.

    Arguments
    ---------
    recipe : str
        ``student_alone`` or ``teacher`` (``recipes/train.py`` with
        ``hparams/train.yaml``), or a KD method: a file of
        ``hparams/methods`` or the path of one's own
        (``recipes/distill.py`` with ``hparams/distill.yaml`` including
        it).
    settings : dict
        Command-line overrides; strings are passed as YAML text.

    Returns
    -------
    list of str

    Example
    -------
    >>> command = recipe_command("sp_two_step", {"seed": 7, "x": [1]})
    >>> [os.path.basename(arg) for arg in command[1:3]], command[3:]
    (['distill.py', 'distill.yaml'], \
['--kd_method=!include:methods/sp_two_step.yaml', '--seed=7', '--x=[1]'])
    """
    if recipe in ("student_alone", "teacher"):
        script, hparams, method = "train.py", "train.yaml", []
    else:
        script, hparams = "distill.py", RECIPE_FILE
        method = [override("kd_method", method_override(recipe))]
    return [
        sys.executable,
        os.path.join(recipes_folder(), script),
        os.path.join(hparams_folder(), hparams),
        *method,
        *(override(key, value) for key, value in settings.items()),
    ]


def comparable_command(command):
    """A recipe command in the form the recipe runs it, to compare runs.

    A command of the distillation recipe, recorded by an earlier version
    (``hparams/distill/<method>.yaml``, ``!include:../models/...``) or by
    this one, is written as ``recipes/distill.py`` runs it (see
    :func:`~speechbrain_kd.distill.recipe.distill_arguments`): the same
    run compares equal whichever version recorded it.

    Arguments
    ---------
    command : list of str
        The recipe, its YAML file, then ``--key=value`` overrides.

    Returns
    -------
    list of str

    Example
    -------
    >>> old = ["/elsewhere/recipes/distill.py",
    ...        "/elsewhere/hparams/distill/cosine_lib.yaml",
    ...        "--student=!include:../models/student_w16.yaml",
    ...        "--kd_weight=0.3"]
    >>> new = recipe_command("cosine_lib", {
    ...     "student": "!include:models/student_w16.yaml", "kd_weight": 0.3})
    >>> comparable_command(old)[2:] == comparable_command(new[1:])[2:]
    True
    """
    script, hparams, *args = command
    if os.path.basename(script) != "distill.py":
        return list(command)
    return [script, *distill_arguments([hparams, *args])]


def portable_command(command, root=None):
    """A recipe command with the project's own paths made relative.

    Archived commands are committed: the project root of the machine
    that ran them is written away (``<root>/x`` becomes ``x``, a folder
    beside it, such as ``shared``, ``../shared``), so that the record
    reads the same on every checkout.

    Arguments
    ---------
    command : list of str
        The recipe, its YAML file and ``--key=value`` overrides.
    root : str, optional
        The project root (by default, this checkout's).

    Returns
    -------
    list of str

    Example
    -------
    >>> portable_command(
    ...     ["/src/kd/recipes/train.py", "--data_folder=/src/kd/data/c",
    ...      "--teacher=/src/shared/m.tar", "--seed=1"], root="/src/kd")
    ['recipes/train.py', '--data_folder=data/c', '--teacher=../shared/m.tar', \
'--seed=1']
    """
    root = os.path.normpath(root or project_root())
    inside = os.path.join(root, "")
    beside = os.path.join(os.path.dirname(root), "")
    return [
        arg.replace(inside, "").replace(beside, os.path.join("..", ""))
        for arg in command
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
