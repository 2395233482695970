"""The feature front-end: a model's input, its output's meaning, resynthesis.

A front-end object (:class:`SpectralFrontEnd`) is built with ``!new:`` in a
file of ``hparams/features`` (the only place its settings are written, and
checked when it is built). It computes the model's input from waveforms,
turns the model's output into the estimate of the clean spectrum that the
denoising loss compares with :meth:`~SpectralFrontEnd.target`, and
resynthesises the waveform; it knows its ``n_freq``, hop and latency, and
serves the Brains, export, streaming and the benchmarks. Two model
contracts: :class:`MagnitudeMask` (log1p STFT magnitudes
``[batch, time, freq]`` in, a magnitude mask out, the noisy phase: exactly
SpeechBrain's ``SpectralMaskEnhancement``) and :class:`ComplexSpectrum`
(the complex spectrum ``[batch, freq, time, 2]`` in, the enhanced spectrum
or a complex ratio mask out, as GTCRN and UL-UNAS take it).

Authors
 * speechbrain-kd contributors 2026
"""

from pathlib import Path

import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.processing.features import ISTFT, STFT, spectral_magnitude
from speechbrain.processing.signal_processing import resynthesize
from speechbrain.utils.callchains import lengths_arg_exists

from speechbrain_kd.inference import (
    WINDOWS,
    ComplexISTFT,
    ComplexSTFT,
    apply_complex_mask,
)
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
    return {key: _load_features(name)[key] for key in SETTINGS}


def _load_features(name):
    """The loaded features file (settings and ``front_end``)."""
    path = Path(name)
    if not path.suffix:
        path = FEATURES_FOLDER / f"{name}.yaml"
    return load_hyperpyyaml(f"features: !include:{path.resolve()}\n")[
        "features"
    ]


def load_front_end(name=DEFAULT_FEATURES):
    """The front-end object of a features file.

    Arguments
    ---------
    name : str or pathlib.Path
        A file name of ``hparams/features`` without ``.yaml``, or a path.

    Returns
    -------
    SpectralFrontEnd

    Example
    -------
    >>> load_front_end("complex_32ms")
    ComplexSpectrum(sample_rate=16000, n_fft=512, win_length=32, \
hop_length=16, window=sqrt_hann)
    """
    return _load_features(name)["front_end"]


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


def call_model(model, inputs, lengths=None):
    """Calls a model, with ``lengths`` if its ``forward`` takes them.

    Arguments
    ---------
    model : torch.nn.Module
        The model, possibly wrapped in DistributedDataParallel.
    inputs : torch.Tensor
        The model's input (of a front-end's ``model_input``).
    lengths : torch.Tensor, optional
        Relative lengths; all 1 (whole utterances) when None and the
        model takes them.

    Returns
    -------
    torch.Tensor
        The model's output.

    Example
    -------
    >>> call_model(torch.nn.Sigmoid(), torch.zeros(1, 2, 3)).sum().item()
    3.0
    """
    inner = getattr(model, "module", model)
    if lengths_arg_exists(inner.forward):
        if lengths is None:
            lengths = torch.ones(len(inputs), device=inputs.device)
        return model(inputs, lengths=lengths)
    return model(inputs)


class SpectralFrontEnd:
    """The feature front-end of one model: STFT in, waveform out.

    It computes the model's input from waveforms, turns the model's
    output into an estimate of the clean spectrum (the quantity the
    denoising loss compares with :meth:`target`), and resynthesises the
    waveform. Subclasses fix the model contract: :class:`MagnitudeMask`
    (log1p magnitude in, magnitude mask out, noisy phase) and
    :class:`ComplexSpectrum` (complex spectrum in, enhanced complex
    spectrum or complex ratio mask out). Build one with ``!new:`` in a
    file of ``hparams/features``; it checks its settings on construction.

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
    """

    contract = None

    def __init__(self, sample_rate, n_fft, win_length, hop_length):
        self.settings = check_stft_options(
            sample_rate, n_fft, win_length, hop_length
        )

    def __getattr__(self, name):
        if name in SETTINGS:
            return self.__dict__["settings"][name]
        raise AttributeError(name)

    def __repr__(self):
        options = ", ".join(f"{k}={v}" for k, v in self.describe().items())
        return f"{type(self).__name__}({options})"

    def describe(self):
        """The settings that define this front-end (recorded, compared).

        Returns
        -------
        dict
        """
        return dict(self.settings)

    # The time axis of the model's input and output
    time_axis = 1

    @property
    def n_freq(self):
        """Frequency bins of the spectrum."""
        return self.n_fft // 2 + 1

    @property
    def hop_samples(self):
        """Hop in samples."""
        return round(self.sample_rate * self.hop_length / 1000)

    @property
    def win_samples(self):
        """Window in samples."""
        return round(self.sample_rate * self.win_length / 1000)

    def example_input(self, n_frames, fill=0.0):
        """A model input of one utterance of ``n_frames`` frames.

        Arguments
        ---------
        n_frames : int
            Frames.
        fill : float
            The value of every element.

        Returns
        -------
        torch.Tensor
            ``[1, time, freq]`` (magnitude) or ``[1, freq, time, 2]``
            (complex).

        Example
        -------
        >>> load_front_end("complex_32ms").example_input(10).shape
        torch.Size([1, 257, 10, 2])
        """
        if self.time_axis == 1:
            shape = (1, n_frames, self.n_freq)
        else:
            shape = (1, self.n_freq, n_frames, 2)
        return torch.full(shape, fill)

    def latency_ms(self, lookahead_frames=0):
        """Algorithmic latency: one window plus the model's look-ahead.

        Arguments
        ---------
        lookahead_frames : int
            Future frames the model reads (0 for a causal model).

        Returns
        -------
        float
        """
        return self.win_length + lookahead_frames * self.hop_length

    def check_model(self, model, setting="features"):
        """Raises if the model requires other STFT settings than these.

        A model class may declare ``required_features`` (a dict of
        settings it was built or trained for, such as a published model's
        STFT); every one of them must equal this front-end's.

        Arguments
        ---------
        model : torch.nn.Module
            The model (possibly wrapped in DDP).
        setting : str
            The hyperparameter that chose this front-end, for the error.

        Example
        -------
        >>> model = torch.nn.Identity()
        >>> model.required_features = {"n_fft": 512, "window": "sqrt_hann"}
        >>> ComplexSpectrum(16000, 256, 16, 8).check_model(model)
        Traceback (most recent call last):
        ...
        ValueError: Identity requires the features n_fft=512, \
window=sqrt_hann, but features gives n_fft=256, window=hann: use a \
features file with the model's settings
        """
        model = getattr(model, "module", model)
        required = getattr(model, "required_features", None) or {}
        ours = self.describe()
        wrong = {k: v for k, v in required.items() if ours.get(k) != v}
        if wrong:
            raise ValueError(
                f"{type(model).__name__} requires the features "
                + ", ".join(f"{k}={v}" for k, v in wrong.items())
                + f", but {setting} gives "
                + ", ".join(f"{k}={ours.get(k)}" for k in wrong)
                + ": use a features file with the model's settings"
            )

    def model_input(self, wavs):
        """The model's input for waveforms ``[batch, samples]``."""
        raise NotImplementedError

    def estimate(self, output, inputs):
        """The clean-spectrum estimate from the model's output."""
        raise NotImplementedError

    def target(self, clean):
        """The clean waveforms in the domain of :meth:`estimate`."""
        raise NotImplementedError

    def waveform(self, estimate, noisy):
        """Resynthesises the estimate; ``noisy`` gives phase and length."""
        raise NotImplementedError

    def enhance(self, model, wav):
        """Enhances one waveform ``[samples]`` with a model in ``eval()``.

        The computation of the validation stage of training: the reference
        that every exported artefact must reproduce.

        Arguments
        ---------
        model : torch.nn.Module
            The enhancement model.
        wav : torch.Tensor
            One waveform ``[samples]``.

        Returns
        -------
        torch.Tensor
            The enhanced waveform ``[samples]``.
        """
        with torch.no_grad():
            inputs = self.model_input(wav[None])
            output = call_model(model, inputs)
            return self.waveform(self.estimate(output, inputs), wav[None])[0]


class MagnitudeMask(SpectralFrontEnd):
    """Log1p STFT magnitudes in, a magnitude mask out, the noisy phase.

    Features ``[batch, time, freq]`` computed with SpeechBrain's ``STFT``
    and ``spectral_magnitude``; the estimate is ``mask * feats`` (a log1p
    magnitude) and the waveform is resynthesised from its ``expm1`` with
    the noisy phase, exactly as ``SpectralMaskEnhancement`` does, so a hub
    folder of such a model loads there unchanged.

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

    Example
    -------
    >>> front_end = MagnitudeMask(16000, 512, 32, 16)
    >>> feats = front_end.model_input(torch.zeros(2, 8000))
    >>> feats.shape
    torch.Size([2, 32, 257])
    >>> estimate = front_end.estimate(torch.ones_like(feats), feats)
    >>> front_end.waveform(estimate, torch.zeros(2, 8000)).shape
    torch.Size([2, 8000])
    """

    contract = "magnitude"

    def __init__(self, sample_rate, n_fft, win_length, hop_length):
        super().__init__(sample_rate, n_fft, win_length, hop_length)
        self.compute_stft = STFT(**self.settings)
        self.compute_istft = ISTFT(**self.settings)

    def describe(self):
        """The STFT settings and the window (Hamming, SpeechBrain's)."""
        return {**self.settings, "window": "hamming"}

    def model_input(self, wavs):
        """Log1p magnitudes ``[batch, time, freq]``."""
        spec = self.compute_stft(wavs)
        return torch.log1p(spectral_magnitude(spec, power=0.5))

    def estimate(self, output, inputs):
        """The masked log1p magnitude."""
        return output * inputs

    def target(self, clean):
        """The clean log1p magnitude."""
        return self.model_input(clean)

    def waveform(self, estimate, noisy):
        """``expm1(estimate)`` with the noisy phase, noisy's length."""
        return resynthesize(
            torch.expm1(estimate),
            noisy,
            stft=self.compute_stft,
            istft=self.compute_istft,
            normalize_wavs=False,
        )


class ComplexSpectrum(SpectralFrontEnd):
    """The complex spectrum in, the enhanced spectrum (or a mask) out.

    The contract of the published ultra-light models (GTCRN, UL-UNAS):
    the input is the noisy STFT ``[batch, freq, time, 2]`` (real,
    imaginary), the output the enhanced spectrum of the same shape
    (``output="spectrum"``) or a complex ratio mask applied to the noisy
    spectrum (``output="mask"``); the waveform is its inverse STFT.

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
    window : str
        ``hann`` or ``sqrt_hann`` (periodic), for analysis and synthesis.
    output : str
        ``spectrum`` or ``mask``.

    Example
    -------
    >>> front_end = ComplexSpectrum(16000, 512, 32, 16, window="sqrt_hann")
    >>> wav = torch.rand(1, 8000) - 0.5
    >>> spec = front_end.model_input(wav)
    >>> spec.shape
    torch.Size([1, 257, 32, 2])
    >>> back = front_end.waveform(front_end.estimate(spec, spec), wav)
    >>> torch.allclose(back, wav, atol=1e-5)  # perfect reconstruction
    True
    """

    contract = "complex"
    time_axis = 2

    def __init__(
        self,
        sample_rate,
        n_fft,
        win_length,
        hop_length,
        window="hann",
        output="spectrum",
    ):
        super().__init__(sample_rate, n_fft, win_length, hop_length)
        if window not in WINDOWS:
            raise ValueError(
                f"ComplexSpectrum window must be one of {WINDOWS}, got "
                f"{window!r}"
            )
        if output not in ("spectrum", "mask"):
            raise ValueError(
                "ComplexSpectrum output must be 'spectrum' or 'mask', got "
                f"{output!r}"
            )
        self.window_name, self.output = window, output
        options = {**self.settings, "window": window}
        self.compute_stft = ComplexSTFT(**options)
        self.compute_istft = ComplexISTFT(**options)

    def describe(self):
        """The STFT settings, the window and what the model outputs."""
        return {**self.settings, "window": self.window_name}

    def model_input(self, wavs):
        """The noisy spectrum ``[batch, freq, time, 2]``."""
        return self.compute_stft(wavs)

    def estimate(self, output, inputs):
        """The output, or the complex mask times the noisy spectrum."""
        if self.output == "spectrum":
            return output
        return apply_complex_mask(output, inputs)

    def target(self, clean):
        """The clean spectrum."""
        return self.model_input(clean)

    def waveform(self, estimate, noisy):
        """The inverse STFT, as long as ``noisy``."""
        return self.compute_istft(estimate, noisy.shape[-1])


def front_end_of(hparams):
    """The front-end of a recipe's hyperparameters.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters: ``front_end``, or the ``front_end`` of
        their ``features`` (a file of ``hparams/features``), or else the
        STFT settings of :data:`SETTINGS`, which make a
        :class:`MagnitudeMask`.

    Returns
    -------
    SpectralFrontEnd

    Example
    -------
    >>> front_end_of(load_features_file("stft_16ms")).n_freq
    129
    """
    front_end = hparams.get("front_end")
    if front_end is None:
        front_end = (hparams.get("features") or {}).get("front_end")
    if front_end is not None:
        return front_end
    return MagnitudeMask(**feature_settings(hparams))
