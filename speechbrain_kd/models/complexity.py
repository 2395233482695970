"""Size and compute of any model: learnable/fixed parameters and MACs.

The one count of multiply-accumulates of the project (behind
``macs_per_second`` of :mod:`speechbrain_kd.models.unet` and the
``complexity()`` of the published models): forward hooks on convolutions
(plain and transposed), linear layers and recurrent layers (``nn.GRU``,
``nn.LSTM``, ``nn.RNN``) while the model runs on a probe input; bias
additions, norms, activations and element-wise gate products are not
counted, as is customary.

Authors
 * speechbrain-kd contributors 2026
"""

import math

import torch
from torch import nn

_CONVS = (nn.Conv1d, nn.Conv2d)
_TRANSPOSED_CONVS = (nn.ConvTranspose1d, nn.ConvTranspose2d)
_COUNTED = (*_CONVS, *_TRANSPOSED_CONVS, nn.Linear, nn.RNNBase)


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
    """MACs of one call of a convolution, linear or recurrent layer (else 0).

    Arguments
    ---------
    module : torch.nn.Module
        The module called.
    inputs : tuple
        Its positional inputs (a recurrent layer's sequence may be a
        ``PackedSequence``).
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
    >>> pack = nn.utils.rnn.pack_padded_sequence
    >>> packed = pack(x, [5, 3], batch_first=True)
    >>> module_macs(gru, (packed,), gru(packed))  # 5 + 3 steps
    2304
    """
    if isinstance(module, _CONVS):
        per_output = module.in_channels // module.groups
        return output.numel() * per_output * math.prod(module.kernel_size)
    if isinstance(module, _TRANSPOSED_CONVS):
        per_input = module.out_channels // module.groups
        return inputs[0].numel() * per_input * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.RNNBase):
        sequence = inputs[0]
        if isinstance(sequence, nn.utils.rnn.PackedSequence):
            sequence = sequence.data
        steps = sequence.numel() // module.input_size
        return steps * recurrent_macs_per_step(module)
    return 0


def recurrent_macs_per_step(rnn):
    """Multiply-accumulates of a recurrent layer for one input frame.

    Arguments
    ---------
    rnn : torch.nn.RNNBase
        A ``GRU``, ``LSTM`` or ``RNN``.

    Returns
    -------
    int
        Input and hidden products of every gate, layer and direction.

    Example
    -------
    >>> recurrent_macs_per_step(nn.LSTM(10, 4, bidirectional=True))
    448
    """
    gates = {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)
    directions = 2 if rnn.bidirectional else 1
    hidden = rnn.hidden_size
    output = getattr(rnn, "proj_size", 0) or hidden
    total = 0
    for layer in range(rnn.num_layers):
        inputs = rnn.input_size if layer == 0 else directions * output
        total += gates * hidden * (inputs + output)
        if output != hidden:
            total += hidden * output  # the LSTM's projection
    return directions * total


def count_macs(model, *inputs, call=nn.Module.__call__):
    """Counts the MACs of ``model(*inputs)`` (eval mode, no gradients).

    Arguments
    ---------
    model : torch.nn.Module
        Any module made of convolutions, linear and recurrent layers
        (other modules count nothing).
    *inputs : torch.Tensor
        The probe inputs.
    call : callable
        Runs the model as ``call(model, *inputs)``; plain
        ``model(*inputs)`` by default.

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

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, _COUNTED)
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            call(model, *inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total


def spectrum_model_complexity(model, seconds=4.0):
    """Parameters and MACs per second of audio of a complex-spectrum model.

    The one count behind the ``complexity()`` of the published models
    (GTCRN, UL-UNAS): the model runs on ``seconds`` of a zero spectrum
    ``[1, n_fft // 2 + 1, frames, 2]`` of the STFT in its
    ``required_features``, and :func:`count_macs` counts convolutions,
    linear layers (the fixed ERB matrices among them) and GRUs.

    Arguments
    ---------
    model : torch.nn.Module
        A model with ``required_features`` (``sample_rate``, ``n_fft``,
        ``hop_length`` in ms) taking ``[batch, freq, frames, 2]``.
    seconds : float
        Length of the probe input.

    Returns
    -------
    dict
        ``learnable`` and ``fixed`` parameter counts and
        ``macs_per_second``.

    Example
    -------
    >>> class Gain(nn.Module):
    ...     required_features = {
    ...         "sample_rate": 16000, "n_fft": 512, "hop_length": 16
    ...     }
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.gain = nn.Linear(2, 2, bias=False)
    ...     def forward(self, spec):
    ...         return self.gain(spec)
    >>> spectrum_model_complexity(Gain())  # 257 bins * 4 MACs * 62.5 frames
    {'learnable': 4, 'fixed': 0, 'macs_per_second': 64250.0}
    """
    settings = model.required_features
    frames_per_second = 1000 / settings["hop_length"]
    frames = round(seconds * frames_per_second)
    probe = torch.zeros(1, settings["n_fft"] // 2 + 1, frames, 2)
    macs = count_macs(model, probe)
    return {
        **parameter_counts(model),
        "macs_per_second": macs / frames * frames_per_second,
    }
