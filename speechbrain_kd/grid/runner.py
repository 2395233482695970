"""Running a grid: every run once, resumable, small results archived.

Each run trains in its own folder ``<output_folder>/<scenario>/<method>/
seed<k>`` (checkpoints and enhanced audio: never committed). A run is
complete once its test summaries exist; they, the train log and a
``run.json`` (command, wall time) are then copied to the same place under
``archive_folder``, small files meant to be committed, so that a later
session, on this machine or another, continues the grid instead of
starting over: a run found in the archive is complete. An interrupted run
resumes from its checkpoints. The runner plans and archives; an executor
of :mod:`speechbrain_kd.grid.executors` trains the runs: ``local`` (``jobs``
side by side on this machine) or ``ray`` (the tasks of a Ray cluster).

:func:`run_once` is the same skip-if-done rule for any step (the demo's
steps use it).

Authors
 * speechbrain-kd contributors 2026
"""

import glob
import json
import logging
import os
import shutil
import subprocess
import sys
import time

from tqdm import tqdm

from speechbrain_kd.grid.config import BASELINE, REFERENCE, check_grid
from speechbrain_kd.grid.executors import make_executor
from speechbrain_kd.grid.recipes import (
    comparable_command,
    portable_command,
    recipe_command,
)
from speechbrain_kd.paths import project_root

logger = logging.getLogger(__name__)

SUMMARY_FILE = "test_summary.json"
ARCHIVED = ("test_*summary.json", "train_log.txt", "teacher_check.json")
RUN_FILE = "run.json"
# Settings that name where a run reads or writes, not how it trains
FOLDER_SETTINGS = ("data_folder", "output_folder", "teacher")
OUTPUT_LOG = "grid_output.log"  # a run's stdout and stderr, appended
TAIL_LINES = 40


class RunFailedError(RuntimeError):
    """A recipe of the grid exited with an error."""


def run_once(
    name,
    done_file,
    command,
    log_file=None,
    threads=None,
    stop_with_parent=False,
):
    """Runs ``command`` unless ``done_file`` exists; returns seconds spent.

    The skip-if-done rule of grids and of the demo: a step is complete
    when the file it writes last exists; otherwise it runs (an interrupted
    recipe resumes from its checkpoints).

    Arguments
    ---------
    name : str
        The step, for messages.
    done_file : str or list of str
        The file whose existence marks the step complete (or files, all
        of which must exist).
    command : list of str
        The command, run from the project root.
    log_file : str, optional
        Where the command's output is appended (default: the terminal).
    threads : int, optional
        CPU threads of the command (``OMP_NUM_THREADS``), unless the
        environment sets them already.
    stop_with_parent : bool
        On Linux, the command is killed when this process dies (a Ray
        worker killed with its node), so that no orphan keeps writing the
        run folder while the run is retried elsewhere.

    Returns
    -------
    float
        Wall-clock seconds of the run, 0 if skipped.

    Raises
    ------
    RunFailedError
        If the command fails; with the tail of its log.

    Example
    -------
    >>> import sys, tempfile
    >>> done = os.path.join(tempfile.mkdtemp(), "done")
    >>> command = [sys.executable, "-c", f"open({done!r}, 'w')"]
    >>> run_once("touch", done, command) > 0
    True
    >>> run_once("touch", done, command)
    0.0
    """
    done_files = [done_file] if isinstance(done_file, str) else done_file
    if all(os.path.exists(path) for path in done_files):
        logger.info("%s: done already (%s)", name, ", ".join(done_files))
        return 0.0
    logger.info("%s: %s", name, " ".join(command))
    env = dict(os.environ)
    if threads is not None:
        env.setdefault("OMP_NUM_THREADS", str(threads))
    start = time.time()
    options = {"cwd": project_root(), "env": env}
    if stop_with_parent and sys.platform == "linux":
        options["preexec_fn"] = _die_with_parent
    if log_file is None:
        result = subprocess.run(command, **options)
    else:
        os.makedirs(os.path.dirname(log_file), exist_ok=True)
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(f"\n$ {' '.join(command)}\n")
            log.flush()
            result = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, **options
            )
    if result.returncode != 0:
        tail = ""
        if log_file is not None:
            with open(log_file, encoding="utf-8", errors="replace") as log:
                tail = "".join(log.readlines()[-TAIL_LINES:])
            tail = f"\n--- last lines of {log_file} ---\n{tail}"
        raise RunFailedError(
            f"{name} failed (exit {result.returncode}): "
            f"{' '.join(command)}{tail}"
        )
    return time.time() - start


def _die_with_parent():
    # in the child, before the recipe starts: SIGKILL when the parent dies
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def train_run(run, threads, stop_with_parent=False):
    """Trains one run of :func:`plan_runs` in its folder, its output
    appended to ``grid_output.log`` there; what an executor runs.

    Writes nothing outside the run's folder (the driver archives).

    Arguments
    ---------
    run : dict
        A run of :func:`plan_runs`.
    threads : int
        Its CPU threads.
    stop_with_parent : bool
        See :func:`run_once`.

    Returns
    -------
    float
        Wall-clock seconds (0 if the run was complete already).
    """
    return run_once(
        run["name"],
        [os.path.join(run["folder"], name) for name in run["summaries"]],
        run["command"],
        log_file=os.path.join(run["folder"], OUTPUT_LOG),
        threads=threads,
        stop_with_parent=stop_with_parent,
    )


def plan_runs(grid):
    """Lists the runs of a checked grid: the teacher, then for each seed
    every scenario x method, each with its folders and recipe command.

    Arguments
    ---------
    grid : dict
        A grid checked by :func:`check_grid`.

    Returns
    -------
    list of dict
        ``name``, ``scenario``, ``method``, ``seed``, ``folder``,
        ``archive`` (None without ``archive_folder``) and ``command`` of
        each run. The teacher's scenario is ``"reference"``; it is left out
        when the grid names the folder of a trained teacher.

    Example
    -------
    >>> grid = check_grid({
    ...     "output_folder": "/tmp/grid", "data_folder": "/tmp/corpus",
    ...     "archive_folder": "/tmp/archive",
    ...     "teacher": {"model": "student_w4", "epochs": 1},
    ...     "scenarios": [{"name": "w64", "student": "student_w64",
    ...                    "mismatch": "width"}],
    ...     "methods": ["student_alone", {"name": "cos_w0.1",
    ...                 "recipe": "cosine_lib",
    ...                 "overrides": {"kd_weight": 0.1}}],
    ...     "seeds": [7], "student_epochs": 2, "batch_size": 4,
    ...     "segment_seconds": 1.0,
    ...     "overrides": {"valid_speakers": ["p257"]},
    ... })
    >>> runs = plan_runs(grid)
    >>> [run["name"] for run in runs]
    ['teacher', 'w64/student_alone/seed7', 'w64/cos_w0.1/seed7']
    >>> runs[2]["archive"]
    '/tmp/archive/w64/cos_w0.1/seed7'
    >>> print(os.path.basename(runs[2]["command"][2]))
    distill.yaml
    >>> for arg in runs[2]["command"][3:]:
    ...     print(arg)
    --kd_method=!include:methods/cosine_lib.yaml
    --data_folder=/tmp/corpus
    --output_folder=/tmp/grid/w64/cos_w0.1/seed7
    --seed=7
    --number_of_epochs=2
    --batch_size=4
    --segment_seconds=1.0
    --student=!include:models/student_w64.yaml
    --teacher=/tmp/grid/teacher
    --teacher_model=!include:models/student_w4.yaml
    --valid_speakers=["p257"]
    --kd_weight=0.1
    """
    teacher = grid["teacher"]

    def run(name, scenario, method, seed, epochs, model_args):
        folder = os.path.join(grid["output_folder"], name)
        settings = {
            "data_folder": grid["data_folder"],
            "output_folder": folder,
            "seed": seed,
            "number_of_epochs": epochs,
            "batch_size": grid["batch_size"],
            "segment_seconds": grid["segment_seconds"],
            **model_args,
            **grid["overrides"],
            **grid["method_overrides"].get(method["name"], {}),
            **method["overrides"],
        }
        archive = grid["archive_folder"]
        if method["recipe"] == BASELINE and grid.get("baseline_archive"):
            archive = grid["baseline_archive"]  # shared: teacher-free runs
        return {
            "name": name,
            "scenario": scenario,
            "method": method["name"],
            "seed": seed,
            "folder": folder,
            "archive": archive and os.path.join(archive, name),
            "command": recipe_command(method["recipe"], settings),
            "summaries": summary_files(settings),
        }

    runs = []
    if teacher["folder"] is None:
        runs.append(
            run(
                "teacher",
                REFERENCE,
                {"name": "teacher", "recipe": "teacher", "overrides": {}},
                teacher["seed"],
                teacher["epochs"],
                {"model": f"!include:models/{teacher['model']}.yaml"},
            )
        )
    if grid.get("order", "seed") == "seed":
        cells = [
            (seed, scenario)
            for seed in grid["seeds"]
            for scenario in grid["scenarios"]
        ]
    else:
        cells = [
            (seed, scenario)
            for scenario in grid["scenarios"]
            for seed in grid["seeds"]
        ]
    for seed, scenario in cells:
        for method in grid["methods"]:
            student = scenario["student"]
            if method["recipe"] == BASELINE:
                model_args = {"model": f"!include:models/{student}.yaml"}
            else:
                model_args = {
                    "student": f"!include:models/{student}.yaml",
                    "teacher": teacher["path"],
                    "teacher_model": (
                        f"!include:models/{teacher['model']}.yaml"
                    ),
                }
            runs.append(
                run(
                    f"{scenario['name']}/{method['name']}/seed{seed}",
                    scenario["name"],
                    method,
                    seed,
                    grid["student_epochs"],
                    model_args,
                )
            )
    return runs


def recorded_settings_differ(run, folder):
    """The settings in which a run's command differs from the command
    recorded in ``folder/run.json`` (folders aside); empty when the same.

    Guards the reuse of runs across grids (``baseline_archive``): a shared
    run counts only if it was trained exactly as this grid would train it.

    Arguments
    ---------
    run : dict
        A run of :func:`plan_runs`.
    folder : str
        An archived run folder.

    Returns
    -------
    list of str
        The differing keys, sorted (none when no ``run.json`` exists).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> command = ["train.py", "train.yaml", "--seed=1", "--max_steps=9",
    ...            "--output_folder=/a"]
    >>> with open(os.path.join(folder, RUN_FILE), "w") as fout:
    ...     json.dump({"command": command}, fout)
    >>> run = {"command": ["python", "train.py", "train.yaml", "--seed=1",
    ...                    "--max_steps=8", "--output_folder=/b"]}
    >>> recorded_settings_differ(run, folder)
    ['max_steps']
    """
    path = os.path.join(folder, RUN_FILE)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as fin:
        recorded = command_settings(
            comparable_command(portable_command(json.load(fin)["command"]))
        )
    planned = command_settings(
        comparable_command(portable_command(run["command"][1:]))
    )
    return sorted(
        key
        for key in set(recorded) | set(planned)
        if key not in FOLDER_SETTINGS and recorded.get(key) != planned.get(key)
    )


def command_settings(command):
    """``{key: value}`` of a recipe command's ``--key=value`` arguments.

    Example
    -------
    >>> command_settings(["train.py", "train.yaml", "--seed=1", "--x={a: 1}"])
    {'seed': '1', 'x': '{a: 1}'}
    """
    pairs = (arg[2:].split("=", 1) for arg in command if arg.startswith("--"))
    return {pair[0]: pair[-1] for pair in pairs}


def result_folder(run):
    """The folder holding a complete run's results (archive first), or
    None while the run is not complete: every test set's summary must be
    there, since a recipe stopped between two test sets has written only
    the first."""
    for folder in (run["archive"], run["folder"]):
        if folder and all(
            os.path.exists(os.path.join(folder, name))
            for name in run["summaries"]
        ):
            return folder
    return None


def summary_files(overrides):
    """The test summaries a run writes: its test set's, then one for each
    of ``extra_test_sets`` (of the run's ``overrides``).

    Example
    -------
    >>> summary_files({"extra_test_sets": {"dns": "/data/dns"}})
    ['test_summary.json', 'test_dns_summary.json']
    >>> summary_files({})
    ['test_summary.json']
    """
    extra = overrides.get("extra_test_sets") or {}
    return [SUMMARY_FILE, *(f"test_{name}_summary.json" for name in extra)]


def archive_run(run, wall_s):
    """Copies a complete run's small results to its archive folder.

    The test summaries, the train log, the teacher check and ``run.json``
    (command and wall time, None when the run finished elsewhere): a few
    kilobytes, meant to be committed.
    """
    if not run["archive"]:
        return
    os.makedirs(run["archive"], exist_ok=True)
    for pattern in ARCHIVED:
        for path in glob.glob(os.path.join(run["folder"], pattern)):
            shutil.copy(path, run["archive"])
    record = {
        "command": portable_command(run["command"][1:]),
        "wall_s": None if wall_s is None else round(wall_s, 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    with open(os.path.join(run["archive"], RUN_FILE), "w") as fout:
        json.dump(record, fout, indent=2)


def archive_complete(grid):
    """Archives the complete runs that are not archived yet (finished by
    an older runner, or by hand); returns the names of all complete runs.

    Arguments
    ---------
    grid : dict
        A checked grid.

    Returns
    -------
    list of str
    """
    complete = []
    for run in plan_runs(grid):
        folder = result_folder(run)
        if folder is None:
            continue
        differ = recorded_settings_differ(run, folder)
        if differ:
            raise ValueError(
                f"{run['name']}: the run in {folder} was trained with other "
                f"settings ({', '.join(differ)}) than this grid gives it; "
                "point baseline_archive elsewhere or change the grid"
            )
        if run["archive"] and folder != run["archive"]:
            archive_run(run, None)
        complete.append(run["name"])
    return complete


def run_grid(grid, executor=None):
    """Runs every run of a grid that is not complete yet.

    The teacher (when the grid trains one) runs first; then the others,
    on the grid's executor: ``local`` (up to ``jobs`` at a time, each with
    its share of the CPU threads) or ``ray`` (tasks of a Ray cluster, see
    :mod:`speechbrain_kd.grid.executors`). Each run is a subprocess of a
    real recipe whose output is appended to ``grid_output.log`` in its
    folder. Complete runs (in the archive or the run folder) are skipped;
    an interrupted one resumes from its checkpoints. Each finished run is
    archived at once, here (by the driver).

    Arguments
    ---------
    grid : dict
        A grid description (checked by :func:`check_grid`).
    executor : str, optional
        ``local`` or ``ray``, instead of the grid's ``executor``.

    Returns
    -------
    list of dict
        Per run: ``name``, ``status`` (``"run"`` or ``"skip"``) and
        ``wall_s`` (seconds spent here, 0 when skipped).

    Raises
    ------
    RunFailedError
        If a recipe fails; the message holds its command and the tail of
        its output. Runs already started finish first.
    """
    grid = check_grid(grid)
    engine = make_executor(executor or grid["executor"], grid)
    if grid["shared_data"]:
        from speechbrain_kd.data.mixing import build_sample_corpus

        logger.info("building the sample corpus in %s", grid["data_folder"])
        build_sample_corpus(grid["shared_data"], grid["data_folder"])
    runs = plan_runs(grid)
    done = [
        {"name": name, "status": "skip", "wall_s": 0.0}
        for name in archive_complete(grid)
    ]
    todo = [run for run in runs if not result_folder(run)]
    if not todo:
        return done
    teacher_folder = grid["teacher"]["path"]
    if grid["teacher"]["folder"] and not os.path.exists(teacher_folder):
        raise FileNotFoundError(
            f"teacher.folder: {teacher_folder} not found; {len(todo)} runs "
            "still need it (train it, or point teacher.folder elsewhere)"
        )
    # the teacher first: every student reads it
    steps = [todo[:1], todo[1:]] if todo[0]["scenario"] == REFERENCE else [todo]
    failures = []
    with engine, tqdm(total=len(runs), initial=len(done), desc="grid") as bar:
        for step in steps:
            for run, wall_s, error in engine.execute(step, train_run):
                bar.update()
                if error is not None:
                    failures.append(error)
                    continue
                archive_run(run, wall_s)
                done.append(
                    {"name": run["name"], "status": "run", "wall_s": wall_s}
                )
            if failures:
                break
    if failures:
        raise failures[0]
    return done
