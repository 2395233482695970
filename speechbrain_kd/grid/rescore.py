"""Scoring a grid's finished runs on test sets they did not travel with.

A grid trained on another machine (a GPU) comes back with its run folders
(checkpoints) and its archive, scored on the test sets that fit in the
carried bundle only (the DNS set is too large to travel). Here each such
run's recorded command (``run.json``) runs again on this machine with the
local ``data_folder``, ``device`` and the extra test sets: the recipe finds
its training finished, loads the checkpoint validation chose (its model;
the optimizer's and KD method's files need not have travelled:
``checkpoint_partial_load``), and scores every test set. The run folder
and the teacher are those this machine's grid plans, whatever the
recorded command named. The new summaries and the train log go to the
archive; ``run.json`` keeps the command that trained the run.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from speechbrain_kd.grid.config import BASELINE, check_grid
from speechbrain_kd.grid.recipes import override
from speechbrain_kd.grid.runner import (
    OUTPUT_LOG,
    RUN_FILE,
    command_settings,
    plan_runs,
    run_once,
    summary_files,
)
from speechbrain_kd.paths import hparams_folder, recipes_folder


def rescore_command(recorded, settings):
    """The command that scores a finished run again, from its recorded
    command (``run.json``): the same recipe, YAML and settings, with
    ``settings`` replacing or adding overrides. The recipe and its YAML
    are those of this checkout (the run may have been recorded on another
    machine, under another path).

    Arguments
    ---------
    recorded : list of str
        The recorded command: recipe, YAML file, ``--key=value`` overrides.
    settings : dict
        Overrides to replace or add (values as in ``recipe_command``).

    Returns
    -------
    list of str

    Example
    -------
    >>> command = rescore_command(
    ...     ["/elsewhere/recipes/distill.py",
    ...      "/elsewhere/hparams/distill/cosine_lib.yaml",
    ...      "--seed=3", "--device=cuda:0", "--kd_weight=0.3"],
    ...     {"device": "cpu", "extra_test_sets": {"dns": "/data/dns"}})
    >>> [os.path.relpath(arg, os.path.dirname(recipes_folder()))
    ...  for arg in command[1:3]]
    ['recipes/distill.py', 'hparams/distill/cosine_lib.yaml']
    >>> command[3:]
    ['--seed=3', '--device=cpu', '--kd_weight=0.3', \
'--extra_test_sets={"dns": "/data/dns"}']
    """
    script, hparams, *args = recorded
    in_hparams = hparams.rpartition(f"hparams{os.sep}")[2]
    new_args = []
    for arg in args:
        key = arg[2:].split("=", 1)[0]
        new_args.append(
            override(key, settings[key]) if key in settings else arg
        )
    recorded_keys = command_settings(args)
    new_args += [
        override(key, value)
        for key, value in settings.items()
        if key not in recorded_keys
    ]
    return [
        sys.executable,
        os.path.join(recipes_folder(), os.path.basename(script)),
        os.path.join(hparams_folder(), in_hparams),
        *new_args,
    ]


def score_returned(grid, settings, jobs=1):
    """Scores every returned run of a grid on the test sets it lacks.

    A run is scored when its archive holds its ``run.json`` but not every
    summary ``settings`` asks for (``extra_test_sets``), and its run folder
    holds its checkpoints (``save``; loaded with
    ``checkpoint_partial_load``, the model being all a test needs). Runs
    shared from a ``baseline_archive`` are left alone: they belong to
    another grid.

    Arguments
    ---------
    grid : dict
        A grid description (checked by ``check_grid``).
    settings : dict
        Overrides for scoring here: ``data_folder``, ``extra_test_sets``,
        and usually ``device``.
    jobs : int
        Runs scored side by side.

    Returns
    -------
    list of str
        The names of the runs scored.

    Raises
    ------
    FileNotFoundError
        If a run to score has no checkpoints here (its folder is named).
    """
    grid = check_grid(grid)
    wanted = summary_files(settings)
    settings = {**settings, "checkpoint_partial_load": True}
    todo = []
    for run in plan_runs(grid):
        shared = grid.get("baseline_archive") and run["method"] == BASELINE
        record = run["archive"] and os.path.join(run["archive"], RUN_FILE)
        if shared or not record or not os.path.isfile(record):
            continue
        if all(
            os.path.exists(os.path.join(run["archive"], name))
            for name in wanted
        ):
            continue
        if not os.path.isdir(os.path.join(run["folder"], "save")):
            raise FileNotFoundError(
                f"{run['name']}: no checkpoints in {run['folder']}/save to "
                "score; unpack the run folders the grid's machine returned "
                "there first"
            )
        with open(record, encoding="utf-8") as fin:
            recorded = json.load(fin)["command"]
        here = {  # where this machine keeps the run and its teacher
            key: value
            for key, value in command_settings(run["command"][1:]).items()
            if key in ("output_folder", "teacher")
        }
        todo.append((run, rescore_command(recorded, {**settings, **here})))

    def score(item):
        run, command = item
        run_once(
            run["name"],
            [os.path.join(run["folder"], name) for name in wanted],
            command,
            log_file=os.path.join(run["folder"], OUTPUT_LOG),
            threads=max(1, (os.cpu_count() or 1) // jobs),
        )
        for name in [*wanted, "train_log.txt"]:
            shutil.copy(os.path.join(run["folder"], name), run["archive"])
        return run["name"]

    with ThreadPoolExecutor(jobs) as pool:
        return list(
            tqdm(pool.map(score, todo), total=len(todo), desc="scoring")
        )
