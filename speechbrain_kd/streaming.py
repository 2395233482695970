"""Stateful frame-by-frame inference of causal MaskUNet students.

A causal ``MaskUNet`` with full time resolution (``causal: True``,
``time_downsample: 0``) computes output frame ``t`` from input frames
``<= t`` only, through convolutions whose time kernels reach ``kt - 1``
frames back. :class:`StreamingMaskUNet` runs it one feature frame at a
time: each convolution keeps its last ``kt - 1`` input frames as an
explicit cache, passed in and returned by ``forward``, so the module (and
its ONNX graph) is stateless and the caller holds the state. BatchNorm is
folded into the convolutions. The streamed masks equal the offline
causal ones (up to float rounding).

Strided time downsampling (``time_downsample > 0``) has no frame-by-frame
form here (an output frame would wait for the next frame of its pair):
such students, non-causal ones and models that are not a ``MaskUNet`` are
refused by :func:`streaming_refusal` with the reason.

Authors
 * speechbrain-kd contributors 2026
"""

import copy

import torch
from torch import nn

from speechbrain_kd.models.unet import MaskUNet


def streaming_refusal(model):
    """Why a model has no streaming form, or None if it has one.

    Arguments
    ---------
    model : torch.nn.Module
        A mask network.

    Returns
    -------
    str or None

    Example
    -------
    >>> streaming_refusal(MaskUNet(depth=2, causal=True)) is None
    True
    >>> streaming_refusal(MaskUNet(depth=2))
    'MaskUNet is not causal (causal: False): its output frames use future \
input frames, which a stream does not have yet'
    """
    name = type(model).__name__
    if not isinstance(model, MaskUNet):
        return (
            f"{name} has no streaming form: only MaskUNet layers have a "
            "frame-by-frame implementation (speechbrain_kd.streaming)"
        )
    if not model.causal:
        return (
            f"{name} is not causal (causal: False): its output frames use "
            "future input frames, which a stream does not have yet"
        )
    if model.time_downsample:
        return (
            f"{name} halves time (time_downsample: "
            f"{model.time_downsample}); streaming needs time_downsample: 0, "
            "since a strided frame waits for the next input frame"
        )
    return None


def fold_batchnorm(conv, norm):
    """A copy of ``conv`` whose output equals ``norm(conv(x))`` in eval.

    Arguments
    ---------
    conv : torch.nn.Conv2d
        The convolution.
    norm : torch.nn.BatchNorm2d
        The batch norm that follows it (its running statistics are used).

    Returns
    -------
    torch.nn.Conv2d

    Example
    -------
    >>> conv, norm = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
    >>> norm.running_mean.uniform_(); norm.running_var.uniform_(1, 2)
    ... # doctest: +ELLIPSIS
    tensor(...)
    >>> x = torch.rand(1, 2, 5, 5)
    >>> folded = fold_batchnorm(conv, norm.eval())
    >>> bool(torch.allclose(folded(x), norm(conv(x)), atol=1e-6))
    True
    """
    folded = copy.deepcopy(conv)
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale[:, None, None, None])
        folded.bias = nn.Parameter((bias - norm.running_mean) * scale)
        folded.bias.data.add_(norm.bias)
    return folded


class _StreamingBlock(nn.Module):
    """One causal ``_ConvBlock`` (conv + folded norm + activation) that
    takes one frame ``[batch, C, 1, F]`` and its cache of the ``kt - 1``
    past frames ``[batch, C, kt - 1, F]``; frequency padding is the
    convolution's own."""

    def __init__(self, block):
        super().__init__()
        self.context = block.time_pad[0]
        folded = fold_batchnorm(block.conv, block.norm)
        self.conv = nn.Conv2d(
            folded.in_channels,
            folded.out_channels,
            folded.kernel_size,
            stride=folded.stride,
            padding=(0, block.freq_pad[0]),
        )
        self.conv.load_state_dict(folded.state_dict())
        self.act = copy.deepcopy(block.act)

    def forward(self, frame, cache):
        """Returns the output frame and the updated cache."""
        window = torch.cat([cache, frame], dim=2)
        return self.act(self.conv(window)), window[:, :, 1:]


class StreamingMaskUNet(nn.Module):
    """A causal MaskUNet that processes one feature frame per call.

    Arguments
    ---------
    model : MaskUNet
        A causal model with ``time_downsample: 0`` (weights are copied,
        BatchNorm folded; the model itself is not changed).
    n_freq : int
        Frequency bins of the features (257 for a 512-point FFT).

    Example
    -------
    >>> model = MaskUNet(depth=2, base_channels=2, causal=True).eval()
    >>> stream = StreamingMaskUNet(model, n_freq=65)
    >>> feats = torch.rand(1, 9, 65)
    >>> caches = stream.initial_caches()
    >>> frames = []
    >>> for t in range(9):
    ...     mask, *caches = stream(feats[:, t : t + 1], *caches)
    ...     frames.append(mask)
    >>> offline = model(feats)
    >>> bool(torch.allclose(torch.cat(frames, dim=1), offline, atol=1e-6))
    True
    >>> StreamingMaskUNet(MaskUNet(depth=2), n_freq=65)
    Traceback (most recent call last):
    ...
    ValueError: Cannot stream: MaskUNet is not causal (causal: False): its \
output frames use future input frames, which a stream does not have yet
    """

    def __init__(self, model, n_freq):
        super().__init__()
        reason = streaming_refusal(model)
        if reason:
            raise ValueError(f"Cannot stream: {reason}")
        self.n_freq = n_freq
        self.pad_f = -n_freq % model.freq_factor
        self.encoder = nn.ModuleList(_StreamingBlock(b) for b in model.encoder)
        self.bottleneck = nn.ModuleList(
            _StreamingBlock(b) for b in model.bottleneck
        )
        self.decoder = nn.ModuleList(_StreamingBlock(b) for b in model.decoder)
        self.head = copy.deepcopy(model.head)
        self.eval()
        self.cache_shapes = self._cache_shapes(model.depth)

    def _blocks(self):
        return [*self.encoder, *self.bottleneck, *self.decoder]

    def _cache_shapes(self, depth):
        """Shapes ``[1, C, kt - 1, F]`` of the caches: the input
        bins of each block (the features padded to a multiple of the
        downsampling, halved at each encoder level)."""
        bins = self.n_freq + self.pad_f
        levels = [
            *range(depth),
            *[depth] * len(self.bottleneck),
            *reversed(range(depth)),
        ]
        return [
            (
                1,
                block.conv.in_channels,
                block.context,
                bins // 2**level,
            )
            for block, level in zip(self._blocks(), levels)
        ]

    def initial_caches(self, batch=1):
        """The caches before the first frame (zeros, as the offline
        model's left padding).

        Arguments
        ---------
        batch : int
            Streams processed in parallel.

        Returns
        -------
        list of torch.Tensor
        """
        return [torch.zeros(batch, *shape[1:]) for shape in self.cache_shapes]

    def forward(self, frame, *caches):
        """Estimates the mask of one frame.

        Arguments
        ---------
        frame : torch.Tensor
            One feature frame ``[batch, 1, freq]``.
        *caches : torch.Tensor
            The caches returned by the previous call (or
            :meth:`initial_caches`).

        Returns
        -------
        tuple of torch.Tensor
            The mask ``[batch, 1, freq]``, then the updated caches.
        """
        caches = list(caches)
        new_caches = []

        def step(block, h):
            h, cache = block(h, caches[len(new_caches)])
            new_caches.append(cache)
            return h

        h = nn.functional.pad(frame.unsqueeze(1), (0, self.pad_f))
        skips = []
        for block in self.encoder:
            skips.append(h)
            h = step(block, h)
        for block in self.bottleneck:
            h = step(block, h)
        for block, skip in zip(self.decoder, reversed(skips)):
            h = nn.functional.interpolate(h, scale_factor=(1.0, 2.0))
            h = step(block, torch.cat([h, skip], dim=1))
        mask = torch.sigmoid(self.head(h))[:, 0, :, : self.n_freq]
        return (mask, *new_caches)


def stream_masks(stream, feats):
    """Runs a :class:`StreamingMaskUNet` frame by frame over features.

    Arguments
    ---------
    stream : StreamingMaskUNet
        The streaming model.
    feats : torch.Tensor
        Features ``[batch, time, freq]``.

    Returns
    -------
    torch.Tensor
        The masks ``[batch, time, freq]``, one frame at a time.

    Example
    -------
    >>> model = MaskUNet(depth=1, base_channels=2, causal=True).eval()
    >>> stream_masks(StreamingMaskUNet(model, 33), torch.rand(2, 4, 33)).shape
    torch.Size([2, 4, 33])
    """
    caches = stream.initial_caches(len(feats))
    frames = []
    with torch.no_grad():
        for t in range(feats.shape[1]):
            mask, *caches = stream(feats[:, t : t + 1], *caches)
            frames.append(mask)
    return torch.cat(frames, dim=1)
