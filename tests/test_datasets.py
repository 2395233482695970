"""Any paired dataset behind prepare_dataset, on the real audio of
../shared/data: VoiceBank-DEMAND, a folder of train/valid/test pairs, and
a corpus mixed from one's own folders (which has no test set of its own)."""

import json
import subprocess
import sys

import pytest
import soundfile as sf
from conftest import REPO
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.data.corpus_layout import TEST_PAIRS_LINK
from speechbrain_kd.data.datasets import detect_format, prepare_dataset
from speechbrain_kd.data.mixing import mix_corpus
from speechbrain_kd.run import prepare_data

SPEAKERS = ("vctk_autovc", "cmu_arctic", "debian_alsa_utils")
NOISES = (
    "household_timgrau/aircon_0.flac",
    "noisereduce_assets/cafe_short.flac",
)


def _ids(manifest):
    with open(manifest, encoding="utf-8") as fin:
        return sorted(json.load(fin))


@pytest.fixture(scope="module")
def own_corpus(shared_data, tmp_path_factory):
    """A corpus mixed from a user's folders of speech and noise: no test."""
    root = tmp_path_factory.mktemp("own")
    for source in SPEAKERS:
        (root / "speech" / source).mkdir(parents=True)
        for path in sorted((shared_data / "speech" / source).iterdir())[:2]:
            (root / "speech" / source / path.name).symlink_to(path)
    for name in NOISES:
        (root / "noise" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "noise" / name).symlink_to(shared_data / "noise" / name)
    mix_corpus(
        root / "speech",
        root / "noise",
        root / "corpus",
        n_valid_speakers=1,
        max_seconds=1.5,
    )
    return root / "corpus"


@pytest.fixture(scope="module")
def pairs_dataset(shared_data, tmp_path_factory):
    """train/, valid/ and test/ folders of clean/noisy pairs (wav, flac)."""
    root = tmp_path_factory.mktemp("pairs") / "dataset"
    sources = {
        "train": shared_data / "voicebank",
        "valid": shared_data / "voicebank",
        "test": shared_data / "dns_test_noreverb",
    }
    for split, source in sources.items():
        (root / split).mkdir(parents=True)
        for side in ("clean", "noisy"):
            folder = (
                source / f"{side}_trainset_28spk_wav_16k"
                if split == "train"
                else source / f"{side}_testset_wav_16k"
                if split == "valid"
                else source / side
            )
            (root / split / side).symlink_to(folder)
    return root


def _expected_entries(voicebank, subset, speakers=None):
    """Manifest entries of a VoiceBank-DEMAND subset, read off its folders
    with soundfile: ``{id: {noisy_wav, clean_wav, length in seconds}}``."""
    entries = {}
    for path in sorted((voicebank / f"clean_{subset}_wav_16k").glob("*.wav")):
        if speakers is not None and path.stem.split("_")[0] not in speakers:
            continue
        info = sf.info(path)
        entries[path.stem] = {
            "noisy_wav": f"{{data_root}}/noisy_{subset}_wav_16k/{path.name}",
            "clean_wav": f"{{data_root}}/clean_{subset}_wav_16k/{path.name}",
            "length": info.frames / info.samplerate,
        }
    return entries


@pytest.mark.parametrize("valid_speakers", [None, []], ids=["default", "none"])
def test_voicebank_is_recognised_and_prepared_from_its_folders(
    voicebank, tmp_path, valid_speakers
):
    """The manifests hold every pair of the folders, split by speaker:
    the default validation speakers (p226, p287) leave the trainset."""
    assert detect_format(voicebank) == "voicebank"
    manifests = prepare_dataset(
        voicebank, tmp_path, valid_speakers=valid_speakers
    )
    held_out = {"p226", "p287"} if valid_speakers is None else set()
    trainset = _expected_entries(voicebank, "trainset_28spk")
    assert trainset  # the shared data has trainset pairs to split
    expected = {
        "train": {k: v for k, v in trainset.items() if k[:4] not in held_out},
        "valid": {k: v for k, v in trainset.items() if k[:4] in held_out},
        "test": _expected_entries(voicebank, "testset"),
    }
    for split in ("train", "valid", "test"):
        with open(manifests[split]) as fin:
            assert json.load(fin) == expected[split], split


def test_a_pairs_dataset_needs_no_code(pairs_dataset, tmp_path):
    assert detect_format(pairs_dataset) == "pairs"
    manifests = prepare_dataset(pairs_dataset, tmp_path)
    assert len(_ids(manifests["train"])) == 6
    assert len(_ids(manifests["valid"])) == 30
    assert len(_ids(manifests["test"])) == 150
    # prepared once: a second call reuses the manifests
    stamp = (tmp_path / "train.json").stat().st_mtime_ns
    prepare_dataset(pairs_dataset, tmp_path, dataset_format="pairs")
    assert (tmp_path / "train.json").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="dataset_format=.voicebank"):
        prepare_dataset(pairs_dataset, tmp_path / "x", "voicebanks")
    with pytest.raises(ValueError, match="valid_speakers=\\['p226'\\]"):
        prepare_dataset(pairs_dataset, tmp_path / "x", valid_speakers=["p226"])


def test_a_mixed_corpus_without_test_set_names_the_setting(
    own_corpus, shared_data, tmp_path
):
    assert detect_format(own_corpus) == "mixed"
    with pytest.raises(ValueError, match="without a test set: set test_folder"):
        prepare_dataset(own_corpus, tmp_path / "none")
    dns = shared_data / "dns_test_noreverb"
    manifests = prepare_dataset(own_corpus, tmp_path / "dns", test_folder=dns)
    assert len(_ids(manifests["test"])) == 150
    assert len(_ids(manifests["train"])) + len(_ids(manifests["valid"])) == 6


def test_the_mixer_links_a_test_set_that_recipes_find(
    own_corpus, shared_data, tmp_path
):
    """`sbkd-mix ... --test_folder` links the
    pairs; recipes/train.yaml then reads the corpus with no other setting
    and its test set is the FLAC pairs."""
    command = [
        sys.executable,
        "-m",
        "speechbrain_kd.cli.mix",
        "--speech_folder",
        str(own_corpus.parent / "speech"),
        "--noise_folder",
        str(own_corpus.parent / "noise"),
        "--output_folder",
        str(own_corpus),
        "--n_valid_speakers=1",
        "--max_seconds=1.5",
        "--test_folder",
        str(shared_data / "dns_test_noreverb"),
    ]
    subprocess.run(command, check=True, cwd=REPO, capture_output=True)
    assert (own_corpus / TEST_PAIRS_LINK / "noisy").is_dir()
    overrides = f"data_folder: {own_corpus}\noutput_folder: {tmp_path}\n"
    with open(REPO / "hparams" / "train.yaml", encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    datasets = prepare_data(hparams)
    assert len(datasets["test"]) == 150
    item = datasets["test"][0]
    assert item["noisy_sig"].shape == item["clean_sig"].shape
    (own_corpus / TEST_PAIRS_LINK).unlink()


def test_an_unknown_layout_lists_the_formats(shared_data):
    with pytest.raises(ValueError, match="holds no dataset layout .* pairs"):
        detect_format(shared_data / "noise")
    with pytest.raises(ValueError, match="Give it as test_folder"):
        detect_format(shared_data / "dns_test_noreverb")
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        detect_format(shared_data / "nowhere")
