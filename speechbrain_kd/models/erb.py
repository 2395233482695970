"""Fixed ERB band merging and splitting of a linear-frequency spectrum.

The low bins of a spectrum are kept as they are; the bins above them are
merged into bands spaced evenly on the ERB-rate scale of Glasberg & Moore
(1990) by triangular filters, and split back by the transposed filters.
This is the band layout of GTCRN (Rong et al., ICASSP 2024).

Authors
 * speechbrain-kd contributors 2026
"""

import numpy as np
import torch
from torch import nn


def hz_to_erb_rate(freq_hz):
    """Converts frequency in Hz to the ERB-rate scale.

    Arguments
    ---------
    freq_hz : float or numpy.ndarray
        Frequency in Hz.

    Returns
    -------
    float or numpy.ndarray

    Example
    -------
    >>> round(float(hz_to_erb_rate(1000.0)), 2)
    15.62
    """
    return 21.4 * np.log10(0.00437 * freq_hz + 1.0)


def erb_rate_to_hz(erb_rate):
    """Converts an ERB-rate value back to Hz (inverse of hz_to_erb_rate).

    Arguments
    ---------
    erb_rate : float or numpy.ndarray
        Value on the ERB-rate scale.

    Returns
    -------
    float or numpy.ndarray

    Example
    -------
    >>> round(float(erb_rate_to_hz(hz_to_erb_rate(440.0))), 6)
    440.0
    """
    return (10.0 ** (erb_rate / 21.4) - 1.0) / 0.00437


def erb_filterbank(
    kept_bins=65, n_bands=64, n_fft=512, sample_rate=16000, high_hz=8000.0
):
    """Triangular ERB filters over the bins above the ``kept_bins`` lowest.

    Band centres are FFT bins at evenly spaced ERB-rate values from the
    frequency of bin ``kept_bins`` to ``high_hz``. Each filter rises
    linearly from the previous centre to its own (value 1) and falls to the
    next one; the first has no rising part and the last no falling part.

    Arguments
    ---------
    kept_bins : int
        Number of low bins left unmerged.
    n_bands : int
        Number of ERB bands the higher bins are merged into.
    n_fft : int
        FFT size.
    sample_rate : int
        Sampling rate in Hz.
    high_hz : float
        Centre frequency of the last band.

    Returns
    -------
    torch.Tensor
        ``[n_bands, n_fft // 2 + 1 - kept_bins]`` float32 filters.

    Example
    -------
    >>> erb_filterbank().shape
    torch.Size([64, 192])
    """
    low_hz = kept_bins / n_fft * sample_rate
    rates = np.linspace(
        hz_to_erb_rate(low_hz), hz_to_erb_rate(high_hz), n_bands
    )
    centres = np.round(erb_rate_to_hz(rates) / sample_rate * n_fft)
    bins = np.arange(n_fft // 2 + 1, dtype=np.float64)[None, :]
    previous = np.concatenate([[-np.inf], centres[:-1]])[:, None]
    following = np.concatenate([centres[1:], [np.inf]])[:, None]
    here = centres[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = (bins - previous) / (here - previous)
        falling = (following - bins) / (following - here)
    # The first filter has no rising side, the last no falling side.
    rising[0] = np.where(bins[0] >= here[0], 1.0, 0.0)
    falling[-1] = np.where(bins[0] <= here[-1], 1.0, 0.0)
    filters = np.clip(np.minimum(rising, falling), 0.0, 1.0)
    filters = np.nan_to_num(filters)
    return torch.from_numpy(filters[:, kept_bins:].astype(np.float32))


class ERBBands(nn.Module):
    """Merges spectrum bins into ERB bands and splits bands back into bins.

    The two matrices are fixed: the weights of the bias-free linear layers
    ``merge`` and ``split`` do not require gradients, so that
    ``count_parameters(model, trainable_only=True)`` leaves them out while
    the total counts them (as the GTCRN paper does), and MAC counters that
    hook ``nn.Linear`` count them.

    Arguments
    ---------
    kept_bins : int
        Number of low bins passed through unchanged.
    n_bands : int
        Number of ERB bands of the higher bins.
    n_fft : int
        FFT size.
    sample_rate : int
        Sampling rate in Hz.

    Example
    -------
    >>> bands = ERBBands()
    >>> x = torch.rand(2, 3, 10, 257)
    >>> bands.to_bands(x).shape
    torch.Size([2, 3, 10, 129])
    >>> bands.from_bands(bands.to_bands(x)).shape
    torch.Size([2, 3, 10, 257])
    """

    def __init__(self, kept_bins=65, n_bands=64, n_fft=512, sample_rate=16000):
        super().__init__()
        self.kept_bins = kept_bins
        filters = erb_filterbank(
            kept_bins, n_bands, n_fft, sample_rate, sample_rate / 2
        )
        self.merge = _fixed_linear(filters)
        self.split = _fixed_linear(filters.t().contiguous())

    @property
    def n_outputs(self):
        """Number of values per frame after merging (kept bins + bands)."""
        return self.kept_bins + self.merge.out_features

    def to_bands(self, x):
        """Merges the last dimension ``[..., n_fft // 2 + 1]`` into bands.

        Arguments
        ---------
        x : torch.Tensor
            ``[..., freq]``.

        Returns
        -------
        torch.Tensor
            ``[..., kept_bins + n_bands]``.
        """
        low, high = x[..., : self.kept_bins], x[..., self.kept_bins :]
        high = self.merge(high)
        return torch.cat([low, high], dim=-1)

    def from_bands(self, x):
        """Spreads ``[..., kept_bins + n_bands]`` back over the bins.

        Arguments
        ---------
        x : torch.Tensor
            ``[..., kept_bins + n_bands]``.

        Returns
        -------
        torch.Tensor
            ``[..., n_fft // 2 + 1]``.
        """
        low, high = x[..., : self.kept_bins], x[..., self.kept_bins :]
        high = self.split(high)
        return torch.cat([low, high], dim=-1)


def _fixed_linear(matrix):
    """A bias-free ``nn.Linear`` whose weight is ``matrix``, not learnable."""
    out_features, in_features = matrix.shape
    layer = nn.Linear(in_features, out_features, bias=False)
    layer.weight = nn.Parameter(matrix, requires_grad=False)
    return layer
