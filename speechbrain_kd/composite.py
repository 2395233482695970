"""The composite measures CSIG, CBAK and COVL of Hu & Loizou (2008).

Three regressions on PESQ and three frame-based distances between the
clean and the enhanced signal: the log-likelihood ratio of their LPC
models (LLR), Klatt's weighted spectral slope distance (WSS) and the
segmental SNR. Follows Loizou's ``composite.m`` and its ports (SEGAN's
``eval_composite``, ``pysepm``). ``speechbrain_kd.metrics.composite``
checks the signals and computes PESQ, then calls
:func:`composite_measures`.

References
----------
Y. Hu and P. C. Loizou, "Evaluation of objective quality measures for
speech enhancement", IEEE Trans. Audio, Speech, Lang. Process., 2008.

D. H. Klatt, "Prediction of perceived phonetic distance from
critical-band spectra", ICASSP 1982.

Authors
 * speechbrain-kd contributors 2025
"""

import math
from functools import lru_cache

import numpy as np

# Added to silent frames' energy: machine epsilon of float64
_EPS = np.finfo(np.float64).eps

# Hu & Loizou (2008) frame analysis: 30 ms Hann frames, 75 % overlap.
_FRAME_SECONDS = 0.030
_TRIM_FRACTION = 0.95  # LLR and WSS average the 95 % lowest frames.
_SEGSNR_RANGE = (-10.0, 35.0)

# Klatt's 25 critical bands for WSS: centre frequencies and bandwidths (Hz).
_CENTRE_FREQS = np.array(
    [
        50.0, 120.0, 190.0, 260.0, 330.0, 400.0, 470.0, 540.0, 617.372,
        703.378, 798.717, 904.128, 1020.38, 1148.30, 1288.72, 1442.54,
        1610.70, 1794.16, 1993.93, 2211.08, 2446.71, 2701.97, 2978.04,
        3276.17, 3597.63,
    ]
)  # fmt: skip
_BANDWIDTHS = np.array(
    [
        70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 77.3724, 86.0056,
        95.3398, 105.411, 116.256, 127.914, 140.423, 153.823, 168.154,
        183.457, 199.776, 217.153, 235.631, 255.255, 276.072, 298.126,
        321.465, 346.136,
    ]
)  # fmt: skip
_WSS_KMAX = 20.0  # Klatt (1982), p. 1280.
_WSS_KLOCMAX = 1.0


def composite_measures(enhanced, clean, sample_rate, pesq_value):
    """CSIG, CBAK and COVL of two signals, given their PESQ.

    The computation of ``speechbrain_kd.metrics.composite`` once the
    signals are checked and trimmed to a common length and their PESQ is
    known (Hu & Loizou 2008; see this module's description).

    Arguments
    ---------
    enhanced : numpy.ndarray
        The enhanced signal, 1-D float64.
    clean : numpy.ndarray
        The clean reference, 1-D float64, as long as ``enhanced``.
    sample_rate : int
        16000 (``pesq_value`` is wide-band PESQ) or 8000 (narrow-band
        MOS-LQO, mapped back to raw P.862).
    pesq_value : float
        PESQ of the pair; ``nan`` gives ``nan`` measures.

    Returns
    -------
    dict
        ``{"csig": float, "cbak": float, "covl": float}``, each in [1, 5].

    Example
    -------
    >>> t = np.arange(16000) / 16000
    >>> clean = np.sin(2 * np.pi * 200 * t) * np.sin(2 * np.pi * 3 * t) ** 2
    >>> composite_measures(clean, clean, 16000, 4.64)
    {'csig': 5.0, 'cbak': 5.0, 'covl': 5.0}
    >>> composite_measures(clean, clean, 16000, float("nan"))["csig"]
    nan
    """
    if math.isnan(pesq_value):
        return {"csig": math.nan, "cbak": math.nan, "covl": math.nan}
    if sample_rate == 8000:  # Undo the P.862.1 mapping: raw P.862 score.
        pesq_value = (
            4.6607 - math.log(4.0 / (pesq_value - 0.999) - 1.0)
        ) / 1.4945
    clean_frames = _frames(clean, sample_rate)
    enhanced_frames = _frames(enhanced, sample_rate)
    lpc_order = 10 if sample_rate < 10000 else 16
    llr = _trimmed_mean(_llr(clean_frames, enhanced_frames, lpc_order))
    wss = _trimmed_mean(_wss(clean_frames, enhanced_frames, sample_rate))
    segsnr = _segsnr(clean_frames, enhanced_frames)
    csig = 3.093 - 1.029 * llr + 0.603 * pesq_value - 0.009 * wss
    cbak = 1.634 + 0.478 * pesq_value - 0.007 * wss + 0.063 * segsnr
    covl = 1.594 + 0.805 * pesq_value - 0.512 * llr - 0.007 * wss
    return {
        key: float(np.clip(value, 1.0, 5.0))
        for key, value in (("csig", csig), ("cbak", cbak), ("covl", covl))
    }


def _frames(signal, sample_rate):
    """Hann-windowed 30 ms frames, 75 % overlap, as in Hu & Loizou.

    Frames start at sample 0 and the trailing samples that do not fill the
    reference implementation's frame count are dropped.
    """
    length = round(_FRAME_SECONDS * sample_rate)
    hop = length // 4
    n_frames = int(signal.size / hop - length / hop)
    window = 0.5 * (
        1.0 - np.cos(2.0 * np.pi * np.arange(1, length + 1) / (length + 1))
    )
    frames = np.lib.stride_tricks.sliding_window_view(signal, length)
    return frames[: n_frames * hop : hop] * window


def _trimmed_mean(values):
    """Mean of the ``_TRIM_FRACTION`` lowest values (MATLAB rounding)."""
    keep = int(math.floor(values.size * _TRIM_FRACTION + 0.5))
    return float(np.mean(np.sort(values)[:keep]))


def _llr(clean_frames, enhanced_frames, order):
    """Per-frame log-likelihood ratio between LPC models."""
    clean_autocorr = _autocorrelation(clean_frames, order)
    clean_lpc = _levinson_durbin(clean_autocorr)
    enhanced_lpc = _levinson_durbin(_autocorrelation(enhanced_frames, order))
    lags = np.abs(np.subtract.outer(np.arange(order + 1), np.arange(order + 1)))
    toeplitz = clean_autocorr[:, lags]
    numerator = np.einsum("fi,fij,fj->f", enhanced_lpc, toeplitz, enhanced_lpc)
    denominator = np.einsum("fi,fij,fj->f", clean_lpc, toeplitz, clean_lpc)
    return np.log(numerator / denominator)


def _autocorrelation(frames, order):
    """Autocorrelation lags 0..order of each frame.

    Machine epsilon is added to lag 0 so that digitally silent frames give
    a flat, finite LPC model instead of a division by zero.
    """
    length = frames.shape[1]
    autocorr = np.stack(
        [
            np.sum(frames[:, : length - lag] * frames[:, lag:], axis=1)
            for lag in range(order + 1)
        ],
        axis=1,
    )
    autocorr[:, 0] += _EPS
    return autocorr


def _levinson_durbin(autocorr):
    """LPC polynomials ``[1, -a_1, ..., -a_p]`` of each frame."""
    n_frames, order = autocorr.shape[0], autocorr.shape[1] - 1
    coeffs = np.zeros((n_frames, order))
    error = autocorr[:, 0].copy()
    for i in range(order):
        past = coeffs[:, :i].copy()
        reflection = (
            autocorr[:, i + 1] - np.sum(past * autocorr[:, i:0:-1], axis=1)
        ) / error
        coeffs[:, i] = reflection
        coeffs[:, :i] = past - reflection[:, None] * past[:, ::-1]
        error = (1.0 - reflection**2) * error
    return np.concatenate([np.ones((n_frames, 1)), -coeffs], axis=1)


@lru_cache(maxsize=4)
def _critical_band_filters(sample_rate, n_fft):
    """Gaussian critical-band filters (25 x n_fft/2), cut at -30 dB."""
    half = n_fft // 2
    nyquist = sample_rate / 2.0
    centres = np.floor(_CENTRE_FREQS / nyquist * half)
    widths = _BANDWIDTHS / nyquist * half
    norm = np.log(_BANDWIDTHS[0]) - np.log(_BANDWIDTHS)
    bins = np.arange(half)
    filters = np.exp(
        -11.0 * ((bins[None, :] - centres[:, None]) / widths[:, None]) ** 2
        + norm[:, None]
    )
    return filters * (filters > np.exp(-30.0 / (2.0 * 2.303)))


def _wss(clean_frames, enhanced_frames, sample_rate):
    """Per-frame weighted spectral slope distance (Klatt, 1982)."""
    length = clean_frames.shape[1]
    n_fft = int(2 ** math.ceil(math.log2(2 * length)))
    filters = _critical_band_filters(sample_rate, n_fft)
    clean_db, clean_slope, clean_weight = _wss_bands(
        clean_frames, filters, n_fft
    )
    enhanced_db, enhanced_slope, enhanced_weight = _wss_bands(
        enhanced_frames, filters, n_fft
    )
    weight = (clean_weight + enhanced_weight) / 2.0
    distance = np.sum(weight * (clean_slope - enhanced_slope) ** 2, axis=1)
    return distance / np.sum(weight, axis=1)


def _wss_bands(frames, filters, n_fft):
    """Band energies (dB), spectral slopes and Klatt weights per frame."""
    spectrum = np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2
    energy = spectrum[:, : n_fft // 2] @ filters.T
    energy_db = 10.0 * np.log10(np.maximum(energy, 1e-10))
    slope = np.diff(energy_db, axis=1)
    peak = _nearest_peaks(slope, energy_db)
    band_db = energy_db[:, :-1]
    max_weight = _WSS_KMAX / (
        _WSS_KMAX + energy_db.max(axis=1, keepdims=True) - band_db
    )
    peak_weight = _WSS_KLOCMAX / (_WSS_KLOCMAX + peak - band_db)
    return energy_db, slope, max_weight * peak_weight


def _nearest_peaks(slope, energy_db):
    """Energy of the nearest spectral peak of each band, per frame.

    A band on a rising slope looks right, one on a falling slope looks left;
    the band indexing follows the reference implementation exactly, down to
    its search to the right stopping at the last slope when the spectrum
    rises to the top band (``wss.m``: ``while n < num_crit - 1``).
    """
    n_slopes = slope.shape[1]
    rising = slope > 0
    next_fall = np.empty(slope.shape, dtype=int)
    following = np.full(slope.shape[0], n_slopes - 1)
    for band in range(n_slopes - 1, -1, -1):
        following = np.where(rising[:, band], following, band)
        next_fall[:, band] = following
    last_rise = np.empty(slope.shape, dtype=int)
    preceding = np.full(slope.shape[0], -1)
    for band in range(n_slopes):
        preceding = np.where(rising[:, band], band, preceding)
        last_rise[:, band] = preceding
    index = np.where(rising, next_fall - 1, last_rise + 1)
    return np.take_along_axis(energy_db, index, axis=1)


def _segsnr(clean_frames, enhanced_frames):
    """Mean segmental SNR in dB, each frame clipped to [-10, 35] dB."""
    signal = np.sum(clean_frames**2, axis=1)
    noise = np.sum((clean_frames - enhanced_frames) ** 2, axis=1)
    snr = 10.0 * np.log10(signal / (noise + 1e-10) + 1e-10)
    return float(np.mean(np.clip(snr, *_SEGSNR_RANGE)))
