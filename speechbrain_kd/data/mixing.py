"""Mixes clean speech with real noise into a VoiceBank-DEMAND style corpus.

Train and validation speakers, and train and validation noise files, are
kept apart; every mixture is traceable in ``mixtures.csv``, and the whole
corpus is determined by the seed (same seed, byte-identical files).

The project's sample corpus mixes the speech and noise of ``shared/data``
and links the real VoiceBank-DEMAND test pairs as its test set
(:func:`build_sample_corpus`); :func:`mix_corpus` mixes folders of one's
own. The command ``sbkd-mix`` (:mod:`speechbrain_kd.cli.mix`) runs both.

Authors
 * speechbrain-kd contributors 2025
"""

import csv
import json
import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from speechbrain_kd.data.audio import (
    SILENCE_PEAK,
    AudioError,
    check_audio,
    read_audio,
    write_audio,
)
from speechbrain_kd.data.corpus_layout import (
    AUDIO_EXTENSIONS,
    CLEAN_FOLDER,
    INFO_FILE,
    MAX_PEAK,
    MIXTURES_FILE,
    NOISY_FOLDER,
    TEST_FOLDERS,
    TEST_PAIRS_LINK,
)
from speechbrain_kd.data.speakers import (
    choose_valid_noise,
    choose_valid_speakers,
    read_speaker_table,
    report_split,
    utterances_by_speaker,
)

logger = logging.getLogger(__name__)

INCOMPLETE_FILE = ".mixing_incomplete.json"
MIN_NOISE_RMS = 1e-5
MAX_NOISE_DRAWS = 20


def mix_corpus(
    speech_folder,
    noise_folder,
    output_folder,
    snrs=(0, 5, 10, 15),
    n_valid_speakers=4,
    valid_noise_fraction=0.2,
    mixtures_per_utterance=1,
    seed=1234,
    speaker_table=None,
    max_seconds=None,
    sample_rate=16000,
):
    """Mixes speech and noise files into a VoiceBank-DEMAND style corpus.

    Speech and noise are the ``.wav`` and ``.flac`` files found recursively
    in their folders; all must be mono at ``sample_rate`` and not silent
    (else :class:`AudioError` naming the file; nothing is resampled). The
    speaker of a speech file is its entry in ``speaker_table`` if it has a
    non-empty one, else the name of its top-level folder in
    ``speech_folder`` (or of ``speech_folder`` itself for files at its
    root), as the log says. Speaker ids are reduced to ``[A-Za-z0-9-]``
    (other characters become ``-``), as utterance ids are
    ``<speaker>_<nnn>``. A warning says when more than a quarter of the
    utterances go to validation.

    ``n_valid_speakers`` speakers (drawn among those with at least two
    utterances, if there are enough) and a ``valid_noise_fraction`` of the
    noise files (at least one) are set apart for validation. Each utterance,
    cropped to its first ``max_seconds``, is mixed ``mixtures_per_utterance``
    times with a random segment of a noise file of its split (looped if
    shorter; segments with an RMS below 1e-5 are drawn again), scaled to
    an SNR drawn from ``snrs`` (the power ratio of the whole clean
    utterance to the noise segment). When the mixture would exceed a peak
    of 0.99, clean and noisy are scaled down together, keeping the SNR.

    Outputs, in ``output_folder``: ``clean_trainset_28spk_wav_16k/`` and
    ``noisy_trainset_28spk_wav_16k/`` (16-bit PCM, train and validation
    speakers together, as in VoiceBank-DEMAND; the names keep ``_16k``
    whatever the rate), ``mixtures.csv`` (utterance, split, speaker, speech
    file, noise file, noise offset in samples, SNR, common gain, duration)
    and ``corpus_info.json`` (options, speakers and noise files of each
    split, counts and durations). A folder already holding the corpus of
    the same options is left as is; one holding another corpus is an error.

    Arguments
    ---------
    speech_folder : str or pathlib.Path
        Folder of clean speech files (searched recursively).
    noise_folder : str or pathlib.Path
        Folder of noise files (searched recursively).
    output_folder : str or pathlib.Path
        Where to write the corpus.
    snrs : sequence of float
        The SNRs (dB) to draw from, uniformly.
    n_valid_speakers : int
        Number of validation speakers.
    valid_noise_fraction : float
        Fraction of the noise files used for validation, in (0, 1).
    mixtures_per_utterance : int
        Number of mixtures (each with its own id) of each speech file.
    seed : int
        Seed of the random choices.
    speaker_table : str or pathlib.Path, optional
        CSV file with the columns ``file`` (path relative to the parent
        of ``speech_folder``, e.g. ``speech/vctk/p225_001.flac``) and
        ``speaker``.
    max_seconds : float, optional
        Crops each utterance to its first ``max_seconds`` seconds.
    sample_rate : int
        The sample rate of all the files, in Hz.

    Returns
    -------
    dict
        The corpus information, as written to ``corpus_info.json``.

    Raises
    ------
    AudioError
        If an input file is unreadable, empty, multichannel, at another
        sample rate or silent.
    FileExistsError
        If ``output_folder`` holds another corpus.
    ValueError
        If an option is invalid, or there are too few speakers or noise
        files for the requested splits.

    Example
    -------
    >>> import tempfile, torch
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["a/1.wav", "a/2.wav", "b/1.wav", "c/1.flac"]:
    ...     write_audio(root / "speech" / name, 0.1 * torch.randn(8000))
    >>> for name in ["hum.wav", "fan.wav"]:
    ...     write_audio(root / "noise" / name, 0.1 * torch.randn(4000))
    >>> info = mix_corpus(
    ...     root / "speech", root / "noise", root / "corpus",
    ...     n_valid_speakers=1, seed=3,
    ... )
    >>> info["valid_speakers"], info["train_speakers"], info["counts"]
    (['a'], ['b', 'c'], {'train': 2, 'valid': 2})
    >>> for path in sorted((root / "corpus").iterdir()):
    ...     print(path.name)
    clean_trainset_28spk_wav_16k
    corpus_info.json
    mixtures.csv
    noisy_trainset_28spk_wav_16k
    """
    speech_folder = _absolute(speech_folder)
    noise_folder = _absolute(noise_folder)
    output_folder = _absolute(output_folder)
    if speaker_table is not None:
        speaker_table = _absolute(speaker_table)
    options = _checked_options(
        speech_folder=str(speech_folder),
        noise_folder=str(noise_folder),
        speaker_table=speaker_table and str(speaker_table),
        snrs=snrs,
        n_valid_speakers=n_valid_speakers,
        valid_noise_fraction=valid_noise_fraction,
        mixtures_per_utterance=mixtures_per_utterance,
        seed=seed,
        max_seconds=max_seconds,
        sample_rate=sample_rate,
    )
    existing = _existing_corpus(output_folder, options)
    if existing is not None:
        logger.info("%s already holds this corpus, not mixing", output_folder)
        return existing

    speech_files = _audio_files(speech_folder, "speech")
    noise_files = _audio_files(noise_folder, "noise")
    utterances = utterances_by_speaker(
        speech_files, speech_folder, read_speaker_table(speaker_table)
    )
    noise_frames = {
        path: check_audio(path, sample_rate)
        for path in tqdm(noise_files, desc="Checking noise", unit="file")
    }
    for path in tqdm(speech_files, desc="Checking speech", unit="file"):
        check_audio(path, sample_rate)

    rng = np.random.default_rng(seed)
    valid_speakers = choose_valid_speakers(utterances, n_valid_speakers, rng)
    report_split(utterances, valid_speakers, speech_folder, speaker_table)
    valid_noise = choose_valid_noise(
        noise_files, n_valid_speakers, valid_noise_fraction, noise_folder, rng
    )
    noise_of_split = {
        "train": [path for path in noise_files if path not in valid_noise],
        "valid": [path for path in noise_files if path in valid_noise],
    }

    output_folder.mkdir(parents=True, exist_ok=True)
    with open(output_folder / INCOMPLETE_FILE, "w", encoding="utf-8") as file:
        json.dump(options, file, indent=2)
    jobs = [
        (speaker, path)
        for speaker in sorted(utterances)
        for path in utterances[speaker]
        for _ in range(mixtures_per_utterance)
    ]
    max_samples = (
        None if max_seconds is None else int(max_seconds * sample_rate)
    )
    rows, counters = [], defaultdict(int)
    for speaker, path in tqdm(jobs, desc="Mixing", unit="utt"):
        split = "valid" if speaker in valid_speakers else "train"
        counters[speaker] += 1
        utt_id = f"{speaker}_{counters[speaker]:03d}"
        clean = read_audio(path, sample_rate).numpy()[:max_samples]
        if np.max(np.abs(clean)) < SILENCE_PEAK:
            raise AudioError(f"{path} is silent in its first {max_seconds} s")
        noise, noise_path, offset = _draw_noise(
            noise_of_split[split], noise_frames, len(clean), rng, sample_rate
        )
        snr = float(rng.choice(options["snrs"]))
        clean, noisy, gain = _mix(clean, noise, snr)
        for folder, signal in ((CLEAN_FOLDER, clean), (NOISY_FOLDER, noisy)):
            write_audio(
                output_folder / folder / f"{utt_id}.wav", signal, sample_rate
            )
        rows.append(
            {
                "id": utt_id,
                "split": split,
                "speaker": speaker,
                "speech_file": path.relative_to(speech_folder).as_posix(),
                "noise_file": noise_path.relative_to(noise_folder).as_posix(),
                "noise_offset": offset,
                "snr_db": snr,
                "gain": round(gain, 6),
                "duration_s": len(clean) / sample_rate,
            }
        )

    with open(output_folder / MIXTURES_FILE, "w", encoding="utf-8") as file:
        writer = csv.DictWriter(
            file, fieldnames=list(rows[0]), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    info = {
        "options": options,
        "valid_speakers": sorted(valid_speakers),
        "train_speakers": sorted(set(utterances) - set(valid_speakers)),
        "noise_files": {
            split: [p.relative_to(noise_folder).as_posix() for p in paths]
            for split, paths in noise_of_split.items()
        },
        "snrs": options["snrs"],
        "seed": seed,
        "counts": {
            split: sum(row["split"] == split for row in rows)
            for split in ("train", "valid")
        },
        "durations_s": {
            split: round(
                sum(row["duration_s"] for row in rows if row["split"] == split),
                3,
            )
            for split in ("train", "valid")
        },
    }
    with open(output_folder / INFO_FILE, "w", encoding="utf-8") as file:
        json.dump(info, file, indent=2)
    (output_folder / INCOMPLETE_FILE).unlink()
    logger.info(
        "Mixed %d train and %d valid utterances into %s",
        info["counts"]["train"],
        info["counts"]["valid"],
        output_folder,
    )
    return info


def link_testset(voicebank_folder, output_folder):
    """Links the VoiceBank-DEMAND test folders into a corpus folder.

    ``output_folder/clean_testset_wav_16k`` and ``noisy_testset_wav_16k``
    become symbolic links (absolute targets) to those of
    ``voicebank_folder``; the audio is not copied. Links already there
    with the same targets are kept.

    Arguments
    ---------
    voicebank_folder : str or pathlib.Path
        Folder holding ``clean_testset_wav_16k`` and
        ``noisy_testset_wav_16k``.
    output_folder : str or pathlib.Path
        The corpus folder where to make the links.

    Returns
    -------
    dict
        The target of each link, by link name.

    Raises
    ------
    FileNotFoundError
        If a test folder is missing from ``voicebank_folder``.
    FileExistsError
        If ``output_folder`` holds something else under a link's name.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in TEST_FOLDERS:
    ...     (root / "vb" / name).mkdir(parents=True)
    >>> links = link_testset(root / "vb", root / "corpus")
    >>> (root / "corpus" / "clean_testset_wav_16k").is_symlink()
    True
    """
    links = {}
    for name in TEST_FOLDERS:
        target = _absolute(voicebank_folder) / name
        if not target.is_dir():
            raise FileNotFoundError(
                f"VoiceBank-DEMAND test folder {target} not found"
            )
        links[name] = _link_folder(target, output_folder, name)
    return links


def link_test_pairs(pairs_folder, output_folder):
    """Links a folder of clean/noisy pairs as a corpus' test set.

    ``output_folder/test`` becomes a symbolic link to ``pairs_folder``
    (which holds ``clean/`` and ``noisy/`` files paired by name, wav or
    flac), so that a corpus mixed from one's own folders has a test set;
    the recipes find it there (``speechbrain_kd.data.datasets``).

    Arguments
    ---------
    pairs_folder : str or pathlib.Path
        Folder holding ``clean/`` and ``noisy/``.
    output_folder : str or pathlib.Path
        The corpus folder.

    Returns
    -------
    str
        The link's target.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for side in ("clean", "noisy"):
    ...     (root / "pairs" / side).mkdir(parents=True)
    >>> _ = link_test_pairs(root / "pairs", root / "corpus")
    >>> (root / "corpus" / TEST_PAIRS_LINK / "clean").is_dir()
    True
    >>> link_test_pairs(root, root / "corpus")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: test_folder ... holds no clean/ and noisy/ ...
    """
    target = _absolute(pairs_folder)
    if not all((target / side).is_dir() for side in ("clean", "noisy")):
        raise FileNotFoundError(
            f"test_folder {target} holds no clean/ and noisy/ folders of "
            "files paired by name"
        )
    return _link_folder(target, output_folder, TEST_PAIRS_LINK)


def _link_folder(target, output_folder, name):
    """Links ``output_folder/name`` to ``target`` (kept if it does)."""
    output_folder = _absolute(output_folder)
    output_folder.mkdir(parents=True, exist_ok=True)
    link = output_folder / name
    if link.is_symlink() and Path(os.readlink(link)) == target:
        logger.info("%s already links to %s", link, target)
    elif link.exists() or link.is_symlink():
        raise FileExistsError(
            f"{link} exists and is not a link to {target}: remove it"
        )
    else:
        link.symlink_to(target, target_is_directory=True)
    return str(target)


def build_sample_corpus(
    shared_data, output_folder, seed=1234, max_seconds=None
):
    """Builds the project's sample corpus from ``shared/data``.

    Mixes ``shared_data/speech`` with ``shared_data/noise`` (speakers from
    ``shared_data/sources.csv``) with :func:`mix_corpus`'s defaults, and
    links the real VoiceBank-DEMAND test pairs of ``shared_data/voicebank``
    as the test set (see :func:`link_testset`), so that
    :func:`prepare_voicebank` reads ``output_folder`` directly.

    Arguments
    ---------
    shared_data : str or pathlib.Path
        The ``shared/data`` folder (``speech/``, ``noise/``,
        ``sources.csv`` and ``voicebank/``).
    output_folder : str or pathlib.Path
        Where to write the corpus.
    seed : int
        Seed of the random choices.
    max_seconds : float, optional
        Crops each utterance to its first ``max_seconds`` seconds.

    Returns
    -------
    dict
        The corpus information of :func:`mix_corpus`, plus the targets of
        the test links under ``"test_folders"``.

    Example
    -------
    >>> import tempfile, torch
    >>> shared = Path(tempfile.mkdtemp())
    >>> names = [f"speech/src{i % 5}/{i}.wav" for i in range(10)] + [
    ...     "noise/a.wav", "noise/b.wav",
    ...     "voicebank/clean_testset_wav_16k/p232_001.wav",
    ...     "voicebank/noisy_testset_wav_16k/p232_001.wav",
    ... ]
    >>> for name in names:
    ...     write_audio(shared / name, 0.1 * torch.randn(4000))
    >>> _ = (shared / "sources.csv").write_text(
    ...     "file,speaker\\nspeech/src0/0.wav,p225\\nspeech/src0/5.wav,p225\\n"
    ... )
    >>> info = build_sample_corpus(shared, shared / "corpus", seed=0)
    >>> info["train_speakers"], info["counts"]
    (['p225'], {'train': 2, 'valid': 8})
    >>> (shared / "corpus" / "noisy_testset_wav_16k").is_symlink()
    True
    """
    shared_data = _absolute(shared_data)
    info = mix_corpus(
        shared_data / "speech",
        shared_data / "noise",
        output_folder,
        seed=seed,
        speaker_table=shared_data / "sources.csv",
        max_seconds=max_seconds,
    )
    links = link_testset(shared_data / "voicebank", output_folder)
    return {**info, "test_folders": links}


def _absolute(path):
    """An absolute, normalised path (symbolic links are not resolved)."""
    return Path(os.path.abspath(path))


def _checked_options(**options):
    """Validates the mixing options; returns them JSON-normalised."""
    snrs = [float(snr) for snr in options["snrs"]]
    if not snrs:
        raise ValueError("snrs must hold at least one SNR")
    if options["n_valid_speakers"] < 0:
        raise ValueError(
            f"n_valid_speakers must be >= 0, got {options['n_valid_speakers']}"
        )
    if not 0 < options["valid_noise_fraction"] < 1:
        raise ValueError(
            "valid_noise_fraction must be in (0, 1), got "
            f"{options['valid_noise_fraction']}"
        )
    if options["mixtures_per_utterance"] < 1:
        raise ValueError(
            "mixtures_per_utterance must be >= 1, got "
            f"{options['mixtures_per_utterance']}"
        )
    max_seconds = options["max_seconds"]
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
    for key in ("speech_folder", "noise_folder", "speaker_table"):
        if options[key] is not None and not Path(options[key]).exists():
            raise FileNotFoundError(f"{key} {options[key]} does not exist")
    return {
        **options,
        "snrs": snrs,
        "max_seconds": None if max_seconds is None else float(max_seconds),
    }


def _existing_corpus(output_folder, options):
    """Returns the info of the same corpus in output_folder, or None.

    Raises if output_folder holds another or an incomplete corpus; clears
    the outputs of an interrupted build (with any options).
    """
    info_path = output_folder / INFO_FILE
    if info_path.is_file():
        with open(info_path, encoding="utf-8") as file:
            info = json.load(file)
        old = info.get("options", {})
        changed = sorted(k for k in options if old.get(k) != options[k])
        if changed:
            raise FileExistsError(
                f"{output_folder} holds a corpus mixed with other options "
                f"({', '.join(changed)} differ): remove it or choose another "
                "output_folder"
            )
        expected = sum(info["counts"].values())
        for folder in (CLEAN_FOLDER, NOISY_FOLDER):
            found = len(list((output_folder / folder).glob("*.wav")))
            if found != expected:
                raise FileExistsError(
                    f"{output_folder / folder} holds {found} files instead of "
                    f"{expected}: remove {output_folder} and mix again"
                )
        return info
    if (output_folder / INCOMPLETE_FILE).is_file():
        logger.info("Clearing the interrupted build in %s", output_folder)
        for folder in (CLEAN_FOLDER, NOISY_FOLDER):
            shutil.rmtree(output_folder / folder, ignore_errors=True)
        (output_folder / MIXTURES_FILE).unlink(missing_ok=True)
        return None
    present = [
        name
        for name in (CLEAN_FOLDER, NOISY_FOLDER, MIXTURES_FILE)
        if (output_folder / name).exists()
    ]
    if present:
        raise FileExistsError(
            f"{output_folder} holds {', '.join(present)} but no {INFO_FILE}: "
            "remove them or choose another output_folder"
        )
    return None


def _audio_files(folder, kind):
    """The sorted .wav and .flac files under folder (links followed)."""
    files = [
        Path(root) / name
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names
        if name.lower().endswith(AUDIO_EXTENSIONS)
    ]
    if not files:
        raise ValueError(f"No .wav or .flac {kind} files found in {folder}")
    return sorted(files, key=lambda path: path.relative_to(folder).parts)


def _read_float64(path, sample_rate, start=0, stop=None):
    """A file's samples, or a crop of them, as float64 numpy."""
    return read_audio(
        path, sample_rate, start, stop, dtype="float64", check_silence=False
    ).numpy()


def _draw_noise(noise_files, noise_frames, length, rng, sample_rate):
    """Draws a non-silent noise segment of the given length.

    Returns the segment (float64), its file and its offset in samples.
    """
    for _ in range(MAX_NOISE_DRAWS):
        path = noise_files[rng.integers(len(noise_files))]
        frames = noise_frames[path]
        offset = int(rng.integers(max(frames - length, 0) + 1))
        if frames >= length:
            segment = _read_float64(path, sample_rate, offset, offset + length)
        else:
            whole = _read_float64(path, sample_rate)
            segment = np.resize(np.roll(whole, -offset), length)
        if np.sqrt(np.mean(segment**2)) >= MIN_NOISE_RMS:
            return segment, path, offset
    raise AudioError(
        f"No noise segment of {length} samples with an RMS of at least "
        f"{MIN_NOISE_RMS} found in {MAX_NOISE_DRAWS} draws among "
        f"{len(noise_files)} noise files, e.g. {noise_files[0]}"
    )


def _mix(clean, noise, snr):
    """Adds the noise to the clean speech at the given SNR (dB).

    Returns the clean and noisy signals scaled by a common gain (returned
    too) that keeps their peaks at most 0.99.
    """
    clean = clean.astype(np.float64)
    noise = noise * np.sqrt(
        np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr / 10)
    )
    noisy = clean + noise
    peak = max(np.max(np.abs(noisy)), np.max(np.abs(clean)))
    gain = min(1.0, MAX_PEAK / peak)
    return gain * clean, gain * noisy, gain
