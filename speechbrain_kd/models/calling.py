"""Calling an enhancement model the way its ``forward`` asks.

A model of ours takes ``forward(x)`` or ``forward(x, lengths=None)``;
SpeechBrain's own (``MetricGAN.EnhancementGenerator``) may require
``lengths``. Every caller (the Brains, the probe of the distillation, the
teacher check) goes through :func:`call_model`.

Authors
 * speechbrain-kd contributors 2026
"""

from speechbrain.utils.callchains import lengths_arg_exists


def call_model(model, feats, lengths=None):
    """Calls an enhancement model, with ``lengths`` if it accepts them.

    Arguments
    ---------
    model : torch.nn.Module
        The model, possibly wrapped in DistributedDataParallel.
    feats : torch.Tensor
        Features ``[batch, time, freq]``.
    lengths : torch.Tensor, optional
        Relative lengths.

    Returns
    -------
    torch.Tensor
        The model's output.

    Example
    -------
    >>> import torch
    >>> class NeedsLengths(torch.nn.Module):
    ...     def forward(self, x, lengths):
    ...         return x * lengths[:, None, None]
    >>> call_model(NeedsLengths(), torch.ones(2, 3, 4), torch.ones(2)).shape
    torch.Size([2, 3, 4])
    """
    inner = getattr(model, "module", model)
    if lengths is not None and lengths_arg_exists(inner.forward):
        return model(feats, lengths=lengths)
    return model(feats)
