"""A test set from any folder of clean/noisy pairs.

The folder holds ``clean/`` and ``noisy/`` with the same file names (wav or
flac), like the DNS-Challenge test set in ``shared/data/dns_test_noreverb``.
The manifest uses the VoiceBank JSON schema, so the same data pipeline reads
it.

Authors
 * speechbrain-kd contributors 2026
"""

import json
from pathlib import Path

from speechbrain_kd.data.audio import AudioError, check_audio
from speechbrain_kd.data.corpus_layout import AUDIO_EXTENSIONS


def prepare_pairs_folder(folder, manifest_path, sample_rate=16000):
    """Writes a manifest of the clean/noisy pairs of a folder.

    Arguments
    ---------
    folder : str or pathlib.Path
        Holds ``clean/`` and ``noisy/``; files pair by name.
    manifest_path : str or pathlib.Path
        The JSON manifest to write (ids are the file stems).
    sample_rate : int
        Expected rate of every file.

    Returns
    -------
    int
        Number of pairs.

    Raises
    ------
    FileNotFoundError
        If a subfolder is missing, empty, or a file has no partner.
    AudioError
        If a file is unreadable, not mono, at another rate, silent, or of
        another length than its partner.

    Example
    -------
    >>> import os, tempfile
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> path = os.path.join(tempfile.mkdtemp(), "dns.json")
    >>> prepare_pairs_folder(f"{shared}/dns_test_noreverb", path)
    150
    >>> prepare_pairs_folder(f"{shared}/voicebank", path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...voicebank/clean not found: a pairs folder holds ...
    """
    folder = Path(folder).absolute()
    names = {}
    for side in ("clean", "noisy"):
        sub = folder / side
        if not sub.is_dir():
            raise FileNotFoundError(
                f"{sub} not found: a pairs folder holds clean/ and noisy/ "
                "with the same file names"
            )
        names[side] = {
            path.name: path
            for path in sub.iterdir()
            if path.suffix.lower() in AUDIO_EXTENSIONS
        }
        if not names[side]:
            raise FileNotFoundError(f"{sub} holds no .wav or .flac file")
    unpaired = sorted(set(names["clean"]) ^ set(names["noisy"]))
    if unpaired:
        raise FileNotFoundError(
            f"{len(unpaired)} files of {folder} have no partner in the other "
            f"subfolder, e.g. {', '.join(unpaired[:3])}"
        )
    entries = {}
    for name in sorted(names["clean"]):
        clean, noisy = names["clean"][name], names["noisy"][name]
        frames = check_audio(clean, sample_rate)
        if check_audio(noisy, sample_rate) != frames:
            raise AudioError(f"{clean} and {noisy} differ in length")
        entries[Path(name).stem] = {
            "noisy_wav": str(noisy),
            "clean_wav": str(clean),
            "length": frames / sample_rate,
        }
    Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
    with open(manifest_path, "w", encoding="utf-8") as fout:
        json.dump(entries, fout, indent=2)
    return len(entries)
