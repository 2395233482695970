"""The ray executor on a real Ray cluster: a head (which takes no tasks)
and one worker node, started here as separate processes on 127.0.0.1
with their own ports and temporary folder, stopped at the end whatever
happens. A tiny grid on real audio gives the same per-run results and
summary as the local executor; a worker node killed during a run, then
started again, still ends with every run done once; a second invocation
repeats nothing."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import REPO

from speechbrain_kd.grid import load_grid, run_grid, write_summary
from speechbrain_kd.grid.executors import make_executor

pytest.importorskip("ray", reason="pip install speechbrain-kd[cluster]")
pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the nodes are found in /proc"
)

START_S = 120  # a node joins within this
GRID_S = 420  # the tiny grid trains within this
KILLED_RUN = "student_w64/cosine_lib/seed1"
# A dead node is noticed in about 2 s instead of about 30 s
HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "4",
}


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session_processes(session):
    """The live processes of a session (a node and every process it
    started: the raylet, its workers and their recipes)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(pid))
    return found


def _kill_session(session, wait_s=15):
    """Kills every process of the session; waits until none is left."""
    deadline = time.time() + wait_s
    while pids := _session_processes(session):
        assert time.time() < deadline, f"processes {pids} outlived SIGKILL"
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


class LocalCluster:
    """A Ray head (no CPUs: it takes no tasks) and one worker node with 2
    CPUs, each ``ray start --block`` in its own session."""

    def __init__(self, folder):
        self.folder = folder
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **HEALTH_CHECKS,
            "PYTHONPATH": os.pathsep.join(
                [str(REPO), os.environ.get("PYTHONPATH", "")]
            ),
        }
        self.nodes = []
        self.head = self.worker = None

    def start(self):
        """Starts the head, then a worker node once the head listens."""
        self.head = self._start(
            "head",
            "--head",
            f"--port={self.port}",
            "--num-cpus=0",
            "--include-dashboard=false",
            f"--temp-dir={self.folder}",
        )
        self._wait_for_head()
        self.start_worker()

    def _start(self, name, *args):
        # every port its own, so that no other Ray of the machine is met
        ports = (
            "node-manager",
            "object-manager",
            "dashboard-agent-listen",
            "dashboard-agent-grpc",
            "runtime-env-agent",
            "metrics-export",
        )
        ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
        with open(os.path.join(self.folder, f"{name}.log"), "a") as log:
            node = subprocess.Popen(
                [
                    ray_cli,
                    "start",
                    "--block",
                    "--node-ip-address=127.0.0.1",
                    "--disable-usage-stats",
                    *(f"--{port}-port={_free_port()}" for port in ports),
                    *args,
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.nodes.append(node)
        return node

    def _wait_for_head(self):
        deadline = time.time() + START_S
        while time.time() < deadline:
            if self.head.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.5)
        log = os.path.join(self.folder, "head.log")
        with open(log) as fin:
            raise RuntimeError(f"the Ray head did not start:\n{fin.read()}")

    def start_worker(self):
        """Starts a worker node (2 CPUs) that joins the head."""
        self.worker = self._start(
            "worker", f"--address={self.address}", "--num-cpus=2"
        )

    def kill_worker(self):
        """Kills the worker node and everything it runs, as a lost
        machine would be."""
        _kill_session(self.worker.pid)
        self.worker.wait(10)

    def stop(self):
        """Stops every node and what it runs."""
        for node in self.nodes:
            _kill_session(node.pid)
            node.wait(10)


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster of this machine's processes, stopped at the end."""
    folder = tempfile.mkdtemp(prefix="sbkd-ray-")  # socket paths: short
    started = LocalCluster(folder)
    # a test run stopped by SIGTERM (a timeout) stops the nodes too
    terminate = signal.signal(signal.SIGTERM, _interrupt)
    try:
        started.start()
        yield started
    finally:
        started.stop()
        shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signal.SIGTERM, terminate)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def corpus(tiny_corpus, tmp_path_factory):
    """Real pairs: 6 of p232 train, 2 of p257 validate, 3 test."""
    root = tmp_path_factory.mktemp("ray_corpus")
    for kind in ("clean", "noisy"):
        files = sorted((tiny_corpus / f"{kind}_testset_wav_16k").glob("*"))
        picked = {
            f"{kind}_trainset_28spk_wav_16k": [
                *[f for f in files if f.name.startswith("p232")][:6],
                *[f for f in files if f.name.startswith("p257")][:2],
            ],
            f"{kind}_testset_wav_16k": files[:3],
        }
        for folder, sources in picked.items():
            (root / folder).mkdir(parents=True)
            for source in sources:
                (root / folder / source.name).symlink_to(source.resolve())
    return root


def _settings(corpus, teacher, folder):
    """The tiny grid, one seed (2 runs), with a trained teacher."""
    return {
        "seeds": [1],
        "data_folder": str(corpus),
        "output_folder": str(folder / "runs"),
        "archive_folder": str(folder / "archive"),
        "teacher": {"model": "student_w4", "folder": str(teacher)},
        "overrides": {"valid_speakers": ["p257"], "scoring_workers": 0},
    }


def _experiment(settings, address):
    """The command that runs the grid on the cluster."""
    settings = {**settings, "ray": {"address": address}}
    return [
        sys.executable,
        "-m",
        "speechbrain_kd.cli.grid",
        "tiny",
        "--executor=ray",
        *(f"--{key}={json.dumps(value)}" for key, value in settings.items()),
    ]


def _run(command):
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=GRID_S
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def local_grid(corpus, teacher, tmp_path_factory):
    """The grid trained by the local executor (2 at a time, 1 thread
    each, as each Ray task declares 1 CPU), and its summary."""
    folder = tmp_path_factory.mktemp("local_grid")
    grid = load_grid("tiny", {**_settings(corpus, teacher, folder), "jobs": 2})
    run_grid(grid)
    write_summary(grid)
    return folder / "archive"


@pytest.fixture(scope="module")
def ray_grid(cluster, corpus, teacher, tmp_path_factory):
    """The same grid trained on the cluster by ``sbkd-grid
    --executor=ray``: the command and the grid's folder."""
    folder = tmp_path_factory.mktemp("ray_grid")
    settings = _settings(corpus, teacher, folder)
    command = _experiment(settings, cluster.address)
    _run(command)
    return {"command": command, "folder": folder}


def _results(archive):
    """Every file of the archive but the run records (times, commands)."""
    return {
        str(path.relative_to(archive)): path.read_text()
        for path in sorted(archive.glob("**/*.json"))
        if path.name != "run.json"
    }


def _runs(archive):
    return sorted(
        str(path.parent.relative_to(archive))
        for path in archive.glob("**/run.json")
    )


def test_ray_gives_the_results_of_the_local_executor(
    cluster, local_grid, ray_grid
):
    """File for file, the results and the summary of the local executor
    (the cluster, asked for first, boots while the local executor
    trains)."""
    archive = ray_grid["folder"] / "archive"
    assert _runs(archive) == [
        "student_w64/cosine_lib/seed1",
        "student_w64/student_alone/seed1",
    ]
    ray_results, local_results = _results(archive), _results(local_grid)
    assert sorted(ray_results) == sorted(local_results)
    assert "results.json" in ray_results
    for name, text in local_results.items():
        assert ray_results[name] == text, name
    for run in _runs(archive):
        record = json.loads((archive / run / "run.json").read_text())
        assert record["wall_s"] > 0


def _checkpoint_of(folder):
    return list(folder.glob("save/CKPT+*/COMPLETE"))


def test_a_run_whose_node_dies_is_retried_and_resumes(
    cluster, ray_grid, local_grid
):
    """The worker node is killed once the run has saved its epoch's
    checkpoint, before it is tested; the run is retried when the node is
    back, resumes from that checkpoint (no epoch trained twice), and no
    other run trains again."""
    folder = ray_grid["folder"]
    shutil.rmtree(folder / "runs" / KILLED_RUN)
    shutil.rmtree(folder / "archive" / KILLED_RUN)
    records = {
        p: p.stat().st_mtime_ns for p in folder.glob("archive/**/run.json")
    }
    run_folder = folder / "runs" / KILLED_RUN
    with open(folder / "driver.log", "w") as log:
        driver = subprocess.Popen(
            ray_grid["command"], cwd=REPO, stdout=log, stderr=log
        )
    try:
        deadline = time.time() + GRID_S
        while not _checkpoint_of(run_folder):
            assert driver.poll() is None, (folder / "driver.log").read_text()
            assert time.time() < deadline, "no checkpoint in time"
            time.sleep(0.05)
        cluster.kill_worker()
        assert not (run_folder / "test_summary.json").exists(), (
            "the run ended before its node was killed"
        )
        cluster.start_worker()
        assert driver.wait(GRID_S) == 0, (folder / "driver.log").read_text()
    finally:
        if driver.poll() is None:
            driver.kill()

    output = (run_folder / "grid_output.log").read_text()
    assert output.count("\n$ ") == 2  # started, then started again
    log = (run_folder / "train_log.txt").read_text().splitlines()
    assert sum(line.startswith("epoch: ") for line in log) == 1
    # the same checkpoint, the same test: the local executor's results
    summary = f"{KILLED_RUN}/test_summary.json"
    assert (folder / "archive" / summary).read_text() == (
        (local_grid / summary).read_text()
    )
    assert {p: p.stat().st_mtime_ns for p in records} == records
    assert len(_runs(folder / "archive")) == 2


def test_a_second_invocation_repeats_nothing(cluster, ray_grid):
    folder = ray_grid["folder"]
    records = {
        p: p.stat().st_mtime_ns for p in folder.glob("archive/**/run.json")
    }
    outputs = {p: p.read_text() for p in folder.glob("runs/**/grid_output.log")}
    assert len(records) == len(outputs) == 2

    result = _run(ray_grid["command"])

    assert {p: p.stat().st_mtime_ns for p in records} == records
    assert {p: p.read_text() for p in outputs} == outputs
    assert "| student_w64 | cosine_lib | student_alone | test | PESQ |" in (
        result.stdout
    )


def test_a_failing_recipe_is_not_retried_and_says_why(
    cluster, corpus, teacher, tmp_path
):
    """A recipe that fails on the cluster stops the grid with its command
    and the tail of its output, and is not started again."""
    settings = {
        **_settings(corpus, teacher, tmp_path),
        "methods": ["student_alone"],
    }
    settings["overrides"]["valid_speakers"] = ["p999"]
    result = subprocess.run(
        _experiment(settings, cluster.address),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=GRID_S,
    )
    assert result.returncode != 0
    assert "student_w64/student_alone/seed1 failed (exit 1)" in result.stderr
    assert "has no utterance" in result.stderr  # the recipe's own error
    output = tmp_path / "runs/student_w64/student_alone/seed1/grid_output.log"
    assert output.read_text().count("\n$ ") == 1
    assert not (tmp_path / "archive").exists()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("stop_with_parent", [True, False])
def test_a_recipe_dies_with_its_worker(stop_with_parent, tmp_path):
    """A run's recipe is killed with the worker that started it (a Ray
    worker whose raylet crashed), instead of writing its folder on while
    the run is retried elsewhere; without ``stop_with_parent`` it would
    live on."""
    recipe = tmp_path / "recipe.py"
    recipe.write_text(
        "import os, sys, time\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    pid_file = tmp_path / "pid"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from speechbrain_kd.grid.runner import run_once\n"
            "run_once('recipe', sys.argv[1], sys.argv[2:], "
            f"stop_with_parent={stop_with_parent})\n",
            str(tmp_path / "never_written"),
            sys.executable,
            str(recipe),
            str(pid_file),
        ],
        cwd=REPO,
    )
    deadline = time.time() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert worker.poll() is None and time.time() < deadline
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    worker.kill()
    worker.wait()
    time.sleep(1)
    try:
        assert _alive(pid) is not stop_with_parent
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_ray_is_needed_only_by_its_executor(monkeypatch):
    """Without Ray, the grid imports and runs locally; asking for the ray
    executor names the package extra to install."""
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "import speechbrain_kd.grid\n"
        "from speechbrain_kd.grid.executors import make_executor\n"
        "make_executor('local', {'jobs': 1})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"speechbrain-kd\[cluster\]"):
        make_executor("ray", {"ray": {}})
