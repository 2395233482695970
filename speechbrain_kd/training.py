"""Training budgets with a fitted learning-rate schedule, and scoring pools.

A :class:`TrainingBudget` stops training after a number of optimizer steps
or of training minutes, whichever comes first, and sets the learning rate
from the fraction of the budget spent: a linear warm-up, then a linear
decay to zero at the end of the budget (the shape of SpeechBrain's
``LinearWarmupScheduler``, driven by budget progress instead of a step
count, so that a time budget gets a fitted schedule too). It is a
SpeechBrain recoverable: a killed run resumes on the same schedule.

A :class:`ScoringPool` scores utterances (PESQ, STOI, ...) in worker
processes while the model goes on with the next batch.

Authors
 * speechbrain-kd contributors 2026
"""

import ctypes
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import torch
from speechbrain.nnet.schedulers import LinearWarmupScheduler
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)

# Resolution of the schedule's progress axis (steps of the shape function).
SCHEDULE_RESOLUTION = 100_000
# prctl option: the signal a process gets when its parent dies (linux/prctl.h)
PR_SET_PDEATHSIG = 1


@register_checkpoint_hooks
class TrainingBudget:
    """A step and/or time budget with a warm-up + linear-decay schedule.

    Training minutes are counted while training epochs run (validation
    excluded), across resumes.

    Arguments
    ---------
    max_steps : int, optional
        Optimizer steps after which training stops.
    max_minutes : float, optional
        Training minutes after which training stops.
    warmup_fraction : float
        Fraction of the budget over which the learning rate rises linearly
        from 0 to its peak; it then falls linearly to 0 at the budget's end.

    Example
    -------
    >>> import torch
    >>> budget = TrainingBudget(max_steps=10, warmup_fraction=0.2)
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> budget.set_lr(opt, peak_lr=1.0)  # before the first step
    >>> opt.param_groups[0]["lr"]
    0.25
    >>> for _ in range(4):
    ...     budget.step(opt, peak_lr=1.0)
    >>> budget.steps, opt.param_groups[0]["lr"], budget.exhausted()
    (4, 0.6875, False)
    >>> for _ in range(6):
    ...     budget.step(opt, peak_lr=1.0)
    >>> budget.exhausted(), budget.remaining_steps()
    (True, 0)
    >>> TrainingBudget(max_steps=0)
    Traceback (most recent call last):
    ...
    ValueError: max_steps must be a positive number of steps, got 0
    """

    def __init__(self, max_steps=None, max_minutes=None, warmup_fraction=0.05):
        if max_steps is not None and (
            int(max_steps) != max_steps or max_steps <= 0
        ):
            raise ValueError(
                f"max_steps must be a positive number of steps, got {max_steps}"
            )
        if max_minutes is not None and not max_minutes > 0:
            raise ValueError(
                f"max_minutes must be a positive duration, got {max_minutes}"
            )
        if not 0 <= warmup_fraction < 1:
            raise ValueError(
                f"warmup_fraction must be in [0, 1), got {warmup_fraction}"
            )
        self.max_steps = None if max_steps is None else int(max_steps)
        self.max_minutes = max_minutes
        self.warmup_fraction = warmup_fraction
        self.shape = LinearWarmupScheduler(
            1.0,
            round(warmup_fraction * SCHEDULE_RESOLUTION),
            SCHEDULE_RESOLUTION,
        )
        self.steps = 0
        self.seconds = 0.0
        self._clock = None

    @property
    def active(self):
        """Whether a budget is set (else training runs for its epochs)."""
        return self.max_steps is not None or self.max_minutes is not None

    def start_clock(self):
        """Starts counting training time (at the start of an epoch)."""
        self._clock = time.monotonic()

    def stop_clock(self):
        """Stops counting training time (at the end of an epoch)."""
        if self._clock is not None:
            self.seconds += time.monotonic() - self._clock
            self._clock = None

    def minutes(self):
        """Training minutes spent so far."""
        running = 0.0 if self._clock is None else time.monotonic() - self._clock
        return (self.seconds + running) / 60

    def progress(self, steps=None):
        """Fraction of the budget spent (the larger of steps and time)."""
        steps = self.steps if steps is None else steps
        fractions = [0.0]
        if self.max_steps is not None:
            fractions.append(steps / self.max_steps)
        if self.max_minutes is not None:
            fractions.append(self.minutes() / self.max_minutes)
        return max(fractions)

    def exhausted(self):
        """Whether the budget is spent."""
        return self.active and self.progress() >= 1.0

    def remaining_steps(self):
        """Steps left in a step budget (None without one)."""
        if self.max_steps is None:
            return None
        return max(0, self.max_steps - self.steps)

    def set_lr(self, optimizer, peak_lr):
        """Sets the learning rate of the next step from the progress.

        Arguments
        ---------
        optimizer : torch.optim.Optimizer
            Its param groups get the new rate.
        peak_lr : float
            The rate at the end of the warm-up.
        """
        if not self.active:
            return
        # the rate of step s is the schedule's value mid-way through it
        position = min(1.0, self.progress(self.steps + 0.5))
        lr = peak_lr * self.shape.calculate_lr(
            round(position * SCHEDULE_RESOLUTION)
        )
        for group in optimizer.param_groups:
            group["lr"] = lr

    def step(self, optimizer, peak_lr):
        """Counts an optimizer step and sets the next learning rate."""
        self.steps += 1
        self.set_lr(optimizer, peak_lr)

    @mark_as_saver
    def save(self, path):
        """Saves the steps and minutes spent."""
        with open(path, "w", encoding="utf-8") as fout:
            json.dump({"steps": self.steps, "seconds": self.seconds}, fout)

    @mark_as_loader
    def load(self, path, end_of_epoch=False):
        """Restores the steps and minutes spent."""
        del end_of_epoch
        with open(path, encoding="utf-8") as fin:
            state = json.load(fin)
        self.steps, self.seconds = state["steps"], state["seconds"]


class ScoringPool:
    """Runs scoring functions in worker processes, results in order.

    Arguments
    ---------
    workers : int
        Number of worker processes; 0 scores in this process, at once.

    Example
    -------
    >>> pool = ScoringPool(workers=0)
    >>> pool.submit(math.sqrt, 4.0)
    >>> pool.submit(math.sqrt, 9.0)
    >>> pool.collect()
    [2.0, 3.0]
    """

    def __init__(self, workers=2):
        if workers < 0:
            raise ValueError(f"scoring_workers must be >= 0, got {workers}")
        self.workers = workers
        self.executor = None
        self.pending = []

    def submit(self, function, *args):
        """Schedules ``function(*args)``."""
        if self.workers == 0:
            self.pending.append(_Done(function(*args)))
            return
        if self.executor is None:
            # forkserver: a fork of the multithreaded trainer could inherit
            # a held lock and hang; the server forks clean workers quickly
            self.executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=exit_with_process,
                initargs=(os.getpid(),),
            )
        self.pending.append(self.executor.submit(function, *args))

    def collect(self):
        """Waits for every scheduled call; returns their results in order."""
        results = [job.result() for job in self.pending]
        self.pending = []
        return results

    def close(self):
        """Stops the worker processes."""
        if self.executor is not None:
            self.executor.shutdown()
            self.executor = None


def exit_with_process(pid, interval=0.5):
    """Makes this process exit as soon as process ``pid`` has ended.

    The initializer of the scoring workers: a worker forked by the
    forkserver outlives a killed trainer (its parent is the forkserver,
    and it waits for work forever), so a daemon thread checks every
    ``interval`` seconds that the trainer still runs, and ends this
    process when it does not (gone, or a zombie its parent has not
    reaped). On Linux the kernel also kills this process when its parent
    dies (``PR_SET_PDEATHSIG``).

    Arguments
    ---------
    pid : int
        The process to follow (the trainer).
    interval : float
        Seconds between two checks.

    Example
    -------
    >>> import subprocess
    >>> trainer = subprocess.Popen([sys.executable, "-c", "pass"])
    >>> worker = (
    ...     "import time; from speechbrain_kd.training import "
    ...     f"exit_with_process; exit_with_process({trainer.pid}); "
    ...     "time.sleep(60)"
    ... )
    >>> subprocess.run([sys.executable, "-c", worker], timeout=30).returncode
    1
    >>> trainer.wait()
    0
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch():
        while process_running(pid):
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def process_running(pid):
    """Whether process ``pid`` runs (exists and is not a zombie).

    Example
    -------
    >>> process_running(os.getpid())
    True
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fin:
            state = fin.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:
        # no /proc (not Linux): ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


class _Done:
    """An already computed result with the ``Future.result`` interface."""

    def __init__(self, value):
        self.value = value

    def result(self):
        """The value."""
        return self.value


def epochs_for(budget, steps_per_epoch, number_of_epochs):
    """The epoch limit of a run: enough for its budget, else its epochs.

    Arguments
    ---------
    budget : TrainingBudget
        The run's budget.
    steps_per_epoch : int or None
        Steps in an epoch (None if unknown, as for a static corpus).
    number_of_epochs : int
        The limit without a budget.

    Returns
    -------
    int
        The epoch limit.

    Example
    -------
    >>> epochs_for(TrainingBudget(max_steps=250), 100, 5)
    3
    >>> epochs_for(TrainingBudget(), 100, 5)
    5
    """
    if not budget.active:
        return number_of_epochs
    if budget.max_minutes is None and steps_per_epoch:
        return math.ceil(budget.max_steps / steps_per_epoch)
    return 10**9


def initialize_weights(model, seed):
    """Initialises ``model`` from ``seed`` alone, whatever came before.

    A recipe's YAML builds its objects in file order from one random
    stream, so the same student with the same seed starts from different
    weights in ``train.yaml`` and in a distillation YAML (which builds the
    teacher first). For a tiny student that difference alone moves the
    test PESQ by tenths, which would make a paired comparison of methods
    measure initialisations. This resets every submodule that has a
    ``reset_parameters`` (or ``_reset_parameters``) method, in module
    order, from a generator seeded with ``seed``; the global random state
    is left as it was. Parameters created otherwise (not by a standard
    layer) keep their values.

    Arguments
    ---------
    model : torch.nn.Module
        The model, changed in place.
    seed : int
        The seed.

    Example
    -------
    >>> first, second = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)
    >>> initialize_weights(first, 7)
    >>> initialize_weights(second, 7)
    >>> torch.equal(first.weight, second.weight)
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.no_grad():
            for module in model.modules():
                reset = getattr(module, "reset_parameters", None)
                reset = reset or getattr(module, "_reset_parameters", None)
                if callable(reset):
                    reset()
