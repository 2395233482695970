"""The command that trains one run of a grid: a recipe of ``recipes/``
with its file of ``hparams/``, found by :mod:`speechbrain_kd.paths` in a
checkout or an installed wheel alike.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import sys

from speechbrain_kd.paths import hparams_folder, recipes_folder


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
