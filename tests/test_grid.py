"""Experiment grids end to end on real audio: a tiny grid (1 student x
2 methods x 2 seeds, two test sets) runs the real recipes, archives the
small results of each run, computes paired differences, and continues
from its archive on a machine that has none of its run folders."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from speechbrain_kd.grid import load_grid, run_grid, write_summary
from speechbrain_kd.grid.config import check_grid
from speechbrain_kd.grid.runner import RunFailedError

N_TRAIN, N_VALID, N_TEST = 6, 3, 6  # pairs of p232, p257, either


@pytest.fixture(scope="module")
def small_corpus(tiny_corpus, tmp_path_factory):
    """A subset of ``tiny_corpus`` (real pairs, same layout), and a plain
    folder of ``clean/`` + ``noisy/`` pairs as a second test set."""
    root = tmp_path_factory.mktemp("small_corpus")
    for kind in ("clean", "noisy"):
        train = sorted(
            (tiny_corpus / f"{kind}_trainset_28spk_wav_16k").glob("*")
        )
        picked = {
            f"{kind}_trainset_28spk_wav_16k": [
                *[f for f in train if f.name.startswith("p232")][:N_TRAIN],
                *[f for f in train if f.name.startswith("p257")][:N_VALID],
            ],
            f"{kind}_testset_wav_16k": train[:N_TEST],
            f"pairs/{kind}": train[-3:],
        }
        for folder, files in picked.items():
            (root / folder).mkdir(parents=True)
            for source in files:
                (root / folder / source.name).symlink_to(source.resolve())
    return root


def _settings(corpus, out, archive):
    corpus = Path(corpus)
    return {
        "data_folder": str(corpus),
        "output_folder": str(out),
        "archive_folder": str(archive),
        "jobs": 2,
        "overrides": {
            "valid_speakers": ["p257"],
            "extra_test_sets": {"pairs": str(corpus / "pairs")},
        },
    }


@pytest.fixture(scope="module")
def grid(small_corpus, tmp_path_factory):
    """The tiny grid, run once for the module, and its summary."""
    out = tmp_path_factory.mktemp("grid")
    archive = tmp_path_factory.mktemp("archive")
    grid = load_grid("tiny", _settings(small_corpus, out, archive))
    done = run_grid(grid)
    summary = write_summary(grid)
    return {
        "grid": grid,
        "out": out,
        "archive": archive,
        "done": done,
        "summary": summary,
    }


def _pesq(folder, name="test_summary.json"):
    return json.loads((folder / name).read_text())["pesq"]["mean"]


def test_paired_differences_match_a_hand_computation(grid):
    assert sorted(d["status"] for d in grid["done"]) == ["run"] * 5
    archive = grid["archive"]
    summary = grid["summary"]
    assert summary["missing"] == []
    cells = {(c["method"], c["test_set"]): c for c in summary["cells"]}
    assert set(cells) == {
        (m, t)
        for m in ("student_alone", "cosine_lib")
        for t in ("test", "pairs")
    }
    assert all(cell["n"] == 2 for cell in cells.values())
    for test_set, name in (
        ("test", "test_summary.json"),
        ("pairs", "test_pairs_summary.json"),
    ):
        run = archive / "student_w64"
        alone = [_pesq(run / f"student_alone/seed{s}", name) for s in (1, 2)]
        distilled = [_pesq(run / f"cosine_lib/seed{s}", name) for s in (1, 2)]
        # by hand: two paired differences, t(0.975, 1) = 12.706
        d1, d2 = distilled[0] - alone[0], distilled[1] - alone[1]
        mean = (d1 + d2) / 2
        std = abs(d1 - d2) / math.sqrt(2)
        half = 12.706205 * std / math.sqrt(2)
        (row,) = [
            r
            for r in summary["comparisons"]
            if r["test_set"] == test_set and r["metric"] == "pesq"
        ]
        assert (row["method"], row["reference"]) == (
            "cosine_lib",
            "student_alone",
        )
        assert row["seeds"] == [1, 2]
        assert row["differences"] == pytest.approx([d1, d2])
        assert row["mean"] == pytest.approx(mean)
        assert row["std"] == pytest.approx(std)
        assert row["low"] == pytest.approx(mean - half, abs=1e-5)
        assert row["high"] == pytest.approx(mean + half, abs=1e-5)
        assert cells[("student_alone", test_set)]["pesq_mean"] == (
            pytest.approx(sum(alone) / 2)
        )
    markdown = (archive / "results.md").read_text()
    assert "| student_w64 | cosine_lib | student_alone | pairs | PESQ |" in (
        markdown
    )
    for plot in ("paired_difference.png", "paired_forest.png"):
        assert (archive / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_archive_holds_small_results_only(grid):
    run = grid["archive"] / "student_w64" / "cosine_lib" / "seed2"
    names = sorted(path.name for path in run.iterdir())
    assert names == [
        "run.json",
        "teacher_check.json",
        "test_pairs_summary.json",
        "test_summary.json",
        "train_log.txt",
    ]
    size = sum(p.stat().st_size for p in grid["archive"].glob("**/*"))
    assert size < 200_000
    record = json.loads((run / "run.json").read_text())
    assert record["wall_s"] > 0 and "--seed=2" in record["command"]


def test_a_fresh_machine_continues_from_the_archive(grid, tmp_path):
    """The committed archive alone: no run folder, no teacher; nothing
    finished runs again, and the one run missing from the archive runs."""
    settings = _settings(
        grid["grid"]["data_folder"], tmp_path / "runs", tmp_path / "archive"
    )
    shutil.copytree(grid["archive"], tmp_path / "archive")
    fresh = load_grid("tiny", settings)

    done = run_grid(fresh)

    assert [d["status"] for d in done] == ["skip"] * 5
    assert not (tmp_path / "runs").exists()
    assert write_summary(fresh)["comparisons"] == grid["summary"]["comparisons"]

    shutil.rmtree(tmp_path / "archive" / "student_w64" / "cosine_lib" / "seed2")
    with pytest.raises(FileNotFoundError, match="teacher.folder"):
        run_grid(
            {
                **fresh,
                "teacher": {"model": "student_w4", "folder": "/no/teacher"},
            }
        )


def test_interrupted_run_resumes_and_only_it_runs(grid, tmp_path):
    """On a copy of the module's grid (run folders and archive), so that
    the other tests read the grid as it was run."""
    out, archive = tmp_path / "runs", tmp_path / "archive"
    shutil.copytree(grid["out"], out, symlinks=True)
    shutil.copytree(grid["archive"], archive)
    copy = load_grid(
        "tiny", _settings(grid["grid"]["data_folder"], out, archive)
    )
    interrupted = "student_w64/cosine_lib/seed2"
    (out / interrupted / "test_summary.json").unlink()
    shutil.rmtree(archive / interrupted)
    before = {
        p: p.stat().st_mtime_ns for p in archive.glob("**/test_summary.json")
    }

    done = run_grid(copy)

    assert [d["name"] for d in done if d["status"] == "run"] == [interrupted]
    assert (archive / interrupted / "test_summary.json").exists()
    assert {
        p: p.stat().st_mtime_ns for p in before
    } == before  # the other archived results are untouched
    # it resumed from its last checkpoint: one epoch logged, not two
    log = (out / interrupted / "train_log.txt").read_text().splitlines()
    assert sum(line.startswith("epoch: ") for line in log) == 1


def _run_experiment_recipe(grid, *args):
    """Runs ``sbkd-grid tiny`` on the module's grid folders."""
    settings = _settings(
        grid["grid"]["data_folder"], grid["out"], grid["archive"]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "speechbrain_kd.cli.grid",
            "tiny",
            *args,
            *(
                f"--{key}={json.dumps(value)}"
                for key, value in settings.items()
            ),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_recipe_continues_the_grid(grid):
    records = {
        p: p.stat().st_mtime_ns for p in grid["archive"].glob("**/run.json")
    }
    result = _run_experiment_recipe(grid)
    # nothing ran again: no run record was rewritten
    assert {p: p.stat().st_mtime_ns for p in records} == records
    assert "| student_w64 | cosine_lib | student_alone | test | PESQ |" in (
        result.stdout
    )


def test_running_part_of_a_grid_keeps_the_whole_summary(grid):
    """``--methods`` naming part of the grid (here: one method, summary
    only) still writes the summary of every cell of the grid file, so a
    partial run never overwrites the whole grid's tables with its own."""
    _run_experiment_recipe(grid, "--summary_only", "--methods=[cosine_lib]")
    written = json.loads((grid["archive"] / "results.json").read_text())
    assert {cell["method"] for cell in written["cells"]} == {
        "student_alone",
        "cosine_lib",
    }
    assert written["comparisons"] == grid["summary"]["comparisons"]


def test_bad_settings_are_named(small_corpus, tmp_path):
    grid = load_grid("tiny", _settings(small_corpus, tmp_path, tmp_path))
    bad = {
        "unknown method 'kd'": {"methods": ["kd"]},
        "unknown model file 'student_w3'": {
            "scenarios": [
                {"name": "w3", "student": "student_w3", "mismatch": "width"}
            ]
        },
        "seeds: give at least 1 seed": {"seeds": []},
        "mismatch: 'size' is not one of": {
            "scenarios": [
                {"name": "w", "student": "student_w64", "mismatch": "size"}
            ]
        },
        "sp_two_step: kd_warmup_epochs": {"methods": ["sp_two_step"]},
        "'batch_size' is set by the grid": {"overrides": {"batch_size": 2}},
        "comparisons: .* is not a pair": {
            "comparisons": [["cosine_lib", "cosine_typo"]]
        },
        "jobs: must be a positive integer": {"jobs": 0},
    }
    for message, change in bad.items():
        with pytest.raises(ValueError, match=message):
            check_grid({**grid, **change})
    with pytest.raises(FileNotFoundError, match="not a grid of"):
        load_grid("tiny_typo")


def test_failing_run_raises_with_command_and_output(small_corpus, tmp_path):
    settings = _settings(small_corpus, tmp_path / "runs", tmp_path / "arch")
    settings["overrides"]["valid_speakers"] = ["p999"]
    grid = load_grid("tiny", settings)
    with pytest.raises(RunFailedError) as error:
        run_grid(grid)
    message = str(error.value)
    assert message.startswith("teacher failed")
    assert "recipes/train.py" in message and "hparams/train.yaml" in message
    assert "has no utterance" in message  # the recipe's own error
    assert not (tmp_path / "arch").exists()


def test_importing_the_grid_has_no_side_effects():
    """No pyplot, and matplotlib's backend setting as in a fresh process
    (read raw: asking for the backend would resolve it)."""
    raw = "dict.__getitem__(matplotlib.rcParams, 'backend')"
    raw = f"(lambda b: b if isinstance(b, str) else 'unresolved')({raw})"

    def probe(first):
        code = f"import sys; {first}import matplotlib; "
        code += f"print('matplotlib.pyplot' in sys.modules, {raw})"
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert probe("import speechbrain_kd.grid; ") == probe("")
    assert probe("")[0] == "False"


def test_an_installed_wheel_finds_grids_recipes_and_hparams(
    voicebank, tmp_path
):
    """Built and installed like a user would (no checkout on the path),
    the grid and the features find their files inside the package, and
    the console commands run."""
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]
    build += ["--no-build-isolation", "-w", str(tmp_path / "wheel"), str(REPO)]
    subprocess.run(build, check=True, cwd=tmp_path, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    install += ["--target", str(tmp_path / "site"), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    code = (
        "import os, speechbrain_kd\n"
        "from speechbrain_kd.grid import load_grid\n"
        "from speechbrain_kd.grid.runner import plan_runs\n"
        "grid = load_grid('mismatch')\n"
        "command = plan_runs(grid)[0]['command']\n"
        "print(speechbrain_kd.__file__)\n"
        "print(all(os.path.isfile(arg) for arg in command[1:3]))\n"
        "print(grid['output_folder'])\n"
        "from speechbrain_kd.features import load_features_file\n"
        "print(load_features_file('stft_16ms')['n_fft'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    package, files_found, output, n_fft = result.stdout.split()
    assert package.startswith(str(tmp_path / "site"))
    assert files_found == "True"
    assert output == str(tmp_path / "results" / "grid" / "mismatch")
    assert n_fft == "256"  # features files travel with the package too
    # the console commands are installed, and run the installed package
    commands = sorted((tmp_path / "site" / "bin").glob("sbkd-*"))
    assert [path.name for path in commands] == [
        "sbkd-bundle",
        "sbkd-grid",
        "sbkd-mix",
        "sbkd-publish",
        "sbkd-score",
        "sbkd-score-returned",
    ]
    for path in commands:
        result = subprocess.run(
            [sys.executable, str(path), "--help"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{path.name}: {result.stderr[-2000:]}"
        assert "usage: " + path.name in result.stdout, result.stdout
    # and one does its job, exiting 0 (an entry point's return value is
    # its exit status)
    enhanced = tmp_path / "enhanced"
    enhanced.mkdir()
    clean = voicebank / "clean_testset_wav_16k"
    shutil.copy(clean / "p232_162.wav", enhanced)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "site" / "bin" / "sbkd-score")]
        + [str(enhanced), str(clean), "--n_jobs", "1"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stoi:    1.000 ± 0.000 (n=1)" in result.stdout


def test_comparison_of_a_method_left_out_is_skipped(small_corpus, tmp_path):
    """Running part of a grid (a shorter list of methods on the command
    line) drops the comparisons that name a left-out method, instead of
    failing; a name that is no method at all is still an error."""
    grid = load_grid("tiny", _settings(small_corpus, tmp_path, tmp_path))
    pairs = [["cosine_lib", "student_alone"], ["sp_two_step", "cosine_lib"]]
    checked = check_grid({**grid, "comparisons": pairs})
    assert checked["comparisons"] == [("cosine_lib", "student_alone")]
    with pytest.raises(ValueError, match="comparisons: .* is not a pair"):
        check_grid({**grid, "comparisons": [["cosine_lib", "cosine_typo"]]})


def test_a_grid_of_another_teacher_shares_the_alone_runs(grid, tmp_path):
    """``baseline_archive``: the students trained alone do not depend on
    the teacher, so a grid that changes only the teacher finds them in the
    first grid's archive and trains none again; a run trained with other
    settings than the new grid's is refused, naming the setting."""
    settings = {
        **_settings(
            grid["grid"]["data_folder"], tmp_path / "runs", tmp_path / "new"
        ),
        "baseline_archive": str(grid["archive"]),
        "methods": ["student_alone"],
    }
    teacher = {"model": "student_w4", "folder": str(grid["out"])}
    shared = {**load_grid("tiny", settings), "teacher": teacher}

    done = run_grid(shared)

    assert [d["status"] for d in done] == ["skip", "skip"]
    assert not (tmp_path / "new").exists()
    assert not (tmp_path / "runs").exists()
    changed = {**settings["overrides"], "max_steps": 3}
    with pytest.raises(ValueError, match=r"other settings \(max_steps\)"):
        run_grid(
            {
                **load_grid("tiny", {**settings, "overrides": changed}),
                "teacher": teacher,
            }
        )


def test_a_run_stopped_between_test_sets_is_not_complete(grid, tmp_path):
    """A recipe writes the corpus' test summary first, then one per extra
    test set: a run stopped in between has no DNS (here: pairs) score yet
    and must run again, not be archived half-scored."""
    from speechbrain_kd.grid.runner import plan_runs, result_folder

    (run,) = [
        r
        for r in plan_runs(grid["grid"])
        if r["name"] == "student_w64/cosine_lib/seed1"
    ]
    copy = tmp_path / "seed1"
    shutil.copytree(grid["archive"] / run["name"], copy)
    half = {**run, "archive": str(copy), "folder": None}
    assert result_folder(half) == str(copy)
    (copy / "test_pairs_summary.json").unlink()
    assert result_folder(half) is None


def test_teacher_strength_reads_each_grids_comparison(grid):
    """benchmarks/teacher_strength.py: one point per grid and test set,
    the comparison's mean and interval beside the teacher's own score."""
    import teacher_strength

    found, _ = teacher_strength.points(
        [grid["grid"]], "student_w64", "cosine_lib", "student_alone", "pesq"
    )

    (row,) = [
        r
        for r in grid["summary"]["comparisons"]
        if r["test_set"] == "test" and r["metric"] == "pesq"
    ]
    teacher = grid["summary"]["references"]["teacher"]["test"]["pesq"]
    (point,) = found["test"]
    assert point[1:] == (teacher, row["mean"], row["low"], row["high"])
    assert sorted(found) == ["pairs", "test"]


def test_returned_runs_are_scored_on_the_test_sets_they_lacked(grid, tmp_path):
    """sbkd-score-returned's job: runs that came back from another
    machine scored on one test set, with their model checkpoints only (the
    optimizer's and KD method's files left behind), are scored here on the
    other: the same checkpoints give the same scores as the grid's own
    runs, the archive gains the summaries, and nothing runs twice."""
    from speechbrain_kd.grid.rescore import score_returned

    out, archive = tmp_path / "returned", tmp_path / "archive"
    shutil.copytree(grid["out"], out, symlinks=True)
    shutil.copytree(grid["archive"], archive)
    for summary in [
        *out.rglob("test_pairs_summary.json"),
        *archive.rglob("test_pairs_summary.json"),
        *out.rglob("optimizer.ckpt"),
        *out.rglob("kd_method.ckpt"),
    ]:
        summary.unlink()
    settings = _settings(grid["grid"]["data_folder"], out, archive)
    pairs = settings["overrides"].pop("extra_test_sets")
    returned = load_grid("tiny", settings)
    students = [
        "student_w64/student_alone/seed1",
        "student_w64/cosine_lib/seed1",
        "student_w64/student_alone/seed2",
        "student_w64/cosine_lib/seed2",
    ]

    scored = score_returned(
        returned,
        {"data_folder": settings["data_folder"], "extra_test_sets": pairs},
        jobs=2,
    )

    assert sorted(scored) == sorted(["teacher", *students])
    for name in students:
        for summary in ("test_summary.json", "test_pairs_summary.json"):
            assert _pesq(archive / name, summary) == pytest.approx(
                _pesq(grid["archive"] / name, summary), abs=1e-6
            )
    assert (
        score_returned(returned, {"data_folder": "x", "extra_test_sets": pairs})
        == []
    )
    (archive / students[0] / "test_pairs_summary.json").unlink()
    shutil.rmtree(out / students[0] / "save")
    with pytest.raises(FileNotFoundError, match="student_alone/seed1.*save"):
        score_returned(returned, {"data_folder": "x", "extra_test_sets": pairs})
