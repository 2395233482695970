"""A recipe killed mid-run leaves none of its processes behind (real
audio): the scoring pool's forkserver and workers exit with it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import FAST, REPO

# Processes of a scoring pool with 2 workers: a forkserver and 2 workers,
# all with the forkserver's command line
POOL_PROCESSES = 3


def pool_processes(processes):
    """Those of ``{pid: start time}`` that run the forkserver's code."""
    found = []
    for pid in processes:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.forkserver" in command:
            found.append(pid)
    return found


def children_of(pids):
    """Running descendants of ``pids``: ``{pid: start time}``."""
    parents, starts = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            pid = int(stat.parent.name)
            parents[pid], starts[pid] = int(fields[1]), fields[19]
    found, frontier = {}, set(pids)
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier}
        found.update({pid: starts[pid] for pid in frontier})
    return found


def still_running(processes):
    """Those of ``{pid: start time}`` that are still running."""
    running = {}
    for pid, start in processes.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = fields[1].split()
        if fields[0] != "Z" and fields[19] == start:
            running[pid] = start
    return running


def test_killed_recipe_leaves_no_worker_processes(tiny_corpus, tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "recipes" / "train.py"),
            "hparams/train.yaml",
            f"--data_folder={tiny_corpus}",
            f"--output_folder={tmp_path / 'run'}",
            "--model=!include:models/student_w64.yaml",
            "--number_of_epochs=3",
            "--scoring_workers=2",
            *FAST,
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while len(pool_processes(children_of([process.pid]))) < POOL_PROCESSES:
        assert process.poll() is None, "the recipe ended before scoring"
        assert time.monotonic() < deadline, "no scoring workers started"
        time.sleep(0.2)
    pool = children_of([process.pid])
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 60
    while still_running(pool) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = still_running(pool)
    for pid in left:  # leave the machine clean, then fail
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed recipe still run: {left}"
