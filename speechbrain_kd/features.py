"""The STFT features of training and inference, in one place.

Features are log1p STFT magnitudes ``[batch, time, freq]`` computed with
SpeechBrain's ``STFT`` and ``spectral_magnitude``; the enhanced waveform is
resynthesised from ``expm1(mask * feats)`` with the noisy phase, exactly as
``SpectralMaskEnhancement`` does. The settings (sample rate, FFT size,
window and hop in ms) are written once, in a file of ``hparams/features/``
(``!include``-able; it checks itself on load): the recipes include one,
``stft_hparams`` builds the STFT, magnitude and resynthesis from its
settings for the Brains, export and the benchmarks, and its defaults are
those of :data:`DEFAULT_FEATURES`.

Authors
 * speechbrain-kd contributors 2026
"""

import functools
from pathlib import Path

import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.processing.features import ISTFT, STFT, spectral_magnitude
from speechbrain.processing.signal_processing import resynthesize
from speechbrain.utils.callchains import lengths_arg_exists

from speechbrain_kd.paths import hparams_folder

# The files of hparams/features, and the one of the original recipes
FEATURES_FOLDER = Path(hparams_folder()) / "features"
DEFAULT_FEATURES = "stft_32ms"
# The settings of a features file, also top-level keys of every recipe
SETTINGS = ("sample_rate", "n_fft", "win_length", "hop_length")


def check_stft_options(sample_rate, n_fft, win_length, hop_length):
    """Raises a ValueError naming the settings of an unusable STFT.

    Arguments
    ---------
    sample_rate : int
        Sample rate in Hz.
    n_fft : int
        FFT size in samples.
    win_length : float
        Window length in ms.
    hop_length : float
        Hop length in ms.

    Returns
    -------
    dict
        The four settings, for ``!apply`` in a YAML file.

    Example
    -------
    >>> check_stft_options(16000, 256, 16, 8)["n_fft"]
    256
    >>> check_stft_options(16000, 256, 4, 8)
    Traceback (most recent call last):
    ...
    ValueError: STFT: win_length=4 ms is shorter than hop_length=8 ms, \
so some samples would be in no window; use win_length >= hop_length
    """
    if not hop_length > 0 or not win_length > 0:
        raise ValueError(
            f"STFT: win_length={win_length} ms and hop_length={hop_length} "
            "ms must be > 0"
        )
    if win_length < hop_length:
        raise ValueError(
            f"STFT: win_length={win_length} ms is shorter than "
            f"hop_length={hop_length} ms, so some samples would be in no "
            "window; use win_length >= hop_length"
        )
    win_samples = round(sample_rate * win_length / 1000)
    if win_samples > n_fft:
        raise ValueError(
            f"STFT: win_length={win_length} ms ({win_samples} samples at "
            f"sample_rate={sample_rate}) is longer than n_fft={n_fft}"
        )
    return dict(
        sample_rate=sample_rate,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
    )


def load_features_file(name=DEFAULT_FEATURES):
    """The settings of a features file, checked.

    Arguments
    ---------
    name : str or pathlib.Path
        A file name of ``hparams/features`` without ``.yaml``
        (``stft_32ms``, ``stft_16ms``, ``stft_8ms``), or a path.

    Returns
    -------
    dict
        ``sample_rate``, ``n_fft``, ``win_length`` and ``hop_length``.

    Example
    -------
    >>> load_features_file("stft_16ms")["n_fft"]
    256
    >>> load_features_file("stft_4ms")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No features file .../hparams/features/stft_4ms.yaml; \
use a file of .../hparams/features or a path
    """
    path = Path(name)
    if not path.suffix:
        path = FEATURES_FOLDER / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"No features file {path}; use a file of {FEATURES_FOLDER} or a "
            "path"
        )
    loaded = load_hyperpyyaml(f"features: !include:{path.resolve()}\n")
    return {key: loaded["features"][key] for key in SETTINGS}


@functools.cache
def _default_settings():
    """The settings of :data:`DEFAULT_FEATURES`, read once."""
    return load_features_file(DEFAULT_FEATURES)


def feature_settings(hparams):
    """The STFT settings of a recipe's hyperparameters.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters with the top-level keys of
        :data:`SETTINGS` (every recipe YAML takes them from its
        ``features`` file).

    Returns
    -------
    dict

    Example
    -------
    >>> hparams = {"seed": 1, **load_features_file("stft_8ms")}
    >>> feature_settings(hparams)["hop_length"]
    4
    >>> feature_settings({"n_fft": 512})
    Traceback (most recent call last):
    ...
    KeyError: 'The hyperparameters lack sample_rate, win_length, \
hop_length; a recipe YAML sets them from its features file \
(features: !include:features/stft_32ms.yaml)'
    """
    missing = [key for key in SETTINGS if key not in hparams]
    if missing:
        raise KeyError(
            f"The hyperparameters lack {', '.join(missing)}; a recipe YAML "
            "sets them from its features file (features: "
            f"!include:features/{DEFAULT_FEATURES}.yaml)"
        )
    return {key: hparams[key] for key in SETTINGS}


def complete_settings(**settings):
    """The STFT settings given, the default features' for the others.

    Arguments
    ---------
    **settings
        Any of ``sample_rate``, ``n_fft``, ``win_length`` and
        ``hop_length``; None or absent: that of :data:`DEFAULT_FEATURES`.

    Returns
    -------
    dict
        The four settings, checked by :func:`check_stft_options`.

    Example
    -------
    >>> complete_settings(n_fft=1024, win_length=64, hop_length=None)
    {'sample_rate': 16000, 'n_fft': 1024, 'win_length': 64, 'hop_length': 16}
    """
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"Unknown STFT settings: {sorted(unknown)}")
    defaults = _default_settings()
    return check_stft_options(
        **{
            key: defaults[key] if settings.get(key) is None else settings[key]
            for key in SETTINGS
        }
    )


def stft_hparams(
    sample_rate=None, n_fft=None, win_length=None, hop_length=None
):
    """The STFT, magnitude and resynthesis of training and inference.

    Arguments
    ---------
    sample_rate : int
        Sample rate in Hz.
    n_fft : int
        FFT size.
    win_length : float
        Window length in ms.
    hop_length : float
        Hop length in ms.

    A setting left out is that of :data:`DEFAULT_FEATURES`.

    Returns
    -------
    dict
        ``compute_stft``, ``compute_istft``, ``spectral_magnitude`` and
        ``resynth``, as ``SpectralMaskEnhancement`` uses them.

    Example
    -------
    >>> hparams = stft_hparams()
    >>> hparams["compute_stft"](torch.zeros(1, 16000)).shape
    torch.Size([1, 63, 257, 2])
    >>> stft_hparams(win_length=8, hop_length=16)
    Traceback (most recent call last):
    ...
    ValueError: STFT: win_length=8 ms is shorter than hop_length=16 ms, \
so some samples would be in no window; use win_length >= hop_length
    """
    options = complete_settings(
        sample_rate=sample_rate,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
    )
    compute_stft, compute_istft = STFT(**options), ISTFT(**options)
    return {
        "compute_stft": compute_stft,
        "compute_istft": compute_istft,
        "spectral_magnitude": functools.partial(spectral_magnitude, power=0.5),
        "resynth": functools.partial(
            resynthesize,
            stft=compute_stft,
            istft=compute_istft,
            normalize_wavs=False,
        ),
    }


def compute_features(wavs, hparams):
    """Log1p STFT magnitudes ``[batch, time, freq]``, as ``EnhanceBrain``.

    Arguments
    ---------
    wavs : torch.Tensor
        Waveforms ``[batch, samples]``.
    hparams : dict
        As returned by :func:`stft_hparams`.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> compute_features(torch.zeros(2, 8000), stft_hparams()).shape
    torch.Size([2, 32, 257])
    """
    spec = hparams["compute_stft"](wavs)
    return torch.log1p(hparams["spectral_magnitude"](spec))


def estimate_mask(model, feats):
    """The model's mask for whole utterances (``lengths`` all 1 if taken).

    Arguments
    ---------
    model : torch.nn.Module
        The mask network; ``forward(feats)`` or ``forward(feats,
        lengths)``.
    feats : torch.Tensor
        Features ``[batch, time, freq]``.

    Returns
    -------
    torch.Tensor
        The mask, as ``SpectralMaskEnhancement`` computes it.

    Example
    -------
    >>> estimate_mask(torch.nn.Sigmoid(), torch.zeros(1, 2, 3)).sum().item()
    3.0
    """
    if lengths_arg_exists(model.forward):
        return model(feats, lengths=torch.ones(len(feats)))
    return model(feats)


def enhance(model, wav, hparams):
    """Enhances one waveform from the model and the features alone.

    The computation of ``SpectralMaskEnhancement.enhance_batch`` and of
    the validation stage of training: the reference that every exported
    artefact must reproduce.

    Arguments
    ---------
    model : torch.nn.Module
        The mask network, in ``eval()`` mode.
    wav : torch.Tensor
        One waveform ``[samples]``.
    hparams : dict
        As returned by :func:`stft_hparams`.

    Returns
    -------
    torch.Tensor
        The enhanced waveform ``[samples]``.

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=1, base_channels=2).eval()
    >>> enhance(model, torch.rand(8000) - 0.5, stft_hparams()).shape
    torch.Size([8000])
    """
    with torch.no_grad():
        feats = compute_features(wav[None], hparams)
        mask = estimate_mask(model, feats)
        return hparams["resynth"](torch.expm1(mask * feats), wav[None])[0]
