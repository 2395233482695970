"""Reading and writing mono audio files, with checks that name the file.

The one audio reader of the package (soundfile; wav, flac and the other
formats it reads): :func:`read_audio` reads a whole file or a crop of it
(``start`` and ``stop`` frames) at the expected sample rate, in the
precision asked for. Every problem found in an audio file (unreadable,
empty, multichannel, wrong sample rate, digital silence) raises
:class:`AudioError`, whose message names the file and what was found
(rate, channels), so that a broken corpus is never used silently.

Authors
 * speechbrain-kd contributors 2025
"""

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

# Below this peak amplitude a file is digital silence (16-bit PCM has no
# non-zero sample smaller than 1 / 32768).
SILENCE_PEAK = 1e-6


class AudioError(ValueError):
    """An audio file is unreadable or unsuitable; the message names it.

    Example
    -------
    >>> issubclass(AudioError, ValueError)
    True
    """


def audio_info(path):
    """Returns the sample rate, channel count and length of an audio file.

    Arguments
    ---------
    path : str or pathlib.Path
        The audio file (any format that soundfile reads).

    Returns
    -------
    sample_rate : int
        Samples per second.
    channels : int
        Number of channels.
    frames : int
        Number of samples per channel.

    Raises
    ------
    AudioError
        If the file is missing or unreadable.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_audio(path, torch.full((800,), 0.1))
    >>> audio_info(path)
    (16000, 1, 800)
    """
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as error:
        raise AudioError(f"Cannot read audio file {path}: {error}") from error
    return info.samplerate, info.channels, info.frames


def check_audio(path, sample_rate=16000, check_silence=True):
    """Checks that a file is readable, non-empty, mono, at the right rate.

    The format is checked from the header only; the samples are read only
    when ``check_silence`` is set, to reject digital silence.

    Arguments
    ---------
    path : str or pathlib.Path
        The audio file.
    sample_rate : int
        The expected sample rate in Hz.
    check_silence : bool
        Whether to read the samples and reject a silent file.

    Returns
    -------
    int
        The number of samples in the file.

    Raises
    ------
    AudioError
        Naming the file and the problem.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_audio(path, torch.zeros(800))
    >>> check_audio(path, check_silence=False)
    800
    >>> check_audio(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_kd.data.audio.AudioError: ...a.wav is silent (peak amplitude 0)
    >>> check_audio(path, sample_rate=8000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_kd.data.audio.AudioError: ...a.wav has ... expected 8000 Hz
    """
    found_rate, channels, frames = audio_info(path)
    if frames == 0:
        raise AudioError(f"{path} is empty (0 samples)")
    if channels != 1:
        raise AudioError(f"{path} has {channels} channels, expected mono")
    if found_rate != sample_rate:
        raise AudioError(
            f"{path} has a sample rate of {found_rate} Hz, "
            f"expected {sample_rate} Hz"
        )
    if check_silence:
        _check_not_silent(path, _read_samples(path))
    return frames


def read_audio(
    path,
    sample_rate=16000,
    start=0,
    stop=None,
    dtype="float32",
    check_silence=True,
):
    """Reads a mono audio file, or a crop of it, after checking its format.

    Arguments
    ---------
    path : str or pathlib.Path
        The audio file.
    sample_rate : int
        The expected sample rate in Hz; files at another rate are rejected,
        not resampled.
    start : int
        First frame read.
    stop : int, optional
        Frame after the last one read (default: the end of the file).
    dtype : str
        ``float32`` or ``float64``.
    check_silence : bool
        Reject samples that are digital silence (a file's crop may be
        silent where the file is not: leave it off for crops).

    Returns
    -------
    torch.Tensor
        The signal, of shape ``[samples]``, in [-1, 1].

    Raises
    ------
    AudioError
        If the file is unreadable, empty, multichannel, at another sample
        rate or (with ``check_silence``) silent; the message names the
        file.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_audio(path, torch.linspace(-0.5, 0.5, 800))
    >>> signal = read_audio(path)
    >>> signal.shape, signal.dtype, signal[0].item()
    (torch.Size([800]), torch.float32, -0.5)
    >>> crop = read_audio(path, start=100, stop=300, dtype="float64")
    >>> crop.shape, crop.dtype, bool(crop[0] == signal[100])
    (torch.Size([200]), torch.float64, True)
    >>> read_audio(path, sample_rate=8000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_kd.data.audio.AudioError: ...a.wav has a sample rate of \
16000 Hz, expected 8000 Hz
    """
    check_audio(path, sample_rate, check_silence=False)
    samples = _read_samples(path, start, stop, dtype)
    if check_silence:
        _check_not_silent(path, samples)
    return torch.from_numpy(samples)


def write_audio(path, signal, sample_rate=16000):
    """Writes a mono signal as 16-bit PCM audio, creating parent folders.

    The file is a wav file, unless the extension names another format that
    soundfile writes (e.g. ``.flac``).

    Arguments
    ---------
    path : str or pathlib.Path
        The file to write.
    signal : torch.Tensor or numpy.ndarray
        The 1-D signal, in [-1, 1]; samples outside are clipped.
    sample_rate : int
        The sample rate in Hz.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "a.wav")
    >>> write_audio(path, torch.linspace(-1, 1, 1600))
    >>> audio_info(path)
    (16000, 1, 1600)
    """
    if isinstance(signal, torch.Tensor):
        signal = signal.detach().cpu().numpy()
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(
            f"Cannot write {path}: expected a 1-D signal, got shape "
            f"{tuple(signal.shape)}"
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(
        str(path),
        np.clip(signal, -1.0, 1.0),
        sample_rate,
        subtype="PCM_16",
    )


def _read_samples(path, start=0, stop=None, dtype="float32"):
    """Reads the samples of a mono file as numpy."""
    try:
        samples, _ = sf.read(
            str(path), start=start, stop=stop, dtype=dtype, always_2d=False
        )
    except (RuntimeError, OSError) as error:
        raise AudioError(f"Cannot read audio file {path}: {error}") from error
    return samples


def _check_not_silent(path, samples):
    """Raises AudioError if all the samples are digital silence."""
    peak = float(np.max(np.abs(samples)))
    if peak < SILENCE_PEAK:
        raise AudioError(f"{path} is silent (peak amplitude {peak:.3g})")
