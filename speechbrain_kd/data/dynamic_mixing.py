"""Dynamic mixing: fresh speech + noise mixtures at every epoch.

A static corpus of a few hundred mixtures runs out long before a model
converges: after a few passes the model has seen every mixture. Here each
training item is drawn anew from pools of clean speech and noise: a random
speech crop, a noise crop at a random offset (looped if the file is
shorter), an SNR drawn uniformly from a range, and a random level. Item
``i`` of epoch ``e`` depends only on ``(seed, e, i)``, so a run is
reproducible, a resumed run sees the same mixtures it would have seen, and
every epoch is different.

Why not ``speechbrain.augment.time_domain.AddNoise``? It mixes noise from a
CSV at random SNRs on whole batches, but it draws from the global torch
random state and from its own shuffled noise loader, so its mixtures are
not determined by ``(seed, epoch)`` and change with the number of loader
workers or after a resume; it sets the SNR from mean absolute amplitudes
rather than powers, and has no level augmentation. Mixing one item at a
time here costs about 0.1 ms on the CPU, from pools held in memory.

Authors
 * speechbrain-kd contributors 2026
"""

import csv
import json
import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from speechbrain_kd.data.audio import AudioError, read_audio
from speechbrain_kd.data.corpus_layout import (
    AUDIO_EXTENSIONS,
    INFO_FILE,
    MAX_PEAK,
    MIXTURES_FILE,
)

logger = logging.getLogger(__name__)

# A speech crop is drawn again (at most this many times) while its power is
# below SPEECH_CROP_MIN_POWER x the file's mean power (a pause).
SPEECH_CROP_DRAWS = 5
SPEECH_CROP_MIN_POWER = 0.1
NOISE_MIN_RMS = 1e-5


class DynamicMixer(torch.utils.data.Dataset):
    """A training set of fresh mixtures, deterministic for (seed, epoch).

    Arguments
    ---------
    speech : AudioPool
        Clean speech (see :func:`load_pool`).
    noise : AudioPool
        Noise recordings.
    segment_seconds : float
        Length of each mixture.
    items_per_epoch : int
        Number of mixtures in an epoch (steps per epoch x batch size).
    snr_range : tuple of float
        ``(low, high)``: SNRs in dB are drawn uniformly from it; the SNR is
        the power ratio of the speech crop to the noise crop.
    level_range : tuple of float
        ``(low, high)``: the mixture's RMS level in dBFS is drawn uniformly
        from it (both signals are then scaled down together if the
        mixture's peak would exceed 0.99; the SNR is kept).
    seed : int
        Seed of all random choices.

    Example
    -------
    >>> import os
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> vb = f"{shared}/voicebank/clean_testset_wav_16k"
    >>> speech = load_pool(audio_files(vb)[:2], kind="speech")
    >>> noise = load_pool(audio_files(f"{shared}/noise")[:2], kind="noise")
    >>> mixer = DynamicMixer(speech, noise, 1.0, items_per_epoch=4, seed=7)
    >>> item = mixer[0]
    >>> item["noisy_sig"].shape, item["clean_sig"].shape
    (torch.Size([16000]), torch.Size([16000]))
    >>> again = mixer[0]
    >>> bool(torch.equal(item["noisy_sig"], again["noisy_sig"]))
    True
    >>> mixer.set_epoch(2)
    >>> bool(torch.equal(item["noisy_sig"], mixer[0]["noisy_sig"]))
    False
    """

    def __init__(
        self,
        speech,
        noise,
        segment_seconds=2.0,
        items_per_epoch=1600,
        snr_range=(-5.0, 20.0),
        level_range=(-35.0, -15.0),
        seed=1234,
    ):
        if speech.sample_rate != noise.sample_rate:
            raise ValueError(
                f"Speech pool at {speech.sample_rate} Hz, noise pool at "
                f"{noise.sample_rate} Hz"
            )
        self.speech, self.noise = speech, noise
        self.segment = int(round(segment_seconds * speech.sample_rate))
        if self.segment <= 0:
            raise ValueError(
                f"segment_seconds must be > 0, got {segment_seconds}"
            )
        if items_per_epoch < 1:
            raise ValueError(
                f"items_per_epoch must be >= 1, got {items_per_epoch}"
            )
        self.snr_range = _checked_range("snr_range", snr_range)
        self.level_range = _checked_range("level_range", level_range)
        if self.level_range[1] > 0:
            raise ValueError(
                f"level_range is in dBFS and must be <= 0, got {level_range}"
            )
        self.items_per_epoch = items_per_epoch
        self.seed = seed
        self.epoch = 1
        self.length = items_per_epoch
        speech.warn_if_shorter(self.segment, "zero-padded")
        noise.warn_if_shorter(self.segment, "looped")

    def set_epoch(self, epoch, items=None):
        """Selects the epoch whose mixtures are drawn, and its length.

        Arguments
        ---------
        epoch : int
            The epoch (1 for the first); mixtures depend on it.
        items : int, optional
            Number of items of this epoch (for a step budget that ends
            mid-epoch); ``items_per_epoch`` by default.
        """
        self.epoch = int(epoch)
        self.length = self.items_per_epoch if items is None else int(items)

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        mixture = self.draw(self.epoch, index)
        return {
            "id": f"mix_e{self.epoch}_{index}",
            "noisy_sig": torch.from_numpy(mixture["noisy"]),
            "clean_sig": torch.from_numpy(mixture["clean"]),
        }

    def draw(self, epoch, index):
        """Draws mixture ``index`` of ``epoch``, with how it was made.

        Arguments
        ---------
        epoch : int
            Epoch number.
        index : int
            Index of the mixture in the epoch.

        Returns
        -------
        dict
            ``clean`` and ``noisy`` (float32 numpy), ``speech_file``,
            ``noise_file``, ``snr_db`` and ``level_db`` (drawn values).
        """
        rng = np.random.default_rng([self.seed, epoch, index])
        speech_path, clean = self._speech_crop(rng)
        noise_path, noise = self._noise_crop(rng)
        snr = rng.uniform(*self.snr_range)
        level = rng.uniform(*self.level_range)
        noise = noise * np.sqrt(
            _power(clean) / _power(noise) / 10 ** (snr / 10)
        )
        noisy = clean + noise
        gain = 10 ** (level / 20) / np.sqrt(_power(noisy))
        peak = gain * max(np.max(np.abs(noisy)), np.max(np.abs(clean)))
        gain *= min(1.0, MAX_PEAK / peak)
        return {
            "clean": (gain * clean).astype(np.float32),
            "noisy": (gain * noisy).astype(np.float32),
            "speech_file": speech_path,
            "noise_file": noise_path,
            "snr_db": float(snr),
            "level_db": float(level),
        }

    def _speech_crop(self, rng):
        """A speech crop that is not mostly a pause (float64)."""
        index = int(rng.integers(len(self.speech)))
        path, signal = self.speech.files[index], self.speech.signals[index]
        if len(signal) < self.segment:
            start = int(rng.integers(self.segment - len(signal) + 1))
            padded = np.zeros(self.segment)
            padded[start : start + len(signal)] = signal
            return path, padded
        threshold = SPEECH_CROP_MIN_POWER * self.speech.powers[index]
        best = None
        for _ in range(SPEECH_CROP_DRAWS):
            start = int(rng.integers(len(signal) - self.segment + 1))
            crop = signal[start : start + self.segment].astype(np.float64)
            if best is None or _power(crop) > _power(best):
                best = crop
            if _power(crop) >= threshold:
                break
        return path, best

    def _noise_crop(self, rng):
        """A noise crop at a random offset, looped if the file is short."""
        for _ in range(SPEECH_CROP_DRAWS):
            index = int(rng.integers(len(self.noise)))
            signal = self.noise.signals[index]
            offset = int(rng.integers(len(signal)))
            crop = np.resize(np.roll(signal, -offset), self.segment)
            if np.sqrt(_power(crop)) >= NOISE_MIN_RMS:
                return self.noise.files[index], crop.astype(np.float64)
        raise AudioError(
            f"{self.noise.files[index]}: {SPEECH_CROP_DRAWS} noise crops in "
            f"a row had an RMS below {NOISE_MIN_RMS}; remove near-silent "
            "noise files from the pool"
        )


class AudioPool:
    """Audio files held in memory, checked once.

    Arguments
    ---------
    files : list of str
        The files.
    signals : list of numpy.ndarray
        Their float32 samples.
    sample_rate : int
        Their common sample rate.

    Example
    -------
    >>> pool = AudioPool(["a.wav"], [np.ones(4, dtype=np.float32)], 16000)
    >>> len(pool), pool.seconds
    (1, 0.00025)
    """

    def __init__(self, files, signals, sample_rate):
        self.files = list(files)
        self.signals = list(signals)
        self.sample_rate = sample_rate
        self.powers = [_power(signal) for signal in self.signals]

    def __len__(self):
        return len(self.files)

    @property
    def seconds(self):
        """Total duration of the pool in seconds."""
        return sum(len(s) for s in self.signals) / self.sample_rate

    def warn_if_shorter(self, samples, treatment):
        """Logs a warning naming the files shorter than ``samples``."""
        short = [
            path
            for path, signal in zip(self.files, self.signals)
            if len(signal) < samples
        ]
        if short:
            logger.warning(
                "%d of %d files are shorter than the %d-sample crop and "
                "will be %s, e.g. %s",
                len(short),
                len(self.files),
                samples,
                treatment,
                ", ".join(str(p) for p in short[:3]),
            )


def load_pool(files, sample_rate=16000, kind="audio"):
    """Reads and checks every file of a pool into memory.

    Arguments
    ---------
    files : list of str or pathlib.Path
        The files; each must be mono at ``sample_rate`` and not silent
        (else :class:`AudioError` naming the file).
    sample_rate : int
        The expected sample rate.
    kind : str
        ``speech`` or ``noise``, for messages.

    Returns
    -------
    AudioPool
        The pool.

    Example
    -------
    >>> load_pool([], kind="noise")
    Traceback (most recent call last):
    ...
    ValueError: The noise pool is empty: no file given
    """
    files = [str(path) for path in files]
    if not files:
        raise ValueError(f"The {kind} pool is empty: no file given")
    signals = [
        read_audio(path, sample_rate).numpy()
        for path in tqdm(files, desc=f"Loading {kind}", unit="file")
    ]
    return AudioPool(files, signals, sample_rate)


def audio_files(folder):
    """The sorted ``.wav`` and ``.flac`` files under a folder.

    Arguments
    ---------
    folder : str or pathlib.Path
        Searched recursively (links followed).

    Returns
    -------
    list of pathlib.Path
        The files.

    Example
    -------
    >>> audio_files("/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: Pool folder /no/such/folder does not exist
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Pool folder {folder} does not exist")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file()
    )
    if not files:
        raise ValueError(f"Pool folder {folder} holds no .wav or .flac file")
    return files


def training_pools(corpus_folder, extra_noise_folders=()):
    """The training speech and noise files of a mixed corpus.

    A corpus written by :func:`speechbrain_kd.data.mixing.mix_corpus`
    records which speakers and noise files are for training; dynamic
    mixing draws from exactly those, so validation speakers and noises
    stay unseen. Noise folders meant for training only (such as
    ``shared/data/noise_ambient``) can be added.

    Arguments
    ---------
    corpus_folder : str or pathlib.Path
        Folder with ``corpus_info.json`` and ``mixtures.csv``.
    extra_noise_folders : list of str
        More noise folders for training.

    Returns
    -------
    tuple of list
        ``(speech_files, noise_files)``.

    Example
    -------
    >>> training_pools("/tmp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...corpus_info.json not found: dynamic mixing ...
    """
    corpus_folder = Path(corpus_folder)
    info_path = corpus_folder / INFO_FILE
    if not info_path.is_file():
        raise FileNotFoundError(
            f"{info_path} not found: dynamic mixing needs a corpus made by "
            "speechbrain_kd.data.mixing (it records the training speakers "
            "and noises); use train_data: static for other corpora"
        )
    with open(info_path, encoding="utf-8") as fin:
        info = json.load(fin)
    speech_folder = Path(info["options"]["speech_folder"])
    noise_folder = Path(info["options"]["noise_folder"])
    with open(corpus_folder / MIXTURES_FILE, encoding="utf-8") as fin:
        speech = sorted(
            {
                str(speech_folder / row["speech_file"])
                for row in csv.DictReader(fin)
                if row["split"] == "train"
            }
        )
    noise = [str(noise_folder / name) for name in info["noise_files"]["train"]]
    for folder in extra_noise_folders:
        noise += [str(path) for path in audio_files(folder)]
    return speech, noise


def _checked_range(name, values):
    """A ``(low, high)`` pair of floats with low <= high."""
    low, high = (float(v) for v in values)
    if low > high:
        raise ValueError(
            f"{name}: the low end {low} exceeds the high end {high}"
        )
    return low, high


def _power(signal):
    """Mean power of a signal (at least 1e-20)."""
    return max(float(np.mean(np.square(signal, dtype=np.float64))), 1e-20)
