"""Data preparation for VoiceBank-DEMAND (and corpora in its layout).

Writes the ``train.json``, ``valid.json`` and ``test.json`` manifests of
SpeechBrain's VoiceBank recipes::

    {"p226_001": {"noisy_wav": "{data_root}/noisy_trainset_28spk_wav_16k/...",
                  "clean_wav": "{data_root}/clean_trainset_28spk_wav_16k/...",
                  "length": 2.35}}

to be read with ``DynamicItemDataset.from_json(path,
replacements={"data_root": data_folder})``. Every file is checked first;
any problem raises an error that names the file.

Authors
 * speechbrain-kd contributors 2025
"""

import hashlib
import json
import logging
import warnings
from pathlib import Path

import torchaudio.functional
from tqdm import tqdm

from speechbrain_kd.data.audio import (
    AudioError,
    audio_info,
    check_audio,
    read_audio,
    write_audio,
)
from speechbrain_kd.data.corpus_layout import INFO_FILE

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
SUBSETS = ("trainset_28spk", "testset")
KINDS = ("clean", "noisy")
DEFAULT_VALID_SPEAKERS = ("p226", "p287")
ORIGINAL_RATE = 48000
OPTS_FILE = "prepare_opts.json"
CACHE_STAMP_FILE = "resampled.json"
MAX_LISTED = 5


def prepare_voicebank(
    data_folder,
    save_folder,
    valid_speakers=None,
    sample_rate=16000,
    skip_prep=False,
    with_test=True,
):
    """Checks a VoiceBank-DEMAND folder and writes its JSON manifests.

    The folder holds ``{clean,noisy}_{trainset_28spk,testset}_wav_16k/``
    (the 16 kHz release), or the original 48 kHz folders
    ``{clean,noisy}_{trainset_28spk,testset}_wav/``. The latter are
    resampled once into ``save_folder/resampled_16k/`` (folder names get
    ``_16k``; the cache is reused while the originals keep the same names
    and sizes), and the manifests then hold absolute paths to these cached
    files instead of ``{data_root}`` paths.

    Validation utterances are the trainset utterances of ``valid_speakers``
    (the speaker is the utterance id up to its first ``_``), training ones
    the rest of the trainset, test ones the testset. Every pair is checked
    (partner present, both readable, non-empty, mono, at the right rate,
    not silent, of equal lengths) and the problems are reported together
    in one error that names the files (the first five of them). An empty
    split and validation speakers absent from the trainset give a warning.

    Preparation is skipped when the manifests exist and were made with the
    same options, from a corpus with the same number and total size of
    files and the same ``corpus_info.json`` (all stored in
    ``save_folder/prepare_opts.json``).

    Arguments
    ---------
    data_folder : str or pathlib.Path
        The corpus folder (VoiceBank-DEMAND layout).
    save_folder : str or pathlib.Path
        Where to write the manifests (and the resampling cache).
    valid_speakers : list of str, optional
        Speakers of the trainset used for validation. By default, the
        ``"valid_speakers"`` of ``data_folder/corpus_info.json`` when there
        is one (a corpus made by :func:`mix_corpus`), else VoiceBank's usual
        ``["p226", "p287"]``. ``[]`` keeps the whole trainset for training.
    sample_rate : int
        The sample rate of the manifests' files, in Hz.
    skip_prep : bool
        If True, only returns the manifest paths.
    with_test : bool
        If False, the testset folders are neither needed nor read (the
        test set comes from elsewhere) and no ``"test"`` manifest is
        written.

    Returns
    -------
    dict
        The paths of the ``"train"``, ``"valid"`` and (``with_test``)
        ``"test"`` manifests.

    Raises
    ------
    FileNotFoundError
        If ``data_folder`` does not exist.
    ValueError
        If it does not hold the VoiceBank-DEMAND layout, if a file has no
        partner, or if an option is invalid.
    AudioError
        If files are unreadable, empty, multichannel, at another sample
        rate, silent, or paired with a file of another length.

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> root = Path(tempfile.mkdtemp())
    >>> for utt in ["p226_001", "p227_001", "p232_001"]:
    ...     subset = "testset" if utt == "p232_001" else "trainset_28spk"
    ...     for kind in ["clean", "noisy"]:
    ...         path = root / f"{kind}_{subset}_wav_16k" / f"{utt}.wav"
    ...         write_audio(path, 0.1 * torch.randn(8000))
    >>> manifests = prepare_voicebank(root, root / "save", ["p226"])
    >>> data = DynamicItemDataset.from_json(
    ...     manifests["valid"], replacements={"data_root": str(root)}
    ... )
    >>> data.data_ids, data.data["p226_001"]["length"]
    (['p226_001'], 0.5)
    >>> Path(data.data["p226_001"]["clean_wav"]).is_file()
    True
    """
    save_folder = Path(save_folder)
    subsets = SUBSETS if with_test else SUBSETS[:1]
    manifests = {
        split: str(save_folder / f"{split}.json")
        for split in SPLITS
        if with_test or split != "test"
    }
    if skip_prep:
        return manifests
    data_folder = Path(data_folder).absolute()
    if not data_folder.is_dir():
        raise FileNotFoundError(
            f"VoiceBank-DEMAND data_folder {data_folder} does not exist"
        )
    valid_speakers = _resolve_valid_speakers(data_folder, valid_speakers)
    options = {
        "data_folder": str(data_folder),
        "valid_speakers": valid_speakers,
        "sample_rate": sample_rate,
        "corpus": _fingerprint(data_folder),
    }
    if not with_test:
        options["with_test"] = False
    opts_path = save_folder / OPTS_FILE
    if _already_prepared(opts_path, manifests, options):
        logger.info(
            "Manifests in %s already prepared with the same options, "
            "skipping preparation",
            save_folder,
        )
        return manifests

    folders, source_rate = _find_layout(data_folder, subsets)
    source_rate = source_rate or sample_rate
    names = {subset: _match_pairs(*folders[subset]) for subset in subsets}
    _check_corpus(data_folder, folders, names, source_rate)
    root = data_folder
    if source_rate != sample_rate:
        folders = _resample_folders(
            folders, names, save_folder, source_rate, sample_rate
        )
        root = None

    entries = {split: {} for split in manifests}
    for subset in subsets:
        clean, noisy = folders[subset]
        for name in names[subset]:
            utt_id = name[: -len(".wav")]
            if subset == "testset":
                split = "test"
            elif _speaker(utt_id) in valid_speakers:
                split = "valid"
            else:
                split = "train"
            _, _, frames = audio_info(clean / name)
            entries[split][utt_id] = {
                "noisy_wav": _manifest_path(noisy / name, root),
                "clean_wav": _manifest_path(clean / name, root),
                "length": frames / sample_rate,
            }
    _warn_about_splits(entries, names["trainset_28spk"], valid_speakers)

    save_folder.mkdir(parents=True, exist_ok=True)
    opts_path.unlink(missing_ok=True)
    for split in manifests:
        with open(manifests[split], "w", encoding="utf-8") as file:
            json.dump(entries[split], file, indent=2)
        minutes = sum(e["length"] for e in entries[split].values()) / 60
        logger.info(
            "%s: %d utterances, %.1f min -> %s",
            split,
            len(entries[split]),
            minutes,
            manifests[split],
        )
    with open(opts_path, "w", encoding="utf-8") as file:
        json.dump(options, file, indent=2)
    return manifests


def has_voicebank_layout(data_folder, subsets=SUBSETS):
    """Whether a folder holds the VoiceBank-DEMAND folders of ``subsets``.

    Arguments
    ---------
    data_folder : str or pathlib.Path
        The folder.
    subsets : tuple of str
        ``trainset_28spk`` and/or ``testset``; their clean and noisy
        folders, 16 kHz (``_16k``) or original, must all be there.

    Returns
    -------
    bool

    Example
    -------
    >>> import os
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> has_voicebank_layout(f"{shared}/voicebank")
    True
    >>> has_voicebank_layout(f"{shared}/dns_test_noreverb", ("testset",))
    False
    """
    folder = Path(data_folder)
    return any(
        all(
            (folder / name).is_dir()
            for subset, pair in _folder_names(suffix).items()
            if subset in subsets
            for name in pair
        )
        for suffix in ("_16k", "")
    )


def _resolve_valid_speakers(data_folder, valid_speakers):
    """Returns the sorted validation speakers, reading corpus_info.json."""
    if valid_speakers is None:
        info_path = data_folder / INFO_FILE
        if not info_path.is_file():
            return sorted(DEFAULT_VALID_SPEAKERS)
        with open(info_path, encoding="utf-8") as file:
            info = json.load(file)
        if "valid_speakers" not in info:
            raise ValueError(f"{info_path} has no 'valid_speakers' entry")
        valid_speakers = info["valid_speakers"]
        logger.info("Validation speakers from %s", info_path)
    if isinstance(valid_speakers, str):
        raise ValueError(
            "valid_speakers must be a list of speaker ids, such as "
            f"['p226'], not the string {valid_speakers!r}"
        )
    return sorted(set(valid_speakers))


def _fingerprint(data_folder):
    """Summarises the corpus files, to notice a changed corpus.

    The number and total size of the wav files of each corpus folder, and
    the hash of corpus_info.json.
    """
    fingerprint = {}
    for suffix in ("_16k", ""):
        for pair in _folder_names(suffix).values():
            for name in pair:
                if (data_folder / name).is_dir():
                    sizes = [
                        path.stat().st_size
                        for path in (data_folder / name).glob("*.wav")
                    ]
                    fingerprint[name] = [len(sizes), sum(sizes)]
    info_path = data_folder / INFO_FILE
    if info_path.is_file():
        digest = hashlib.sha256(info_path.read_bytes()).hexdigest()
        fingerprint[INFO_FILE] = digest
    return fingerprint


def _already_prepared(opts_path, manifests, options):
    """Whether the manifests exist and were made with the same options."""
    if not opts_path.is_file():
        return False
    if not all(Path(path).is_file() for path in manifests.values()):
        return False
    with open(opts_path, encoding="utf-8") as file:
        return json.load(file) == options


def _folder_names(suffix):
    """The four VoiceBank-DEMAND folder names, by subset then kind."""
    return {
        subset: tuple(f"{kind}_{subset}_wav{suffix}" for kind in KINDS)
        for subset in SUBSETS
    }


def _find_layout(data_folder, subsets=SUBSETS):
    """Returns {subset: (clean_dir, noisy_dir)} and their sample rate.

    The rate is None for the ``_16k`` folders (the expected rate applies).
    """
    for suffix, rate in (("_16k", None), ("", ORIGINAL_RATE)):
        names = {
            subset: pair
            for subset, pair in _folder_names(suffix).items()
            if subset in subsets
        }
        if all(
            (data_folder / name).is_dir()
            for pair in names.values()
            for name in pair
        ):
            folders = {
                subset: tuple(data_folder / name for name in pair)
                for subset, pair in names.items()
            }
            return folders, rate
    found = sorted(path.name for path in data_folder.iterdir())
    expected_16k, expected_48k = (
        [
            name
            for subset, pair in _folder_names(suffix).items()
            if subset in subsets
            for name in pair
        ]
        for suffix in ("_16k", "")
    )
    raise ValueError(
        f"{data_folder} does not hold the VoiceBank-DEMAND layout: expected "
        f"the folders {', '.join(expected_16k)} (16 kHz release) or "
        f"{', '.join(expected_48k)} (original 48 kHz); found: "
        f"{_listing(found) if found else 'nothing'}"
    )


def _listing(items):
    """Joins the first few items, saying how many were left out."""
    items = list(items)
    text = ", ".join(str(item) for item in items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        text += f" and {len(items) - MAX_LISTED} more"
    return text


def _wav_names(folder):
    """The sorted .wav file names of a folder; warns about other files."""
    names, others = [], []
    for path in folder.iterdir():
        (names if path.suffix == ".wav" else others).append(path.name)
    if others:
        warnings.warn(
            f"Ignoring {len(others)} entries of {folder} that are not .wav "
            f"files: {_listing(sorted(others))}",
            stacklevel=4,
        )
    return sorted(names)


def _match_pairs(clean, noisy):
    """Returns the file names present in both folders, or raises."""
    clean_names, noisy_names = _wav_names(clean), _wav_names(noisy)
    problems = []
    for names, other_names, folder, other in (
        (clean_names, noisy_names, clean, noisy),
        (noisy_names, clean_names, noisy, clean),
    ):
        alone = sorted(set(names) - set(other_names))
        if alone:
            problems.append(
                f"{len(alone)} files of {folder} have no partner in {other}: "
                f"{_listing(alone)}"
            )
    if problems:
        raise ValueError(
            "Unpaired VoiceBank-DEMAND files: " + "; ".join(problems)
        )
    return clean_names


def _check_corpus(data_folder, folders, names, sample_rate):
    """Checks all the pairs; raises one AudioError listing the problems."""
    problems = [
        problem
        for subset in folders
        for problem in _check_pairs(
            *folders[subset], names[subset], sample_rate
        )
    ]
    if problems:
        shown = "\n  ".join(problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        raise AudioError(
            f"{len(problems)} invalid pairs in {data_folder}:\n  {shown}"
            + (f"\n  and {more} more" if more > 0 else "")
        )


def _check_pairs(clean, noisy, names, sample_rate):
    """Checks every pair of files; returns the problems found."""
    problems = []
    for name in tqdm(names, desc=f"Checking {clean.name}", unit="pair"):
        try:
            clean_frames = check_audio(clean / name, sample_rate)
            noisy_frames = check_audio(noisy / name, sample_rate)
        except AudioError as error:
            problems.append(str(error))
            continue
        if clean_frames != noisy_frames:
            problems.append(
                f"{clean / name} ({clean_frames} samples, "
                f"{clean_frames / sample_rate:.3f} s) and {noisy / name} "
                f"({noisy_frames} samples, {noisy_frames / sample_rate:.3f} "
                "s) differ in length"
            )
    return problems


def _resample_folders(folders, names, save_folder, source_rate, sample_rate):
    """Resamples the checked folders into the cache, unless already done."""
    khz = f"{sample_rate // 1000}k"
    cache = save_folder / f"resampled_{khz}"
    stamp = {
        "sample_rate": sample_rate,
        "sources": {
            str(folder / name): (folder / name).stat().st_size
            for subset in folders
            for folder in folders[subset]
            for name in names[subset]
        },
    }
    cached = {
        subset: tuple(cache / f"{folder.name}_{khz}" for folder in pair)
        for subset, pair in folders.items()
    }
    stamp_path = cache / CACHE_STAMP_FILE
    if stamp_path.is_file():
        with open(stamp_path, encoding="utf-8") as file:
            if json.load(file) == stamp:
                logger.info("Reusing the resampled files in %s", cache)
                return cached
        stamp_path.unlink()
    logger.info("Resampling to %d Hz into %s", sample_rate, cache)
    jobs = [
        (source / name, target / name)
        for subset in folders
        for source, target in zip(folders[subset], cached[subset], strict=True)
        for name in names[subset]
    ]
    for source, target in tqdm(jobs, desc="Resampling", unit="file"):
        signal = read_audio(source, source_rate)
        resampled = torchaudio.functional.resample(
            signal, source_rate, sample_rate
        )
        write_audio(target, resampled, sample_rate)
    with open(stamp_path, "w", encoding="utf-8") as file:
        json.dump(stamp, file, indent=2)
    return cached


def _speaker(utt_id):
    """The speaker of a VoiceBank utterance id, e.g. p226 for p226_001."""
    return utt_id.split("_")[0]


def _manifest_path(path, root):
    """A ``{data_root}`` path relative to root, or absolute if root is None."""
    if root is None:
        return str(path.absolute())
    return "{data_root}/" + path.relative_to(root).as_posix()


def _warn_about_splits(entries, train_names, valid_speakers):
    """Warns about empty splits and validation speakers with no data."""
    speakers = {_speaker(name) for name in train_names}
    missing = [spk for spk in valid_speakers if spk not in speakers]
    if missing:
        warnings.warn(
            f"valid_speakers {missing} have no utterance in the trainset",
            stacklevel=3,
        )
    for split in entries:
        if not entries[split]:
            warnings.warn(
                f"The {split} split is empty (valid_speakers="
                f"{valid_speakers}, trainset speakers: "
                f"{_listing(sorted(speakers)) or 'none'})",
                stacklevel=3,
            )
