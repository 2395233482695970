"""Who speaks in a speech folder, and which speakers and noises validate.

The splits of :func:`speechbrain_kd.data.mixing.mix_corpus`: a speech
file's speaker is its entry in a speaker table or its top-level
subfolder; validation speakers and noise files are drawn apart from the
training ones, so that validation mixtures are unseen in training.

Authors
 * speechbrain-kd contributors 2025
"""

import csv
import logging
import re
from collections import defaultdict
from pathlib import Path

logger = logging.getLogger(__name__)

# More than this share of the utterances in validation gets a warning
MAX_VALID_SHARE = 0.25


def read_speaker_table(speaker_table):
    """Maps the files of a speaker table to their non-empty speaker.

    Arguments
    ---------
    speaker_table : str or pathlib.Path or None
        CSV file with the columns ``file`` and ``speaker``.

    Returns
    -------
    dict
        File (POSIX path, as in the table) to speaker; empty for None.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "speakers.csv"
    >>> _ = path.write_text("file,speaker\\nspeech/a.wav,p1\\nspeech/b.wav,\\n")
    >>> read_speaker_table(path)
    {'speech/a.wav': 'p1'}
    """
    if speaker_table is None:
        return {}
    with open(speaker_table, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        columns = reader.fieldnames or []
        if "file" not in columns or "speaker" not in columns:
            raise ValueError(
                f"speaker_table {speaker_table} needs the columns 'file' and "
                f"'speaker'; found {columns}"
            )
        return {
            Path(row["file"]).as_posix(): row["speaker"].strip()
            for row in reader
            if row["speaker"].strip()
        }


def utterances_by_speaker(speech_files, speech_folder, speakers):
    """Groups the speech files by (sanitised) speaker id.

    Arguments
    ---------
    speech_files : list of pathlib.Path
        Files under ``speech_folder``.
    speech_folder : pathlib.Path
        Their folder; a file's speaker is its top-level subfolder unless
        ``speakers`` names it.
    speakers : dict
        As returned by :func:`read_speaker_table`.

    Returns
    -------
    dict
        Speaker id (``[A-Za-z0-9-]``) to files.

    Example
    -------
    >>> folder = Path("/data/speech")
    >>> files = [folder / "vctk" / "1.wav", folder / "lj_speech" / "2.wav"]
    >>> sorted(utterances_by_speaker(files, folder, {}))
    ['lj-speech', 'vctk']
    """
    utterances = defaultdict(list)
    for path in speech_files:
        key = path.relative_to(speech_folder.parent).as_posix()
        parts = path.relative_to(speech_folder).parts
        source = parts[0] if len(parts) > 1 else speech_folder.name
        speaker = re.sub(r"[^A-Za-z0-9-]", "-", speakers.get(key, source))
        utterances[speaker].append(path)
    return dict(utterances)


def choose_valid_speakers(utterances, n_valid_speakers, rng):
    """Draws the validation speakers, preferring those with 2+ utterances.

    Arguments
    ---------
    utterances : dict
        Speaker to files.
    n_valid_speakers : int
        How many to draw.
    rng : numpy.random.Generator
        The random draws.

    Returns
    -------
    list of str

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> choose_valid_speakers({"a": [1, 2], "b": [3]}, 1, rng)
    ['a']
    """
    speakers = sorted(utterances)
    if n_valid_speakers >= len(speakers):
        raise ValueError(
            f"n_valid_speakers={n_valid_speakers} leaves no training speaker: "
            f"the speech folder has {len(speakers)} speakers"
        )
    eligible = [spk for spk in speakers if len(utterances[spk]) >= 2]
    if len(eligible) < n_valid_speakers:
        logger.warning(
            "Only %d speakers have 2+ utterances; drawing the %d validation "
            "speakers among all",
            len(eligible),
            n_valid_speakers,
        )
        eligible = speakers
    chosen = rng.choice(len(eligible), size=n_valid_speakers, replace=False)
    return [eligible[index] for index in chosen]


def report_split(utterances, valid_speakers, speech_folder, speaker_table):
    """Says how speakers were told apart; warns of a large validation set.

    Arguments
    ---------
    utterances : dict
        Speaker to files.
    valid_speakers : list of str
        The validation speakers.
    speech_folder : pathlib.Path
        The speech folder (for the log).
    speaker_table : str or None
        The speaker table, if any.

    Example
    -------
    >>> report_split({"a": [1, 2], "b": [3]}, ["b"], Path("s"), "t.csv")
    """
    if speaker_table is None:
        logger.info(
            "Speakers: one per top-level subfolder of %s (%d found: %s); "
            "give --speaker_table to name each file's speaker",
            speech_folder,
            len(utterances),
            ", ".join(sorted(utterances)[:10])
            + (", ..." if len(utterances) > 10 else ""),
        )
    total = sum(len(files) for files in utterances.values())
    valid = sum(len(utterances[speaker]) for speaker in valid_speakers)
    if valid > MAX_VALID_SHARE * total:
        logger.warning(
            "%d of the %d utterances (%.0f %%) go to validation: the %d "
            "validation speakers (%s) hold them. Lower --n_valid_speakers "
            "or give a --speaker_table with more speakers",
            valid,
            total,
            100 * valid / total,
            len(valid_speakers),
            ", ".join(sorted(valid_speakers)),
        )


def choose_valid_noise(noise_files, n_valid_speakers, fraction, folder, rng):
    """Draws the validation noise files (none without validation speakers).

    Arguments
    ---------
    noise_files : list of pathlib.Path
        All the noise files.
    n_valid_speakers : int
        The number of validation speakers (0: no validation noise).
    fraction : float
        Share of the noise files for validation (at least one, and one
        left for training).
    folder : pathlib.Path
        The noise folder (for the message).
    rng : numpy.random.Generator
        The random draws.

    Returns
    -------
    set of pathlib.Path

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> len(choose_valid_noise(list("abcde"), 2, 0.2, "noise", rng))
    1
    """
    if n_valid_speakers == 0:
        return set()
    if len(noise_files) < 2:
        raise ValueError(
            f"{folder} holds {len(noise_files)} noise file; 2 or more are "
            "needed to keep train and validation noises apart"
        )
    count = min(
        len(noise_files) - 1, max(1, round(fraction * len(noise_files)))
    )
    chosen = rng.choice(len(noise_files), size=count, replace=False)
    return {noise_files[index] for index in chosen}
