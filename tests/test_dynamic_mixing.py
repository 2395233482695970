"""Dynamic mixing, training budgets and extra test sets on real audio."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import REPO, read_log, run_recipe

from speechbrain_kd.data.audio import AudioError
from speechbrain_kd.data.bundle import pack_corpus, unpack_corpus
from speechbrain_kd.data.dynamic_mixing import (
    DynamicMixer,
    audio_files,
    load_pool,
    training_pools,
)
from speechbrain_kd.data.mixing import mix_corpus
from speechbrain_kd.data.pairs import prepare_pairs_folder
from speechbrain_kd.precision import resolve_precision
from speechbrain_kd.training import TrainingBudget


@pytest.fixture(scope="module")
def pools(shared_data):
    """Real speech (VoiceBank clean) and real noise (a few recordings)."""
    speech = audio_files(shared_data / "voicebank" / "clean_testset_wav_16k")
    noise = audio_files(shared_data / "noise")[::20]
    return load_pool(speech[:8], kind="speech"), load_pool(noise, kind="noise")


@pytest.fixture(scope="module")
def mixed_corpus(shared_data, tmp_path_factory):
    """A corpus of speechbrain_kd.data.mixing: p232 trains, p257 validates."""
    root = tmp_path_factory.mktemp("mixed")
    clean = shared_data / "voicebank" / "clean_testset_wav_16k"
    for path in sorted(clean.glob("*.wav")):
        speaker = root / "speech" / path.name[:4]
        speaker.mkdir(parents=True, exist_ok=True)
        (speaker / path.name).symlink_to(path)
    (root / "noise").mkdir()
    for path in audio_files(shared_data / "noise")[::12]:
        (root / "noise" / path.name).symlink_to(path)
    corpus = root / "corpus"
    mix_corpus(root / "speech", root / "noise", corpus, n_valid_speakers=1)
    for kind in ("clean", "noisy"):  # a 3-pair test set keeps tests fast
        source = shared_data / "voicebank" / f"{kind}_testset_wav_16k"
        (corpus / source.name).mkdir()
        for path in sorted(source.glob("*.wav"))[:3]:
            (corpus / source.name / path.name).symlink_to(path)
    return corpus


@pytest.fixture(scope="module")
def small_pairs(shared_data, tmp_path_factory):
    """Two real DNS pairs in a clean/ + noisy/ folder."""
    root = tmp_path_factory.mktemp("pairs")
    source = shared_data / "dns_test_noreverb"
    for kind in ("clean", "noisy"):
        (root / kind).mkdir()
        for name in ("no_reverb_fileid_0.flac", "no_reverb_fileid_101.flac"):
            (root / kind / name).symlink_to(source / kind / name)
    return root


def test_mixing_is_deterministic_per_seed_and_epoch(pools):
    speech, noise = pools
    mixer = DynamicMixer(speech, noise, 1.0, items_per_epoch=4, seed=3)
    twin = DynamicMixer(speech, noise, 1.0, items_per_epoch=4, seed=3)
    first = [mixer[i]["noisy_sig"] for i in range(4)]
    twin.set_epoch(2)
    twin.set_epoch(1)
    assert all(
        torch.equal(a, twin[i]["noisy_sig"]) for i, a in enumerate(first)
    )
    mixer.set_epoch(2)
    second = [mixer[i]["noisy_sig"] for i in range(4)]
    assert not any(torch.equal(a, b) for a, b in zip(first, second))
    other_seed = DynamicMixer(speech, noise, 1.0, items_per_epoch=4, seed=4)
    assert not torch.equal(first[0], other_seed[0]["noisy_sig"])


def test_snr_of_real_mixtures_matches_the_draw(pools):
    speech, noise = pools
    mixer = DynamicMixer(speech, noise, 2.0, snr_range=(-5, 20), seed=0)
    snrs = []
    for index in range(20):
        mix = mixer.draw(1, index)
        clean = mix["clean"].astype(np.float64)
        residual = mix["noisy"].astype(np.float64) - clean
        measured = 10 * np.log10(np.sum(clean**2) / np.sum(residual**2))
        assert measured == pytest.approx(mix["snr_db"], abs=0.5)
        assert np.max(np.abs(mix["noisy"])) <= 0.99 + 1e-6
        snrs.append(mix["snr_db"])
    assert -5 <= min(snrs) < max(snrs) <= 20
    assert max(snrs) - min(snrs) > 10  # drawn over the range


def test_mixing_options_and_pools_are_checked(pools, tmp_path, shared_data):
    speech, noise = pools
    with pytest.raises(ValueError, match="snr_range: the low end 10.0"):
        DynamicMixer(speech, noise, snr_range=(10, 0))
    with pytest.raises(ValueError, match="The noise pool is empty"):
        load_pool([], kind="noise")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio")
    with pytest.raises(ValueError, match="empty holds no .wav or .flac"):
        audio_files(tmp_path / "empty")
    real, rate = sf.read(
        audio_files(shared_data / "voicebank" / "clean_testset_wav_16k")[0]
    )
    sf.write(tmp_path / "stereo.wav", np.stack([real, real], 1), rate)
    sf.write(tmp_path / "8k.wav", real[::2], 8000)
    sf.write(tmp_path / "silent.wav", np.zeros(16000), rate)
    for name, message in [
        ("stereo.wav", "2 channels"),
        ("8k.wav", "8000 Hz"),
        ("silent.wav", "silent"),
    ]:
        with pytest.raises(AudioError, match=message) as error:
            load_pool([tmp_path / name], kind="speech")
        assert name in str(error.value)


def test_short_files_are_padded_or_looped_with_a_warning(pools, caplog):
    speech, noise = pools
    with caplog.at_level("WARNING"):
        mixer = DynamicMixer(speech, noise, segment_seconds=30.0)
    assert "zero-padded" in caplog.text and "looped" in caplog.text
    mix = mixer.draw(1, 0)
    assert len(mix["noisy"]) == 30 * 16000


def test_budget_rejects_zero_or_negative(tmp_path):
    with pytest.raises(ValueError, match="max_steps"):
        TrainingBudget(max_steps=-3)
    with pytest.raises(ValueError, match="max_minutes"):
        TrainingBudget(max_minutes=0)


def test_training_pools_keep_validation_apart(mixed_corpus):
    speech, noise = training_pools(mixed_corpus)
    info = json.loads((mixed_corpus / "corpus_info.json").read_text())
    (valid,) = info["valid_speakers"]
    assert speech and all(f"/{valid}/" not in path for path in speech)
    assert not set(info["noise_files"]["valid"]) & {
        path.rsplit("/", 1)[1] for path in noise
    }


def test_pairs_folder_manifest_and_errors(shared_data, tmp_path):
    count = prepare_pairs_folder(
        shared_data / "dns_test_noreverb", tmp_path / "dns.json"
    )
    manifest = json.loads((tmp_path / "dns.json").read_text())
    assert count == len(manifest) == 150
    entry = manifest["no_reverb_fileid_0"]
    assert entry["length"] == pytest.approx(10.0)
    (tmp_path / "pairs" / "clean").mkdir(parents=True)
    (tmp_path / "pairs" / "noisy").mkdir()
    source = shared_data / "dns_test_noreverb"
    for name in ("no_reverb_fileid_0.flac", "no_reverb_fileid_101.flac"):
        (tmp_path / "pairs" / "clean" / name).symlink_to(
            source / "clean" / name
        )
    (tmp_path / "pairs" / "noisy" / "no_reverb_fileid_0.flac").symlink_to(
        source / "noisy" / "no_reverb_fileid_0.flac"
    )
    with pytest.raises(FileNotFoundError, match="no_reverb_fileid_101.flac"):
        prepare_pairs_folder(tmp_path / "pairs", tmp_path / "bad.json")


BUDGETED = [
    "--model=!include:models/student_wd64.yaml",
    "--train_data=dynamic",
    "--steps_per_epoch=2",
    "--precision=bf16",
    "--scoring_workers=0",
    "--batch_size=4",
    "--segment_seconds=1.0",
]


def test_budgeted_dynamic_run_stops_at_budget_and_scores_extra_sets(
    mixed_corpus, small_pairs, tmp_path
):
    out = tmp_path / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={mixed_corpus}",
        f"--output_folder={out}",
        "--max_steps=5",
        f"--extra_test_sets={{dns: {small_pairs}}}",
        *BUDGETED,
    )
    epochs = [e for e in read_log(out) if "epoch" in e]
    assert [int(e["train steps"]) for e in epochs] == [2, 4, 5]
    assert float(epochs[-1]["lr"]) == 0.0  # schedule ends with the budget
    summary = json.loads((out / "test_dns_summary.json").read_text())
    assert summary["pesq"]["n"] == 2
    assert len(list((out / "enhanced" / "dns").glob("*.wav"))) == 2
    assert json.loads((out / "test_summary.json").read_text())["pesq"]["n"]
    info = json.loads((mixed_corpus / "corpus_info.json").read_text())
    valid = json.loads((out / "manifests" / "valid.json").read_text())
    (speaker,) = info["valid_speakers"]
    assert valid and all(key.startswith(speaker) for key in valid)


def test_killed_budgeted_run_resumes_on_the_same_schedule(
    mixed_corpus, tmp_path
):
    common = [
        "hparams/train.yaml",
        f"--data_folder={mixed_corpus}",
        "--max_steps=8",
        *BUDGETED,
    ]
    whole = tmp_path / "whole"
    run_recipe("train.py", *common, f"--output_folder={whole}")
    out = tmp_path / "killed"
    command = [
        sys.executable,
        str(REPO / "recipes" / "train.py"),
        *common,
        f"--output_folder={out}",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while not list((out / "save").glob("CKPT+*/CKPT.yaml")):
        assert process.poll() is None, "training ended before a checkpoint"
        assert time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(read_log(out)) < 5, "the run finished before it was killed"
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    def schedule(folder):
        return {
            int(e["train steps"]): (e["lr"], float(e["train loss"]))
            for e in read_log(folder)
            if "epoch" in e
        }

    # same steps and learning rates as the unbroken run, the same mixtures
    # (drawn from seed, epoch and index) from the same restored weights and
    # optimizer: the same losses, up to the log's three digits and bf16
    # rounding (equal to the printed digits, whether the kill left the
    # first checkpoint incomplete or complete)
    killed, unbroken = schedule(out), schedule(whole)
    assert sorted(killed) == sorted(unbroken) == [2, 4, 6, 8]
    for step, (lr, loss) in killed.items():
        assert lr == unbroken[step][0]
        assert loss == pytest.approx(unbroken[step][1], rel=0.05)


def test_throughput_bench_runs_both_paths(shared_data, tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_train_throughput.py"),
            f"--shared_data={shared_data}",
            "--models=student_wd64",
            "--steps=28",
            f"--corpus={tmp_path / 'corpus'}",
            f"--output={tmp_path / 'bench'}",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=900,
    )
    report = json.loads(
        (tmp_path / "bench" / "train_throughput.json").read_text()
    )
    figures = report["results"]["student_wd64"]
    runs = tmp_path / "bench" / "throughput_runs"
    native = resolve_precision("auto")  # what the new path picks here
    paths = {"old": ("static", "fp32"), "new": ("dynamic", native)}
    for path, (train_data, precision) in paths.items():
        # each path trained as it says, in one validated epoch
        run = runs / f"student_wd64_{path}"
        hparams = (run / "hyperparams.yaml").read_text()
        assert f"train_data: {train_data}\n" in hparams, path
        # --precision is a run option: SpeechBrain's log records it
        used = f"Using training precision: `--precision={precision}`"
        assert used in (run / "log.txt").read_text(), path
        (epoch,) = [e for e in read_log(run) if "epoch" in e]
        assert figures[path]["steps"] == 28
        assert figures[path]["valid_pesq"] == float(epoch["valid pesq"])
        assert figures[path]["steps_per_s"] == pytest.approx(
            28 / figures[path]["fit_seconds"], rel=0.01
        )
        assert 1.0 < figures[path]["valid_pesq"] < 4.6
    assert figures["speedup"] == pytest.approx(
        figures["new"]["steps_per_s"] / figures["old"]["steps_per_s"],
        abs=0.006,
    )


def test_validation_set_is_identical_across_epochs(mixed_corpus, tmp_path):
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_kd.run import prepare_data

    overrides = (
        f"data_folder: {mixed_corpus}\noutput_folder: {tmp_path}\n"
        "train_data: dynamic\nsteps_per_epoch: 1\nbatch_size: 2\n"
        "segment_seconds: 1.0"
    )
    with open(REPO / "hparams" / "train.yaml", encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    datasets = prepare_data(hparams)
    valid, train = datasets["valid"], datasets["train"]

    def valid_items():
        return [valid[i]["noisy_sig"] for i in range(len(valid))]

    train.set_epoch(1)
    first, first_train = valid_items(), train[0]["noisy_sig"]
    train.set_epoch(2)
    assert all(torch.equal(a, b) for a, b in zip(first, valid_items()))
    assert not torch.equal(first_train, train[0]["noisy_sig"])


def test_a_bundle_trains_where_only_it_travels(
    mixed_corpus, shared_data, tmp_path
):
    """A corpus packed by data.bundle (training pools as Opus, evaluation
    audio as FLAC) is smaller than its pools, decodes into a corpus with
    bit-exact validation and test audio and no static training mixtures,
    and a dynamic-mixing recipe trains on it."""
    ambient = tmp_path / "ambient"
    ambient.mkdir()
    for path in audio_files(shared_data / "noise_ambient")[:2]:
        (ambient / path.name).symlink_to(path)
    info = pack_corpus(mixed_corpus, tmp_path / "bundle", [ambient], workers=1)
    speech, noise = training_pools(mixed_corpus, [ambient])
    pools = sum(os.path.getsize(p) for p in speech + noise)
    packed = sum(
        (tmp_path / "bundle" / name).stat().st_size
        for pool in ("speech", "noise", "extra_noise")
        for name in info["files"][pool]
    )
    assert packed < pools / 3

    out = unpack_corpus(tmp_path / "bundle", tmp_path / "unpacked", workers=1)

    corpus = Path(out["data_folder"])
    with open(corpus / "mixtures.csv", encoding="utf-8") as fin:
        valid = sorted(
            f"{row['id']}.wav"
            for row in csv.DictReader(fin)
            if row["split"] == "valid"
        )
    mixtures = corpus / "noisy_trainset_28spk_wav_16k"
    assert sorted(p.name for p in mixtures.iterdir()) == valid  # no train
    for relative in info["files"]["corpus"].values():
        original, _ = sf.read(mixed_corpus / relative, dtype="int16")
        decoded, _ = sf.read(corpus / relative, dtype="int16")
        assert np.array_equal(original, decoded), relative
    new_speech, new_noise = training_pools(corpus, out["extra_train_noise"])
    assert len(new_speech) == len(speech) and len(new_noise) == len(noise)
    assert all(str(tmp_path / "unpacked") in p for p in new_speech + new_noise)
    run = tmp_path / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={corpus}",
        f"--extra_train_noise={out['extra_train_noise']}",
        f"--output_folder={run}",
        "--max_steps=2",
        *BUDGETED,
    )
    assert json.loads((run / "test_summary.json").read_text())["pesq"]["n"]
