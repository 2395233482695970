"""Knowledge-distillation losses over frame sequences ``[batch, time, dim]``.

* ``cosine_distance``: 1 - cos between adapted student and teacher latents,
  per frame (default), per utterance or per channel, over valid frames.
* ``similarity_preserving_loss``: the fine-grained similarity-preserving
  loss of Nathoo, Kegler & Stamenovic (ICASSP 2024, after Tung & Mori
  2019): frame-by-frame Gram matrices of each utterance, row-normalised,
  matched in squared Frobenius norm; free of the feature sizes.
* ``kd_term``: the KD loss weighted for adding to the denoising loss, by a
  fixed weight or scale-free (a fraction of the denoising loss).
* ``center_over_time``: removes each channel's mean over an utterance's
  frames (an option of the cosine: post-activation latents are mostly
  positive).
* ``masked_mse``: FitNets feature regression (through a learned projector)
  and output KD (student mask or magnitude towards the teacher's).

Every loss ignores the padded frames beyond each utterance's length.

Authors
 * speechbrain-kd contributors 2026
"""

import torch


def frame_mask(lengths, n_frames, device=None):
    """Returns a ``[batch, n_frames]`` bool mask of the valid frames.

    Arguments
    ---------
    lengths : torch.Tensor or None
        Relative lengths in (0, 1]; None means all frames are valid.
    n_frames : int
        Number of frames.
    device : torch.device, optional
        Device of the mask when ``lengths`` is None.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> frame_mask(torch.tensor([1.0, 0.5]), 4)
    tensor([[ True,  True,  True,  True],
            [ True,  True, False, False]])
    """
    if lengths is None:
        return torch.ones(1, n_frames, dtype=torch.bool, device=device)
    valid = torch.round(lengths * n_frames).clamp(min=1)
    frames = torch.arange(n_frames, device=lengths.device)
    return frames[None, :] < valid[:, None]


def _masked_mean(values, mask):
    """Mean of ``values`` ``[B, T, ...]`` over the frames where mask holds."""
    mask = mask.expand(values.shape[0], -1).to(values.dtype)
    while mask.dim() < values.dim():
        mask = mask.unsqueeze(-1)
    mask = mask.expand_as(values)
    return (values * mask).sum() / mask.sum()


def cosine_distance(
    student, teacher, lengths=None, reduction="frame", channels=None
):
    """Cosine distance (1 - cos) between two latent frame sequences.

    Arguments
    ---------
    student : torch.Tensor
        Adapted student latent ``[batch, time, dim]``.
    teacher : torch.Tensor
        Teacher latent ``[batch, time, dim]``.
    lengths : torch.Tensor, optional
        Relative lengths; padded frames do not count.
    reduction : str
        ``frame``: cosine per frame over the whole vector, averaged over
        valid frames. ``utterance``: one cosine per utterance over all its
        valid frames, averaged over the batch. ``channel``: the vector is
        split into ``channels`` equal parts (the teacher's channels when it
        is a flattened channel x frequency latent), one cosine per frame
        and channel, averaged.
    channels : int, optional
        Number of channels, required by the ``channel`` reduction.

    Returns
    -------
    torch.Tensor
        Scalar in [0, 2]; 0 for identical directions.

    Example
    -------
    >>> a = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    >>> b = torch.tensor([[[0.0, 1.0], [2.0, 2.0]]])
    >>> cosine_distance(a, b)  # frames: orthogonal (1), parallel (0)
    tensor(0.5000)
    >>> cosine_distance(a, b, lengths=torch.tensor([0.5]))
    tensor(1.)
    """
    mask = frame_mask(lengths, student.shape[1], student.device)
    if reduction == "frame":
        cos = torch.nn.functional.cosine_similarity(student, teacher, dim=-1)
        return 1 - _masked_mean(cos, mask)
    if reduction == "utterance":
        keep = mask.unsqueeze(-1).to(student.dtype)
        cos = torch.nn.functional.cosine_similarity(
            (student * keep).flatten(1), (teacher * keep).flatten(1), dim=-1
        )
        return 1 - cos.mean()
    if reduction == "channel":
        if channels is None or student.shape[-1] % channels:
            raise ValueError(
                f"channel reduction needs channels dividing the latent size "
                f"{student.shape[-1]}, got channels={channels}"
            )
        shape = (*student.shape[:2], channels, -1)
        cos = torch.nn.functional.cosine_similarity(
            student.reshape(shape), teacher.reshape(shape), dim=-1
        )
        return 1 - _masked_mean(cos, mask)
    raise ValueError(
        f"Unknown reduction {reduction!r}; use 'frame', 'utterance' or "
        "'channel'"
    )


def center_over_time(frames, lengths=None):
    """Subtracts from every channel its mean over the valid frames.

    Latents after a (leaky) ReLU are mostly positive, so any two of them
    point roughly the same way and their cosine is high whatever they
    encode. Centring each utterance's latent over time removes that shared
    offset, leaving the cosine to compare how the frames vary.

    Arguments
    ---------
    frames : torch.Tensor
        ``[batch, time, dim]``.
    lengths : torch.Tensor, optional
        Relative lengths; padded frames are left out of the mean and set
        to zero.

    Returns
    -------
    torch.Tensor
        The centred frames, same shape.

    Example
    -------
    >>> frames = torch.tensor([[[1.0, 4.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> center_over_time(frames, lengths=torch.tensor([2 / 3]))
    tensor([[[-1.,  0.],
             [ 1.,  0.],
             [ 0.,  0.]]])
    """
    mask = frame_mask(lengths, frames.shape[1], frames.device)
    keep = mask.unsqueeze(-1).to(frames.dtype)
    mean = (frames * keep).sum(1, keepdim=True) / keep.sum(1, keepdim=True)
    return (frames - mean) * keep


def similarity_matrices(frames, lengths=None):
    """Row-normalised frame-by-frame Gram matrices of each utterance.

    Arguments
    ---------
    frames : torch.Tensor
        ``[batch, time, dim]``.
    lengths : torch.Tensor, optional
        Relative lengths; padded frames are zeroed first.

    Returns
    -------
    torch.Tensor
        ``[batch, time, time]``, each row of unit L2 norm (or zero).

    Example
    -------
    >>> similarity_matrices(torch.tensor([[[1.0, 0.0], [0.0, 2.0]]]))
    tensor([[[1., 0.],
             [0., 1.]]])
    """
    mask = frame_mask(lengths, frames.shape[1], frames.device)
    frames = frames * mask.unsqueeze(-1).to(frames.dtype)
    gram = frames @ frames.transpose(1, 2)
    return torch.nn.functional.normalize(gram, p=2, dim=-1)


def similarity_preserving_loss(student, teacher, lengths=None):
    """Fine-grained similarity-preserving KD loss for one layer pair.

    The squared Frobenius distance between the student's and the teacher's
    row-normalised frame Gram matrices, divided by the number of valid
    frames squared, averaged over the batch. The two latents may differ in
    size (not in number of frames: align them first).

    Arguments
    ---------
    student : torch.Tensor
        Student frames ``[batch, time, dim_s]``.
    teacher : torch.Tensor
        Teacher frames ``[batch, time, dim_t]``.
    lengths : torch.Tensor, optional
        Relative lengths.

    Returns
    -------
    torch.Tensor
        Scalar, 0 when the two similarity structures agree.

    Example
    -------
    >>> s = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> t = torch.tensor([[[1.0], [1.0]]])
    >>> similarity_preserving_loss(s, t)  # ((1-.7071)^2 * 2 + .7071^2 * 2) / 4
    tensor(0.2929)
    """
    mask = frame_mask(lengths, student.shape[1], student.device)
    mask = mask.expand(student.shape[0], -1)
    diff = similarity_matrices(student, lengths) - similarity_matrices(
        teacher, lengths
    )
    per_utt = diff.pow(2).sum(dim=(1, 2)) / mask.sum(dim=1).pow(2)
    return per_utt.mean()


def masked_mse(student, teacher, lengths=None):
    """Mean squared error over the valid frames.

    Arguments
    ---------
    student : torch.Tensor
        ``[batch, time, ...]``.
    teacher : torch.Tensor
        Same shape.
    lengths : torch.Tensor, optional
        Relative lengths.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> masked_mse(torch.zeros(1, 2, 2), torch.tensor([[[1.0, 1], [3, 3]]]))
    tensor(5.)
    >>> masked_mse(
    ...     torch.zeros(1, 2, 2), torch.tensor([[[1.0, 1], [3, 3]]]),
    ...     lengths=torch.tensor([0.5]),
    ... )
    tensor(1.)
    """
    mask = frame_mask(lengths, student.shape[1], student.device)
    return _masked_mean((student - teacher).pow(2), mask)


def kd_term(kd, denoise, weight, balance=None):
    """The KD term added to the denoising loss.

    With a fixed weight (``balance`` None) it is ``weight x kd``, whose size
    next to the denoising loss depends on the method (a cosine distance of
    0.4 against a log-magnitude MSE of 0.02, say). With ``balance`` a
    number, the weight is scale-free: the KD loss is rescaled, batch by
    batch, to ``balance`` times the denoising loss (the ratio carries no
    gradient), so ``balance=0.3`` means "KD pulls with 30 % of the
    denoising loss's magnitude" for every method, and ``weight`` is
    ignored.

    Arguments
    ---------
    kd : torch.Tensor
        The KD loss (scalar).
    denoise : torch.Tensor
        The denoising loss (scalar).
    weight : float
        The fixed weight.
    balance : float, optional
        The KD term's size relative to the denoising loss.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> kd, denoise = torch.tensor(0.4), torch.tensor(0.02)
    >>> kd_term(kd, denoise, weight=0.1)
    tensor(0.0400)
    >>> kd_term(kd, denoise, weight=0.1, balance=0.5)  # 0.5 x 0.02
    tensor(0.0100)
    >>> kd = torch.tensor(0.4, requires_grad=True)
    >>> kd_term(kd, denoise, weight=1.0, balance=0.5).backward()
    >>> kd.grad  # d/dkd of kd x (0.5 x 0.02 / 0.4)
    tensor(0.0250)

    A denoising loss that can be negative (with an SI-SDR term) sets the
    size by its magnitude: the KD term is still minimised.

    >>> kd_term(torch.tensor(0.4), torch.tensor(-2.0), 1.0, balance=0.5)
    tensor(1.)
    """
    if balance is None:
        return weight * kd
    size = denoise.detach().abs()  # a magnitude, whatever the loss's sign
    scale = balance * size / kd.detach().clamp(min=1e-8)
    return scale * kd
