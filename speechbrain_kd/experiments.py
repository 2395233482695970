"""Experiment grids: students x distillation methods x seeds, aggregated.

A grid (a HyperPyYAML file of ``hparams/experiment``, see ``tiny.yaml``)
names a teacher, the students to distil it into (``scenarios``, each with
its kind of mismatch to the teacher: ``width``, ``depth`` or ``both``), the
``methods`` to compare (``student_alone``, the student trained on its own
by ``recipes/train.py``, and the methods of ``hparams/distill`` run by
``recipes/distill.py``) and the ``seeds``. :func:`run_grid` runs the real
recipes as subprocesses, the teacher first, each run in its own folder
``<output_folder>/<scenario>/<method>/seed<k>``; a run is complete once its
``test_summary.json`` exists, so a grid started again skips what is done
and an interrupted run resumes from its checkpoints. :func:`aggregate`
reduces the per-run test metrics to mean and standard deviation over the
seeds, with the teacher and the noisy input as reference rows, and writes
``results.csv``, ``results.md`` and two plots.

Relative paths of a grid are relative to the repository root.

Authors
 * speechbrain-kd contributors 2026
"""

import csv
import functools
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from hyperpyyaml import load_hyperpyyaml  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    NullFormatter,
)
from tqdm import tqdm  # noqa: E402
from tqdm.contrib.logging import logging_redirect_tqdm  # noqa: E402

from speechbrain_kd.data.mixing import build_sample_corpus  # noqa: E402
from speechbrain_kd.metrics import METRICS, evaluate_folder  # noqa: E402
from speechbrain_kd.models import (  # noqa: E402
    count_parameters,
    macs_per_second,
)

logger = logging.getLogger(__name__)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_FOLDER = os.path.join(REPO, "hparams", "models")

BASELINE = "student_alone"
DISTILL_METHODS = ("sp_two_step", "feature_mse", "cosine_lib", "output_kd")
METHODS = (BASELINE, *DISTILL_METHODS)
MISMATCHES = ("width", "depth", "both")
REFERENCE = "reference"  # the scenario name of the teacher and noisy rows

SUMMARY_FILE = "test_summary.json"
RUNS_FILE = "runs.csv"
RUNS_FIELDS = ("name", "scenario", "method", "seed", "folder")
RUNS_FIELDS += ("wall_s", "finished")
OUTPUT_LOG = "grid_output.log"  # a run's stdout and stderr, appended
TAIL_LINES = 40

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
LABELS = {"sisdr": "SI-SDR"}
DIGITS = {"stoi": 3}


class RunFailedError(RuntimeError):
    """A recipe of the grid exited with an error."""


def load_grid(path, overrides=None):
    """Loads and checks a grid description (HyperPyYAML).

    Arguments
    ---------
    path : str
        The grid file, e.g. ``hparams/experiment/cpu_sample.yaml``.
    overrides : str or dict, optional
        HyperPyYAML overrides, e.g. ``{"output_folder": "/tmp/grid"}``.

    Returns
    -------
    dict
        The grid, as returned by :func:`check_grid`.
    """
    with open(path, encoding="utf-8") as fin:
        grid = load_hyperpyyaml(fin, overrides)
    return check_grid(grid)


def check_grid(grid):
    """Checks a grid description; returns it with defaults and full paths.

    Required keys: ``output_folder``, ``data_folder``, ``teacher`` (with
    ``model``, a file name of ``hparams/models``, and either ``epochs``
    or the ``folder`` of a trained teacher), ``scenarios`` (``name``,
    ``student``, ``mismatch``), ``methods``, ``seeds``, ``student_epochs``,
    ``batch_size`` and ``segment_seconds``. Optional: ``shared_data`` (the
    sample corpus is built from it into ``data_folder``), ``teacher.seed``
    (default: the first seed), ``overrides`` (for every run, the teacher's
    included) and ``method_overrides`` (``{method: {key: value}}``).

    Arguments
    ---------
    grid : dict
        The loaded grid description.

    Returns
    -------
    dict
        A checked copy: paths absolute and optional keys filled in.

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
    ...     "methods": ["student_alone", "cosine_lib"], "seeds": [1, 2],
    ...     "student_epochs": 3, "batch_size": 8, "segment_seconds": 1.0,
    ... }
    >>> check_grid(grid)["teacher"]
    {'model': 'teacher_cpu', 'epochs': 4, 'folder': None, 'seed': 1, \
'path': '/tmp/grid/teacher'}
    >>> check_grid({**grid, "methods": ["student_alone", "kd"]})
    Traceback (most recent call last):
      ...
    ValueError: methods: unknown method 'kd'; choose among student_alone, \
sp_two_step, feature_mse, cosine_lib, output_kd
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
    checked["output_folder"] = _full_path(grid["output_folder"])
    checked["data_folder"] = _full_path(grid["data_folder"])
    shared = grid.get("shared_data")
    checked["shared_data"] = shared and _full_path(shared)
    for key in ("student_epochs", "batch_size"):
        _check_positive_int(grid[key], key)
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
    return checked


def _full_path(path):
    """Returns ``path`` made absolute against the repository root."""
    return os.path.normpath(os.path.join(REPO, str(path)))


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
    for method in methods:
        if method not in METHODS:
            raise ValueError(
                f"methods: unknown method {method!r}; choose among "
                + ", ".join(METHODS)
            )
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods: repeated method in {methods}")
    return list(methods)


def _check_model(name, key):
    path = os.path.join(MODELS_FOLDER, f"{name}.yaml")
    if not os.path.isfile(path):
        known = sorted(
            f[: -len(".yaml")]
            for f in os.listdir(MODELS_FOLDER)
            if f.endswith(".yaml")
        )
        raise ValueError(
            f"{key}: unknown model file {name!r} (no {path}); choose among "
            + ", ".join(known)
        )


def _check_scenarios(scenarios):
    if not isinstance(scenarios, list | tuple) or not scenarios:
        raise ValueError(
            f"scenarios: give at least 1 scenario, got {scenarios!r}"
        )
    names = []
    for i, scenario in enumerate(scenarios):
        for key in ("name", "student", "mismatch"):
            if not isinstance(scenario, dict) or key not in scenario:
                raise ValueError(f"scenarios[{i}]: missing {key!r}")
        name = scenario["name"]
        if name == REFERENCE or not name or "/" in name:
            raise ValueError(
                f"scenarios[{i}].name: {name!r} is reserved or not a valid "
                "folder name"
            )
        _check_model(scenario["student"], f"scenarios[{i}].student")
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
    _check_model(teacher["model"], "teacher.model")
    # folder: a trained teacher's, or None to train one into `path`
    folder = teacher.get("folder")
    checked = {
        "model": teacher["model"],
        "epochs": teacher.get("epochs"),
        "folder": folder and _full_path(folder),
        "seed": teacher.get("seed", first_seed),
        "path": _full_path(folder or os.path.join(output_folder, "teacher")),
    }
    if folder is None:
        _check_positive_int(checked["epochs"], "teacher.epochs")
    elif not os.path.isdir(checked["path"]):
        raise ValueError(f"teacher.folder: {checked['path']} not found")
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
    checked = {}
    for method, overrides in method_overrides.items():
        if method not in grid["methods"]:
            raise ValueError(
                f"method_overrides: {method!r} is not in methods "
                f"{grid['methods']}"
            )
        checked[method] = _check_overrides(
            overrides or {}, f"method_overrides.{method}"
        )
    if "sp_two_step" in grid["methods"]:
        # KD alone for kd_warmup_epochs, then supervised: both steps needed
        warmup = checked.get("sp_two_step", {}).get("kd_warmup_epochs")
        epochs = grid["student_epochs"]
        if not isinstance(warmup, int) or not 1 <= warmup < epochs:
            raise ValueError(
                "method_overrides.sp_two_step.kd_warmup_epochs: must be an "
                f"integer in [1, student_epochs - 1] = [1, {epochs - 1}] so "
                f"that both steps run, got {warmup!r}"
            )
    return checked


def _override(key, value):
    """Formats a recipe override; strings are passed as YAML text."""
    text = value if isinstance(value, str) else json.dumps(value)
    return f"--{key}={text}"


def plan_runs(grid):
    """Lists the runs of a checked grid: the teacher, then for each seed
    every scenario x method, each with its folder and recipe command.

    Arguments
    ---------
    grid : dict
        A grid checked by :func:`check_grid`.

    Returns
    -------
    list of dict
        ``name``, ``scenario``, ``method``, ``seed``, ``folder`` and
        ``command`` (to run from the repository root) of each run. The
        teacher's scenario is ``"reference"``; it is left out when the grid
        names the folder of a trained teacher.

    Example
    -------
    >>> grid = check_grid({
    ...     "output_folder": "/tmp/grid", "data_folder": "/tmp/corpus",
    ...     "teacher": {"model": "student_w4", "epochs": 1},
    ...     "scenarios": [{"name": "w64", "student": "student_w64",
    ...                    "mismatch": "width"}],
    ...     "methods": ["student_alone", "cosine_lib"], "seeds": [7],
    ...     "student_epochs": 2, "batch_size": 4, "segment_seconds": 1.0,
    ...     "overrides": {"valid_speakers": ["p257"]},
    ... })
    >>> runs = plan_runs(grid)
    >>> [run["name"] for run in runs]
    ['teacher', 'w64/student_alone/seed7', 'w64/cosine_lib/seed7']
    >>> for arg in runs[2]["command"][1:]:
    ...     print(arg)
    recipes/distill.py
    hparams/distill/cosine_lib.yaml
    --data_folder=/tmp/corpus
    --output_folder=/tmp/grid/w64/cosine_lib/seed7
    --seed=7
    --number_of_epochs=2
    --batch_size=4
    --segment_seconds=1.0
    --student=!include:../models/student_w64.yaml
    --teacher=/tmp/grid/teacher
    --teacher_model=!include:../models/student_w4.yaml
    --valid_speakers=["p257"]
    """
    teacher = grid["teacher"]

    def command(method, folder, seed, epochs, model_args):
        if method in DISTILL_METHODS:
            script = ["recipes/distill.py", f"hparams/distill/{method}.yaml"]
        else:
            script = ["recipes/train.py", "hparams/train.yaml"]
        settings = {
            "data_folder": grid["data_folder"],
            "output_folder": folder,
            "seed": seed,
            "number_of_epochs": epochs,
            "batch_size": grid["batch_size"],
            "segment_seconds": grid["segment_seconds"],
            **model_args,
            **grid["overrides"],
            **grid["method_overrides"].get(method, {}),
        }
        return [
            sys.executable,
            *script,
            *(_override(k, v) for k, v in settings.items()),
        ]

    runs = []
    if teacher["folder"] is None:
        model = f"!include:models/{teacher['model']}.yaml"
        runs.append(
            {
                "name": "teacher",
                "scenario": REFERENCE,
                "method": "teacher",
                "seed": teacher["seed"],
                "folder": teacher["path"],
                "command": command(
                    "teacher",
                    teacher["path"],
                    teacher["seed"],
                    teacher["epochs"],
                    {"model": model},
                ),
            }
        )
    # Seed by seed: a grid stopped early has every scenario x method alike
    for seed in grid["seeds"]:
        for scenario in grid["scenarios"]:
            for method in grid["methods"]:
                name = f"{scenario['name']}/{method}/seed{seed}"
                folder = os.path.join(grid["output_folder"], name)
                student = scenario["student"]
                if method == BASELINE:
                    model_args = {"model": f"!include:models/{student}.yaml"}
                else:
                    model_args = {
                        "student": f"!include:../models/{student}.yaml",
                        "teacher": teacher["path"],
                        "teacher_model": (
                            f"!include:../models/{teacher['model']}.yaml"
                        ),
                    }
                runs.append(
                    {
                        "name": name,
                        "scenario": scenario["name"],
                        "method": method,
                        "seed": seed,
                        "folder": folder,
                        "command": command(
                            method,
                            folder,
                            seed,
                            grid["student_epochs"],
                            model_args,
                        ),
                    }
                )
    return runs


def run_grid(grid):
    """Runs every run of a grid that is not complete yet.

    Builds the sample corpus first when the grid has ``shared_data``. Runs
    go one after the other, as subprocesses of the real recipes launched
    from the repository root; the output of each is appended to
    ``grid_output.log`` in its folder. A run whose ``test_summary.json``
    exists is skipped; an interrupted one resumes from its checkpoints.
    The wall time of each finished run is recorded in
    ``<output_folder>/runs.csv``.

    Arguments
    ---------
    grid : dict
        A grid description (checked by :func:`check_grid`).

    Returns
    -------
    list of dict
        Per run, in order: ``name``, ``status`` (``"run"`` or ``"skip"``)
        and ``wall_s`` (seconds spent here, 0 when skipped).

    Raises
    ------
    RunFailedError
        If a recipe fails; the message holds its command and the tail of
        its output.
    """
    grid = check_grid(grid)
    if grid["shared_data"]:
        logger.info("building the sample corpus in %s", grid["data_folder"])
        build_sample_corpus(grid["shared_data"], grid["data_folder"])
    _test_folders(grid["data_folder"])
    os.makedirs(grid["output_folder"], exist_ok=True)
    runs = plan_runs(grid)
    done = []
    with logging_redirect_tqdm(), tqdm(runs, desc="grid", unit="run") as bar:
        for run in bar:
            bar.set_postfix_str(run["name"])
            summary = os.path.join(run["folder"], SUMMARY_FILE)
            if os.path.exists(summary):
                logger.info("skip %s: %s exists", run["name"], summary)
                status, wall_s = "skip", 0.0
            else:
                logger.info("run %s: %s", run["name"], " ".join(run["command"]))
                wall_s = _execute(run)
                _record_run(grid["output_folder"], run, wall_s)
                logger.info("%s done in %.0f s", run["name"], wall_s)
                status = "run"
            done.append(
                {"name": run["name"], "status": status, "wall_s": wall_s}
            )
    return done


def _test_folders(data_folder):
    """Returns the noisy and clean test folders of a corpus, checked."""
    folders = [
        os.path.join(data_folder, f"{kind}_testset_wav_16k")
        for kind in ("noisy", "clean")
    ]
    for folder in folders:
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"data_folder: {folder} not found (set data_folder to a "
                "VoiceBank-DEMAND layout, or shared_data to build the sample "
                "corpus)"
            )
    return folders


def _execute(run):
    """Runs one recipe, its output appended to a log; returns seconds."""
    os.makedirs(run["folder"], exist_ok=True)
    log_path = os.path.join(run["folder"], OUTPUT_LOG)
    start = time.time()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(run['command'])}\n")
        log.flush()
        result = subprocess.run(
            run["command"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = "".join(log.readlines()[-TAIL_LINES:])
        raise RunFailedError(
            f"run {run['name']} failed (exit {result.returncode}): "
            f"{' '.join(run['command'])}\n--- last lines of {log_path} ---\n"
            f"{tail}"
        )
    return time.time() - start


def _record_run(output_folder, run, wall_s):
    """Adds or replaces the row of ``run`` in ``runs.csv``."""
    path = os.path.join(output_folder, RUNS_FILE)
    rows = {}
    if os.path.exists(path):
        with open(path, newline="", encoding="utf-8") as fin:
            rows = {row["name"]: row for row in csv.DictReader(fin)}
    rows[run["name"]] = {
        **{key: run[key] for key in RUNS_FIELDS[:5]},
        "wall_s": round(wall_s, 1),
        "finished": datetime.now().isoformat(timespec="seconds"),
    }
    with open(path, "w", newline="", encoding="utf-8") as fout:
        writer = csv.DictWriter(fout, fieldnames=RUNS_FIELDS)
        writer.writeheader()
        writer.writerows(rows.values())


def mean_std(values):
    """Mean and sample standard deviation (``ddof=1``) of a few values.

    Arguments
    ---------
    values : list of float

    Returns
    -------
    tuple of float
        ``(mean, std)``; std is ``nan`` for fewer than two values, and both
        are ``nan`` for none.

    Example
    -------
    >>> mean_std([2.0, 3.0, 4.0])
    (3.0, 1.0)
    >>> mean_std([2.5])
    (2.5, nan)
    """
    if not values:
        return math.nan, math.nan
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return statistics.fmean(values), std


def summarize_runs(records, baseline=BASELINE, metrics=METRICS):
    """Aggregates per-run metrics over seeds, per scenario and method.

    Each row holds ``<metric>_mean`` and ``<metric>_std`` (see
    :func:`mean_std`) of the per-run values, ``n_runs``, the gain over
    ``baseline`` (``<metric>_gain_mean`` and ``_gain_std``, over the seeds
    that both ran: per-seed differences, as the seeds are paired; ``nan``
    for the baseline itself or without common seeds) and the PESQ flag
    ``near_best`` of :func:`flag_near_best`.

    Arguments
    ---------
    records : list of dict
        One per run: ``scenario``, ``method``, ``seed`` and a value per
        metric (its mean over the test utterances).
    baseline : str
        The method the gains are measured against.
    metrics : sequence of str
        The metrics to aggregate.

    Returns
    -------
    list of dict
        One row per scenario and method, in the order first seen.

    Example
    -------
    >>> records = [
    ...     {"scenario": "w16", "method": m, "seed": s, "pesq": p}
    ...     for m, s, p in [
    ...         ("student_alone", 1, 2.0), ("student_alone", 2, 2.2),
    ...         ("cosine_lib", 1, 2.3), ("cosine_lib", 2, 2.3),
    ...     ]
    ... ]
    >>> rows = summarize_runs(records, metrics=["pesq"])
    >>> for row in rows:
    ...     print(row["method"], row["n_runs"], round(row["pesq_mean"], 2),
    ...           round(row["pesq_std"], 3), round(row["pesq_gain_mean"], 2),
    ...           row["near_best"])
    student_alone 2 2.1 0.141 nan
    cosine_lib 2 2.3 0.0 0.2 best
    """
    groups = {}
    for record in records:
        key = (record["scenario"], record["method"])
        groups.setdefault(key, {})[record["seed"]] = record
    rows = []
    for (scenario, method), by_seed in groups.items():
        row = {"scenario": scenario, "method": method, "n_runs": len(by_seed)}
        base = groups.get((scenario, baseline), {})
        paired = [] if method == baseline else sorted(set(by_seed) & set(base))
        for metric in metrics:
            values = [r[metric] for r in by_seed.values()]
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(values)
            gains = [by_seed[s][metric] - base[s][metric] for s in paired]
            gain = mean_std(gains)
            row[f"{metric}_gain_mean"], row[f"{metric}_gain_std"] = gain
        rows.append(row)
    return flag_near_best(rows)


def flag_near_best(rows, metric="pesq"):
    """Flags, per scenario, the best method and those close to it.

    The best method has the highest mean ``metric``; another is flagged
    ``"≈"`` when its difference to the best is within one standard
    deviation of either: ``best - mean <= max(std_best, std)``. A ``nan``
    standard deviation (a single run) counts as no spread. This is a
    rule of thumb over few seeds, not a significance test.

    Arguments
    ---------
    rows : list of dict
        Rows with ``scenario``, ``<metric>_mean`` and ``<metric>_std``.
    metric : str
        The metric compared.

    Returns
    -------
    list of dict
        The rows, each with ``near_best`` set to ``"best"``, ``"≈"`` or
        ``""``.

    Example
    -------
    >>> rows = [
    ...     {"scenario": "w16", "pesq_mean": 2.30, "pesq_std": 0.05},
    ...     {"scenario": "w16", "pesq_mean": 2.22, "pesq_std": 0.10},
    ...     {"scenario": "w16", "pesq_mean": 2.10, "pesq_std": 0.05},
    ...     {"scenario": "d16", "pesq_mean": 1.90, "pesq_std": 0.01},
    ... ]
    >>> [row["near_best"] for row in flag_near_best(rows)]
    ['best', '≈', '', 'best']
    """

    def spread(row):
        std = row[f"{metric}_std"]
        return 0.0 if math.isnan(std) else std

    best = {}
    for row in rows:
        current = best.get(row["scenario"])
        if current is None or row[f"{metric}_mean"] > current[f"{metric}_mean"]:
            best[row["scenario"]] = row
    for row in rows:
        top = best[row["scenario"]]
        gap = top[f"{metric}_mean"] - row[f"{metric}_mean"]
        if row is top:
            row["near_best"] = "best"
        elif gap <= max(spread(top), spread(row)):
            row["near_best"] = "≈"
        else:
            row["near_best"] = ""
    return rows


@functools.lru_cache
def model_size(name):
    """Parameters and MACs per second of audio of a model of hparams/models.

    Arguments
    ---------
    name : str
        File name without ``.yaml``, e.g. ``student_w16``.

    Returns
    -------
    tuple
        ``(parameters, MACs per second)``.

    Example
    -------
    >>> model_size("student_w64")
    (6345, 6536500.0)
    """
    _check_model(name, "model")
    path = os.path.join(MODELS_FOLDER, f"{name}.yaml")
    model = load_hyperpyyaml(f"m: !include:{path}")["m"]
    return count_parameters(model), macs_per_second(model)


def collect_runs(grid):
    """Reads the test summaries of the complete runs of a grid.

    Arguments
    ---------
    grid : dict
        A checked grid.

    Returns
    -------
    list of dict
        Per complete student run: ``scenario``, ``method``, ``seed`` and
        the mean of each metric over the test utterances.
    """
    records = []
    for run in plan_runs(grid):
        path = os.path.join(run["folder"], SUMMARY_FILE)
        if run["scenario"] == REFERENCE or not os.path.exists(path):
            continue
        summary = _read_json(path)
        records.append(
            {
                "scenario": run["scenario"],
                "method": run["method"],
                "seed": run["seed"],
                **{m: summary[m]["mean"] for m in METRICS},
            }
        )
    return records


def _read_json(path):
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)


def _noisy_summary(grid):
    """Scores the noisy test input once; cached in ``<output>/noisy``."""
    folder = os.path.join(grid["output_folder"], "noisy")
    path = os.path.join(folder, SUMMARY_FILE)
    if not os.path.exists(path):
        noisy, clean = _test_folders(grid["data_folder"])
        os.makedirs(folder, exist_ok=True)
        _, summary = evaluate_folder(
            noisy, clean, csv_path=os.path.join(folder, "test_metrics.csv")
        )
        with open(path, "w", encoding="utf-8") as fout:
            json.dump(summary, fout, indent=2)
    return _read_json(path)


def _reference_row(method, summary, size):
    row = {
        "scenario": REFERENCE,
        "mismatch": None,
        "method": method,
        "params": size[0],
        "macs_per_s": size[1],
        "n_runs": 1,
        "near_best": "",
    }
    for metric in METRICS:
        row[f"{metric}_mean"] = summary[metric]["mean"]
        for suffix in ("std", "gain_mean", "gain_std"):
            row[f"{metric}_{suffix}"] = math.nan
    return row


def aggregate(grid):
    """Aggregates a grid's runs over seeds; writes tables and plots.

    Rows: the noisy input and the teacher (single runs, as reference), then
    each scenario x method with at least one complete run (see
    :func:`summarize_runs`), with the student's parameters (``params``) and
    MACs per second of audio (``macs_per_s``). Writes, in the grid's
    ``output_folder``: ``results.csv``, ``results.md`` (see
    :func:`results_markdown`), ``metric_vs_size.png`` and
    ``gain_over_alone.png``.

    Arguments
    ---------
    grid : dict
        A grid description (checked by :func:`check_grid`).

    Returns
    -------
    list of dict
        The table, one dict per row.
    """
    grid = check_grid(grid)
    out = grid["output_folder"]
    teacher = grid["teacher"]
    table = [_reference_row("noisy", _noisy_summary(grid), (None, None))]
    teacher_summary = os.path.join(teacher["path"], SUMMARY_FILE)
    if os.path.exists(teacher_summary):
        table.append(
            _reference_row(
                "teacher",
                _read_json(teacher_summary),
                model_size(teacher["model"]),
            )
        )
    else:
        logger.warning("no teacher row: %s not found", teacher_summary)
    scenarios = {s["name"]: s for s in grid["scenarios"]}
    for row in summarize_runs(collect_runs(grid)):
        scenario = scenarios[row["scenario"]]
        params, macs = model_size(scenario["student"])
        table.append(
            {
                "scenario": row.pop("scenario"),
                "mismatch": scenario["mismatch"],
                "method": row.pop("method"),
                "params": params,
                "macs_per_s": macs,
                **row,
            }
        )
    missing = [
        f"{s}/{m}"
        for s in scenarios
        for m in grid["methods"]
        if not any(r["scenario"] == s and r["method"] == m for r in table)
    ]
    if missing:
        logger.warning("no complete run yet for %s", ", ".join(missing))

    columns = ["scenario", "mismatch", "method", "params", "macs_per_s"]
    columns += ["n_runs", "near_best"]
    columns += [
        f"{metric}_{suffix}"
        for metric in METRICS
        for suffix in ("mean", "std", "gain_mean", "gain_std")
    ]
    with open(os.path.join(out, "results.csv"), "w", newline="") as fout:
        writer = csv.DictWriter(fout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write(results_markdown(table) + "\n")
    plot_metric_vs_size(table, os.path.join(out, "metric_vs_size.png"))
    plot_gain_over_alone(table, os.path.join(out, "gain_over_alone.png"))
    return table


def format_cell(mean, std, digits=2, signed=False):
    """Formats ``mean ± std``; the mean alone when std is ``nan``.

    Arguments
    ---------
    mean : float
    std : float
    digits : int
        Decimals.
    signed : bool
        Writes the sign of a positive mean too (for gains).

    Returns
    -------
    str

    Example
    -------
    >>> format_cell(2.345, 0.0512)
    '2.35 ± 0.05'
    >>> format_cell(2.345, float("nan"))
    '2.35'
    >>> format_cell(0.1, 0.05, signed=True)
    '+0.10 ± 0.05'
    """
    text = f"{mean:{'+' if signed else ''}.{digits}f}"
    if math.isnan(std):
        return text
    return f"{text} ± {std:.{digits}f}"


def _label(metric):
    return LABELS.get(metric, metric.upper())


def _size(params, macs):
    if params is None:
        return "", ""
    return f"{params / 1e3:.1f}k", f"{macs / 1e6:.1f}"


def results_markdown(table):
    """Markdown of an aggregated table: metrics, then gains over alone.

    Arguments
    ---------
    table : list of dict
        Rows of :func:`aggregate` (or :func:`summarize_runs`, with
        ``mismatch``, ``params`` and ``macs_per_s`` added).

    Returns
    -------
    str

    Example
    -------
    >>> rows = summarize_runs([
    ...     {"scenario": "w16", "method": m, "seed": s, **dict.fromkeys(
    ...         METRICS, v)}
    ...     for m, s, v in [("student_alone", 1, 2.0), ("student_alone", 2,
    ...     2.2), ("cosine_lib", 1, 2.1), ("cosine_lib", 2, 2.2)]
    ... ])
    >>> for row in rows:
    ...     row.update(mismatch="width", params=24929, macs_per_s=25.3e6)
    >>> print(results_markdown(rows))  # doctest: +ELLIPSIS
    | scenario | mismatch | params | MMAC/s | method | PESQ | STOI | ...
    |---|---|---|---|---|---|---|---|---|---|---|---|
    | w16 | width | 24.9k | 25.3 | student_alone | 2.10 ± 0.14 ≈ | ...
    | w16 | width | 24.9k | 25.3 | cosine_lib | **2.15 ± 0.07** | ...
    <BLANKLINE>
    Mean ± standard deviation over seeds (sample std) of each run's mean
    over the test utterances; ...
    | w16 | cosine_lib | +0.05 ± 0.07 | +0.050 ± 0.071 | ...
    """
    header = ["scenario", "mismatch", "params", "MMAC/s", "method"]
    header += [_label(m) for m in METRICS] + ["runs"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    for row in table:
        cells = [row["scenario"], row["mismatch"] or ""]
        cells += [*_size(row["params"], row["macs_per_s"]), row["method"]]
        for metric in METRICS:
            cell = format_cell(
                row[f"{metric}_mean"],
                row[f"{metric}_std"],
                DIGITS.get(metric, 2),
            )
            if metric == "pesq" and row["near_best"] == "best":
                cell = f"**{cell}**"
            elif metric == "pesq" and row["near_best"] == "≈":
                cell += " ≈"
            cells.append(cell)
        cells.append(str(row["n_runs"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean ± standard deviation over seeds (sample std) of each run's "
        "mean over the test utterances; `runs`: the number of seeds; the "
        "reference rows are single runs (no std). In each scenario the "
        "method with the best mean PESQ is in bold; `≈` flags a method "
        "whose PESQ is within one standard deviation (of either) of the "
        "best's: `best - mean <= max(std_best, std)`. A rule of thumb over "
        "few seeds, not a significance test.",
        "",
        f"Gain over {BASELINE} (mean ± std over seeds of the per-seed "
        "difference, same seed for both):",
        "",
    ]
    gains = ("pesq", "stoi", "sisdr")
    header = ["scenario", "method", *(f"Δ{_label(m)}" for m in gains)]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for row in table:
        if row["scenario"] == REFERENCE or row["method"] == BASELINE:
            continue
        cells = [row["scenario"], row["method"]]
        for metric in gains:
            cell = format_cell(
                row[f"{metric}_gain_mean"],
                row[f"{metric}_gain_std"],
                DIGITS.get(metric, 2),
                signed=True,
            )
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _method_rows(table):
    """``{method: [rows sorted by params]}`` of the non-reference rows."""
    by_method = {}
    for row in table:
        if row["scenario"] != REFERENCE:
            by_method.setdefault(row["method"], []).append(row)
    for rows in by_method.values():
        rows.sort(key=lambda row: row["params"])
    return by_method


def plot_metric_vs_size(table, path, metrics=("pesq", "sisdr")):
    """Plots metrics against student parameters, one line per method.

    Error bars are the standard deviation over seeds; the x axis is
    logarithmic; the teacher and the noisy input are horizontal lines.

    Arguments
    ---------
    table : list of dict
        Rows of :func:`aggregate`.
    path : str
        PNG file to write.
    metrics : sequence of str
        One panel per metric.
    """
    by_method = _method_rows(table)
    references = {r["method"]: r for r in table if r["scenario"] == REFERENCE}
    scenarios = {
        row["scenario"]: row["params"]
        for rows in by_method.values()
        for row in rows
    }
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4))
    for ax, metric in zip(axes, metrics):
        for i, (method, rows) in enumerate(by_method.items()):
            # dodged sideways a little, so that error bars do not overlap
            dodge = 1.0 + 0.04 * (i - (len(by_method) - 1) / 2)
            ax.errorbar(
                [row["params"] * dodge for row in rows],
                [row[f"{metric}_mean"] for row in rows],
                yerr=[_zero_if_nan(row[f"{metric}_std"]) for row in rows],
                marker="o",
                capsize=3,
                label=method,
            )
        for (name, ref), style in zip(references.items(), (":", "--")):
            ax.axhline(ref[f"{metric}_mean"], color="gray", ls=style)
            ax.annotate(
                name,
                (0.01, ref[f"{metric}_mean"]),
                xycoords=("axes fraction", "data"),
                va="bottom",
                fontsize=8,
                color="gray",
            )
        for params, names in _label_groups(scenarios):
            ax.annotate(
                ", ".join(names),
                (params, 0.02),
                xycoords=("data", "axes fraction"),
                rotation=90,
                ha="center",
                fontsize=7,
                color="gray",
            )
        ax.set_xscale("log")
        ax.set_xlim(min(scenarios.values()) / 2, max(scenarios.values()) * 2)
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _: f"{x / 1e3:g}k")
        )
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("student parameters (log scale)")
        ax.set_title(_label(metric) + (" (dB)" if metric == "sisdr" else ""))
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _label_groups(sizes, ratio=1.1):
    """Groups names whose sizes lie within ``ratio`` of each other.

    Arguments
    ---------
    sizes : dict
        ``{name: size}``.
    ratio : float
        The largest size ratio within a group.

    Returns
    -------
    list of tuple
        ``(size of the group's first name, [names])``, by size.

    Example
    -------
    >>> _label_groups({"w16": 24929, "w64": 6345, "d16": 23681})
    [(6345, ['w64']), (23681, ['d16', 'w16'])]
    """
    groups = []
    for name, size in sorted(sizes.items(), key=lambda item: item[1]):
        if groups and size <= groups[-1][0] * ratio:
            groups[-1][1].append(name)
        else:
            groups.append((size, [name]))
    return groups


def _zero_if_nan(value):
    return 0.0 if math.isnan(value) else value


def plot_gain_over_alone(table, path, metric="pesq"):
    """Grouped bars of the gain over ``student_alone`` per scenario.

    Arguments
    ---------
    table : list of dict
        Rows of :func:`aggregate`.
    path : str
        PNG file to write.
    metric : str
        The metric whose gain is plotted.
    """
    rows = [
        r
        for r in table
        if r["scenario"] != REFERENCE and r["method"] != BASELINE
    ]
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(scenarios) + 2), 4))
    for i, method in enumerate(methods):
        gains = {r["scenario"]: r for r in rows if r["method"] == method}
        x = [
            j + (i - (len(methods) - 1) / 2) * width
            for j, s in enumerate(scenarios)
            if s in gains
        ]
        picked = [gains[s] for s in scenarios if s in gains]
        ax.bar(
            x,
            [_zero_if_nan(r[f"{metric}_gain_mean"]) for r in picked],
            width,
            yerr=[_zero_if_nan(r[f"{metric}_gain_std"]) for r in picked],
            capsize=3,
            label=method,
        )
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(range(len(scenarios)), scenarios)
    ax.set_ylabel(f"{_label(metric)} gain over {BASELINE}")
    if methods:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
