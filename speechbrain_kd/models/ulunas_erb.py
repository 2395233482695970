"""Fixed ERB band merging and splitting of the upper STFT bins (UL-UNAS).

The low bins are kept as they are and the high bins are merged into bands
equally spaced on the ERB scale by triangular filters, as in GTCRN (Rong et
al., ICASSP 2024) and UL-UNAS (Rong et al., IEEE TASLP 2026). The
filterbank is fixed: its matrices are parameters that do not learn.

Authors
 * speechbrain-kd contributors 2026
"""

import numpy as np
import torch
from torch import nn


def hz_to_erb(freq_hz):
    """Converts Hz to the ERB-rate scale (Glasberg and Moore, 1990).

    Arguments
    ---------
    freq_hz : float or numpy.ndarray
        Frequency in Hz.

    Returns
    -------
    float or numpy.ndarray

    Example
    -------
    >>> round(float(erb_to_hz(hz_to_erb(1000.0))), 6)
    1000.0
    """
    return 21.4 * np.log10(0.00437 * freq_hz + 1.0)


def erb_to_hz(erb):
    """Converts the ERB-rate scale back to Hz (inverse of ``hz_to_erb``).

    Arguments
    ---------
    erb : float or numpy.ndarray
        ERB-rate value.

    Returns
    -------
    float or numpy.ndarray
    """
    return (10.0 ** (erb / 21.4) - 1.0) / 0.00437


def erb_filterbank(n_low, n_bands, n_fft=512, sample_rate=16000):
    """Triangular filters merging bins ``n_low ..`` into ERB bands.

    Band centres are spaced evenly on the ERB scale from bin ``n_low`` to
    the Nyquist frequency and rounded to bins; each band rises linearly
    from the previous centre and falls to the next one (the first band
    only falls, the last one only rises).

    Arguments
    ---------
    n_low : int
        Bins kept as they are (and where the first band starts).
    n_bands : int
        Number of ERB bands.
    n_fft : int
        FFT size.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    torch.Tensor
        ``[n_bands, n_fft // 2 + 1 - n_low]`` float32 weights.

    Example
    -------
    >>> erb_filterbank(65, 64).shape
    torch.Size([64, 192])
    """
    n_bins = n_fft // 2 + 1
    low_erb = hz_to_erb(n_low / n_fft * sample_rate)
    high_erb = hz_to_erb(sample_rate / 2)
    centres_hz = erb_to_hz(np.linspace(low_erb, high_erb, n_bands))
    centres = np.round(centres_hz / sample_rate * n_fft).astype(int)
    weights = np.zeros((n_bands, n_bins))
    for band in range(n_bands):
        if band > 0:
            start, stop = centres[band - 1], centres[band]
            rise = np.arange(start, stop)
            weights[band, start:stop] = (rise - start) / (stop - start)
        if band < n_bands - 1:
            start, stop = centres[band], centres[band + 1]
            fall = np.arange(start, stop)
            weights[band, start:stop] = (stop - fall) / (stop - start)
    # The last band reaches 1 at the Nyquist bin itself
    weights[-1, centres[-1]] = 1.0
    return torch.from_numpy(weights[:, n_low:]).float()


class ERBBands(nn.Module):
    """Merges the upper bins into ERB bands (``compress``) and back.

    Arguments
    ---------
    n_low : int
        Low bins kept as they are.
    n_bands : int
        ERB bands replacing the remaining bins.
    n_fft : int
        FFT size.
    sample_rate : int
        Sample rate in Hz.

    Example
    -------
    >>> bands = ERBBands(65, 64)
    >>> x = torch.rand(2, 1, 10, 257)
    >>> bands.compress(x).shape
    torch.Size([2, 1, 10, 129])
    >>> bands.expand(bands.compress(x)).shape
    torch.Size([2, 1, 10, 257])
    >>> sum(p.requires_grad for p in bands.parameters())
    0
    """

    # The names of the official UL-UNAS and GTCRN checkpoints
    OFFICIAL_NAMES = {
        "to_bands": "erb_fc.weight",
        "from_bands": "ierb_fc.weight",
    }

    def __init__(self, n_low=65, n_bands=64, n_fft=512, sample_rate=16000):
        super().__init__()
        self.n_low = n_low
        self.n_bins = n_fft // 2 + 1
        filters = erb_filterbank(n_low, n_bands, n_fft, sample_rate)
        self.to_bands = nn.Parameter(filters, requires_grad=False)
        self.from_bands = nn.Parameter(
            filters.T.contiguous(), requires_grad=False
        )

    def compress(self, x):
        """Returns ``x [..., bins]`` with the upper bins merged into bands."""
        high = torch.matmul(x[..., self.n_low :], self.to_bands.T)
        return torch.cat([x[..., : self.n_low], high], dim=-1)

    def expand(self, x):
        """Returns ``x [..., n_low + bands]`` spread back onto the bins."""
        high = torch.matmul(x[..., self.n_low :], self.from_bands.T)
        return torch.cat([x[..., : self.n_low], high], dim=-1)
