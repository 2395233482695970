"""SpeechBrain data pipelines over VoiceBank-schema manifests.

Training items are random fixed-length crops (the same offset in the noisy
and the clean file), so a batch costs the same whatever the utterance
lengths; validation and test items are whole utterances.

Authors
 * speechbrain-kd contributors 2026
"""

import json

import soundfile
import speechbrain as sb
import torch

from speechbrain_kd.data.audio import AudioError


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
    infos = [_info(path) for path in (noisy_wav, clean_wav)]
    for path, info in zip((noisy_wav, clean_wav), infos):
        if info.samplerate != sample_rate or info.channels != 1:
            raise AudioError(
                f"{path}: expected mono {sample_rate} Hz audio, found "
                f"{info.channels} channel(s) at {info.samplerate} Hz"
            )
    if infos[0].frames != infos[1].frames:
        raise AudioError(
            f"{noisy_wav} has {infos[0].frames} samples but its clean "
            f"partner {clean_wav} has {infos[1].frames}"
        )
    start, stop = 0, infos[0].frames
    if segment_seconds is not None:
        segment = int(segment_seconds * sample_rate)
        if stop > segment:
            start = int(torch.randint(stop - segment + 1, (1,)))
            stop = start + segment
    noisy, clean = (
        torch.from_numpy(
            soundfile.read(path, start=start, stop=stop, dtype="float32")[0]
        )
        for path in (noisy_wav, clean_wav)
    )
    return noisy, clean


def _info(path):
    """soundfile.info with an error that names the file."""
    try:
        return soundfile.info(path)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(f"{path}: cannot read audio ({error})") from error


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
