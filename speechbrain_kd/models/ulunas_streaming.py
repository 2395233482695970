"""UL-UNAS one STFT frame per call, with explicit caches (ONNX-exportable).

:class:`ULUNASStreaming` wraps a :class:`~speechbrain_kd.models.ulunas.ULUNAS`
(sharing its weights) and runs its ``forward`` on a single frame with the
state packed in three flat tensors, in the layout of the official
``ulunas_stream.onnx``: ``conv_cache`` (the past input frames of each
stage's time convolution, encoder then decoder stages), ``tfa_cache`` (the
time-attention GRU state of each stage) and ``inter_cache`` (the
across-frames GRU state of each bottleneck layer, ``[bins, channels]``).
Its graphs, ours and the official one, run frame by frame with
``speechbrain_kd.models.gtcrn_streaming.run_onnx_stream`` like GTCRN's.

Authors
 * speechbrain-kd contributors 2026
"""

import math
import warnings

import torch
from torch import nn

ONNX_INPUTS = ("mix", "conv_cache", "tfa_cache", "inter_cache")
ONNX_OUTPUTS = ("enh", "conv_cache_out", "tfa_cache_out", "inter_cache_out")


class ULUNASStreaming(nn.Module):
    """Frame-by-frame UL-UNAS with flat caches in and out.

    Arguments
    ---------
    model : ULUNAS
        The model whose weights are used (not copied).

    Example
    -------
    >>> from speechbrain_kd.models.ulunas import ULUNAS
    >>> model = ULUNAS(channel_scale=0.4).eval()
    >>> stream = ULUNASStreaming(model)
    >>> spec = torch.randn(1, 257, 5, 2)
    >>> caches = stream.initial_caches()
    >>> frames = []
    >>> for t in range(5):
    ...     frame, *caches = stream(spec[:, :, t : t + 1], *caches)
    ...     frames.append(frame)
    >>> whole = model(spec)
    >>> bool(torch.allclose(torch.cat(frames, dim=2), whole, atol=1e-5))
    True
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        state = model.initial_state(batch_size=1)
        self.conv_shapes = [
            None if cache is None else tuple(cache.shape[1:])
            for cache in state["conv"]
        ]
        self.attention_sizes = [s.shape[-1] for s in state["attention"]]
        self.frame_shapes = [tuple(s.shape[1:]) for s in state["frame"]]

    def cache_sizes(self):
        """Returns the sizes of ``conv_cache``, ``tfa_cache``,
        ``inter_cache`` per batch item."""
        conv = sum(math.prod(s) for s in self.conv_shapes if s is not None)
        frame = sum(math.prod(s) for s in self.frame_shapes)
        return conv, sum(self.attention_sizes), frame

    def initial_caches(self, batch_size=1):
        """Returns the zero ``conv_cache``, ``tfa_cache``, ``inter_cache``.

        Arguments
        ---------
        batch_size : int
            Batch size of the stream.

        Returns
        -------
        list of torch.Tensor
            Three ``[batch_size, size]`` tensors.
        """
        device = self.model.bands.merge.weight.device
        return [
            torch.zeros(batch_size, size, device=device)
            for size in self.cache_sizes()
        ]

    def export_onnx(self, path):
        """Writes the one-frame graph (see :func:`export_ulunas_streaming`)."""
        export_ulunas_streaming(self, path)

    def forward(self, frame, conv_cache, tfa_cache, inter_cache):
        """Enhances one frame ``[B, 257, 1, 2]``; returns it and the caches.

        Arguments
        ---------
        frame : torch.Tensor
            One frame of the noisy complex spectrum ``[B, 257, 1, 2]``.
        conv_cache, tfa_cache, inter_cache : torch.Tensor
            The caches returned by the previous call (zeros at first).

        Returns
        -------
        list of torch.Tensor
            The enhanced frame ``[B, 257, 1, 2]`` and the new caches.
        """
        batch = frame.shape[0]
        conv = _split(conv_cache, self.conv_shapes)
        attention = [
            part.reshape(1, batch, -1)
            for part in _split(
                tfa_cache, [(size,) for size in self.attention_sizes]
            )
        ]
        frame_states = _split(inter_cache, self.frame_shapes)
        state = {"conv": conv, "attention": attention, "frame": frame_states}
        enhanced = self.model(frame, state)
        conv_cache = _join(state["conv"], batch)
        tfa_cache = _join([s[0] for s in state["attention"]], batch)
        inter_cache = _join(state["frame"], batch)
        return [enhanced, conv_cache, tfa_cache, inter_cache]


def _split(flat, shapes):
    """Cuts ``flat [B, size]`` into ``[B, *shape]`` tensors (None stays)."""
    parts, start = [], 0
    for shape in shapes:
        if shape is None:
            parts.append(None)
            continue
        size = math.prod(shape)
        part = flat[:, start : start + size]
        parts.append(part.reshape(flat.shape[0], *shape))
        start += size
    return parts


def _join(parts, batch):
    """Flattens and concatenates the tensors of ``parts`` (None skipped)."""
    return torch.cat(
        [part.reshape(batch, -1) for part in parts if part is not None],
        dim=1,
    )


def export_ulunas_streaming(stream, path, opset=17):
    """Writes the streaming graph of ``stream`` to ``path`` (batch 1).

    Inputs ``mix [1, 257, 1, 2]``, ``conv_cache``, ``tfa_cache``,
    ``inter_cache``; outputs ``enh`` and the caches, suffixed ``_out``
    (the names of the official graph). BatchNorm is folded by the
    exporter.

    Arguments
    ---------
    stream : ULUNASStreaming
        The streaming model (in eval mode).
    path : str or pathlib.Path
        The ``.onnx`` file to write.
    opset : int
        ONNX opset version.
    """
    n_bins = stream.model.bands.n_bins
    inputs = (torch.zeros(1, n_bins, 1, 2), *stream.initial_caches())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            stream,
            inputs,
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=list(ONNX_INPUTS),
            output_names=list(ONNX_OUTPUTS),
        )
