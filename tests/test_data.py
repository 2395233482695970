"""Tests of the data module on real audio of ``shared/data``."""

import csv
import json
import logging
import os
import shutil
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_kd.data import (
    AudioError,
    build_sample_corpus,
    mix_corpus,
    prepare_voicebank,
    read_audio,
    write_audio,
)
from speechbrain_kd.data.mixing import link_testset

SPEECH_SOURCES = (
    "vctk_autovc",  # speaker p225 from sources.csv
    "librispeech_test_other_resemblyzer",  # speaker ls1688 from sources.csv
    "debian_alsa_utils",  # no speaker in sources.csv: the folder name
    "cmu_arctic",  # no speaker in sources.csv: the folder name
)
NOISE_FILES = (
    "babble_vad_repos/kunaljathal_babble.flac",
    "household_timgrau/aircon_0.flac",
    "hu100_nonspeech_emgse/n3.flac",  # 1.0 s: looped
    "hu100_nonspeech_emgse/n91.flac",  # 0.93 s: looped
    "noisereduce_assets/cafe_short.flac",
)
CLEAN = "clean_trainset_28spk_wav_16k"
NOISY = "noisy_trainset_28spk_wav_16k"
MIX_OPTIONS = {"n_valid_speakers": 2, "max_seconds": 2.0}


def _ids(manifest):
    """The utterance ids of a manifest (SpeechBrain cannot load empty ones)."""
    with open(manifest, encoding="utf-8") as file:
        return sorted(json.load(file))


def _speakers(manifest):
    """The speakers of the utterances of a manifest."""
    return {utt_id.split("_")[0] for utt_id in _ids(manifest)}


def _load(manifest, data_root):
    """The manifest as a SpeechBrain dataset."""
    return DynamicItemDataset.from_json(
        manifest, replacements={"data_root": str(data_root)}
    )


def _check_entries(dataset, sample_rate=16000):
    """Each entry names existing files whose length is the given length."""
    for utt_id in dataset.data_ids:
        entry = dataset.data[utt_id]
        for key in ("clean_wav", "noisy_wav"):
            info = sf.info(entry[key])
            assert os.path.basename(entry[key]) == f"{utt_id}.wav"
            assert info.samplerate == sample_rate
            assert info.frames / sample_rate == entry["length"]


# ----------------------------------------------------------- prepare_voicebank
def test_prepare_shared_voicebank(voicebank, tmp_path):
    with pytest.warns(UserWarning) as records:
        manifests = prepare_voicebank(voicebank, tmp_path)
    messages = [str(record.message) for record in records]
    assert any("train split is empty" in m for m in messages)
    assert any("['p226']" in m and "no utterance" in m for m in messages)

    test = _load(manifests["test"], voicebank)
    assert len(test) == 30
    assert {utt.split("_")[0] for utt in test.data_ids} == {"p232", "p257"}
    entry = test.data["p232_003"]
    assert entry["clean_wav"] == str(
        voicebank / "clean_testset_wav_16k" / "p232_003.wav"
    )
    assert entry["noisy_wav"] == str(
        voicebank / "noisy_testset_wav_16k" / "p232_003.wav"
    )
    _check_entries(test)
    valid = _load(manifests["valid"], voicebank)
    assert sorted(valid.data_ids) == [f"p287_00{i}" for i in range(1, 7)]
    _check_entries(valid)
    assert _ids(manifests["train"]) == []


def test_prepare_no_valid_speakers(voicebank, tmp_path):
    with pytest.warns(UserWarning, match="valid split is empty"):
        manifests = prepare_voicebank(voicebank, tmp_path, valid_speakers=[])
    assert len(_load(manifests["train"], voicebank)) == 6
    assert _ids(manifests["valid"]) == []


def test_prepare_skips_when_prepared(voicebank, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with pytest.warns(UserWarning):
        prepare_voicebank(voicebank, tmp_path, valid_speakers=[])
    assert "already prepared" not in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_voicebank(voicebank, tmp_path, valid_speakers=[])
    assert "already prepared" in caplog.text
    with pytest.warns(UserWarning):
        manifests = prepare_voicebank(voicebank, tmp_path)
    assert _speakers(manifests["valid"]) == {"p287"}


def test_prepare_redone_when_corpus_changes(small_voicebank, tmp_path):
    with pytest.warns(UserWarning, match="train split is empty"):
        manifests = prepare_voicebank(small_voicebank, tmp_path, ["p287"])
    for kind in ("clean", "noisy"):
        (small_voicebank / f"{kind}_testset_wav_16k" / "p257_008.wav").unlink()
    with pytest.warns(UserWarning, match="train split is empty"):
        prepare_voicebank(small_voicebank, tmp_path, ["p287"])
    assert _ids(manifests["test"]) == ["p232_003"]


def test_prepare_rejects_string_speakers(voicebank, tmp_path):
    with pytest.raises(ValueError, match="valid_speakers"):
        prepare_voicebank(voicebank, tmp_path, valid_speakers="p287")


# ------------------------------------------------------------ 48 kHz layout
def test_prepare_resamples_48k_layout(voicebank, tmp_path, caplog):
    data = tmp_path / "vb48"
    originals = {}
    subsets = {
        "p232_003": "testset",
        "p257_008": "testset",
        "p287_001": "trainset_28spk",
        "p287_002": "trainset_28spk",
    }
    for name, subset in subsets.items():
        for kind in ("clean", "noisy"):
            source = voicebank / f"{kind}_{subset}_wav_16k" / f"{name}.wav"
            signal = read_audio(source)
            originals[(kind, name)] = signal
            upsampled = torchaudio.functional.resample(signal, 16000, 48000)
            target = data / f"{kind}_{subset}_wav" / f"{name}.wav"
            write_audio(target, upsampled, 48000)

    save = tmp_path / "save"
    with pytest.warns(UserWarning, match="train split is empty"):
        manifests = prepare_voicebank(data, save, valid_speakers=["p287"])
    cache = save / "resampled_16k"
    test = _load(manifests["test"], data)
    assert sorted(test.data_ids) == ["p232_003", "p257_008"]
    assert test.data["p232_003"]["clean_wav"] == str(
        cache / "clean_testset_wav_16k" / "p232_003.wav"
    )
    _check_entries(test)
    valid = _load(manifests["valid"], data)
    assert valid.data["p287_001"]["noisy_wav"] == str(
        cache / "noisy_trainset_28spk_wav_16k" / "p287_001.wav"
    )
    _check_entries(valid)
    for (kind, name), original in originals.items():
        subset = subsets[name]
        resampled = read_audio(cache / f"{kind}_{subset}_wav_16k/{name}.wav")
        assert resampled.shape == original.shape
        error = (resampled - original).pow(2).sum() / original.pow(2).sum()
        assert error < 1e-3

    caplog.set_level(logging.INFO)
    with pytest.warns(UserWarning, match="valid split is empty"):
        prepare_voicebank(data, save, valid_speakers=[])
    assert "Reusing the resampled files" in caplog.text


def test_prepare_rejects_wrong_rate_in_48k_layout(voicebank, tmp_path):
    for kind in ("clean", "noisy"):
        for subset in ("testset", "trainset_28spk"):
            name = f"{kind}_{subset}_wav_16k"
            shutil.copytree(voicebank / name, tmp_path / name[: -len("_16k")])
    with pytest.raises(AudioError) as error:
        prepare_voicebank(tmp_path, tmp_path / "save")
    message = str(error.value)
    assert message.startswith("36 invalid pairs")
    assert "has a sample rate of 16000 Hz, expected 48000 Hz" in message
    assert (
        str(tmp_path / "clean_trainset_28spk_wav" / "p287_001.wav") in message
    )


# ------------------------------------------------------------- bad inputs
@pytest.fixture
def small_voicebank(voicebank, tmp_path):
    """A copy of 2 test and 2 train pairs of the real corpus."""
    for subset, names in (
        ("testset", ["p232_003", "p257_008"]),
        ("trainset_28spk", ["p287_001", "p287_002"]),
    ):
        for kind in ("clean", "noisy"):
            folder = f"{kind}_{subset}_wav_16k"
            (tmp_path / "vb" / folder).mkdir(parents=True)
            for name in names:
                shutil.copy(
                    voicebank / folder / f"{name}.wav",
                    tmp_path / "vb" / folder / f"{name}.wav",
                )
    return tmp_path / "vb"


def test_prepare_small_copy(small_voicebank, tmp_path):
    with pytest.warns(UserWarning, match="train split is empty"):
        manifests = prepare_voicebank(
            small_voicebank, tmp_path / "save", ["p287"]
        )
    assert len(_load(manifests["test"], small_voicebank)) == 2
    assert len(_load(manifests["valid"], small_voicebank)) == 2


def test_prepare_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prepare_voicebank(tmp_path / "nowhere", tmp_path / "save")


def test_prepare_not_voicebank(shared_data, tmp_path):
    with pytest.raises(ValueError) as error:
        prepare_voicebank(shared_data / "speech", tmp_path)
    message = str(error.value)
    assert "clean_trainset_28spk_wav_16k" in message
    assert "cmu_arctic" in message


def test_prepare_missing_partner(small_voicebank, tmp_path):
    (small_voicebank / "noisy_testset_wav_16k" / "p257_008.wav").unlink()
    (small_voicebank / "clean_testset_wav_16k" / "p232_003.wav").unlink()
    with pytest.raises(ValueError) as error:
        prepare_voicebank(small_voicebank, tmp_path / "save")
    message = str(error.value)
    assert "p257_008.wav" in message and "p232_003.wav" in message
    assert "1 files of" in message


def test_prepare_different_lengths(small_voicebank, tmp_path):
    noisy = small_voicebank / "noisy_trainset_28spk_wav_16k" / "p287_002.wav"
    clean = small_voicebank / "clean_trainset_28spk_wav_16k" / "p287_002.wav"
    write_audio(noisy, read_audio(noisy)[:-160])
    frames = sf.info(clean).frames
    with pytest.raises(AudioError) as error:
        prepare_voicebank(small_voicebank, tmp_path / "save")
    message = str(error.value)
    assert str(noisy) in message and str(clean) in message
    assert (
        f"{frames} samples" in message and f"{frames - 160} samples" in message
    )


def _stereo(path):
    signal = read_audio(path).numpy()
    sf.write(path, np.stack([signal, signal], axis=1), 16000)


def _wrong_rate(path):
    sf.write(path, read_audio(path).numpy(), 8000)


def _empty(path):
    sf.write(path, np.zeros(0), 16000)


def _silent(path):
    sf.write(path, np.zeros(sf.info(path).frames), 16000)


def _garbage(path):
    path.write_bytes(np.random.default_rng(0).bytes(4000))


@pytest.mark.parametrize(
    "corrupt, expected",
    [
        (_stereo, "2 channels"),
        (_wrong_rate, "sample rate of 8000 Hz, expected 16000 Hz"),
        (_empty, "empty"),
        (_silent, "silent"),
        (_garbage, "Cannot read audio file"),
    ],
)
def test_prepare_bad_file(small_voicebank, tmp_path, corrupt, expected):
    bad = small_voicebank / "clean_testset_wav_16k" / "p257_008.wav"
    corrupt(bad)
    with pytest.raises(AudioError) as error:
        prepare_voicebank(small_voicebank, tmp_path / "save")
    assert str(bad) in str(error.value)
    assert expected in str(error.value)
    with pytest.raises(AudioError, match="p257_008.wav"):
        read_audio(bad)


# ----------------------------------------------------------------- mixing
@pytest.fixture(scope="module")
def mix_inputs(shared_data, tmp_path_factory):
    """Links to 12 speech files (4 speakers) and 5 noise files."""
    root = tmp_path_factory.mktemp("inputs")
    for source in SPEECH_SOURCES:
        (root / "speech" / source).mkdir(parents=True)
        for path in sorted((shared_data / "speech" / source).iterdir())[:3]:
            (root / "speech" / source / path.name).symlink_to(path)
    for name in NOISE_FILES:
        (root / "noise" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "noise" / name).symlink_to(shared_data / "noise" / name)
    return root


def _mix(inputs, shared_data, output, **options):
    return mix_corpus(
        inputs / "speech",
        inputs / "noise",
        output,
        speaker_table=shared_data / "sources.csv",
        **{**MIX_OPTIONS, **options},
    )


@pytest.fixture(scope="module")
def mixed(mix_inputs, shared_data, tmp_path_factory):
    """A corpus mixed from mix_inputs, and its info."""
    output = tmp_path_factory.mktemp("mixed") / "corpus"
    return output, _mix(mix_inputs, shared_data, output)


def _rows(corpus):
    with open(corpus / "mixtures.csv", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _files(corpus):
    return {
        path.relative_to(corpus): path.read_bytes()
        for path in sorted(corpus.rglob("*"))
        if path.is_file()
    }


def test_mix_speakers(mixed):
    corpus, info = mixed
    speakers = {"p225", "ls1688", "debian-alsa-utils", "cmu-arctic"}
    assert set(info["train_speakers"]) | set(info["valid_speakers"]) == (
        speakers
    )
    assert len(info["valid_speakers"]) == 2
    assert info["counts"] == {"train": 6, "valid": 6}
    ids = sorted(path.stem for path in (corpus / CLEAN).iterdir())
    assert ids == sorted(f"{spk}_00{i}" for spk in speakers for i in (1, 2, 3))
    assert sorted(path.stem for path in (corpus / NOISY).iterdir()) == ids
    for utt_id in ids:
        assert sf.info(corpus / CLEAN / f"{utt_id}.wav").subtype == "PCM_16"
        assert sf.info(corpus / NOISY / f"{utt_id}.wav").duration <= 2.0


def test_mix_splits_disjoint(mixed):
    corpus, info = mixed
    assert not set(info["train_speakers"]) & set(info["valid_speakers"])
    noise = info["noise_files"]
    assert len(noise["valid"]) == 1 and len(noise["train"]) == 4
    assert not set(noise["train"]) & set(noise["valid"])
    assert sorted(noise["train"] + noise["valid"]) == sorted(NOISE_FILES)
    for row in _rows(corpus):
        split = "valid" if row["speaker"] in info["valid_speakers"] else "train"
        assert row["split"] == split
        assert row["id"].startswith(row["speaker"] + "_")
        assert row["noise_file"] in noise[split]


def test_mix_snr(mixed):
    corpus, info = mixed
    rows = _rows(corpus)
    assert {float(row["snr_db"]) for row in rows} <= {0.0, 5.0, 10.0, 15.0}
    for row in rows:
        clean = read_audio(corpus / CLEAN / f"{row['id']}.wav").double()
        noisy = read_audio(corpus / NOISY / f"{row['id']}.wav").double()
        snr = 10 * torch.log10(
            clean.pow(2).sum() / (noisy - clean).pow(2).sum()
        )
        assert abs(snr.item() - float(row["snr_db"])) < 0.5, row
        assert noisy.abs().max() <= 0.99 + 1e-4


def test_mix_deterministic(mix_inputs, shared_data, mixed, tmp_path):
    corpus, info = mixed
    again = _mix(mix_inputs, shared_data, tmp_path / "again")
    assert again == info
    assert _files(tmp_path / "again") == _files(corpus)
    other = _mix(mix_inputs, shared_data, tmp_path / "other", seed=7)
    assert _files(tmp_path / "other") != _files(corpus)
    assert other["options"]["seed"] == 7


def test_mix_existing_output(mix_inputs, shared_data, tmp_path, caplog):
    output = tmp_path / "corpus"
    info = _mix(mix_inputs, shared_data, output)
    stamp = (output / "corpus_info.json").stat().st_mtime_ns
    caplog.set_level(logging.INFO)
    assert _mix(mix_inputs, shared_data, output) == info
    assert "already holds this corpus" in caplog.text
    assert (output / "corpus_info.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="seed"):
        _mix(mix_inputs, shared_data, output, seed=7)


def test_mix_bad_inputs(mix_inputs, shared_data, tmp_path):
    speech = tmp_path / "speech"
    shutil.copytree(mix_inputs / "speech", speech, symlinks=True)
    bad = speech / "cmu_arctic" / "bad.wav"
    sf.write(bad, np.zeros(16000), 16000)
    with pytest.raises(AudioError, match="bad.wav is silent"):
        mix_corpus(speech, mix_inputs / "noise", tmp_path / "out")
    sf.write(bad, 0.1 * np.ones(16000), 22050)
    with pytest.raises(AudioError, match="bad.wav has a sample rate of 22050"):
        mix_corpus(speech, mix_inputs / "noise", tmp_path / "out")
    with pytest.raises(ValueError, match="n_valid_speakers=5"):
        mix_corpus(
            mix_inputs / "speech",
            mix_inputs / "noise",
            tmp_path / "out",
            n_valid_speakers=5,
        )


def test_prepare_mixed_corpus(voicebank, mixed, tmp_path):
    corpus, info = mixed
    link_testset(voicebank, corpus)
    manifests = prepare_voicebank(corpus, tmp_path)
    assert _speakers(manifests["valid"]) == set(info["valid_speakers"])
    assert _speakers(manifests["train"]) == set(info["train_speakers"])
    assert len(_load(manifests["test"], corpus)) == 30
    for split in ("train", "valid"):
        dataset = _load(manifests[split], corpus)
        assert len(dataset) == info["counts"][split]
        _check_entries(dataset)
        total = sum(entry["length"] for entry in dataset.data.values())
        assert total == pytest.approx(info["durations_s"][split], abs=1e-3)


def test_build_sample_corpus(shared_data, tmp_path):
    output = tmp_path / "sample"
    info = build_sample_corpus(shared_data, output, max_seconds=1.0)
    assert sum(info["counts"].values()) == 463
    assert len(info["valid_speakers"]) == 4
    for kind in ("clean", "noisy"):
        link = output / f"{kind}_testset_wav_16k"
        target = shared_data / "voicebank" / f"{kind}_testset_wav_16k"
        assert link.is_symlink()
        assert os.readlink(link) == os.path.abspath(target)
        assert os.path.isabs(os.readlink(link))
    manifests = prepare_voicebank(output, tmp_path / "save")
    assert len(_load(manifests["test"], output)) == 30
    assert _speakers(manifests["valid"]) == set(info["valid_speakers"])
