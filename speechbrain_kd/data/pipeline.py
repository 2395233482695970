"""SpeechBrain data pipelines over VoiceBank-schema manifests.

Training items are random fixed-length crops (the same offset in the noisy
and the clean file), so a batch costs the same whatever the utterance
lengths; validation and test items are whole utterances.

Authors
 * speechbrain-kd contributors 2026
"""

import json

import speechbrain as sb
import torch

from speechbrain_kd.data.audio import AudioError, check_audio, read_audio


def load_pair(noisy_wav, clean_wav, sample_rate, segment_seconds=None):
    """Reads a noisy/clean pair, optionally a random common crop of it.

    Arguments
    ---------
    noisy_wav : str
        Path of the noisy file.
    clean_wav : str
        Path of its clean reference.
    sample_rate : int
        Expected sample rate; another rate is an error naming the file.
    segment_seconds : float, optional
        If given and the files are longer, read only a random crop of this
        duration (the same samples from both files).

    Returns
    -------
    tuple of torch.Tensor
        ``(noisy, clean)``, float32 and 1-D.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> folder = tempfile.mkdtemp()
    >>> x = numpy.random.default_rng(0).normal(size=16000) * 0.1
    >>> soundfile.write(f"{folder}/n.wav", x, 16000)
    >>> soundfile.write(f"{folder}/c.wav", x / 2, 16000)
    >>> noisy, clean = load_pair(
    ...     f"{folder}/n.wav", f"{folder}/c.wav", 16000, segment_seconds=0.5
    ... )
    >>> noisy.shape, clean.shape
    (torch.Size([8000]), torch.Size([8000]))
    """
    pair = (noisy_wav, clean_wav)
    frames = [
        check_audio(path, sample_rate, check_silence=False) for path in pair
    ]
    if frames[0] != frames[1]:
        raise AudioError(
            f"{noisy_wav} has {frames[0]} samples but its clean "
            f"partner {clean_wav} has {frames[1]}"
        )
    start, stop = 0, frames[0]
    if segment_seconds is not None:
        segment = int(segment_seconds * sample_rate)
        if stop > segment:
            start = int(torch.randint(stop - segment + 1, (1,)))
            stop = start + segment
    noisy, clean = (
        read_audio(path, sample_rate, start, stop, check_silence=False)
        for path in pair
    )
    return noisy, clean


def make_datasets(
    manifests,
    data_folder,
    sample_rate=16000,
    segment_seconds=2.0,
    sorting="ascending",
):
    """Builds SpeechBrain datasets from VoiceBank-schema JSON manifests.

    Arguments
    ---------
    manifests : dict
        Split name (``train``, ``valid``, ``test``) to manifest path.
    data_folder : str
        Replaces ``{data_root}`` in the manifests.
    sample_rate : int
        Expected sample rate of every file.
    segment_seconds : float, optional
        Crop length for the ``train`` split; None trains on whole files.
    sorting : str
        ``ascending``, ``descending`` or ``random``: order of the
        evaluation splits (sorted batches waste less padding).

    Returns
    -------
    dict
        Split name to ``DynamicItemDataset`` with the outputs ``id``,
        ``noisy_sig`` and ``clean_sig``.
    """
    datasets = {}
    for split, path in manifests.items():
        crop = segment_seconds if split == "train" else None
        with open(path, encoding="utf-8") as fin:
            if not json.load(fin):
                raise ValueError(
                    f"The {split} manifest {path} has no utterance"
                )

        @sb.utils.data_pipeline.takes("noisy_wav", "clean_wav")
        @sb.utils.data_pipeline.provides("noisy_sig", "clean_sig")
        def audio_pipeline(noisy_wav, clean_wav, crop=crop):
            noisy, clean = load_pair(noisy_wav, clean_wav, sample_rate, crop)
            yield noisy
            yield clean

        dataset = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=path,
            replacements={"data_root": str(data_folder)},
            dynamic_items=[audio_pipeline],
            output_keys=["id", "noisy_sig", "clean_sig"],
        )
        if split != "train" and sorting != "random":
            dataset = dataset.filtered_sorted(
                sort_key="length", reverse=sorting == "descending"
            )
        datasets[split] = dataset
    return datasets
