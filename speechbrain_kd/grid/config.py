"""Grid descriptions: where they are found and how they are checked.

A grid (a HyperPyYAML file, see ``hparams/experiment/tiny.yaml``) names a
teacher, the students to distil it into (``scenarios``, each with its kind
of mismatch to the teacher: ``width``, ``depth`` or ``both``), the
``methods`` to compare and the ``seeds``. A method is ``student_alone``
(the student trained on its own), a KD method of ``hparams/methods`` or
the path of a method file of one's own, or a variant of one: ``{name:
cosine_lib_w0.1, recipe: cosine_lib, overrides: {kd_weight: 0.1}}``, which
is how weight sweeps are written.

Relative paths of a grid are relative to the folder holding ``hparams``
(the repository root in a checkout).

Authors
 * speechbrain-kd contributors 2026
"""

import io
import logging
import os
from pathlib import Path

import ruamel.yaml
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.distill.recipe import (
    method_file,
    method_names,
    method_schedule,
)
from speechbrain_kd.grid.executors import check_executor, check_ray_settings
from speechbrain_kd.paths import hparams_folder, project_root
from speechbrain_kd.recipe_help import yaml_options

logger = logging.getLogger(__name__)

BASELINE = "student_alone"
# The KD methods: the files of hparams/methods
DISTILL_METHODS = tuple(method_names())
METHODS = (BASELINE, *DISTILL_METHODS)
MISMATCHES = ("width", "depth", "both")
REFERENCE = "reference"  # the scenario name of the teacher and noisy rows
# Run order: seed by seed (a grid stopped early has every cell alike) or
# scenario by scenario (the first scenarios get all their seeds first)
ORDERS = ("seed", "scenario")
# The keys that pick the part of a grid to run (see `load_grid_part`)
PART_KEYS = ("scenarios", "methods")

# Settings the grid sets on every run, which `overrides` may not repeat
RESERVED = (
    "data_folder",
    "output_folder",
    "seed",
    "number_of_epochs",
    "batch_size",
    "segment_seconds",
    "model",
    "student",
    "teacher",
    "teacher_model",
)


def find_grid_file(name):
    """The file of a grid given by path or by name.

    Arguments
    ---------
    name : str
        A path to a grid file, or the name of one of
        ``hparams/experiment`` (``tiny``, ``mismatch``, ...), found in a
        checkout or in the installed package alike.

    Returns
    -------
    str

    Example
    -------
    >>> os.path.basename(find_grid_file("tiny"))
    'tiny.yaml'
    >>> find_grid_file("no_such_grid")
    Traceback (most recent call last):
      ...
    FileNotFoundError: grid 'no_such_grid': no such file, and not a grid \
of hparams/experiment (...)
    """
    if os.path.isfile(name):
        return name
    folder = os.path.join(hparams_folder(), "experiment")
    path = os.path.join(folder, f"{name}.yaml")
    if os.path.isfile(path):
        return path
    known = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))
    raise FileNotFoundError(
        f"grid {name!r}: no such file, and not a grid of hparams/experiment "
        f"({', '.join(known)})"
    )


def load_grid(name, overrides=None):
    """Loads and checks a grid description (HyperPyYAML).

    Arguments
    ---------
    name : str
        The grid file, or a grid name (see :func:`find_grid_file`).
    overrides : str or dict, optional
        HyperPyYAML overrides, e.g. ``{"output_folder": "/tmp/grid"}``.

    Returns
    -------
    dict
        The grid, as returned by :func:`check_grid`.
    """
    with open(find_grid_file(name), encoding="utf-8") as fin:
        grid = load_hyperpyyaml(fin, overrides)
    return check_grid(grid)


def load_grid_part(name, overrides=None):
    """Loads a grid run in part, and the whole grid its summary covers.

    ``--methods`` and ``--scenarios`` on the command line pick the part of
    a grid to run (one cell, a new variant). A bare name stands for the
    scenario or method of that name in the grid file (then the part
    compares only the methods it runs). The summary written into the
    grid's archive must still cover every cell of the grid file, or a
    partial run would overwrite the whole grid's tables with its own: the
    whole grid is the file's, with the part's scenarios and methods added.

    Arguments
    ---------
    name : str
        The grid file, or a grid name (see :func:`find_grid_file`).
    overrides : str or dict, optional
        HyperPyYAML overrides, as :func:`load_grid` takes them.

    Returns
    -------
    part : dict
        The grid with every override: the runs to make.
    whole : dict
        The grid to summarize (``part`` itself when no override names
        ``methods`` or ``scenarios``).

    Example
    -------
    >>> settings = {"output_folder": "/tmp/grid", "data_folder": "/tmp/c"}
    >>> variant = {"name": "cos_w0.1", "recipe": "cosine_lib",
    ...            "overrides": {"kd_weight": 0.1}}
    >>> part, whole = load_grid_part(
    ...     "tiny", {**settings, "methods": [variant]}
    ... )
    >>> [m["name"] for m in part["methods"]]
    ['cos_w0.1']
    >>> [m["name"] for m in whole["methods"]]
    ['student_alone', 'cosine_lib', 'cos_w0.1']
    >>> whole["comparisons"]
    [('cosine_lib', 'student_alone'), ('cos_w0.1', 'student_alone')]
    >>> part, whole = load_grid_part(
    ...     "tiny", {**settings, "methods": ["cosine_lib"],
    ...              "scenarios": ["student_w64"]}
    ... )
    >>> [m["name"] for m in part["methods"]], part["comparisons"]
    (['cosine_lib'], [('cosine_lib', 'student_alone')])
    >>> [s["student"] for s in part["scenarios"]]
    ['student_w64']
    >>> part, whole = load_grid_part("tiny", settings)
    >>> part is whole
    True
    """
    if isinstance(overrides, str):
        overrides = ruamel.yaml.YAML().load(overrides)
    overrides = dict(overrides or {})
    rest = {k: v for k, v in overrides.items() if k not in PART_KEYS}
    if len(rest) == len(overrides):
        part = load_grid(name, _dumped(overrides))
        return part, part
    whole = load_grid(name, _dumped(rest))
    picked = {
        key: [_named_in(item, whole[key]) for item in overrides[key]]
        for key in PART_KEYS
        if key in overrides
    }
    if "methods" in picked and _sets_comparisons(name):
        runs = {_name_of(method) for method in picked["methods"]}
        picked["comparisons"] = [
            list(pair)
            for pair in whole["comparisons"]
            if set(pair) <= {*runs, BASELINE}
        ]
    part = load_grid(name, _dumped({**rest, **picked}))
    return part, widen(whole, part)


def _sets_comparisons(name):
    # whether the grid file lists its comparisons (or takes the default)
    text = Path(find_grid_file(name)).read_text(encoding="utf-8")
    return "comparisons" in [key for key, _, _ in yaml_options(text)]


def _named_in(item, defined):
    # a bare name of the grid file's scenarios or methods: its definition
    by_name = {entry["name"]: entry for entry in defined}
    return by_name.get(item, item) if isinstance(item, str) else item


def _name_of(method):
    return method if isinstance(method, str) else method.get("name")


def _dumped(overrides):
    # a YAML string keeps the tags (!ref, !include) of command-line values
    stream = io.StringIO()
    ruamel.yaml.YAML().dump(overrides, stream)
    return stream.getvalue() if overrides else None


def widen(whole, part):
    """The grid ``whole`` with the scenarios, methods and comparisons of
    ``part`` added (a name of both is taken from ``part``).

    Arguments
    ---------
    whole : dict
        A checked grid (as its file says).
    part : dict
        The same grid with other ``scenarios`` or ``methods``, checked.

    Returns
    -------
    dict
        A checked grid.

    Example
    -------
    >>> whole = {
    ...     "scenarios": [{"name": "w16"}], "comparisons": [],
    ...     "methods": [{"name": "student_alone"}, {"name": "cosine_lib"}],
    ... }
    >>> part = {
    ...     "scenarios": [{"name": "d16"}],
    ...     "methods": [{"name": "cosine_lib", "recipe": "cosine_lib"}],
    ...     "comparisons": [("cosine_lib", "student_alone")],
    ... }
    >>> widened = widen(whole, part)
    >>> [s["name"] for s in widened["scenarios"]]
    ['w16', 'd16']
    >>> widened["methods"][1], widened["comparisons"]
    ({'name': 'cosine_lib', 'recipe': 'cosine_lib'}, \
[('cosine_lib', 'student_alone')])
    """
    widened = dict(whole)
    for key in PART_KEYS:
        by_name = {item["name"]: item for item in whole[key]}
        by_name.update({item["name"]: item for item in part[key]})
        widened[key] = list(by_name.values())
    widened["comparisons"] = list(
        dict.fromkeys([*whole["comparisons"], *part["comparisons"]])
    )
    return widened


def check_grid(grid):
    """Checks a grid description; returns it with defaults and full paths.

    Required keys: ``output_folder`` (the run folders: checkpoints and
    audio), ``data_folder``, ``teacher`` (with ``model``, a file name of
    ``hparams/models``, and either ``epochs`` or the ``folder`` of a
    trained teacher), ``scenarios`` (``name``, ``student``, ``mismatch``),
    ``methods``, ``seeds``, ``student_epochs``, ``batch_size`` and
    ``segment_seconds``. Optional: ``archive_folder`` (where the small
    per-run results are copied, to be committed; a run found there is
    complete), ``baseline_archive`` (the archive of another grid whose
    ``student_alone`` runs this grid shares: they do not depend on the
    teacher, so a grid that changes only the teacher reuses them instead
    of training them again), ``jobs`` (runs at once, default 1),
    ``executor`` (where the runs train: ``local``, the default, or
    ``ray``), ``ray`` (the settings of the ray executor: ``address``,
    ``cpus_per_run``, ``gpus_per_run``, ``max_retries``),
    ``order`` (``seed``: seed by seed, the default; ``scenario``: scenario
    by scenario), ``test_labels`` (display names of the test sets),
    ``shared_data`` (the sample corpus is built from it into
    ``data_folder``), ``teacher.seed`` (default: the first seed),
    ``overrides`` (for every run, the teacher's included),
    ``method_overrides`` (``{method: {key: value}}``) and
    ``comparisons`` (pairs ``[method, reference]`` of the paired table;
    by default every method against ``student_alone``).

    Arguments
    ---------
    grid : dict
        The loaded grid description.

    Returns
    -------
    dict
        A checked copy: paths absolute, optional keys filled in, and
        ``methods`` a list of ``{name, recipe, overrides}``.

    Raises
    ------
    ValueError
        Naming the bad setting.

    Example
    -------
    >>> grid = {
    ...     "output_folder": "/tmp/grid", "data_folder": "/tmp/corpus",
    ...     "teacher": {"model": "teacher_cpu", "epochs": 4},
    ...     "scenarios": [{"name": "w16", "student": "student_w16",
    ...                    "mismatch": "width"}],
    ...     "methods": ["student_alone", "cosine_lib",
    ...                 {"name": "cos_w0.1", "recipe": "cosine_lib",
    ...                  "overrides": {"kd_weight": 0.1}}],
    ...     "seeds": [1, 2],
    ...     "student_epochs": 3, "batch_size": 8, "segment_seconds": 1.0,
    ... }
    >>> checked = check_grid(grid)
    >>> checked["teacher"]["path"], checked["jobs"], checked["executor"]
    ('/tmp/grid/teacher', 1, 'local')
    >>> checked["methods"][2]
    {'name': 'cos_w0.1', 'recipe': 'cosine_lib', 'overrides': \
{'kd_weight': 0.1}}
    >>> checked["comparisons"]
    [('cosine_lib', 'student_alone'), ('cos_w0.1', 'student_alone')]
    >>> check_grid({**grid, "methods": ["student_alone", "kd"]})
    Traceback (most recent call last):
      ...
    ValueError: methods: unknown method 'kd'; choose among student_alone, \
cosine_lib, feature_mse, output_kd, sp_two_step, the path of a method \
file (or give a variant: {name, recipe, overrides})
    >>> check_grid({**grid, "seeds": []})
    Traceback (most recent call last):
      ...
    ValueError: seeds: give at least 1 seed, got []
    """
    required = (
        "output_folder",
        "data_folder",
        "teacher",
        "scenarios",
        "methods",
        "seeds",
        "student_epochs",
        "batch_size",
        "segment_seconds",
    )
    missing = [key for key in required if grid.get(key) is None]
    if missing:
        raise ValueError(f"grid: missing setting(s) {', '.join(missing)}")
    checked = dict(grid)
    checked["output_folder"] = full_path(grid["output_folder"])
    checked["data_folder"] = full_path(grid["data_folder"])
    archive = grid.get("archive_folder")
    checked["archive_folder"] = archive and full_path(archive)
    baseline = grid.get("baseline_archive")
    checked["baseline_archive"] = baseline and full_path(baseline)
    shared = grid.get("shared_data")
    checked["shared_data"] = shared and full_path(shared)
    checked["jobs"] = grid.get("jobs", 1)
    checked["executor"] = grid.get("executor") or "local"
    check_executor(checked["executor"])
    checked["ray"] = check_ray_settings(grid.get("ray") or {})
    checked["order"] = grid.get("order", "seed")
    if checked["order"] not in ORDERS:
        raise ValueError(
            f"order: {checked['order']!r} is not one of {', '.join(ORDERS)}"
        )
    for key in ("student_epochs", "batch_size", "jobs"):
        _check_positive_int(checked[key], key)
    if not grid["segment_seconds"] > 0:
        raise ValueError(
            f"segment_seconds: must be positive, got {grid['segment_seconds']}"
        )
    checked["seeds"] = _check_seeds(grid["seeds"])
    checked["methods"] = _check_methods(grid["methods"])
    checked["scenarios"] = _check_scenarios(grid["scenarios"])
    checked["teacher"] = _check_teacher(
        grid["teacher"], checked["output_folder"], checked["seeds"][0]
    )
    checked["overrides"] = _check_overrides(grid.get("overrides") or {})
    checked["method_overrides"] = _check_method_overrides(
        grid.get("method_overrides") or {}, checked
    )
    checked["comparisons"] = _check_comparisons(
        grid.get("comparisons"), checked["methods"]
    )
    return checked


def full_path(path):
    """Returns ``path`` made absolute against the project root.

    Example
    -------
    >>> full_path("/tmp/x/../grid")
    '/tmp/grid'
    """
    return os.path.normpath(os.path.join(project_root(), str(path)))


def model_file(name, key="model"):
    """The file of a model of ``hparams/models``, checked.

    Arguments
    ---------
    name : str
        File name without ``.yaml``, e.g. ``student_w16``.
    key : str
        The setting that named it (for the error).

    Returns
    -------
    str

    Example
    -------
    >>> os.path.basename(model_file("student_w16"))
    'student_w16.yaml'
    """
    folder = os.path.join(hparams_folder(), "models")
    path = os.path.join(folder, f"{name}.yaml")
    if not os.path.isfile(path):
        known = sorted(
            f[:-5] for f in os.listdir(folder) if f.endswith(".yaml")
        )
        raise ValueError(
            f"{key}: unknown model file {name!r} (no {path}); choose among "
            + ", ".join(known)
        )
    return path


def _check_positive_int(value, key):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key}: must be a positive integer, got {value!r}")


def _check_seeds(seeds):
    if not isinstance(seeds, list | tuple) or not seeds:
        raise ValueError(f"seeds: give at least 1 seed, got {seeds!r}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seeds: {seed!r} is not an integer")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: repeated seed in {seeds}")
    return list(seeds)


def _check_methods(methods):
    if not isinstance(methods, list | tuple) or not methods:
        raise ValueError(f"methods: give at least 1 method, got {methods!r}")
    checked = []
    for i, method in enumerate(methods):
        if isinstance(method, str):
            method = {"name": method, "recipe": method}
        if not isinstance(method, dict) or "name" not in method:
            raise ValueError(
                f"methods[{i}]: give a method name or {{name, recipe, "
                f"overrides}}, got {method!r}"
            )
        name = method["name"]
        recipe = method.get("recipe", name)
        if _is_method_file(recipe):
            recipe = full_path(recipe)
        elif recipe not in METHODS:
            raise ValueError(
                f"methods: unknown method {recipe!r}; choose among "
                + ", ".join(METHODS)
                + ", the path of a method file (or give a variant: {name, "
                "recipe, overrides})"
            )
        if not name or "/" in name or name == REFERENCE:
            raise ValueError(f"methods[{i}].name: {name!r} is not a folder")
        overrides = _check_overrides(
            method.get("overrides") or {}, f"methods[{i}].overrides"
        )
        checked.append({"name": name, "recipe": recipe, "overrides": overrides})
    names = [method["name"] for method in checked]
    if len(set(names)) != len(names):
        raise ValueError(f"methods: repeated method in {names}")
    return checked


def _check_scenarios(scenarios):
    if not isinstance(scenarios, list | tuple) or not scenarios:
        raise ValueError(
            f"scenarios: give at least 1 scenario, got {scenarios!r}"
        )
    names = []
    for i, scenario in enumerate(scenarios):
        if isinstance(scenario, str):
            raise ValueError(
                f"scenarios[{i}]: {scenario!r} is no scenario of the grid "
                "file; give {name, student, mismatch}"
            )
        for key in ("name", "student", "mismatch"):
            if not isinstance(scenario, dict) or key not in scenario:
                raise ValueError(f"scenarios[{i}]: missing {key!r}")
        name = scenario["name"]
        if name == REFERENCE or not name or "/" in name:
            raise ValueError(
                f"scenarios[{i}].name: {name!r} is reserved or not a valid "
                "folder name"
            )
        model_file(scenario["student"], f"scenarios[{i}].student")
        if scenario["mismatch"] not in MISMATCHES:
            raise ValueError(
                f"scenarios[{i}].mismatch: {scenario['mismatch']!r} is not "
                f"one of {', '.join(MISMATCHES)}"
            )
        names.append(name)
    if len(set(names)) != len(names):
        raise ValueError(f"scenarios: repeated name in {names}")
    return [dict(scenario) for scenario in scenarios]


def _check_teacher(teacher, output_folder, first_seed):
    if not isinstance(teacher, dict) or "model" not in teacher:
        raise ValueError(
            "teacher: give {model: <file of hparams/models>, epochs: <n>} "
            "or {model: ..., folder: <trained teacher>}"
        )
    model_file(teacher["model"], "teacher.model")
    # folder: a trained teacher's, or None to train one into `path`
    folder = teacher.get("folder")
    checked = {
        "model": teacher["model"],
        "epochs": teacher.get("epochs"),
        "folder": folder and full_path(folder),
        "seed": teacher.get("seed", first_seed),
        "path": full_path(folder or os.path.join(output_folder, "teacher")),
    }
    if folder is None:
        _check_positive_int(checked["epochs"], "teacher.epochs")
    return checked


def _check_overrides(overrides, key="overrides"):
    if not isinstance(overrides, dict):
        raise ValueError(f"{key}: must be a mapping, got {overrides!r}")
    for name in overrides:
        if name in RESERVED:
            raise ValueError(
                f"{key}: {name!r} is set by the grid itself (data_folder, "
                "output_folder, seeds, student_epochs, batch_size, "
                "segment_seconds, teacher, scenarios)"
            )
    return dict(overrides)


def _check_method_overrides(method_overrides, grid):
    names = [method["name"] for method in grid["methods"]]
    checked = {}
    for method, overrides in method_overrides.items():
        # a method of METHODS may be left out of a shorter list of methods
        if method not in names and method not in METHODS:
            raise ValueError(
                f"method_overrides: {method!r} is not in methods {names}"
            )
        checked[method] = _check_overrides(
            overrides or {}, f"method_overrides.{method}"
        )
    for method in grid["methods"]:
        if method["recipe"] == BASELINE:
            continue
        # the method's own schedule checks the run (e.g. both steps of
        # sp_two_step must run)
        settings = {
            **grid["overrides"],
            **checked.get(method["name"], {}),
            **method["overrides"],
        }
        method_schedule(method["recipe"], settings).check_epochs(
            settings.get("number_of_epochs", grid["student_epochs"]),
            method["name"],
        )
    return checked


def _is_method_file(recipe):
    """Whether a method's recipe is the path of a method file."""
    if not isinstance(recipe, str) or not recipe.endswith(".yaml"):
        return False
    method_file(full_path(recipe))  # names the file if it does not exist
    return True


def _check_comparisons(comparisons, methods):
    names = [method["name"] for method in methods]
    if comparisons is None:
        return [(name, BASELINE) for name in names if name != BASELINE]
    known = {*names, BASELINE}
    checked = []
    for pair in comparisons:
        if (
            isinstance(pair, list | tuple)
            and len(pair) == 2
            and not set(pair) <= known
            and set(pair) <= {*known, *METHODS}
        ):
            # a method left out of a shorter list of methods: said, skipped
            logger.warning("comparisons: %s skipped (not in methods)", pair)
            continue
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not set(pair) <= known
        ):
            raise ValueError(
                f"comparisons: {pair!r} is not a pair [method, reference] "
                f"of methods {names}"
            )
        checked.append(tuple(pair))
    return checked
