"""The linear inverted bottleneck (LIB) adapter and latent shape alignment.

A latent is brought to a sequence of frame vectors ``[batch, time, dim]``
(time kept, everything else flattened, e.g. channels x frequency bins of a
UNet bottleneck). The LIB adapter is a linear map with no activation from
the student's frame vectors to the teacher's size; it exists only during
training and is never exported. When the two models run at different
time resolutions, the finer sequence is average-pooled to the coarser grid.

Authors
 * speechbrain-kd contributors 2026
"""

from torch import nn


def to_frames(latent, time_dim):
    """Reshapes a latent to frame vectors ``[batch, time, dim]``.

    Arguments
    ---------
    latent : torch.Tensor
        A latent with a batch axis first.
    time_dim : int
        Axis of time (see ``speechbrain_kd.distill.layout``, which finds
        it), e.g. 2 for ``[B, C, T, F]``, 1 for ``[B, T, D]``, 2 for
        ``[B, D, T]``.

    Returns
    -------
    torch.Tensor
        ``[batch, time, dim]``.

    Example
    -------
    >>> import torch
    >>> to_frames(torch.zeros(2, 8, 50, 17), time_dim=2).shape
    torch.Size([2, 50, 136])
    >>> to_frames(torch.zeros(2, 64, 50), time_dim=2).shape
    torch.Size([2, 50, 64])
    """
    return latent.movedim(time_dim, 1).flatten(start_dim=2)


def align_time(student, teacher):
    """Average-pools the finer of two frame sequences to the coarser grid.

    Arguments
    ---------
    student : torch.Tensor
        ``[batch, T_s, D_s]``.
    teacher : torch.Tensor
        ``[batch, T_t, D_t]``.

    Returns
    -------
    tuple of torch.Tensor
        Both sequences with the same number of frames.

    Example
    -------
    >>> import torch
    >>> s, t = align_time(torch.ones(1, 100, 3), torch.ones(1, 50, 5))
    >>> s.shape, t.shape
    (torch.Size([1, 50, 3]), torch.Size([1, 50, 5]))
    """
    ts, tt = student.shape[1], teacher.shape[1]
    if ts > tt:
        student = _pool_time(student, round(ts / tt))
    elif tt > ts:
        teacher = _pool_time(teacher, round(tt / ts))
    n = min(student.shape[1], teacher.shape[1])
    return student[:, :n], teacher[:, :n]


def _pool_time(frames, factor):
    """Averages every ``factor`` consecutive frames (last ones padded)."""
    pooled = nn.functional.avg_pool1d(
        frames.transpose(1, 2), factor, factor, ceil_mode=True
    )
    return pooled.transpose(1, 2)


class LinearInvertedBottleneck(nn.Module):
    """Linear map, with no activation, from student to teacher latent size.

    It "inverts" the student's bottleneck: a compact student latent is
    expanded to the teacher latent's dimension, so the student is free
    of the teacher's feature size, order and distribution.

    Arguments
    ---------
    student_dim : int
        Size of a student frame vector (e.g. channels x bins).
    teacher_dim : int
        Size of a teacher frame vector.
    bias : bool
        Whether the map has a bias.

    Example
    -------
    >>> import torch
    >>> lib = LinearInvertedBottleneck(student_dim=136, teacher_dim=2176)
    >>> lib(torch.rand(2, 50, 136)).shape
    torch.Size([2, 50, 2176])
    """

    def __init__(self, student_dim, teacher_dim, bias=True):
        super().__init__()
        self.linear = nn.Linear(student_dim, teacher_dim, bias=bias)

    def forward(self, student_frames):
        """Maps ``[batch, time, student_dim]`` to ``teacher_dim``."""
        return self.linear(student_frames)
