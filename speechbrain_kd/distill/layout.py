"""Find the time axis of a tapped latent instead of assuming it.

A UNet bottleneck is ``[batch, channels, time, freq]``, a transformer's
``[batch, time, dim]``, a ``Conv1d`` stack's ``[batch, channels, time]``.
Run a model on two input lengths: the axis of a latent that grows with the
input is its time axis. A latent with no such axis (pooled over time)
cannot be compared frame by frame, and two growing axes are ambiguous: both
are errors naming the module, to be resolved with ``*_time_dim``.

Authors
 * speechbrain-kd contributors 2026
"""

import logging

logger = logging.getLogger(__name__)

# Lengths of the two probe inputs, in seconds
PROBE_SECONDS = (1.0, 2.0)


def time_axis(short, long, name, override=None):
    """The axis of a latent that scales with the input length.

    Arguments
    ---------
    short : torch.Tensor
        The latent for a short input.
    long : torch.Tensor
        The latent for a longer input.
    name : str
        The latent, for the messages (e.g. "student latent 'latent'
        (ConvMask)").
    override : int, optional
        A time axis given by the user (``student_time_dim`` or
        ``teacher_time_dim``); used as is, with a warning if the probe
        disagrees.

    Returns
    -------
    int
        The time axis (never 0, the batch axis).

    Raises
    ------
    ValueError
        If no axis, or more than one, scales with the input.

    Example
    -------
    >>> import torch
    >>> time_axis(torch.zeros(1, 8, 63, 17), torch.zeros(1, 8, 126, 17), "x")
    2
    >>> time_axis(torch.zeros(1, 63, 32), torch.zeros(1, 126, 32), "x")
    1
    >>> time_axis(torch.zeros(1, 16, 63), torch.zeros(1, 16, 126), "x")
    2
    >>> time_axis(torch.zeros(1, 16), torch.zeros(1, 16), "'pool' (Net)")
    Traceback (most recent call last):
      ...
    ValueError: No axis of 'pool' (Net) scales with the input length \
(shape [1, 16] for a 1 s input and [1, 16] for a 2 s input): it has no \
time axis to compare frame by frame; tap another module
    """
    growing = [
        axis
        for axis in range(1, short.dim())
        if short.dim() == long.dim() and long.shape[axis] > short.shape[axis]
    ]
    shapes = (
        f"(shape {list(short.shape)} for a {PROBE_SECONDS[0]:g} s input and "
        f"{list(long.shape)} for a {PROBE_SECONDS[1]:g} s input)"
    )
    if override is not None:
        if growing and override not in growing:
            logger.warning(
                "The time axis of %s is set to %d but axis %s scales with "
                "the input %s",
                name,
                override,
                growing,
                shapes,
            )
        return override
    if not growing:
        raise ValueError(
            f"No axis of {name} scales with the input length {shapes}: it "
            "has no time axis to compare frame by frame; tap another module"
        )
    if len(growing) > 1:
        raise ValueError(
            f"Axes {growing} of {name} all scale with the input length "
            f"{shapes}; set its time axis (student_time_dim or "
            "teacher_time_dim)"
        )
    return growing[0]


def time_axes(short, long, role, model, override=None):
    """The time axis of every latent of one model.

    Arguments
    ---------
    short : dict
        Module path to latent, recorded on a 1 s input.
    long : dict
        The same for a 2 s input.
    role : str
        ``student`` or ``teacher``.
    model : torch.nn.Module
        The model (its class names it in messages).
    override : int, optional
        The user's time axis for all the model's latents.

    Returns
    -------
    dict
        Module path to time axis.

    Example
    -------
    >>> import torch
    >>> net = torch.nn.Conv1d(257, 16, 3)
    >>> short = {"": torch.zeros(1, 16, 61)}
    >>> time_axes(short, {"": torch.zeros(1, 16, 124)}, "student", net)
    {'': 2}
    """
    return {
        path: time_axis(
            short[path],
            long[path],
            f"{role} latent {path!r} ({type(model).__name__})",
            override,
        )
        for path in short
    }


def usual_time_axis(latent, name):
    """The usual time axis of a latent that was not probed, with a warning.

    For a method used directly, without ``find_time_dims`` (which
    ``DistillBrain`` always runs): axis 2 of ``[B, C, T, F]``, axis 1 of a
    3-D latent, read as ``[B, T, D]``; a ``[B, D, T]`` latent is misread.

    Arguments
    ---------
    latent : torch.Tensor
        The latent.
    name : str
        The latent, for the messages.

    Returns
    -------
    int

    Example
    -------
    >>> import torch
    >>> usual_time_axis(torch.zeros(1, 8, 50, 17), "x")
    2
    """
    if latent.dim() not in (3, 4):
        raise ValueError(
            f"Cannot take the time axis of the {latent.dim()}-D {name} "
            f"{list(latent.shape)} for granted; probe it (find_time_dims) or "
            "set its time_dim"
        )
    axis = 2 if latent.dim() == 4 else 1
    logger.warning(
        "The time axis of the %s was not probed; assuming axis %d of %s "
        "(find_time_dims probes it, as DistillBrain does)",
        name,
        axis,
        list(latent.shape),
    )
    return axis
