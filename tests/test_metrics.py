"""Tests of speechbrain_kd.metrics on real VoiceBank-DEMAND test pairs."""

import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_kd import metrics
from speechbrain_kd.cli.score import run as score_command
from speechbrain_kd.report import format_summary

REPO = Path(__file__).resolve().parents[1]
UTTERANCE = "p232_162.wav"  # the shortest pair (1.6 s) keeps tests fast
FOLDER_UTTERANCES = ("p232_162.wav", "p257_139.wav", "p232_043.wav")


@pytest.fixture(scope="module")
def pair(voicebank):
    """The real (noisy, clean) pair of ``UTTERANCE`` as float64 arrays."""
    clean, rate = sf.read(voicebank / "clean_testset_wav_16k" / UTTERANCE)
    noisy, _ = sf.read(voicebank / "noisy_testset_wav_16k" / UTTERANCE)
    assert rate == 16000 and clean.shape == noisy.shape
    return noisy, clean


@pytest.fixture(scope="module")
def scores(pair):
    """Scores of the clean, noisy and pure-noise "enhanced" signals."""
    noisy, clean = pair
    noise = np.random.default_rng(0).standard_normal(clean.size)
    return {
        "clean": metrics.score(clean, clean),
        "noisy": metrics.score(noisy, clean),
        "noise": metrics.score(noise * clean.std(), clean),
    }


@pytest.fixture
def folders(tmp_path, voicebank):
    """A tmp folder with three real noisy files, and the real clean dir."""
    enhanced_dir = tmp_path / "enhanced"
    enhanced_dir.mkdir()
    for utterance in FOLDER_UTTERANCES:
        shutil.copy(
            voicebank / "noisy_testset_wav_16k" / utterance, enhanced_dir
        )
    return enhanced_dir, voicebank / "clean_testset_wav_16k"


def test_identical_signals_score_the_top(scores):
    top = scores["clean"]
    assert set(top) == set(metrics.METRICS)
    assert top["pesq"] == pytest.approx(4.64, abs=0.01)
    assert top["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert top["sisdr"] > 150.0
    assert (top["csig"], top["cbak"], top["covl"]) == (5.0, 5.0, 5.0)


def test_scaled_copy_keeps_sisdr_and_stoi(pair, scores):
    clean = pair[1]
    scaled = metrics.score(0.3 * clean, clean)
    assert scaled["sisdr"] == pytest.approx(scores["clean"]["sisdr"])
    assert scaled["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert scaled["pesq"] == pytest.approx(4.64, abs=0.01)


def test_pure_noise_scores_low(scores):
    noise = scores["noise"]
    assert noise["pesq"] < 1.2
    assert noise["stoi"] < 0.6
    assert noise["sisdr"] < 0.0
    assert noise["csig"] == noise["covl"] == 1.0


def test_noisy_pair_is_between_clean_and_noise(scores):
    clean, noisy, noise = scores["clean"], scores["noisy"], scores["noise"]
    assert 1.2 < noisy["pesq"] < 3.0
    assert 0.6 < noisy["stoi"] < 0.99
    assert 0.0 < noisy["sisdr"] < 30.0
    for metric in ("pesq", "stoi", "sisdr", "csig", "cbak", "covl"):
        assert clean[metric] > noisy[metric] > noise[metric], metric


def test_torch_tensors_match_numpy(pair, scores):
    noisy, clean = pair
    tensors = torch.from_numpy(noisy), torch.from_numpy(clean)
    assert metrics.score(*tensors) == scores["noisy"]
    assert metrics.sisdr(*tensors) == scores["noisy"]["sisdr"]


def test_single_metrics_match_score(pair, scores):
    noisy, clean = pair
    expected = scores["noisy"]
    assert metrics.pesq_wb(noisy, clean) == expected["pesq"]
    assert metrics.stoi(noisy, clean) == expected["stoi"]
    assert metrics.composite(noisy, clean) == {
        key: expected[key] for key in ("csig", "cbak", "covl")
    }
    assert metrics.stoi(noisy, clean, extended=True) < expected["stoi"]


@pytest.mark.parametrize("silent", ["enhanced", "clean"])
def test_silence_gives_nan_pesq_with_warning(pair, silent):
    clean = pair[1]
    signals = {"enhanced": clean, "clean": clean, silent: np.zeros_like(clean)}
    with pytest.warns(UserWarning, match="PESQ cannot score for 'quiet.wav'"):
        value = metrics.pesq_wb(**signals, name="quiet.wav")
    assert math.isnan(value)
    with pytest.warns(UserWarning, match="quiet.wav"):
        row = metrics.score(**signals, name="quiet.wav")
    assert all(math.isnan(row[key]) for key in ("pesq", "csig", "sisdr"))


@pytest.mark.parametrize(
    "make_bad, message",
    [
        (lambda x: np.stack([x, x]), "1-D"),
        (lambda x: np.stack([x, x], axis=1), "1-D"),
        (lambda x: x[:0], "empty"),
        (lambda x: x[: x.size // 2], "12769 samples and the clean one 25539"),
    ],
    ids=["stereo-channels-first", "stereo-channels-last", "empty", "length"],
)
def test_bad_input_raises_naming_the_file(pair, make_bad, message):
    clean = pair[1]
    for function in (metrics.pesq_wb, metrics.sisdr, metrics.score):
        with pytest.raises(ValueError, match=message) as error:
            function(make_bad(clean), clean, name="bad.wav")
        assert "'bad.wav'" in str(error.value)


def test_small_length_mismatch_is_trimmed_with_warning(pair, scores):
    noisy, clean = pair
    with pytest.warns(UserWarning, match="first 25539 samples"):
        padded = metrics.score(np.pad(noisy, (0, 100)), clean, name="p.wav")
    assert padded == scores["noisy"]


def test_unsupported_sample_rate_raises(pair):
    clean = pair[1]
    with pytest.raises(ValueError, match="44100"):
        metrics.pesq_wb(clean, clean, sample_rate=44100, name="x.wav")
    with pytest.raises(ValueError, match="'x.wav'"):
        metrics.score(clean, clean, sample_rate=22050, name="x.wav")


def test_evaluate_folder_scores_real_files(folders, tmp_path):
    enhanced_dir, clean_dir = folders
    csv_path = tmp_path / "scores.csv"
    rows, summary = metrics.evaluate_folder(
        enhanced_dir, clean_dir, n_jobs=2, csv_path=csv_path
    )
    assert [row["id"] for row in rows] == sorted(
        name[:-4] for name in FOLDER_UTTERANCES
    )
    assert set(summary) == set(metrics.METRICS)
    assert all(stats["n"] == 3 for stats in summary.values())
    assert summary == metrics.summarize(rows)
    noisy, _ = sf.read(enhanced_dir / UTTERANCE)
    clean, _ = sf.read(clean_dir / UTTERANCE)
    by_id = {row["id"]: row for row in rows}
    assert by_id["p232_162"] == {
        "id": "p232_162",
        **metrics.score(noisy, clean),
    }
    with open(csv_path, newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [row["id"] for row in written] == [row["id"] for row in rows]
    assert float(written[0]["pesq"]) == pytest.approx(rows[0]["pesq"])


def test_evaluate_folder_missing_partner_or_folder(folders, voicebank):
    enhanced_dir, clean_dir = folders
    shutil.copy(enhanced_dir / UTTERANCE, enhanced_dir / "unpaired.wav")
    with pytest.raises(FileNotFoundError, match="unpaired.wav"):
        metrics.evaluate_folder(enhanced_dir, clean_dir, n_jobs=1)
    missing = voicebank / "no_such_dir"
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        metrics.evaluate_folder(enhanced_dir, missing, n_jobs=1)


@pytest.mark.parametrize("problem", ["stereo", "8 kHz"])
def test_evaluate_folder_rejects_bad_files(folders, problem):
    enhanced_dir, clean_dir = folders
    path = enhanced_dir / UTTERANCE
    noisy, _ = sf.read(path)
    if problem == "stereo":
        sf.write(path, np.stack([noisy, noisy], axis=1), 16000)
    else:
        sf.write(path, noisy[::2], 8000)
    with pytest.raises(ValueError, match=UTTERANCE):
        metrics.evaluate_folder(enhanced_dir, clean_dir, n_jobs=1)


def test_summarize_ignores_nan_and_formats():
    rows = [
        {"id": "a", "pesq": 2.0, "stoi": 0.8},
        {"id": "b", "pesq": 4.0, "stoi": math.nan},
    ]
    summary = metrics.summarize(rows)
    assert summary["pesq"] == {"mean": 3.0, "std": 1.0, "n": 2}
    assert summary["stoi"] == {"mean": 0.8, "std": 0.0, "n": 1}
    assert format_summary(summary).splitlines() == [
        "pesq:    3.000 ± 1.000 (n=2)",
        "stoi:    0.800 ± 0.000 (n=1)",
    ]


def test_main_prints_table_and_writes_json(folders, tmp_path, capsys):
    enhanced_dir, clean_dir = folders
    json_path = tmp_path / "out" / "summary.json"
    summary = score_command(
        [str(enhanced_dir), str(clean_dir), "--n_jobs", "1"]
        + ["--json", str(json_path)]
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(metrics.METRICS)
    assert all(line.endswith("(n=3)") for line in lines)
    assert json.loads(json_path.read_text()) == summary


def test_recipe_runs_from_repo_root(folders, tmp_path):
    enhanced_dir, clean_dir = folders
    csv_path = tmp_path / "recipe.csv"
    result = subprocess.run(
        [sys.executable, "recipes/evaluate.py"]
        + ["--enhanced_dir", str(enhanced_dir), "--clean_dir", str(clean_dir)]
        + ["--n_jobs", "1", "--csv", str(csv_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "pesq:" in result.stdout and "(n=3)" in result.stdout
    assert len(csv_path.read_text().splitlines()) == 4


def test_evaluate_folder_pairs_with_flac_references(shared_data, tmp_path):
    """Enhanced wavs score against the flac clean files of a folder of
    pairs (the DNS-Challenge test set), paired by stem."""
    dns = shared_data / "dns_test_noreverb"
    names = sorted(path.stem for path in (dns / "noisy").glob("*.flac"))[:2]
    for name in names:
        signal, rate = sf.read(dns / "noisy" / f"{name}.flac")
        sf.write(tmp_path / f"{name}.wav", signal, rate)
    rows, summary = metrics.evaluate_folder(tmp_path, dns / "clean", n_jobs=1)
    assert [row["id"] for row in rows] == names
    assert summary["pesq"]["n"] == 2
    # the recipe finds the references from the dataset settings
    result = subprocess.run(
        [sys.executable, "recipes/evaluate.py", "--enhanced_dir", str(tmp_path)]
        + ["--data_folder", str(shared_data / "voicebank")]
        + ["--test_folder", str(dns), "--n_jobs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "pesq:" in result.stdout and "(n=2)" in result.stdout


# ----------------------------------------------------------------------------
# The composite measures, computed here a second time, frame by frame, from
# their published definitions (Hu & Loizou 2008, section III and eqs. 4-6;
# Klatt 1982 for WSS), with scipy's Toeplitz solver for the LPC models
# instead of the module's Levinson-Durbin recursion.

CRITICAL_BANDS_HZ = [  # Klatt's 25 bands: (centre, bandwidth)
    (50.0, 70.0), (120.0, 70.0), (190.0, 70.0), (260.0, 70.0),
    (330.0, 70.0), (400.0, 70.0), (470.0, 70.0), (540.0, 77.3724),
    (617.372, 86.0056), (703.378, 95.3398), (798.717, 105.411),
    (904.128, 116.256), (1020.38, 127.914), (1148.30, 140.423),
    (1288.72, 153.823), (1442.54, 168.154), (1610.70, 183.457),
    (1794.16, 199.776), (1993.93, 217.153), (2211.08, 235.631),
    (2446.71, 255.255), (2701.97, 276.072), (2978.04, 298.126),
    (3276.17, 321.465), (3597.63, 346.136),
]  # fmt: skip
COMPOSITE_PAIRS = ("p232_162.wav", "p257_139.wav")


def _reference_frames(signal, rate):
    """30 ms frames every 7.5 ms, Hann window w[n] = 0.5 (1 - cos(2 pi n /
    (N + 1))), n = 1..N; as many frames as the reference code counts."""
    length = round(0.030 * rate)
    hop = length // 4
    window = 0.5 * (
        1 - np.cos(2 * np.pi * np.arange(1, length + 1) / (length + 1))
    )
    count = int(len(signal) / hop - length / hop)
    return [signal[i * hop : i * hop + length] * window for i in range(count)]


def _reference_lpc(frame, order):
    """``[1, -a_1, ..., -a_p]`` solving the Yule-Walker equations."""
    from scipy.linalg import solve_toeplitz

    r = np.array(
        [np.dot(frame[: len(frame) - k], frame[k:]) for k in range(order + 1)]
    )
    r[0] += np.finfo(float).eps  # digital silence: a flat model
    return np.concatenate([[1.0], -solve_toeplitz(r[:-1], r[1:])]), r


def _reference_llr(clean, enhanced, order=16):
    """d_LLR = log(a_e R_c a_e^T / a_c R_c a_c^T) per frame."""
    from scipy.linalg import toeplitz

    a_clean, r_clean = _reference_lpc(clean, order)
    a_enhanced, _ = _reference_lpc(enhanced, order)
    r = toeplitz(r_clean)
    return math.log((a_enhanced @ r @ a_enhanced) / (a_clean @ r @ a_clean))


def _reference_band_energies_db(frame, rate):
    """Energy (dB) of Klatt's 25 Gaussian critical-band filters, each cut
    30 dB below its peak, on the power spectrum of a 2N-point FFT."""
    n_fft = 2 ** math.ceil(math.log2(2 * len(frame)))
    half = n_fft // 2
    power = np.abs(np.fft.fft(frame, n_fft))[:half] ** 2
    energies = []
    for centre, width in CRITICAL_BANDS_HZ:
        f0 = math.floor(centre / (rate / 2) * half)
        bw = width / (rate / 2) * half
        gain = np.exp(
            -11 * ((np.arange(half) - f0) / bw) ** 2
            + math.log(70.0)
            - math.log(width)
        )
        gain[gain <= math.exp(-30 / (2 * 2.303))] = 0.0
        energies.append(max(np.sum(power * gain), 1e-10))
    return 10 * np.log10(energies)


def _reference_slopes_and_weights(energy):
    """Spectral slopes and Klatt's weights W = Kmax / (Kmax + Emax - E_k)
    x Klocmax / (Klocmax + E_peak(k) - E_k), Kmax = 20, Klocmax = 1; the
    nearest peak is searched up a rising slope and down a falling one, as
    Loizou's wss.m indexes it (band by band, loops written out)."""
    slope = energy[1:] - energy[:-1]
    n = len(slope)
    weights = []
    for band in range(n):
        if slope[band] > 0:
            k = band
            while k < n - 1 and slope[k] > 0:
                k += 1
            peak = energy[k - 1]
        else:
            k = band
            while k >= 0 and slope[k] <= 0:
                k -= 1
            peak = energy[k + 1]
        weights.append(
            20
            / (20 + energy.max() - energy[band])
            * 1
            / (1 + peak - energy[band])
        )
    return slope, np.array(weights)


def _reference_wss(clean, enhanced, rate):
    """Weighted spectral slope distance of one frame pair."""
    slope_c, weight_c = _reference_slopes_and_weights(
        _reference_band_energies_db(clean, rate)
    )
    slope_e, weight_e = _reference_slopes_and_weights(
        _reference_band_energies_db(enhanced, rate)
    )
    weight = (weight_c + weight_e) / 2
    return np.sum(weight * (slope_c - slope_e) ** 2) / np.sum(weight)


def _reference_segsnr(clean, enhanced):
    """10 log10(sum s^2 / sum (s - s_hat)^2), clipped to [-10, 35] dB."""
    noise = np.sum((clean - enhanced) ** 2)
    snr = 10 * math.log10(np.sum(clean**2) / (noise + 1e-10) + 1e-10)
    return min(max(snr, -10.0), 35.0)


def _lowest_95_percent_mean(values):
    """The mean of the 95 % lowest values (the paper drops the worst 5 %)."""
    keep = int(math.floor(len(values) * 0.95 + 0.5))
    return float(np.mean(sorted(values)[:keep]))


def _reference_composite(enhanced, clean, rate=16000):
    """LLR, WSS, segmental SNR and eqs. 4-6 with PESQ from the pesq
    package itself."""
    from pesq import pesq

    pairs = list(
        zip(_reference_frames(clean, rate), _reference_frames(enhanced, rate))
    )
    parts = {
        "llr": _lowest_95_percent_mean(
            [_reference_llr(c, e) for c, e in pairs]
        ),
        "wss": _lowest_95_percent_mean(
            [_reference_wss(c, e, rate) for c, e in pairs]
        ),
        "segsnr": float(np.mean([_reference_segsnr(c, e) for c, e in pairs])),
    }
    p = pesq(rate, clean, enhanced, "wb")
    llr, wss, seg = parts["llr"], parts["wss"], parts["segsnr"]
    measures = {
        "csig": 3.093 - 1.029 * llr + 0.603 * p - 0.009 * wss,
        "cbak": 1.634 + 0.478 * p - 0.007 * wss + 0.063 * seg,
        "covl": 1.594 + 0.805 * p - 0.512 * llr - 0.007 * wss,
    }
    return parts, {k: min(max(v, 1.0), 5.0) for k, v in measures.items()}


@pytest.fixture(scope="module", params=COMPOSITE_PAIRS)
def composite_pair(request, voicebank):
    """A real (noisy, clean) pair, and a half-way "enhanced" signal."""
    clean, _ = sf.read(voicebank / "clean_testset_wav_16k" / request.param)
    noisy, _ = sf.read(voicebank / "noisy_testset_wav_16k" / request.param)
    return {"noisy": noisy, "half": clean + 0.5 * (noisy - clean)}, clean


@pytest.mark.parametrize("kind", ["noisy", "half"])
def test_composite_parts_match_their_definitions(composite_pair, kind):
    """LLR, WSS and segmental SNR of the module, frame-averaged as the
    composite measures use them, against the definitions above."""
    from speechbrain_kd import composite

    signals, clean = composite_pair
    enhanced = signals[kind]
    expected, _ = _reference_composite(enhanced, clean)
    frames_c = composite._frames(clean, 16000)
    frames_e = composite._frames(enhanced, 16000)
    assert len(frames_c) == len(_reference_frames(clean, 16000))
    found = {
        "llr": composite._trimmed_mean(composite._llr(frames_c, frames_e, 16)),
        "wss": composite._trimmed_mean(
            composite._wss(frames_c, frames_e, 16000)
        ),
        "segsnr": composite._segsnr(frames_c, frames_e),
    }
    assert found == pytest.approx(expected, rel=1e-7)
    # what a noisy pair gives: distortion, not noise (sanity of the pair)
    assert expected["llr"] > 0.05 and expected["wss"] > 5


@pytest.mark.parametrize("kind", ["noisy", "half"])
def test_composite_measures_match_their_definitions(composite_pair, kind):
    signals, clean = composite_pair
    _, expected = _reference_composite(signals[kind], clean)
    assert metrics.composite(signals[kind], clean) == pytest.approx(
        expected, rel=1e-7
    )
    assert all(1.0 < value < 5.0 for value in expected.values())
