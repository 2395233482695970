"""Inference of complex-spectrum enhancement models, SpeechBrain style.

:class:`ComplexSpectrumEnhancement` is the ``SpectralMaskEnhancement`` of
models that take the noisy complex spectrum ``[batch, freq, time, 2]``
(real, imaginary) and return the enhanced spectrum, or a complex ratio
mask (GTCRN, UL-UNAS): the waveform is the inverse STFT of the estimate.
:class:`ComplexSTFT` and :class:`ComplexISTFT` are its transforms, and
those of training (``speechbrain_kd.features.ComplexSpectrum``).

This module imports nothing but torch and SpeechBrain: an exported hub
folder carries its source in ``custom.py``, so that ``foreign_class(...,
classname="ComplexSpectrumEnhancement")`` loads the folder where
``speechbrain_kd`` is not installed.

Authors
 * speechbrain-kd contributors 2026
"""

import torch
from speechbrain.inference.enhancement import SpectralMaskEnhancement

# Analysis/synthesis windows (periodic), by name
WINDOWS = ("hann", "sqrt_hann")


def make_window(name, length):
    """A periodic analysis/synthesis window.

    Arguments
    ---------
    name : str
        ``hann`` or ``sqrt_hann``.
    length : int
        Samples.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> make_window("sqrt_hann", 4) ** 2
    tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    if name not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {name!r}")
    window = torch.hann_window(length)
    return window.sqrt() if name == "sqrt_hann" else window


class ComplexSTFT(torch.nn.Module):
    """Waveforms ``[batch, samples]`` to spectra ``[batch, freq, time, 2]``.

    Centred frames (reflection padding), as ``torch.stft`` by default.

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
        ``hann`` or ``sqrt_hann``.

    Example
    -------
    >>> stft = ComplexSTFT(16000, 512, 32, 16, "sqrt_hann")
    >>> stft(torch.zeros(2, 16000)).shape
    torch.Size([2, 257, 63, 2])
    """

    def __init__(self, sample_rate, n_fft, win_length, hop_length, window):
        super().__init__()
        self.sample_rate, self.n_fft = sample_rate, n_fft
        self.win_samples = round(sample_rate * win_length / 1000)
        self.hop_samples = round(sample_rate * hop_length / 1000)
        self.register_buffer(
            "window", make_window(window, self.win_samples), persistent=False
        )

    def forward(self, wavs):
        """The spectra of ``wavs``."""
        spec = torch.stft(
            wavs,
            self.n_fft,
            self.hop_samples,
            self.win_samples,
            self.window.to(wavs.device),
            return_complex=True,
        )
        return torch.view_as_real(spec)


class ComplexISTFT(ComplexSTFT):
    """Spectra ``[batch, freq, time, 2]`` back to waveforms.

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
        ``hann`` or ``sqrt_hann``.

    Example
    -------
    >>> options = (16000, 512, 32, 16, "hann")
    >>> wav = torch.rand(1, 8000) - 0.5
    >>> back = ComplexISTFT(*options)(ComplexSTFT(*options)(wav), 8000)
    >>> torch.allclose(back, wav, atol=1e-5)
    True
    """

    def forward(self, spec, length):
        """The waveforms of ``spec``, ``length`` samples long."""
        return torch.istft(
            torch.view_as_complex(spec.float().contiguous()),
            self.n_fft,
            self.hop_samples,
            self.win_samples,
            self.window.to(spec.device),
            length=length,
        )


def apply_complex_mask(mask, spec):
    """The complex product of a ratio mask and a spectrum.

    Arguments
    ---------
    mask : torch.Tensor
        ``[..., 2]`` (real, imaginary).
    spec : torch.Tensor
        Same shape.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> i = torch.tensor([0.0, 1.0])
    >>> apply_complex_mask(i, i)  # i * i = -1
    tensor([-1.,  0.])
    """
    real = mask[..., 0] * spec[..., 0] - mask[..., 1] * spec[..., 1]
    imag = mask[..., 0] * spec[..., 1] + mask[..., 1] * spec[..., 0]
    return torch.stack([real, imag], dim=-1)


class ComplexSpectrumEnhancement(SpectralMaskEnhancement):
    """A ready-to-use complex-spectrum enhancement model.

    The ``SpectralMaskEnhancement`` of models that take the noisy
    spectrum ``[batch, freq, time, 2]`` and return the enhanced spectrum
    (``hparams.output: spectrum``) or a complex ratio mask (``mask``).
    Needs ``compute_stft`` (a :class:`ComplexSTFT`), ``compute_istft`` (a
    :class:`ComplexISTFT`) and ``output`` in its hyperparameters and
    ``enhance_model`` in its modules. ``enhance_file`` is inherited.

    Arguments
    ---------
    See ``Pretrained``.

    Example
    -------
    >>> options = dict(sample_rate=16000, n_fft=512, win_length=32,
    ...                hop_length=16, window="sqrt_hann")
    >>> enhancer = ComplexSpectrumEnhancement(
    ...     modules={"enhance_model": torch.nn.Identity()},
    ...     hparams={"compute_stft": ComplexSTFT(**options),
    ...              "compute_istft": ComplexISTFT(**options),
    ...              "output": "spectrum"},
    ... )
    >>> noisy = torch.rand(1, 8000) - 0.5
    >>> torch.allclose(enhancer.enhance_batch(noisy), noisy, atol=1e-5)
    True
    """

    HPARAMS_NEEDED = ["compute_stft", "compute_istft", "output"]
    MODULES_NEEDED = ["enhance_model"]

    def compute_features(self, wavs):
        """The noisy spectra ``[batch, freq, time, 2]``."""
        return self.hparams.compute_stft(wavs)

    def enhance_batch(self, noisy, lengths=None):
        """Enhances a batch of waveforms ``[batch, samples]``.

        Arguments
        ---------
        noisy : torch.Tensor
            The waveforms.
        lengths : torch.Tensor, optional
            Relative lengths, passed on if the model takes them.

        Returns
        -------
        torch.Tensor
            The enhanced waveforms, as long as ``noisy``.
        """
        noisy = noisy.to(self.device)
        spec = self.compute_features(noisy)
        if lengths is not None:
            output = self.mods.enhance_model(spec, lengths=lengths)
        else:
            output = self.mods.enhance_model(spec)
        if self.hparams.output == "mask":
            output = apply_complex_mask(output, spec)
        return self.hparams.compute_istft(output, noisy.shape[-1])
