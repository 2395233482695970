"""The methods of ``hparams/methods`` and the distillation recipe's options.

The recipe's YAML (``hparams/distill.yaml``) includes one method file:
``kd_method: !include:methods/<name>.yaml``. A method file holds the
method's class (``method``), its ``schedule`` and the settings both read,
so each of those settings is an option of the recipe as well:
``--kd_weight=0.3`` reaches the method file's ``kd_weight``
(:func:`distill_arguments` hands it to the include), and a value a method
cannot take (``--kd_reduction=pixel``) is refused before anything loads.

The recipe files of earlier versions, ``hparams/distill/<name>.yaml``,
still run, as ``hparams/distill.yaml`` with that method: a grid's
recorded commands run again as they were recorded.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import logging
import os

import ruamel.yaml

from speechbrain_kd.distill.methods import OUTPUT_TARGETS, REDUCTIONS
from speechbrain_kd.distill.schedule import AFTER_WARMUP, KDSchedule
from speechbrain_kd.paths import hparams_folder

logger = logging.getLogger(__name__)

RECIPE_FILE = "distill.yaml"
METHODS_FOLDER = "methods"
INCLUDE = "!include:"

# Options of the methods whose values are checked before loading
CHOICES = {
    "kd_reduction": REDUCTIONS,
    "kd_after_warmup": AFTER_WARMUP,
    "kd_target": OUTPUT_TARGETS,
}
SCHEDULE_OPTIONS = {
    "kd_weight": "weight",
    "kd_warmup_epochs": "warmup_epochs",
    "kd_after_warmup": "after_warmup",
    "kd_balance": "balance",
    "kd_epochs": "kd_epochs",
}


def method_names():
    """The methods of ``hparams/methods`` (their file names).

    Example
    -------
    >>> method_names()
    ['cosine_lib', 'feature_mse', 'output_kd', 'sp_two_step']
    """
    folder = os.path.join(hparams_folder(), METHODS_FOLDER)
    return sorted(
        name[: -len(".yaml")]
        for name in os.listdir(folder)
        if name.endswith(".yaml")
    )


def method_file(method):
    """The file of a method: a name of ``hparams/methods`` or a path.

    Arguments
    ---------
    method : str
        ``cosine_lib``, ..., or the path of a method file of one's own.

    Returns
    -------
    str
        An absolute path.

    Example
    -------
    >>> os.path.relpath(method_file("sp_two_step"), hparams_folder())
    'methods/sp_two_step.yaml'
    >>> method_file("kd")
    Traceback (most recent call last):
      ...
    ValueError: Unknown KD method 'kd': use one of cosine_lib, \
feature_mse, output_kd, sp_two_step (files of hparams/methods) or the \
path of a method file
    """
    if method.endswith(".yaml") and os.path.isfile(method):
        return os.path.abspath(method)
    path = os.path.join(hparams_folder(), METHODS_FOLDER, f"{method}.yaml")
    if not os.path.isfile(path):
        raise ValueError(
            f"Unknown KD method {method!r}: use one of "
            f"{', '.join(method_names())} (files of hparams/{METHODS_FOLDER})"
            " or the path of a method file"
        )
    return path


def method_override(method):
    """The ``kd_method`` override that picks a method.

    Example
    -------
    >>> method_override("feature_mse")
    '!include:methods/feature_mse.yaml'
    """
    path = method_file(method)
    folder = os.path.join(hparams_folder(), METHODS_FOLDER)
    if os.path.dirname(path) == folder:
        return f"{INCLUDE}{METHODS_FOLDER}/{os.path.basename(path)}"
    return f"{INCLUDE}{path}"


def method_settings(method, overrides=None):
    """The top-level settings of a method file, with overrides, unbuilt.

    Arguments
    ---------
    method : str
        A method name or file (see :func:`method_file`).
    overrides : dict, optional
        Settings replacing the file's.

    Returns
    -------
    dict
        Setting to value; tagged entries (``method``, ``schedule``) as
        their YAML nodes.

    Example
    -------
    >>> settings = method_settings("sp_two_step", {"kd_warmup_epochs": 2})
    >>> settings["kd_after_warmup"], settings["kd_warmup_epochs"]
    ('supervised', 2)
    """
    with open(method_file(method), encoding="utf-8") as fin:
        settings = dict(ruamel.yaml.YAML().load(fin))
    return {**settings, **(overrides or {})}


def method_schedule(method, overrides=None):
    """The schedule a method file declares, with overrides.

    Arguments
    ---------
    method : str
        A method name or file.
    overrides : dict, optional
        Settings replacing the file's (``kd_warmup_epochs``, ...).

    Returns
    -------
    KDSchedule

    Example
    -------
    >>> method_schedule("sp_two_step").check_epochs(3, "sp_two_step")
    Traceback (most recent call last):
      ...
    ValueError: sp_two_step: kd_warmup_epochs must be an integer in \
[1, number_of_epochs - 1] = [1, 2] so that both steps of the KD-then-\
supervised schedule run, got 5
    """
    return _schedule(method_settings(method, overrides))


def check_method_options(settings):
    """Refuses a method option whose value is not allowed.

    Arguments
    ---------
    settings : dict
        Option to value (those of a method file, with the overrides).

    Raises
    ------
    ValueError
        Naming the option and the values it takes.

    Example
    -------
    >>> check_method_options({"kd_reduction": "pixel"})
    Traceback (most recent call last):
      ...
    ValueError: Option kd_reduction='pixel' is not allowed: use one of \
'frame', 'utterance', 'channel'
    """
    for option, allowed in CHOICES.items():
        if option in settings and settings[option] not in allowed:
            raise ValueError(
                f"Option {option}={settings[option]!r} is not allowed: use "
                f"one of {', '.join(map(repr, allowed))}"
            )
    _schedule(settings)


def _schedule(settings):
    """The :class:`KDSchedule` of settings (checked as it is built)."""
    return KDSchedule(
        **{
            argument: settings[option]
            for option, argument in SCHEDULE_OPTIONS.items()
            if option in settings
        }
    )


def distill_arguments(argv):
    """The distillation recipe's arguments, method options handed over.

    * ``hparams/distill/<name>.yaml`` (a recipe file of earlier versions)
      becomes ``hparams/distill.yaml`` with ``--kd_method`` naming the
      method, and its ``!include:../`` paths lose their ``../``;
    * ``--<setting>=<value>`` of a setting of the method file (and not of
      the recipe file) goes to the method file's include;
    * the method's options are checked (:func:`check_method_options`).

    Arguments
    ---------
    argv : list of str
        The recipe's command line: the YAML, then ``--key=value``.

    Returns
    -------
    list of str

    Example
    -------
    >>> folder = hparams_folder()
    >>> argv = distill_arguments(
    ...     [f"{folder}/distill/sp_two_step.yaml", "--kd_warmup_epochs=1",
    ...      "--student=!include:../models/student_w4.yaml"])
    >>> os.path.relpath(argv[0], folder)
    'distill.yaml'
    >>> argv[1:]
    ['--student=!include:models/student_w4.yaml', \
'--kd_method=!include:methods/sp_two_step.yaml [["kd_warmup_epochs", 1]]']
    """
    if not argv or argv[0].startswith("-"):
        return list(argv)  # no YAML (--help): nothing to hand over
    hparams_file, *args = argv
    legacy = _legacy_method(hparams_file)
    if legacy is not None:
        logger.warning(
            "%s: the methods now live in hparams/%s; running hparams/%s "
            "--kd_method='%s'",
            hparams_file,
            METHODS_FOLDER,
            RECIPE_FILE,
            method_override(legacy),
        )
        hparams_file = os.path.join(hparams_folder(), RECIPE_FILE)
        args = [arg.replace(f"{INCLUDE}../", INCLUDE) for arg in args]
        if not any(_key(arg) == "kd_method" for arg in args):
            args.append(f"--kd_method={method_override(legacy)}")
    with open(hparams_file, encoding="utf-8") as fin:
        recipe = ruamel.yaml.YAML().load(fin)
    chosen = next(
        (arg for arg in args if _key(arg) == "kd_method"),
        f"--kd_method={_tag(recipe.get('kd_method'))}",
    )
    node = _load_value(chosen.partition("=")[2])
    if isinstance(node, list):  # [key, value] pairs, as this returns them
        node = dict(node)
    tag = _tag(node)
    if not tag.startswith(INCLUDE):
        return [hparams_file, *args]  # a method built in place: no file
    path = tag[len(INCLUDE) :]
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(hparams_file), path)
    own = method_settings(path)
    moved = {
        _key(arg): arg.partition("=")[2]
        for arg in args
        if _key(arg) in own and _key(arg) not in recipe
    }
    settings = dict(node) if isinstance(node, dict) else {}
    settings.update({k: _load_value(v) for k, v in moved.items()})
    check_method_options({**own, **settings})
    kept = [arg for arg in args if _key(arg) not in (*moved, "kd_method")]
    if not settings:
        return [hparams_file, *kept, f"--kd_method={tag}"]
    # The settings go to the include as a list of [key, value] pairs: a
    # mapping would be merged into the YAML's own entry, keeping its file
    pairs = json.dumps([[k, _plain(v)] for k, v in settings.items()])
    return [hparams_file, *kept, f"--kd_method={tag} {pairs}"]


def _legacy_method(hparams_file):
    """The method of a recipe file of earlier versions, else None."""
    folder, name = os.path.split(os.path.normpath(hparams_file))
    method = name[: -len(".yaml")]
    parent, folder_name = os.path.split(folder)
    if (folder_name, os.path.basename(parent)) != ("distill", "hparams"):
        return None
    path = os.path.join(hparams_folder(), METHODS_FOLDER, name)
    return method if os.path.isfile(path) else None


def _key(arg):
    """The key of a ``--key=value`` argument (None for other arguments)."""
    if not arg.startswith("--") or "=" not in arg:
        return None
    return arg[2:].partition("=")[0]


def _load_value(text):
    """A command-line value read as YAML (tags kept)."""
    return ruamel.yaml.YAML().load(f"value: {text}")["value"]


def _tag(node):
    """The tag of a YAML node ('' for an untagged one)."""
    return getattr(getattr(node, "tag", None), "value", None) or ""


def _plain(value):
    """A YAML value as plain data (JSON-serialisable)."""
    if _tag(value):
        raise ValueError(
            f"A setting of a KD method cannot be a tagged value ({_tag(value)}"
            "); set it in a method file of your own"
        )
    return json.loads(json.dumps(value))
