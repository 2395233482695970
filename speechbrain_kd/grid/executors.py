"""Where the runs of a grid train: on this machine or on a Ray cluster.

The runner (:mod:`speechbrain_kd.grid.runner`) plans a grid, skips the
runs already complete and archives each run as it ends; an executor only
trains the runs it is given and says, run by run, how each ended:

* ``local``: ``jobs`` runs at a time on this machine (nothing to install);
* ``ray``: each run a task of a Ray cluster (``pip install
  speechbrain-kd[cluster]``) that declares the CPUs and GPUs of the grid's
  ``ray`` settings. A run whose worker dies (a node lost, a worker
  killed) is started again, up to ``max_retries`` times, and resumes from
  its own checkpoints; the folders of the runs, the data and the teacher
  must be visible at the same paths on every node (a shared file system).

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor, as_completed

logger = logging.getLogger(__name__)

# The settings of the ray executor (the grid's `ray` mapping), defaults
RAY_DEFAULTS = {
    # the cluster to join: host:port of its head; null: the RAY_ADDRESS
    # environment variable, else the cluster `ray start` started on this
    # machine, else a Ray of this machine alone
    "address": None,
    "cpus_per_run": 1,
    "gpus_per_run": 0,
    # times a run whose worker died is started again
    "max_retries": 3,
}


class LocalExecutor:
    """Trains ``jobs`` runs at a time on this machine, each with its share
    of the CPU threads.

    Arguments
    ---------
    grid : dict
        A checked grid (its ``jobs``).

    Example
    -------
    >>> def train(run, threads):
    ...     return 1.0 / run["name"]
    >>> with LocalExecutor({"jobs": 2}) as executor:
    ...     ended = list(executor.execute([{"name": 1}, {"name": 0}], train))
    >>> sorted((run["name"], wall_s) for run, wall_s, _ in ended)
    [(0, None), (1, 1.0)]
    >>> [type(error).__name__ for _, _, error in ended if error]
    ['ZeroDivisionError']
    """

    def __init__(self, grid):
        self.jobs = grid["jobs"]
        self.threads = max(1, (os.cpu_count() or 1) // self.jobs)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, runs, train):
        """Trains ``runs``; yields ``(run, wall_s, error)`` as each ends.

        Arguments
        ---------
        runs : list of dict
            Runs of :func:`~speechbrain_kd.grid.runner.plan_runs`.
        train : callable
            ``train(run, threads)``: trains one run, returns its seconds.

        Yields
        ------
        tuple
            The run, its seconds (None if it failed) and the exception it
            raised (None if it ended well).
        """
        with ThreadPoolExecutor(self.jobs) as pool:
            futures = {
                pool.submit(train, run, self.threads): run for run in runs
            }
            for future in as_completed(futures):
                error = future.exception()
                wall_s = None if error else future.result()
                yield futures[future], wall_s, error


class RayExecutor:
    """Trains each run as a task of a Ray cluster.

    The driver (this process) joins the cluster on entering and leaves it
    on exit (unless Ray was started before, by the caller). Each task
    declares ``cpus_per_run`` CPUs (its threads) and ``gpus_per_run`` GPUs
    (Ray sets ``CUDA_VISIBLE_DEVICES``); a task whose worker died is
    started again up to ``max_retries`` times. A recipe that fails is not
    retried: its error comes back, with the tail of its output.

    Arguments
    ---------
    grid : dict
        A checked grid (its ``ray`` settings, see ``RAY_DEFAULTS``).
    """

    def __init__(self, grid):
        self.settings = grid["ray"]
        self.ray = import_ray()
        self.joined = False

    def __enter__(self):
        if not self.ray.is_initialized():
            address = self.settings["address"]
            logger.info("joining the Ray cluster at %s", address or "default")
            self.ray.init(address=address)
            self.joined = True
        return self

    def __exit__(self, *exc_info):
        if self.joined:
            self.ray.shutdown()
            self.joined = False
        return False

    def execute(self, runs, train):
        """Trains ``runs`` as Ray tasks; yields ``(run, wall_s, error)``
        as each ends (see :meth:`LocalExecutor.execute`)."""
        ray = self.ray
        cpus = self.settings["cpus_per_run"]
        task = ray.remote(train)
        options = {
            "num_cpus": cpus,
            "num_gpus": self.settings["gpus_per_run"],
            "max_retries": self.settings["max_retries"],
            "retry_exceptions": False,
        }
        pending = {}
        for run in runs:
            started = task.options(name=run["name"], **options)
            pending[started.remote(run, cpus, True)] = run
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                run = pending.pop(ref)
                try:
                    yield run, ray.get(ref), None
                except ray.exceptions.RayTaskError as error:
                    yield run, None, error.cause
                except ray.exceptions.RayError as error:
                    yield run, None, WorkerLostError(run["name"], error)


class WorkerLostError(RuntimeError):
    """A run's worker died more often than the retries allow."""

    def __init__(self, name, error):
        super().__init__(
            f"{name}: its Ray worker died and the retries (ray.max_retries "
            f"of the grid) are spent: {error}"
        )


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(name, grid):
    """The executor ``name`` (``local`` or ``ray``) for a checked grid.

    Example
    -------
    >>> type(make_executor("local", {"jobs": 1})).__name__
    'LocalExecutor'
    >>> make_executor("slurm", {"jobs": 1})
    Traceback (most recent call last):
      ...
    ValueError: executor: 'slurm' is not one of local, ray
    """
    check_executor(name)
    return EXECUTORS[name](grid)


def check_executor(name):
    """Raises ValueError unless ``name`` is an executor of ``EXECUTORS``."""
    if name not in EXECUTORS:
        raise ValueError(
            f"executor: {name!r} is not one of {', '.join(EXECUTORS)}"
        )


def check_ray_settings(settings):
    """The grid's ``ray`` settings checked, with ``RAY_DEFAULTS`` filled in.

    Example
    -------
    >>> check_ray_settings({"gpus_per_run": 0.5})["gpus_per_run"]
    0.5
    >>> check_ray_settings({"cpu": 2})
    Traceback (most recent call last):
      ...
    ValueError: ray: unknown setting(s) cpu; give address, cpus_per_run, \
gpus_per_run, max_retries
    """
    if not isinstance(settings, dict):
        raise ValueError(f"ray: must be a mapping, got {settings!r}")
    unknown = sorted(set(settings) - set(RAY_DEFAULTS))
    if unknown:
        raise ValueError(
            f"ray: unknown setting(s) {', '.join(unknown)}; give "
            + ", ".join(RAY_DEFAULTS)
        )
    checked = {**RAY_DEFAULTS, **settings}
    cpus, gpus = checked["cpus_per_run"], checked["gpus_per_run"]
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise ValueError(
            f"ray.cpus_per_run: must be a positive integer, got {cpus!r}"
        )
    if isinstance(gpus, bool) or not isinstance(gpus, int | float) or gpus < 0:
        raise ValueError(
            f"ray.gpus_per_run: must be 0 or more (0.5: half a GPU), "
            f"got {gpus!r}"
        )
    retries = checked["max_retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"ray.max_retries: must be 0 or more, got {retries!r}")
    return checked


def import_ray():
    """Imports Ray, or says how to install it.

    Raises
    ------
    ImportError
        When Ray is not installed, naming the package extra.
    """
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            "executor: ray needs Ray, which is not installed: "
            "pip install speechbrain-kd[cluster]"
        ) from error
    return ray
