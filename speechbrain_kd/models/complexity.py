"""Size and compute of any model: learnable/fixed parameters and MACs.

Multiply-accumulates are counted with forward hooks on convolutions
(plain and transposed), linear layers and GRUs while the model runs on a
probe input; bias additions, norms, activations and element-wise gate
products are not counted, as is customary.

Authors
 * speechbrain-kd contributors 2026
"""

import math

import torch
from torch import nn

_CONVS = (nn.Conv1d, nn.Conv2d)
_TRANSPOSED_CONVS = (nn.ConvTranspose1d, nn.ConvTranspose2d)


def parameter_counts(model):
    """Counts learnable and fixed (``requires_grad=False``) parameters.

    Arguments
    ---------
    model : torch.nn.Module
        Any module.

    Returns
    -------
    dict
        ``{"learnable": int, "fixed": int}``.

    Example
    -------
    >>> lin = nn.Linear(3, 2)
    >>> lin.bias.requires_grad_(False)  # doctest: +ELLIPSIS
    Parameter containing:...
    >>> parameter_counts(lin)
    {'learnable': 6, 'fixed': 2}
    """
    counts = {"learnable": 0, "fixed": 0}
    for p in model.parameters():
        counts["learnable" if p.requires_grad else "fixed"] += p.numel()
    return counts


def module_macs(module, inputs, output):
    """MACs of one call of a convolution, linear layer or GRU (else 0).

    Arguments
    ---------
    module : torch.nn.Module
        The module called.
    inputs : tuple
        Its positional inputs.
    output : torch.Tensor or tuple
        Its output.

    Returns
    -------
    int

    Example
    -------
    >>> gru = nn.GRU(4, 8, batch_first=True)
    >>> x = torch.zeros(2, 5, 4)
    >>> module_macs(gru, (x,), gru(x))  # 2 * 5 steps of 3 * 8 * (4 + 8)
    2880
    """
    if isinstance(module, _CONVS):
        per_output = module.in_channels // module.groups
        return output.numel() * per_output * math.prod(module.kernel_size)
    if isinstance(module, _TRANSPOSED_CONVS):
        per_input = module.out_channels // module.groups
        return inputs[0].numel() * per_input * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.GRU):
        return _gru_macs(module, output[0])
    return 0


def _gru_macs(gru, sequence_output):
    """Three gates of input and recurrent products per step and direction."""
    directions = 2 if gru.bidirectional else 1
    steps = sequence_output.numel() // (directions * gru.hidden_size)
    per_step = 0
    for layer in range(gru.num_layers):
        inputs = gru.input_size if layer == 0 else directions * gru.hidden_size
        per_step += 3 * gru.hidden_size * (inputs + gru.hidden_size)
    return steps * directions * per_step


def count_macs(model, *inputs):
    """Counts the MACs of ``model(*inputs)`` (eval mode, no gradients).

    Arguments
    ---------
    model : torch.nn.Module
        Any module made of convolutions, linear layers and GRUs (other
        modules count nothing).
    *inputs : torch.Tensor
        The probe inputs.

    Returns
    -------
    int

    Example
    -------
    >>> count_macs(nn.Sequential(nn.Linear(10, 3)), torch.zeros(4, 10))
    120
    """
    total = 0

    def hook(module, args, output):
        nonlocal total
        total += module_macs(module, args, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
