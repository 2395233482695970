"""A compact copy of a mixed corpus, for training on another machine.

A GPU machine often gets only what is copied to it with the checkout
(some services cap that at tens of MiB), while the sample corpus' training
pools alone (speech, noise and ``noise_ambient``) are about 150 MB of
FLAC/WAV. :func:`pack_corpus` writes the training speech and noise as
Opus (about 6x smaller; the speech decodes at PESQ about 4.6 against the
original, i.e. transparent) and the validation mixtures and test pairs
lossless (FLAC), with a ``bundle.json`` listing every file.
:func:`unpack_corpus` decodes a bundle into a corpus that the recipes read
as they read the original (``train_data: dynamic`` draws from the decoded
pools; validation and test are bit-exact).

Only runs trained on the same pools are paired: a model trained on an
unpacked bundle has seen Opus-coded training audio.

Usage::

    sbkd-bundle pack data/sample_corpus data_bundle \\
        --extra_train_noise ../shared/data/noise_ambient
    sbkd-bundle unpack data_bundle corpus

Authors
 * speechbrain-kd contributors 2026
"""

import csv
import json
import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from speechbrain_kd.data.corpus_layout import (
    CLEAN_FOLDER,
    INFO_FILE,
    MIXTURES_FILE,
    NOISY_FOLDER,
    TEST_FOLDERS,
)
from speechbrain_kd.data.dynamic_mixing import audio_files, training_pools

logger = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.json"
CORPUS = "corpus"
# soundfile's compression_level for Opus (0: best quality, 1: smallest);
# 0.85 keeps speech transparent (PESQ 4.59 against the original)
SPEECH_LEVEL = 0.85
NOISE_LEVEL = 0.9


def pack_corpus(
    corpus_folder,
    output_folder,
    extra_train_noise=(),
    speech_level=SPEECH_LEVEL,
    noise_level=NOISE_LEVEL,
    workers=None,
):
    """Writes a compact bundle of a mixed corpus.

    Arguments
    ---------
    corpus_folder : str or pathlib.Path
        A corpus of :mod:`speechbrain_kd.data.mixing` (``corpus_info.json``,
        ``mixtures.csv``) with its test pairs.
    output_folder : str or pathlib.Path
        The bundle folder (created; an existing one is replaced).
    extra_train_noise : list of str
        More noise folders for training (``extra_train_noise`` of the
        recipes), packed as Opus too.
    speech_level, noise_level : float
        Opus compression levels (0 to 1, 1 smallest) of speech and noise.
    workers : int, optional
        Encoding processes (default: all cores).

    Returns
    -------
    dict
        The bundle description written to ``bundle.json``: ``files``
        (bundle path -> original relative path) per pool and the sizes.

    Example
    -------
    >>> import tempfile
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> corpus = make_tiny_corpus(shared, tempfile.mkdtemp())
    >>> bundle = tempfile.mkdtemp()
    >>> info = pack_corpus(corpus, bundle, workers=1)
    >>> sorted(info["files"]), len(info["files"]["speech"])
    (['corpus', 'extra_noise', 'noise', 'speech'], 2)
    >>> sorted(os.listdir(os.path.join(bundle, "speech")))
    ['0.ogg', '1.ogg']
    """
    corpus_folder = Path(corpus_folder)
    output = Path(output_folder)
    if output.exists():
        shutil.rmtree(output)
    info = json.loads((corpus_folder / INFO_FILE).read_text())
    speech, noise = training_pools(corpus_folder)
    jobs, files = [], {"speech": {}, "noise": {}, "extra_noise": {}}

    def add(pool, source, relative, level):
        target = f"{pool}/{len(files[pool])}.ogg"
        files[pool][target] = relative
        jobs.append((str(source), str(output / target), "opus", level))

    for path in speech:
        relative = os.path.relpath(path, info["options"]["speech_folder"])
        add("speech", path, relative, speech_level)
    for path in noise:
        relative = os.path.relpath(path, info["options"]["noise_folder"])
        add("noise", path, relative, noise_level)
    for k, folder in enumerate(extra_train_noise):
        for path in audio_files(folder):
            relative = os.path.join(str(k), os.path.relpath(path, folder))
            add("extra_noise", path, relative, noise_level)

    # the corpus itself: its description, validation mixtures, test pairs
    corpus_files = files.setdefault(CORPUS, {})
    for name in (INFO_FILE, MIXTURES_FILE):
        (output / CORPUS).mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus_folder / name, output / CORPUS / name)
    for relative in _evaluation_files(corpus_folder):
        target = f"{CORPUS}/{len(corpus_files)}.flac"
        corpus_files[target] = relative
        source = corpus_folder / relative
        jobs.append((str(source), str(output / target), "flac", None))
    _run_parallel(_encode, jobs, workers)
    description = {
        "source": str(corpus_folder.resolve()),
        "extra_train_noise": [str(f) for f in extra_train_noise],
        "opus_levels": {"speech": speech_level, "noise": noise_level},
        "files": files,
        "megabytes": round(_size(output) / 2**20, 1),
    }
    (output / BUNDLE_FILE).write_text(json.dumps(description, indent=1))
    logger.info("bundle %s: %.1f MB", output, description["megabytes"])
    return description


def unpack_corpus(bundle_folder, output_folder, workers=None):
    """Decodes a bundle of :func:`pack_corpus` into a corpus.

    Arguments
    ---------
    bundle_folder : str or pathlib.Path
        The bundle (with ``bundle.json``).
    output_folder : str or pathlib.Path
        Where to write ``corpus/`` (the ``data_folder`` of the recipes),
        ``speech/``, ``noise/`` and ``extra_noise/<k>/`` (the folders of
        ``extra_train_noise``, in the order given at packing).
    workers : int, optional
        Decoding processes (default: all cores).

    Returns
    -------
    dict
        ``data_folder`` and ``extra_train_noise`` (list) to pass to the
        recipes.

    Example
    -------
    >>> import tempfile
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> corpus = make_tiny_corpus(shared, tempfile.mkdtemp())
    >>> bundle = tempfile.mkdtemp()
    >>> _ = pack_corpus(corpus, bundle, workers=1)
    >>> out = unpack_corpus(bundle, tempfile.mkdtemp(), workers=1)
    >>> speech, noise = training_pools(out["data_folder"])
    >>> [os.path.basename(path) for path in speech]
    ['0.wav', '2.wav']
    >>> clean = "clean_testset_wav_16k/p232_001.wav"
    >>> import numpy as np
    >>> a, _ = sf.read(os.path.join(corpus, clean))
    >>> b, _ = sf.read(os.path.join(out["data_folder"], clean))
    >>> bool(np.array_equal(a, b))  # evaluation audio is bit-exact
    True
    """
    bundle = Path(bundle_folder)
    output = Path(output_folder)
    description = json.loads((bundle / BUNDLE_FILE).read_text())
    jobs = []
    for pool, entries in description["files"].items():
        for source, relative in entries.items():
            jobs.append((str(bundle / source), str(output / pool / relative)))
    for name in (INFO_FILE, MIXTURES_FILE):
        (output / CORPUS).mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle / CORPUS / name, output / CORPUS / name)
    _run_parallel(_decode, jobs, workers)
    info_path = output / CORPUS / INFO_FILE
    info = json.loads(info_path.read_text())
    info["options"]["speech_folder"] = str((output / "speech").resolve())
    info["options"]["noise_folder"] = str((output / "noise").resolve())
    info_path.write_text(json.dumps(info, indent=1))
    extra = [
        str((output / "extra_noise" / str(k)).resolve())
        for k in range(len(description["extra_train_noise"]))
    ]
    return {
        "data_folder": str((output / CORPUS).resolve()),
        "extra_train_noise": extra,
    }


def make_tiny_corpus(shared_data, folder):
    """A two-utterance corpus of real audio, for examples and tests.

    Arguments
    ---------
    shared_data : str
        The ``shared/data`` folder.
    folder : str
        Where to write it.

    Returns
    -------
    str
        The corpus folder.
    """
    from speechbrain_kd.data.audio import read_audio, write_audio
    from speechbrain_kd.data.mixing import link_testset, mix_corpus

    shared = Path(folder) / "shared"
    vb = Path(shared_data) / "voicebank"
    speech = sorted((vb / "clean_trainset_28spk_wav_16k").glob("*.wav"))
    noise = audio_files(Path(shared_data) / "noise")
    for k, path in enumerate(speech[:4]):
        crop = read_audio(path, stop=16000)
        write_audio(shared / "speech" / f"s{k % 2}" / f"{k}.wav", crop)
    for k, path in enumerate(noise[:3]):
        crop = read_audio(path, stop=32000, check_silence=False)
        write_audio(shared / "noise" / f"{k}.wav", crop)
    name = sorted(os.listdir(vb / TEST_FOLDERS[0]))[0]
    for sub in TEST_FOLDERS:
        crop = read_audio(vb / sub / name, stop=16000)
        write_audio(shared / "voicebank" / sub / "p232_001.wav", crop)
    (shared / "sources.csv").write_text(
        "file,speaker\nspeech/s0/0.wav,a\nspeech/s0/2.wav,a\n"
        "speech/s1/1.wav,b\nspeech/s1/3.wav,b\n"
    )
    corpus = Path(folder) / "corpus"
    mix_corpus(
        shared / "speech",
        shared / "noise",
        corpus,
        n_valid_speakers=1,
        valid_noise_fraction=0.34,
        seed=0,
        speaker_table=shared / "sources.csv",
    )
    link_testset(shared / "voicebank", corpus)
    return str(corpus)


def _evaluation_files(corpus_folder):
    """Relative paths of a corpus' validation mixtures and test pairs."""
    with open(corpus_folder / MIXTURES_FILE, encoding="utf-8") as fin:
        valid = [
            row["id"] for row in csv.DictReader(fin) if row["split"] == "valid"
        ]
    files = [
        f"{sub}/{name}.wav"
        for name in valid
        for sub in (CLEAN_FOLDER, NOISY_FOLDER)
    ]
    for sub in TEST_FOLDERS:
        files += sorted(
            f"{sub}/{path.name}" for path in (corpus_folder / sub).glob("*.wav")
        )
    return files


def _encode(source, target, codec="flac", level=None):
    """Writes ``source`` (first channel) as Opus or FLAC to ``target``."""
    signal, rate = sf.read(source, dtype="float32", always_2d=True)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if codec == "opus":
        sf.write(
            target,
            signal[:, 0],
            rate,
            format="OGG",
            subtype="OPUS",
            compression_level=level,
        )
    else:
        sf.write(target, signal[:, 0], rate, subtype=sf.info(source).subtype)


def _decode(source, target):
    """Writes ``source`` in the format of ``target``'s extension."""
    signal, rate = sf.read(source, dtype="float32")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    subtype = None
    if source.endswith(".flac"):
        subtype = sf.info(source).subtype
    sf.write(target, signal, rate, subtype=subtype)


def _run_parallel(function, jobs, workers):
    """Runs ``function(*job)`` for every job, in ``workers`` processes."""
    if workers == 1:
        for job in jobs:
            function(*job)
        return
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(function, *zip(*jobs), chunksize=8))


def _size(folder):
    """Bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
