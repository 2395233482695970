"""A magnitude-mask UNet family for speech denoising, sized for distillation.

The network follows the singing-voice UNet of Jansson et al. (2017,
https://doi.org/10.5281/zenodo.1414934) as tuned for low resources: strided
2-D convolutions halve the frequency axis (and, optionally, the time axis) at
each encoder level, a named ``bottleneck`` holds the latent representation,
and a decoder of upsampling + convolution with skip connections returns a
sigmoid mask. The ``causal`` option removes all look-ahead in time, so output
frame ``t`` depends only on input frames ``<= t``.

Authors
 * speechbrain-kd contributors 2026
"""

import math

import torch
from torch import nn


class _ConvBlock(nn.Module):
    """Conv2d over ``[batch, channels, time, freq]`` + BatchNorm + activation.

    Padding is computed here so that a causal block pads the time axis on the
    left only (no look-ahead), and a non-causal block pads it symmetrically.

    Arguments
    ---------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    kernel_size : tuple of int
        Kernel size as ``(time, freq)``; both must be odd.
    stride : tuple of int
        Stride as ``(time, freq)``.
    causal : bool
        Pad time on the left only.
    activation : type
        Activation class, instantiated without arguments.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=(1, 1),
        causal=False,
        activation=nn.LeakyReLU,
    ):
        super().__init__()
        kt, kf = kernel_size
        if causal:
            self.time_pad = (kt - 1, 0)
        else:
            self.time_pad = ((kt - 1) // 2, (kt - 1) // 2)
        self.freq_pad = ((kf - 1) // 2, (kf - 1) // 2)
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride
        )
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = activation()

    def forward(self, x):
        """Returns the block's output for ``x``: ``[B, C, T, F]``."""
        x = nn.functional.pad(x, self.freq_pad + self.time_pad)
        return self.act(self.norm(self.conv(x)))


class MaskUNet(nn.Module):
    """Magnitude-mask UNet over ``[batch, time, freq]`` features.

    Encoder level ``i`` has ``round(base_channels * growth ** i)`` channels
    and halves the frequency axis; the first ``time_downsample`` levels also
    halve time. The ``bottleneck`` submodule (one or more stride-1 blocks at
    the lowest resolution) outputs the latent ``[batch, C, T', F']`` that
    distillation aligns. Frequency and time are zero-padded to a multiple of
    the total downsampling factor and cropped back, so any number of frames
    and bins works. Padded frames beyond ``lengths`` are set to mask zero.

    Arguments
    ---------
    depth : int
        Number of encoder (and decoder) levels, >= 1.
    base_channels : int
        Channels of the first encoder level.
    growth : float
        Channel multiplier from one level to the next.
    kernel_size : int or tuple of int
        Odd kernel size, ``(time, freq)`` or one int for both.
    time_downsample : int
        How many of the first levels also halve time (0 keeps full
        time resolution), between 0 and ``depth``.
    causal : bool
        If True, no layer looks ahead in time.
    bottleneck_layers : int
        Number of stride-1 blocks in the bottleneck.
    bottleneck_channels : int or None
        Channels of the bottleneck; by default those of the last level.
    dropout : float
        Dropout applied in the decoder (training only).

    Example
    -------
    >>> model = MaskUNet(depth=3, base_channels=4, time_downsample=1)
    >>> feats = torch.rand(2, 101, 257)
    >>> mask = model(feats, lengths=torch.tensor([1.0, 0.5]))
    >>> mask.shape
    torch.Size([2, 101, 257])
    >>> bool(mask.min() >= 0) and bool(mask.max() <= 1)
    True
    >>> model.latent_shape(n_freq=257)  # channels, bins of the bottleneck
    (16, 33)
    """

    def __init__(
        self,
        depth=4,
        base_channels=16,
        growth=2.0,
        kernel_size=3,
        time_downsample=0,
        causal=False,
        bottleneck_layers=1,
        bottleneck_channels=None,
        dropout=0.0,
    ):
        super().__init__()
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        kernel_size = tuple(kernel_size)
        _check_options(
            depth,
            base_channels,
            growth,
            kernel_size,
            time_downsample,
            bottleneck_layers,
            dropout,
        )
        self.depth = depth
        self.time_downsample = time_downsample
        self.causal = causal
        channels = [round(base_channels * growth**i) for i in range(depth)]
        bottleneck_channels = bottleneck_channels or channels[-1]
        self.channels = channels

        self.encoder = nn.ModuleList()
        in_ch = 1
        for i, ch in enumerate(channels):
            stride = (2 if i < time_downsample else 1, 2)
            self.encoder.append(
                _ConvBlock(in_ch, ch, kernel_size, stride, causal)
            )
            in_ch = ch

        self.bottleneck = nn.Sequential(
            *[
                _ConvBlock(
                    in_ch if j == 0 else bottleneck_channels,
                    bottleneck_channels,
                    kernel_size,
                    causal=causal,
                )
                for j in range(bottleneck_layers)
            ]
        )

        # Decoder level i upsamples to encoder level i's input resolution and
        # fuses the skip connection carrying that input.
        self.decoder = nn.ModuleList()
        in_ch = bottleneck_channels
        skip_channels = [1] + channels[:-1]
        for i in reversed(range(depth)):
            out_ch = channels[max(i - 1, 0)]
            self.decoder.append(
                _ConvBlock(
                    in_ch + skip_channels[i],
                    out_ch,
                    kernel_size,
                    causal=causal,
                    activation=nn.ReLU,
                )
            )
            in_ch = out_ch
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Conv2d(in_ch, 1, kernel_size=1)

    @property
    def time_factor(self):
        """Total downsampling factor of the time axis."""
        return 2**self.time_downsample

    @property
    def freq_factor(self):
        """Total downsampling factor of the frequency axis."""
        return 2**self.depth

    def latent_shape(self, n_freq):
        """Returns ``(channels, bins)`` of the bottleneck for ``n_freq`` bins.

        Arguments
        ---------
        n_freq : int
            Number of frequency bins of the input features.

        Returns
        -------
        tuple of int
        """
        bins = math.ceil(n_freq / self.freq_factor)
        return self.bottleneck[-1].conv.out_channels, bins

    def forward(self, x, lengths=None):
        """Estimates a mask in [0, 1] for the features ``x``.

        Arguments
        ---------
        x : torch.Tensor
            Features ``[batch, time, freq]`` (log1p magnitudes).
        lengths : torch.Tensor, optional
            Relative lengths in (0, 1] of each utterance; frames beyond
            an utterance's length get mask 0.

        Returns
        -------
        torch.Tensor
            The mask, ``[batch, time, freq]``.
        """
        if x.dim() != 3:
            raise ValueError(
                "MaskUNet expects features [batch, time, freq], got shape "
                f"{tuple(x.shape)}"
            )
        n_time, n_freq = x.shape[1], x.shape[2]
        pad_t = -n_time % self.time_factor
        pad_f = -n_freq % self.freq_factor
        h = nn.functional.pad(x.unsqueeze(1), (0, pad_f, 0, pad_t))

        skips = []
        for block in self.encoder:
            skips.append(h)
            h = block(h)
        h = self.bottleneck(h)
        for block, skip in zip(self.decoder, reversed(skips)):
            h = _upsample_to(h, skip)
            h = self.dropout(block(torch.cat([h, skip], dim=1)))
        mask = torch.sigmoid(self.head(h))[:, 0, :n_time, :n_freq]

        if lengths is not None:
            frames = torch.arange(n_time, device=x.device)
            valid = frames[None, :] < torch.round(lengths * n_time)[:, None]
            mask = mask * valid.unsqueeze(-1).to(mask.dtype)
        return mask


def _upsample_to(h, ref):
    """Nearest-neighbour upsampling of ``h`` by the integer factors that
    bring it to ``ref``'s time and frequency size (each factor 1 or 2).

    Repeating a frame forward in time keeps causality: the copy at frame
    ``2k + 1`` only uses information up to frame ``2k``.
    """
    ft = ref.shape[2] // h.shape[2]
    ff = ref.shape[3] // h.shape[3]
    return h.repeat_interleave(ft, dim=2).repeat_interleave(ff, dim=3)


def _check_options(
    depth,
    base_channels,
    growth,
    kernel_size,
    time_downsample,
    bottleneck_layers,
    dropout,
):
    """Raises a ValueError naming the first invalid MaskUNet option."""
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"MaskUNet: depth must be an int >= 1, got {depth!r}")
    if not isinstance(base_channels, int) or base_channels < 1:
        raise ValueError(
            f"MaskUNet: base_channels must be an int >= 1, got "
            f"{base_channels!r}"
        )
    if growth <= 0:
        raise ValueError(f"MaskUNet: growth must be > 0, got {growth!r}")
    if len(kernel_size) != 2 or any(k < 1 or k % 2 == 0 for k in kernel_size):
        raise ValueError(
            "MaskUNet: kernel_size must be odd ints (time, freq), got "
            f"{kernel_size!r}"
        )
    if not 0 <= time_downsample <= depth:
        raise ValueError(
            f"MaskUNet: time_downsample must be in [0, depth={depth}], got "
            f"{time_downsample!r}"
        )
    if bottleneck_layers < 1:
        raise ValueError(
            "MaskUNet: bottleneck_layers must be >= 1, got "
            f"{bottleneck_layers!r}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"MaskUNet: dropout must be in [0, 1), got {dropout}")


def count_parameters(model, trainable_only=False):
    """Returns the number of parameters of ``model``.

    Arguments
    ---------
    model : torch.nn.Module
        Any module.
    trainable_only : bool
        Count only parameters with ``requires_grad``.

    Returns
    -------
    int

    Example
    -------
    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    return sum(
        p.numel()
        for p in model.parameters()
        if p.requires_grad or not trainable_only
    )


def probe_input(n_frames, n_freq=None, front_end=None, fill=0.0):
    """A constant input of one utterance of ``n_frames`` frames for a model.

    Arguments
    ---------
    n_frames : int
        Frames of the input.
    n_freq : int, optional
        Frequency bins of ``[batch, time, freq]`` features.
    front_end : speechbrain_kd.features.SpectralFrontEnd, optional
        The model's front-end, which shapes the input instead (then
        ``n_freq`` is its own).
    fill : float
        The value of every element.

    Returns
    -------
    feats : torch.Tensor
        The input.
    time_axis : int
        Its time axis.

    Raises
    ------
    TypeError
        If neither ``n_freq`` nor ``front_end`` is given.

    Example
    -------
    >>> feats, time_axis = probe_input(10, n_freq=5, fill=1.0)
    >>> feats.shape, float(feats.sum()), time_axis
    (torch.Size([1, 10, 5]), 50.0, 1)
    >>> probe_input(10)
    Traceback (most recent call last):
    ...
    TypeError: Give n_freq (the frequency bins of the features) or the \
front_end of the model's features file (hparams/features)
    """
    if front_end is not None:
        return front_end.example_input(n_frames, fill=fill), front_end.time_axis
    if n_freq is None:
        raise TypeError(
            "Give n_freq (the frequency bins of the features) or the "
            "front_end of the model's features file (hparams/features)"
        )
    return torch.full((1, n_frames, n_freq), fill), 1


def macs_per_second(
    model, n_freq=None, frames_per_second=62.5, seconds=4.0, front_end=None
):
    """Counts multiply-accumulates per second of audio of a feature model.

    The model processes ``seconds`` of features while
    :func:`speechbrain_kd.models.complexity.count_macs` counts
    convolutions, linear and recurrent layers (``nn.GRU``, ``nn.LSTM``,
    ``nn.RNN``: the input and hidden products of every gate, layer and
    direction; bias additions, norms, activations and gate products are
    not counted, as is customary).

    Arguments
    ---------
    model : torch.nn.Module
        A model taking ``[batch, time, freq]`` features.
    n_freq : int, optional
        Frequency bins of the features (``n_fft // 2 + 1``); required
        without ``front_end``.
    frames_per_second : float
        Feature frames per second of audio (62.5 for a 16 ms hop).
    seconds : float
        Length of the probe input.
    front_end : speechbrain_kd.features.SpectralFrontEnd, optional
        The model's front-end, which shapes the probe input (then
        ``n_freq`` is its own); ``[batch, time, freq]`` features if None.

    Returns
    -------
    float
        MACs per second of audio.

    Example
    -------
    >>> lin = torch.nn.Sequential(torch.nn.Linear(257, 1))
    >>> macs_per_second(lin, 257, frames_per_second=100)
    25700.0
    >>> # 3 gates x 8 units x (257 inputs + 8 hidden), 100 frames a second
    >>> macs_per_second(nn.GRU(257, 8, batch_first=True), 257, 100)
    636000.0
    """
    # neither module is needed (nor bundled) where a hub folder carries this
    from speechbrain_kd.features import call_model
    from speechbrain_kd.models.complexity import count_macs

    n_frames = round(frames_per_second * seconds)
    feats, _ = probe_input(n_frames, n_freq, front_end)
    macs = count_macs(model, feats, call=call_model)
    return macs / n_frames * frames_per_second


def describe(model, n_freq=None, frames_per_second=62.5, front_end=None):
    """Returns a one-line summary: parameters and MMACs per second.

    Arguments
    ---------
    model : torch.nn.Module
        A model taking ``[batch, time, freq]`` features.
    n_freq : int, optional
        Frequency bins of the features; required without ``front_end``.
    frames_per_second : float
        Feature frames per second of audio.
    front_end : speechbrain_kd.features.SpectralFrontEnd, optional
        The model's front-end (see :func:`macs_per_second`).

    Returns
    -------
    str

    Example
    -------
    >>> describe(MaskUNet(depth=2, base_channels=2), 257)
    'params=441, MMAC/s=2.81'
    """
    macs = macs_per_second(
        model, n_freq, frames_per_second, front_end=front_end
    )
    return f"params={count_parameters(model)}, MMAC/s={macs / 1e6:.2f}"
