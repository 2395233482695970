"""Any paired dataset, behind one interface: :func:`prepare_dataset`.

A dataset is a folder in one of three layouts, named by the recipes'
``dataset_format`` setting (``auto`` recognises them):

``voicebank``
    VoiceBank-DEMAND: ``{clean,noisy}_{trainset_28spk,testset}_wav[_16k]/``
    (:func:`~speechbrain_kd.data.voicebank.prepare_voicebank`); validation
    speakers are held out of the trainset.
``mixed``
    A corpus mixed by :mod:`speechbrain_kd.data.mixing` from one's own
    speech and noise folders: the trainset folders of the VoiceBank layout,
    with ``corpus_info.json`` naming its validation speakers. Its test set
    is the linked VoiceBank-DEMAND testset of the sample corpus, or any
    folder of pairs given as ``test_folder``.
``pairs``
    ``train/``, ``valid/`` and ``test/``, each a folder of ``clean/`` and
    ``noisy/`` files paired by name (wav or flac,
    :func:`~speechbrain_kd.data.pairs.prepare_pairs_folder`).

``test_folder`` (a folder of ``clean/`` + ``noisy/`` pairs, such as
``shared/data/dns_test_noreverb``) replaces the test set of any of them.
Every format writes the same JSON manifests, read by
:func:`~speechbrain_kd.data.pipeline.make_datasets`; a user's dataset needs
settings only, no code.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import logging
from pathlib import Path

from speechbrain_kd.data.corpus_layout import INFO_FILE, TEST_PAIRS_LINK
from speechbrain_kd.data.pairs import prepare_pairs_folder
from speechbrain_kd.data.voicebank import (
    OPTS_FILE,
    SPLITS,
    has_voicebank_layout,
    prepare_voicebank,
)

logger = logging.getLogger(__name__)

FORMATS = ("voicebank", "mixed", "pairs")
PAIR_SIDES = ("clean", "noisy")
SIDES = ("noisy", "clean")  # the order of evaluation_folders


def detect_format(data_folder):
    """The layout of a dataset folder: ``voicebank``, ``mixed`` or ``pairs``.

    Arguments
    ---------
    data_folder : str or pathlib.Path
        The dataset folder.

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If it holds none of the layouts; the message lists what it holds.

    Example
    -------
    >>> import os
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> detect_format(f"{shared}/voicebank")
    'voicebank'
    >>> detect_format(f"{shared}/dns_test_noreverb")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: data_folder .../dns_test_noreverb is one folder of \
clean/ and noisy/ pairs: a test set. Give it as test_folder (or in \
extra_test_sets); a dataset of dataset_format pairs holds train/, valid/ \
and test/, each with clean/ and noisy/
    """
    folder = Path(data_folder).absolute()
    if not folder.is_dir():
        raise FileNotFoundError(f"data_folder {folder} does not exist")
    if (folder / INFO_FILE).is_file():
        return "mixed"
    if has_voicebank_layout(folder, ("trainset_28spk",)):
        return "voicebank"
    if _is_pairs_folder(folder / "train"):
        return "pairs"
    if _is_pairs_folder(folder):
        raise ValueError(
            f"data_folder {folder} is one folder of clean/ and noisy/ "
            "pairs: a test set. Give it as test_folder (or in "
            "extra_test_sets); a dataset of dataset_format pairs holds "
            "train/, valid/ and test/, each with clean/ and noisy/"
        )
    found = sorted(path.name for path in folder.iterdir())[:8]
    raise ValueError(
        f"data_folder {folder} holds no dataset layout (found: "
        f"{', '.join(found) or 'nothing'}). Expected one of: voicebank "
        "(clean_trainset_28spk_wav_16k/, noisy_trainset_28spk_wav_16k/, "
        "clean_testset_wav_16k/, noisy_testset_wav_16k/, or the 48 kHz "
        "folders without _16k), mixed (a corpus of "
        "speechbrain_kd.data.mixing, with corpus_info.json), pairs "
        "(train/, valid/, test/, each with clean/ and noisy/)"
    )


def prepare_dataset(
    data_folder,
    save_folder,
    dataset_format="auto",
    valid_speakers=None,
    test_folder=None,
    sample_rate=16000,
    skip_prep=False,
):
    """Checks a paired dataset and writes its train/valid/test manifests.

    Arguments
    ---------
    data_folder : str or pathlib.Path
        The dataset (see the module description for the layouts).
    save_folder : str or pathlib.Path
        Where the manifests (and caches) go.
    dataset_format : str
        ``auto`` (recognised by :func:`detect_format`), ``voicebank``,
        ``mixed`` or ``pairs``.
    valid_speakers : list of str, optional
        The validation speakers of a ``voicebank`` or ``mixed`` dataset
        (default: those the mixed corpus recorded, else p226 and p287). A
        ``pairs`` dataset has its own ``valid/`` folder instead.
    test_folder : str or pathlib.Path, optional
        A folder of ``clean/`` and ``noisy/`` pairs: the test set, instead
        of the dataset's own (required by a mixed corpus without one).
    sample_rate : int
        The sample rate of every file, in Hz.
    skip_prep : bool
        Only return the manifest paths.

    Returns
    -------
    dict
        The paths of the ``train``, ``valid`` and ``test`` manifests.

    Raises
    ------
    ValueError
        For an unknown format, a layout that does not match it, a
        setting that does not apply to it, or a mixed corpus without a
        test set; the message names the folder and the setting.

    Example
    -------
    >>> import os, tempfile
    >>> shared = Path(os.environ.get("SBKD_SHARED_DATA", "../shared/data"))
    >>> shared = shared.absolute()
    >>> data = Path(tempfile.mkdtemp())
    >>> for split in ("train", "valid"):
    ...     for side in PAIR_SIDES:
    ...         (data / split).mkdir(exist_ok=True)
    ...         (data / split / side).symlink_to(
    ...             shared / "voicebank" / f"{side}_testset_wav_16k"
    ...         )
    >>> manifests = prepare_dataset(
    ...     data, data / "save", test_folder=shared / "dns_test_noreverb"
    ... )
    >>> [len(json.load(open(manifests[s]))) for s in SPLITS]
    [30, 30, 150]
    >>> prepare_dataset(data, data / "save", valid_speakers=["p226"])
    Traceback (most recent call last):
    ...
    ValueError: valid_speakers=['p226'] does not apply to \
dataset_format pairs: its validation set is the folder valid/ of the dataset
    """
    if dataset_format == "auto":
        dataset_format = detect_format(data_folder)
        logger.info("%s: dataset_format %s", data_folder, dataset_format)
    if dataset_format not in FORMATS:
        raise ValueError(
            f"dataset_format={dataset_format!r} is not allowed: use auto "
            f"or one of {', '.join(FORMATS)}"
        )
    save_folder = Path(save_folder)
    if dataset_format == "pairs":
        manifests = _prepare_pairs_dataset(
            data_folder,
            save_folder,
            valid_speakers,
            test_folder is None,
            sample_rate,
            skip_prep,
        )
    else:
        if dataset_format == "mixed" and test_folder is None:
            test_folder = _mixed_test_folder(data_folder)
        manifests = prepare_voicebank(
            data_folder,
            save_folder,
            valid_speakers=valid_speakers,
            sample_rate=sample_rate,
            skip_prep=skip_prep,
            with_test=test_folder is None,
        )
    if test_folder is not None:
        manifests["test"] = str(save_folder / "test.json")
        if not skip_prep:
            prepare_pairs_folder(test_folder, manifests["test"], sample_rate)
    return manifests


def evaluation_folders(data_folder, dataset_format="auto", test_folder=None):
    """The noisy and clean folders of a dataset's test set, to score.

    For evaluation beside the recipes (the noisy input's scores, a folder
    of enhanced files): the same test set as :func:`prepare_dataset`'s.

    Arguments
    ---------
    data_folder : str or pathlib.Path
        The dataset.
    dataset_format : str
        As for :func:`prepare_dataset`.
    test_folder : str or pathlib.Path, optional
        A folder of pairs replacing the dataset's test set.

    Returns
    -------
    tuple of pathlib.Path
        ``(noisy, clean)``.

    Example
    -------
    >>> import os
    >>> shared = os.environ.get("SBKD_SHARED_DATA", "../shared/data")
    >>> [p.name for p in evaluation_folders(f"{shared}/voicebank")]
    ['noisy_testset_wav_16k', 'clean_testset_wav_16k']
    >>> evaluation_folders(shared, test_folder=f"{shared}/voicebank")
    Traceback (most recent call last):
    ...
    ValueError: test_folder .../voicebank holds no clean/ and noisy/ \
folders of files paired by name
    """
    if test_folder is None:
        if dataset_format == "auto":
            dataset_format = detect_format(data_folder)
        folder = Path(data_folder).absolute()
        if dataset_format == "pairs":
            test_folder = folder / "test"
        elif dataset_format == "mixed":
            test_folder = _mixed_test_folder(folder)
        if test_folder is None:
            if not has_voicebank_layout(folder, ("testset",)):
                raise ValueError(
                    f"data_folder {folder} holds no 16 kHz VoiceBank-DEMAND "
                    "test folders ({noisy,clean}_testset_wav_16k)"
                )
            return tuple(folder / f"{side}_testset_wav_16k" for side in SIDES)
    test_folder = Path(test_folder).absolute()
    if not _is_pairs_folder(test_folder):
        raise ValueError(
            f"test_folder {test_folder} holds no clean/ and noisy/ folders "
            "of files paired by name"
        )
    return tuple(test_folder / side for side in SIDES)


def _mixed_test_folder(data_folder):
    """The test pairs of a mixed corpus: None for its VoiceBank testset.

    A corpus holds (links to) VoiceBank-DEMAND's test folders, as the
    sample corpus does, or its ``test`` link to a folder of pairs (mixed
    with ``--test_folder``); else it has no test set.
    """
    folder = Path(data_folder).absolute()
    if has_voicebank_layout(folder, ("testset",)):
        return None
    if _is_pairs_folder(folder / TEST_PAIRS_LINK):
        return folder / TEST_PAIRS_LINK
    raise ValueError(
        f"data_folder {folder} is a corpus mixed by speechbrain_kd.data.mixing "
        "without a test set: set test_folder to a folder of clean/ and noisy/ "
        "pairs (e.g. --test_folder=../shared/data/dns_test_noreverb), or mix "
        "it with --test_folder"
    )


def _is_pairs_folder(folder):
    """Whether a folder holds ``clean/`` and ``noisy/``."""
    return all((folder / side).is_dir() for side in PAIR_SIDES)


def _prepare_pairs_dataset(
    data_folder, save_folder, valid_speakers, with_test, sample_rate, skip
):
    """The manifests of a ``train/``, ``valid/``, ``test/`` dataset."""
    if valid_speakers is not None:
        raise ValueError(
            f"valid_speakers={valid_speakers} does not apply to "
            "dataset_format pairs: its validation set is the folder valid/ "
            "of the dataset"
        )
    folder = Path(data_folder).absolute()
    splits = [s for s in SPLITS if with_test or s != "test"]
    manifests = {s: str(save_folder / f"{s}.json") for s in splits}
    if skip:
        return manifests
    for split in splits:
        if not _is_pairs_folder(folder / split):
            raise ValueError(
                f"{folder / split} not found: a dataset of dataset_format "
                f"pairs holds {', '.join(f'{s}/' for s in splits)}, each "
                "with clean/ and noisy/ files paired by name"
                + ("" if with_test else " (test_folder replaces test/)")
            )
    options = {
        "data_folder": str(folder),
        "sample_rate": sample_rate,
        "corpus": {split: _fingerprint(folder / split) for split in splits},
    }
    opts_path = save_folder / OPTS_FILE
    if opts_path.is_file() and all(
        Path(p).is_file() for p in manifests.values()
    ):
        with open(opts_path, encoding="utf-8") as fin:
            if json.load(fin) == options:
                logger.info("Manifests in %s already prepared", save_folder)
                return manifests
    opts_path.unlink(missing_ok=True)
    for split in splits:
        count = prepare_pairs_folder(
            folder / split, manifests[split], sample_rate
        )
        logger.info("%s: %d pairs -> %s", split, count, manifests[split])
    with open(opts_path, "w", encoding="utf-8") as fout:
        json.dump(options, fout, indent=2)
    return manifests


def _fingerprint(folder):
    """Number and total size of the files of a pairs folder, per side."""
    fingerprint = {}
    for side in PAIR_SIDES:
        sizes = [p.stat().st_size for p in (folder / side).iterdir()]
        fingerprint[side] = [len(sizes), sum(sizes)]
    return fingerprint
