"""Speech-quality metrics for 8/16 kHz speech enhancement.

Scores an enhanced signal against its clean reference with PESQ, STOI,
SI-SDR and the composite measures CSIG, CBAK and COVL of Hu & Loizou (2008),
one utterance at a time or a whole folder in parallel. Every metric accepts
1-D numpy arrays or torch tensors. The command ``sbkd-score``
(:mod:`speechbrain_kd.cli.score`) scores a folder.

References
----------
Y. Hu and P. C. Loizou, "Evaluation of objective quality measures for
speech enhancement", IEEE Trans. Audio, Speech, Lang. Process., 2008.

J. Le Roux, S. Wisdom, H. Erdogan and J. R. Hershey, "SDR - half-baked or
well done?", ICASSP 2019.

Authors
 * speechbrain-kd contributors 2025
"""

import csv
import math
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch
from pesq import PesqError, pesq
from pystoi import stoi as _pystoi
from tqdm import tqdm

from speechbrain_kd.composite import composite_measures
from speechbrain_kd.data.audio import read_audio

METRICS = ("pesq", "stoi", "sisdr", "csig", "cbak", "covl")

PESQ_SAMPLE_RATES = (8000, 16000)

# Ceiling of SI-SDR: 10 * log10(1 / eps), about 156.5 dB for float64.
_EPS = np.finfo(np.float64).eps

# Length mismatches up to max(160 samples, 1 %) are trimmed with a warning.
_LENGTH_TOLERANCE_SAMPLES = 160
_LENGTH_TOLERANCE_FRACTION = 0.01

# Why PESQ could not score, by the error code of PesqError.RETURN_VALUES.
_PESQ_ERRORS = {
    PesqError.BUFFER_TOO_SHORT: "shorter than 1/4 s: BufferTooShortError",
    PesqError.NO_UTTERANCES_DETECTED: "no utterances: NoUtterancesError",
}


def pesq_wb(enhanced, clean, sample_rate=16000, name: str | None = None):
    """Computes PESQ (MOS-LQO) with the ``pesq`` package.

    At 16 kHz this is wide-band PESQ (ITU-T P.862.2); wide-band PESQ is not
    defined at 8 kHz, where narrow-band PESQ (P.862.1) is returned instead.
    Inputs are trimmed or rejected as described in ``score``.

    Arguments
    ---------
    enhanced : numpy.ndarray or torch.Tensor
        The enhanced (degraded) signal, 1-D.
    clean : numpy.ndarray or torch.Tensor
        The clean reference signal, 1-D.
    sample_rate : int
        Sampling rate of both signals: 16000 (wide-band) or 8000.
    name : str, optional
        Name of the utterance, used in warnings and error messages.

    Returns
    -------
    float
        MOS-LQO in about [1.04, 4.64], or ``nan`` (with a warning saying
        why) when PESQ cannot score the pair, e.g. a silent reference (no
        utterances detected), a silent enhanced signal or less than 1/4 s.

    Example
    -------
    >>> t = np.arange(16000) / 16000
    >>> buzz = np.sign(np.sin(2 * np.pi * 120 * t))  # 120 Hz pulses
    >>> clean = 0.5 * buzz * np.sin(2 * np.pi * 3 * t) ** 2  # syllables
    >>> round(pesq_wb(clean, clean), 2)
    4.64
    >>> noise = np.random.default_rng(0).normal(0.0, 0.05, 16000)
    >>> round(pesq_wb(clean + noise, clean), 1)
    1.4
    """
    _check_pesq_rate(sample_rate, name)
    enhanced, clean = _prepare(enhanced, clean, name)
    return _pesq(enhanced, clean, sample_rate, name)


def stoi(
    enhanced, clean, sample_rate=16000, extended=False, name: str | None = None
):
    """Computes STOI or extended STOI with ``pystoi``.

    Arguments
    ---------
    enhanced : numpy.ndarray or torch.Tensor
        The enhanced signal, 1-D.
    clean : numpy.ndarray or torch.Tensor
        The clean reference signal, 1-D.
    sample_rate : int
        Sampling rate of both signals (pystoi resamples to 10 kHz).
    extended : bool
        If True, computes extended STOI (Jensen & Taal, 2016).
    name : str, optional
        Name of the utterance, used in warnings and error messages.

    Returns
    -------
    float
        Intelligibility score, about 1 for a perfect estimate.

    Example
    -------
    >>> t = np.arange(16000) / 16000
    >>> buzz = np.sign(np.sin(2 * np.pi * 120 * t))  # 120 Hz pulses
    >>> clean = 0.5 * buzz * np.sin(2 * np.pi * 3 * t) ** 2  # syllables
    >>> round(stoi(clean, clean), 3)
    1.0
    >>> noise = np.random.default_rng(0).normal(0.0, 0.05, 16000)
    >>> round(stoi(clean + noise, clean), 2)
    0.93
    """
    enhanced, clean = _prepare(enhanced, clean, name)
    return _stoi(enhanced, clean, sample_rate, extended)


def sisdr(enhanced, clean, name: str | None = None):
    """Computes the scale-invariant signal-to-distortion ratio in dB.

    Both signals are made zero-mean, the clean one is scaled to best fit the
    enhanced one (target), and the rest of the enhanced signal is the
    distortion: ``10 log10(|target|^2 / (|distortion|^2 + eps |target|^2))``
    with ``eps`` the float64 machine epsilon. The ``eps`` term caps the value
    at ``10 log10(1 / eps)``, about 156.5 dB, reached by any scaled copy of
    the reference, so the cap itself does not depend on the scale.

    Arguments
    ---------
    enhanced : numpy.ndarray or torch.Tensor
        The enhanced signal, 1-D.
    clean : numpy.ndarray or torch.Tensor
        The clean reference signal, 1-D.
    name : str, optional
        Name of the utterance, used in warnings and error messages.

    Returns
    -------
    float
        SI-SDR in dB, or ``nan`` with a warning when either signal is
        constant (e.g. silent), for which SI-SDR is undefined.

    Example
    -------
    >>> phase = torch.linspace(0, 600, 16000, dtype=torch.float64)
    >>> clean = torch.sin(phase)
    >>> round(sisdr(clean, clean), 1)
    156.5
    >>> round(sisdr(0.1 * clean, clean), 1)
    156.5
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> noisy = clean + 0.1 * torch.randn(16000, dtype=torch.float64)
    >>> round(sisdr(noisy, clean), 1)
    16.9
    """
    enhanced, clean = _prepare(enhanced, clean, name)
    return _sisdr(enhanced, clean, name)


def composite(enhanced, clean, sample_rate=16000, name: str | None = None):
    """Computes the composite measures CSIG, CBAK and COVL.

    Follows Hu & Loizou (2008) and its reference implementations (Loizou's
    ``composite.m``, SEGAN's ``eval_composite``, ``pysepm``): 30 ms Hann
    frames with 75 % overlap feed the log-likelihood ratio (LLR, LPC order
    10 at 8 kHz and 16 at 16 kHz as in the references, mean of the 95 %
    lowest frames), the weighted spectral slope (WSS, 25 critical bands,
    mean of the 95 % lowest frames) and the segmental SNR (each frame
    clipped to [-10, 35] dB), which are combined with PESQ::

        CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS
        CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR
        COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS

    and each is clipped to [1, 5]. At 16 kHz the PESQ term is wide-band
    PESQ (P.862.2 MOS-LQO), as in SEGAN and most enhancement papers; at
    8 kHz it is raw narrow-band PESQ (P.862), as in the original study.

    Arguments
    ---------
    enhanced : numpy.ndarray or torch.Tensor
        The enhanced signal, 1-D.
    clean : numpy.ndarray or torch.Tensor
        The clean reference signal, 1-D.
    sample_rate : int
        Sampling rate of both signals: 16000 or 8000.
    name : str, optional
        Name of the utterance, used in warnings and error messages.

    Returns
    -------
    dict
        ``{"csig": float, "cbak": float, "covl": float}``, all ``nan``
        when PESQ cannot score the pair (see ``pesq_wb``).

    Example
    -------
    >>> t = np.arange(16000) / 16000
    >>> buzz = np.sign(np.sin(2 * np.pi * 120 * t))  # 120 Hz pulses
    >>> clean = 0.5 * buzz * np.sin(2 * np.pi * 3 * t) ** 2  # syllables
    >>> composite(clean, clean)
    {'csig': 5.0, 'cbak': 5.0, 'covl': 5.0}
    >>> noise = np.random.default_rng(0).normal(0.0, 0.05, 16000)
    >>> scores = composite(clean + noise, clean)
    >>> {key: round(value, 1) for key, value in scores.items()}
    {'csig': 3.4, 'cbak': 2.8, 'covl': 2.4}
    """
    _check_pesq_rate(sample_rate, name)
    enhanced, clean = _prepare(enhanced, clean, name)
    pesq_value = _pesq(enhanced, clean, sample_rate, name)
    return composite_measures(enhanced, clean, sample_rate, pesq_value)


def score(enhanced, clean, sample_rate=16000, name: str | None = None):
    """Computes all the metrics of ``METRICS`` for one utterance.

    PESQ is computed once and reused by the composite measures. Inputs
    must be 1-D and non-empty; when their lengths differ by at most
    max(160 samples, 1 %) both are trimmed to the shorter with a warning,
    otherwise a ValueError is raised.

    Arguments
    ---------
    enhanced : numpy.ndarray or torch.Tensor
        The enhanced signal, 1-D.
    clean : numpy.ndarray or torch.Tensor
        The clean reference signal, 1-D.
    sample_rate : int
        Sampling rate of both signals: 16000 or 8000.
    name : str, optional
        Name of the utterance, used in warnings and error messages.

    Returns
    -------
    dict
        ``{metric: float}`` for every metric of ``METRICS``.

    Example
    -------
    >>> t = np.arange(16000) / 16000
    >>> buzz = np.sign(np.sin(2 * np.pi * 120 * t))  # 120 Hz pulses
    >>> clean = 0.5 * buzz * np.sin(2 * np.pi * 3 * t) ** 2  # syllables
    >>> for metric, value in score(clean, clean, name="tone").items():
    ...     print(metric, round(value, 2))
    pesq 4.64
    stoi 1.0
    sisdr 156.54
    csig 5.0
    cbak 5.0
    covl 5.0
    """
    _check_pesq_rate(sample_rate, name)
    enhanced, clean = _prepare(enhanced, clean, name)
    pesq_value = _pesq(enhanced, clean, sample_rate, name)
    return {
        "pesq": pesq_value,
        "stoi": _stoi(enhanced, clean, sample_rate, extended=False),
        "sisdr": _sisdr(enhanced, clean, name),
        **composite_measures(enhanced, clean, sample_rate, pesq_value),
    }


def quick_score(enhanced, clean, sample_rate=16000, name: str | None = None):
    """PESQ and STOI of one utterance: the validation metrics.

    Arguments
    ---------
    enhanced : numpy.ndarray or torch.Tensor
        The enhanced signal, 1-D.
    clean : numpy.ndarray or torch.Tensor
        The clean reference signal, 1-D.
    sample_rate : int
        Sampling rate of both signals: 16000 or 8000.
    name : str, optional
        Name of the utterance, used in warnings and error messages.

    Returns
    -------
    dict
        ``{"pesq": float, "stoi": float}``.

    Example
    -------
    >>> t = np.arange(16000) / 16000
    >>> clean = np.sign(np.sin(2 * np.pi * 120 * t)) * np.sin(6 * t) ** 2
    >>> {k: round(v, 2) for k, v in quick_score(clean, clean).items()}
    {'pesq': 4.64, 'stoi': 1.0}
    """
    return {
        "pesq": pesq_wb(enhanced, clean, sample_rate, name=name),
        "stoi": stoi(enhanced, clean, sample_rate, name=name),
    }


def summarize(rows):
    """Computes the mean and standard deviation of each metric over rows.

    NaN values (utterances a metric could not score) are left out; ``n``
    says how many values each statistic uses. The standard deviation is the
    population one (``ddof=0``).

    Arguments
    ---------
    rows : list of dict
        One dict per utterance, e.g. ``{"id": "p232_003", "pesq": 2.8}``.
        Every key except ``"id"`` is summarised, in the first row's order.

    Returns
    -------
    dict
        ``{metric: {"mean": float, "std": float, "n": int}}``; mean and std
        are ``nan`` when ``n`` is 0.

    Example
    -------
    >>> rows = [
    ...     {"id": "a", "pesq": 2.0},
    ...     {"id": "b", "pesq": 3.0},
    ...     {"id": "c", "pesq": float("nan")},
    ... ]
    >>> summarize(rows)
    {'pesq': {'mean': 2.5, 'std': 0.5, 'n': 2}}
    """
    metrics = [key for key in rows[0] if key != "id"] if rows else []
    summary = {}
    for metric in metrics:
        values = np.array([row[metric] for row in rows], dtype=np.float64)
        values = values[np.isfinite(values)]
        summary[metric] = {
            "mean": float(values.mean()) if values.size else math.nan,
            "std": float(values.std()) if values.size else math.nan,
            "n": int(values.size),
        }
    return summary


def evaluate_folder(
    enhanced_dir, clean_dir, n_jobs=2, csv_path=None, sample_rate=16000
):
    """Scores every ``*.wav`` of a folder against its clean partner.

    Files are paired by name (a clean ``.flac`` of the same stem pairs
    too, as in a folder of pairs such as ``dns_test_noreverb``, so any
    test set of ``speechbrain_kd.data.datasets`` scores). They are scored
    in parallel over ``n_jobs`` worker processes (in-process when
    ``n_jobs`` is 1) with a progress bar; the warnings raised while
    scoring a file are re-emitted here.

    Arguments
    ---------
    enhanced_dir : str or pathlib.Path
        Folder of enhanced wav files (mono, ``sample_rate``).
    clean_dir : str or pathlib.Path
        Folder of clean wav (or flac) files with the same names.
    n_jobs : int
        Number of worker processes.
    csv_path : str or pathlib.Path, optional
        If given, the per-utterance scores are written there as CSV
        (columns ``id`` and ``METRICS``).
    sample_rate : int
        Expected sampling rate of every file: 16000 or 8000.

    Returns
    -------
    rows : list of dict
        ``{"id": file stem, **scores}`` per utterance, sorted by id.
    summary : dict
        ``summarize(rows)``: mean, std and count of each metric.

    Raises
    ------
    FileNotFoundError
        If a folder is missing or holds no wav file, or an enhanced file has
        no clean partner.
    ValueError
        If a file is not mono or not at ``sample_rate``.

    Example
    -------
    >>> import tempfile, soundfile as sf
    >>> t = np.arange(16000) / 16000
    >>> buzz = np.sign(np.sin(2 * np.pi * 120 * t))  # 120 Hz pulses
    >>> clean = 0.5 * buzz * np.sin(2 * np.pi * 3 * t) ** 2  # syllables
    >>> noise = np.random.default_rng(0).normal(0.0, 0.05, 16000)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for folder, signal in [("clean", clean), ("enh", clean + noise)]:
    ...         Path(tmp, folder).mkdir()
    ...         sf.write(Path(tmp, folder, "utt1.wav"), signal, 16000)
    ...     rows, summary = evaluate_folder(
    ...         Path(tmp, "enh"), Path(tmp, "clean"), n_jobs=1
    ...     )
    >>> [row["id"] for row in rows], summary["pesq"]["n"]
    (['utt1'], 1)
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    _check_pesq_rate(sample_rate, None)
    pairs = _pair_files(Path(enhanced_dir), Path(clean_dir))
    results = {}
    with tqdm(total=len(pairs), desc="Scoring", unit="file") as progress:
        if n_jobs == 1:
            for enhanced_path, clean_path in pairs:
                row, caught = _score_files(
                    enhanced_path, clean_path, sample_rate
                )
                results[row["id"]] = row
                _reemit(caught)
                progress.update()
        else:
            with ProcessPoolExecutor(max_workers=n_jobs) as executor:
                futures = [
                    executor.submit(_score_files, enh, cln, sample_rate)
                    for enh, cln in pairs
                ]
                for future in as_completed(futures):
                    row, caught = future.result()
                    results[row["id"]] = row
                    _reemit(caught)
                    progress.update()
    rows = [results[key] for key in sorted(results)]
    if csv_path is not None:
        _write_csv(rows, Path(csv_path))
    return rows, summarize(rows)


def _where(name):
    """Returns `` for 'name'`` to append to messages, or ``""``."""
    return f" for '{name}'" if name else ""


def _to_numpy(signal, role, name):
    """Converts a tensor or array to a checked 1-D float64 numpy array."""
    if isinstance(signal, torch.Tensor):
        signal = signal.detach().cpu().double().numpy()
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(
            f"The {role} signal{_where(name)} must be 1-D (mono), got shape "
            f"{tuple(signal.shape)}; mix down or select a channel first."
        )
    if signal.size == 0:
        raise ValueError(f"The {role} signal{_where(name)} is empty.")
    if not np.all(np.isfinite(signal)):
        raise ValueError(
            f"The {role} signal{_where(name)} contains NaN or inf values."
        )
    return signal


def _prepare(enhanced, clean, name):
    """Checks both signals and trims them to a common length."""
    enhanced = _to_numpy(enhanced, "enhanced", name)
    clean = _to_numpy(clean, "clean", name)
    n_enhanced, n_clean = enhanced.size, clean.size
    if n_enhanced == n_clean:
        return enhanced, clean
    tolerance = max(
        _LENGTH_TOLERANCE_SAMPLES,
        _LENGTH_TOLERANCE_FRACTION * max(n_enhanced, n_clean),
    )
    if abs(n_enhanced - n_clean) > tolerance:
        raise ValueError(
            f"Length mismatch{_where(name)}: the enhanced signal has "
            f"{n_enhanced} samples and the clean one {n_clean} (more than "
            f"{int(tolerance)} samples apart)."
        )
    length = min(n_enhanced, n_clean)
    warnings.warn(
        f"Length mismatch{_where(name)}: the enhanced signal has "
        f"{n_enhanced} samples and the clean one {n_clean}; scoring the "
        f"first {length} samples of each.",
        stacklevel=3,
    )
    return enhanced[:length], clean[:length]


def _check_pesq_rate(sample_rate, name):
    """Raises a ValueError unless PESQ supports ``sample_rate``."""
    if sample_rate not in PESQ_SAMPLE_RATES:
        raise ValueError(
            f"PESQ needs a sampling rate of 8000 or 16000 Hz{_where(name)}, "
            f"got {sample_rate}; resample first."
        )


def _pesq(enhanced, clean, sample_rate, name):
    """PESQ of prepared signals; ``nan`` with a warning if unscorable."""
    if not np.any(clean):
        reason = "the clean reference is digital silence: no utterances"
    elif not np.any(enhanced):
        reason = "the enhanced signal is digital silence"
    else:
        mode = "wb" if sample_rate == 16000 else "nb"
        value = pesq(
            sample_rate, clean, enhanced, mode, PesqError.RETURN_VALUES
        )
        if value >= 0:  # MOS-LQO is positive; error codes are negative.
            return float(value)
        reason = _PESQ_ERRORS.get(value, f"PESQ error code {value}")
    warnings.warn(
        f"PESQ cannot score{_where(name)} ({reason}); returning nan, which "
        "summaries leave out.",
        stacklevel=3,
    )
    return math.nan


def _stoi(enhanced, clean, sample_rate, extended):
    """STOI of prepared signals."""
    return float(_pystoi(clean, enhanced, sample_rate, extended=extended))


def _sisdr(enhanced, clean, name):
    """SI-SDR of prepared signals; ``nan`` with a warning if undefined."""
    enhanced = enhanced - enhanced.mean()
    clean = clean - clean.mean()
    clean_energy = np.dot(clean, clean)
    for role, energy in (
        ("clean", clean_energy),
        ("enhanced", np.dot(enhanced, enhanced)),
    ):
        if energy == 0.0:
            warnings.warn(
                f"SI-SDR is undefined{_where(name)}: the {role} signal is "
                "constant (e.g. silent); returning nan.",
                stacklevel=3,
            )
            return math.nan
    target = np.dot(enhanced, clean) / clean_energy * clean
    distortion = enhanced - target
    target_energy = np.dot(target, target)
    ratio = target_energy / (
        np.dot(distortion, distortion) + _EPS * target_energy
    )
    return float(10.0 * np.log10(max(ratio, np.finfo(np.float64).tiny)))


def _pair_files(enhanced_dir, clean_dir):
    """Pairs each enhanced wav with the clean file of the same name (or
    the same stem in flac, as in a folder of pairs of DNS-Challenge's)."""
    for role, folder in (("enhanced", enhanced_dir), ("clean", clean_dir)):
        if not folder.is_dir():
            raise FileNotFoundError(f"The {role} folder {folder} is missing.")
    enhanced_paths = sorted(enhanced_dir.glob("*.wav"))
    if not enhanced_paths:
        raise FileNotFoundError(f"No *.wav file in {enhanced_dir}.")
    partners = {}
    for path in enhanced_paths:
        for name in (path.name, f"{path.stem}.flac"):
            if (clean_dir / name).is_file():
                partners[path] = clean_dir / name
                break
    missing = [p.name for p in enhanced_paths if p not in partners]
    if missing:
        raise FileNotFoundError(
            f"No clean partner in {clean_dir} for {len(missing)} enhanced "
            f"file(s) of {enhanced_dir}: {', '.join(missing)}"
        )
    return list(partners.items())


def _score_files(enhanced_path, clean_path, sample_rate):
    """Scores one file pair; returns the row and the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enhanced, clean = (
            read_audio(
                path, sample_rate, dtype="float64", check_silence=False
            ).numpy()
            for path in (enhanced_path, clean_path)
        )
        scores = score(
            enhanced,
            clean,
            sample_rate=sample_rate,
            name=enhanced_path.name,
        )
    row = {"id": enhanced_path.stem, **scores}
    return row, [(w.category, str(w.message)) for w in caught]


def _reemit(caught):
    """Re-emits warnings recorded by ``_score_files``."""
    for category, message in caught:
        warnings.warn(message, category, stacklevel=3)


def _write_csv(rows, path):
    """Writes per-utterance rows as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", *METRICS])
        writer.writeheader()
        writer.writerows(rows)
