"""Denoising losses on compressed magnitudes and on waveforms.

The recipes' ``compute_cost`` compares the estimated and clean log1p
magnitudes (``[batch, time, freq]``, as ``speechbrain.nnet.losses.mse_loss``
does by default); :func:`compressed_magnitude_mse` is a drop-in
alternative. Models of the complex contract (spectra ``[batch, freq, time,
2]``) use :func:`compressed_complex_mse`. ``waveform_cost`` (with
``waveform_weight`` > 0) adds a loss on the resynthesized waveform:
:func:`si_sdr_loss` or :func:`multi_resolution_stft_loss`. All ignore the
padding beyond ``length`` (relative lengths, as in SpeechBrain).

Authors
 * speechbrain-kd contributors 2026
"""

import torch


def compressed_magnitude_mse(predictions, targets, length=None, power=0.3):
    """MSE between power-law compressed magnitudes.

    Arguments
    ---------
    predictions : torch.Tensor
        Estimated log1p magnitudes ``[batch, time, freq]``.
    targets : torch.Tensor
        Clean log1p magnitudes, same shape.
    length : torch.Tensor, optional
        Relative lengths ``[batch]``; frames beyond are ignored.
    power : float
        Compression exponent applied to the linear magnitudes.

    Returns
    -------
    torch.Tensor
        The loss (a scalar).

    Example
    -------
    >>> target = torch.log1p(torch.ones(1, 2, 1))
    >>> pred = torch.log1p(torch.tensor([[[1.0], [0.0]]]))
    >>> compressed_magnitude_mse(pred, target)  # about (1 - 0) ** 2 / 2
    tensor(0.4960)
    >>> compressed_magnitude_mse(pred, target, torch.tensor([0.5]))
    tensor(0.)
    """
    pred = torch.expm1(predictions).clamp(min=0) + 1e-8
    target = torch.expm1(targets).clamp(min=0) + 1e-8
    error = (pred**power - target**power) ** 2
    mask = _valid(length, error.shape[0], error.shape[1], error.device)
    error = error.mean(dim=-1)
    return (error * mask).sum() / mask.sum()


def compressed_complex_mse(
    predictions,
    targets,
    length=None,
    power=0.3,
    complex_weight=0.3,
    magnitude_weight=0.7,
    eps=1e-12,
):
    """MSE of power-law compressed complex spectra and their magnitudes.

    Each spectrum ``X`` is compressed to ``|X| ** power * X / |X|`` (the
    phase kept, the magnitude compressed); the loss weighs the MSE of the
    compressed real and imaginary parts by ``complex_weight`` and that of
    the compressed magnitudes by ``magnitude_weight``: the hybrid loss of
    GTCRN (Rong et al., ICASSP 2024) without its SI-SNR part, which the
    recipes add as ``waveform_cost``.

    Arguments
    ---------
    predictions : torch.Tensor
        Estimated spectra ``[batch, freq, time, 2]`` (real, imaginary).
    targets : torch.Tensor
        Clean spectra, same shape.
    length : torch.Tensor, optional
        Relative lengths ``[batch]``; frames beyond are ignored.
    power : float
        Magnitude compression exponent.
    complex_weight : float
        Weight of the compressed real/imaginary MSE.
    magnitude_weight : float
        Weight of the compressed magnitude MSE.
    eps : float
        Added to the squared magnitudes before the root.

    Returns
    -------
    torch.Tensor
        The loss (a scalar).

    Example
    -------
    >>> target = torch.tensor([[[[4.0, 0.0]], [[0.0, 0.0]]]])  # [1, 2, 1, 2]
    >>> pred = torch.zeros_like(target)
    >>> # compressed: |4| ** 0.5 = 2 in one of 2 bins; real part 2 too
    >>> loss = compressed_complex_mse(pred, target, power=0.5)
    >>> round(loss.item(), 2)  # 0.3 * (4 / 4) + 0.7 * (4 / 2)
    1.7
    >>> compressed_complex_mse(pred, target, torch.tensor([0.0])).item()
    0.0
    """

    def compress(spec):
        magnitude = (spec.pow(2).sum(-1) + eps).sqrt()
        return spec * (magnitude ** (power - 1))[..., None], magnitude**power

    pred, pred_mag = compress(predictions.float())
    target, target_mag = compress(targets.float())
    mask = _valid(length, pred.shape[0], pred.shape[2], pred.device)
    weights = mask[:, None, :]
    count = (weights.sum() * pred.shape[1]).clamp(min=1)
    complex_error = ((pred - target) ** 2).sum(-1) * weights
    magnitude_error = (pred_mag - target_mag) ** 2 * weights
    return (
        complex_weight * complex_error.sum() / (2 * count)
        + magnitude_weight * magnitude_error.sum() / count
    )


def si_sdr_loss(estimates, targets, length=None, eps=1e-8):
    """Negative scale-invariant SDR in dB, averaged over utterances.

    Arguments
    ---------
    estimates : torch.Tensor
        Enhanced waveforms ``[batch, samples]``.
    targets : torch.Tensor
        Clean waveforms, same shape.
    length : torch.Tensor, optional
        Relative lengths; samples beyond are ignored.
    eps : float
        Numerical floor.

    Returns
    -------
    torch.Tensor
        ``-mean(SI-SDR)`` (a scalar).

    Example
    -------
    >>> clean = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    >>> noise = torch.tensor([[1.0, 1.0, -1.0, -1.0]])  # orthogonal
    >>> round(float(si_sdr_loss(clean + 0.1 * noise, clean)), 2)  # -20 dB
    -20.0
    """
    mask = _valid(length, *targets.shape, targets.device)
    estimates, targets = estimates * mask, targets * mask
    n = mask.sum(dim=1, keepdim=True)
    estimates = estimates - (estimates.sum(1, keepdim=True) / n) * mask
    targets = targets - (targets.sum(1, keepdim=True) / n) * mask
    scale = (estimates * targets).sum(1, keepdim=True) / (
        (targets**2).sum(1, keepdim=True) + eps
    )
    projection = scale * targets
    residual = estimates - projection
    ratio = (projection**2).sum(1) / ((residual**2).sum(1) + eps)
    return -(10 * torch.log10(ratio + eps)).mean()


def multi_resolution_stft_loss(
    estimates, targets, length=None, resolutions=((512, 128), (1024, 256))
):
    """Spectral convergence + log-magnitude L1 over several STFTs.

    Arguments
    ---------
    estimates : torch.Tensor
        Enhanced waveforms ``[batch, samples]``.
    targets : torch.Tensor
        Clean waveforms, same shape.
    length : torch.Tensor, optional
        Relative lengths; samples beyond are zeroed in both signals.
    resolutions : sequence of (int, int)
        ``(n_fft, hop)`` pairs (Hann windows of ``n_fft`` samples).

    Returns
    -------
    torch.Tensor
        The loss averaged over resolutions (a scalar).

    Example
    -------
    >>> clean = torch.sin(torch.arange(4096.0) / 5).unsqueeze(0)
    >>> float(multi_resolution_stft_loss(clean, clean))
    0.0
    >>> bool(multi_resolution_stft_loss(0.5 * clean, clean) > 0.3)
    True
    """
    mask = _valid(length, *targets.shape, targets.device)
    estimates, targets = estimates * mask, targets * mask
    total = 0.0
    for n_fft, hop in resolutions:
        window = torch.hann_window(n_fft, device=targets.device)
        est, ref = (
            torch.stft(x, n_fft, hop, window=window, return_complex=True).abs()
            for x in (estimates, targets)
        )
        convergence = torch.linalg.norm(ref - est) / (
            torch.linalg.norm(ref) + 1e-8
        )
        log_mag = (torch.log(est + 1e-5) - torch.log(ref + 1e-5)).abs().mean()
        total = total + convergence + log_mag
    return total / len(resolutions)


def _valid(length, batch, steps, device):
    """A ``[batch, steps]`` float mask of the frames within ``length``."""
    if length is None:
        return torch.ones(batch, steps, device=device)
    limits = torch.round(length.to(device) * steps)
    return (torch.arange(steps, device=device)[None] < limits[:, None]).float()
