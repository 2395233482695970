"""UL-UNAS: an ultra-lightweight causal U-Net for speech enhancement.

The network of Rong et al., "Ultra-Lightweight U-Nets for Speech
Enhancement via Network Architecture Search", IEEE/ACM TASLP 2026
(https://github.com/Xiaobin-Rong/ul-unas). It estimates a real mask over
the complex STFT from the log magnitude: the upper bins are merged into
ERB bands, five encoder stages found by architecture search (a full
convolution, inverted-bottleneck and depthwise-separable stages with
grouped pointwise convolutions, channel shuffles, affine PReLUs and causal
time-frequency attention) narrow 129 bins to 33, two grouped dual-path GRU
layers form the ``bottleneck``, and a mirrored decoder with additive skips
returns the mask. Nothing looks ahead in time: convolutions pad the past
only, GRUs over time are unidirectional (GRUs over frequency may be
bidirectional, within one frame).

Every stateful piece has a ``forward`` over whole sequences that takes and
returns its state (convolution caches, GRU states), so that one frame with
its state (see ``speechbrain_kd.models.ulunas_streaming``) computes the
same as the whole sequence.

Authors
 * speechbrain-kd contributors 2026
"""

import itertools

import torch
from torch import nn

from speechbrain_kd.models.complexity import spectrum_model_complexity
from speechbrain_kd.models.erb import ERBBands

# The searched architecture, encoder stage by stage: kind, output channels
# (before ``channel_scale``), kernel (time, freq), frequency stride, groups.
# The decoder mirrors it; its last stage returns the 1-channel mask.
STAGES = (
    ("conv", 12, (3, 3), 2, 1),
    ("mobile", 24, (2, 3), 2, 2),
    ("separable", 24, (2, 3), 1, 2),
    ("mobile", 32, (1, 5), 1, 2),
    ("separable", 16, (1, 5), 1, 2),
)
# Bins kept below the ERB bands, and the ERB bands
LOW_BINS = 65
ERB_BANDS = 64
BOTTLENECK_LAYERS = 2
# Bins per group of the frequency attention's GRU
FREQ_GROUP = 4
# The official names of the children of the modules shared with GTCRN
SHARED_MODULE_NAMES = {ERBBands: {"merge": "erb_fc", "split": "ierb_fc"}}


class _ScaledPReLU(nn.Module):
    """``scale * x + shift + prelu(x)``, scale and shift per channel and bin.

    Arguments
    ---------
    channels : int
        Channels of ``[batch, channels, time, bins]`` inputs.
    bins : int
        Frequency bins of the inputs.
    """

    OFFICIAL_NAMES = {
        "scale": "affine_weight",
        "shift": "affine_bias",
        "slope": "slope_weight",
    }

    def __init__(self, channels, bins):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels, bins))
        self.shift = nn.Parameter(torch.zeros(channels, bins))
        self.slope = nn.Parameter(torch.full((channels,), 0.25))

    def forward(self, x):
        """Returns the activation of ``x``: ``[B, C, T, F]``."""
        affine = self.scale[:, None] * x + self.shift[:, None]
        return affine + torch.where(x > 0, x, self.slope[:, None, None] * x)


class _TimeFreqAttention(nn.Module):
    """Causal time-frequency attention: ``x`` times two sigmoid gates.

    The time gate runs a GRU over frames on each channel's mean energy; the
    frequency gate runs a bidirectional GRU over groups of 4 bins of each
    frame's mean energy (within the frame, so it stays causal).

    Arguments
    ---------
    channels : int
        Channels of the inputs.
    bins : int
        Frequency bins of the inputs.
    """

    OFFICIAL_NAMES = {
        "time_gru": "ta_gru",
        "time_proj": "ta_fc",
        "freq_gru": "fa.gru",
        "freq_proj": "fa.fc",
    }

    def __init__(self, channels, bins):
        super().__init__()
        self.bins = bins
        self.time_gru = nn.GRU(channels, 2 * channels, batch_first=True)
        self.time_proj = nn.Linear(2 * channels, channels)
        self.freq_gru = nn.GRU(
            FREQ_GROUP, FREQ_GROUP, batch_first=True, bidirectional=True
        )
        self.freq_proj = nn.Linear(2 * FREQ_GROUP, FREQ_GROUP)

    @property
    def state_size(self):
        """Size of the time GRU's state per batch item."""
        return self.time_gru.hidden_size

    def forward(self, x, state=None):
        """Gates ``x [B, C, T, F]``; ``state [1, B, 2C]`` is the time GRU's.

        Returns the gated ``x`` and the time GRU's final state.
        """
        energy = x.pow(2).mean(dim=-1).transpose(1, 2)  # [B, T, C]
        time_gate, state = self.time_gru(energy, state)
        time_gate = torch.sigmoid(self.time_proj(time_gate))
        time_gate = time_gate.transpose(1, 2).unsqueeze(-1)  # [B, C, T, 1]
        return time_gate * x * self._freq_gate(x), state

    def _freq_gate(self, x):
        """Returns the frequency gate ``[B, 1, T, F]`` of ``x``."""
        batch, _, frames, bins = x.shape
        energy = x.pow(2).mean(dim=1)  # [B, T, F]
        padded = -bins % FREQ_GROUP
        energy = nn.functional.pad(energy, (0, padded))
        groups = energy.reshape(batch * frames, -1, FREQ_GROUP)
        gate = self.freq_proj(self.freq_gru(groups)[0])
        gate = gate.reshape(batch, frames, bins + padded)[..., :bins]
        return torch.sigmoid(gate).unsqueeze(1)


class _CausalConv(nn.Module):
    """A 2-D (transposed) convolution that pads the past only.

    The time stride is 1, so the cache of the last ``kernel_time - 1``
    input frames is all that one frame needs from the past.

    Arguments
    ---------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    kernel_size : tuple of int
        ``(time, freq)``; the frequency kernel is odd.
    freq_stride : int
        Stride over frequency (2 halves or, transposed, doubles the bins).
    groups : int
        Convolution groups.
    transposed : bool
        Use a transposed convolution (decoder).
    """

    OFFICIAL_NAMES = {"conv": ""}

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        freq_stride=1,
        groups=1,
        transposed=False,
    ):
        super().__init__()
        kt, kf = kernel_size
        self.past = kt - 1
        if transposed:
            # Padding kt - 1 crops the frames that would look ahead
            self.conv = nn.ConvTranspose2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=(1, freq_stride),
                padding=(kt - 1, kf // 2),
                groups=groups,
            )
        else:
            self.conv = nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=(1, freq_stride),
                padding=(0, kf // 2),
                groups=groups,
            )

    def cache_shape(self, channels, bins):
        """Returns the cache shape for inputs ``[B, channels, T, bins]``
        (None for a kernel of one frame)."""
        return None if self.past == 0 else (channels, self.past, bins)

    def forward(self, x, cache=None):
        """Convolves ``x [B, C, T, F]`` after the cached past frames.

        ``cache`` (``[B, C, kt - 1, F]``, zeros if None) holds the input
        frames before ``x``. Returns the output ``[B, C', T, F']`` and the
        new cache (None for a kernel of one frame).
        """
        if self.past == 0:
            return self.conv(x), None
        if cache is None:
            cache = x.new_zeros(x.shape[0], x.shape[1], self.past, x.shape[3])
        x = torch.cat([cache, x], dim=2)
        return self.conv(x), x[:, :, -self.past :]


def _shuffle(x):
    """Interleaves the two channel halves of ``x [B, 2C, T, F]``."""
    first, second = x.chunk(2, dim=1)
    return torch.stack([first, second], dim=2).flatten(1, 2)


class _ConvStage(nn.Module):
    """Full convolution + BatchNorm + affine PReLU + attention.

    Arguments
    ---------
    in_channels, out_channels : int
        Channels in and out.
    in_bins, out_bins : int
        Frequency bins in and out.
    kernel_size : tuple of int
        ``(time, freq)``.
    freq_stride : int
        Frequency stride.
    groups : int
        Convolution groups; 2 also shuffles the output channels.
    transposed : bool
        Decoder stage (transposed convolution).
    last : bool
        The mask stage: no activation and no shuffle.
    """

    OFFICIAL_NAMES = {
        "conv": "ops.1",
        "norm": "ops.2",
        "act": "ops.3",
        "attention": "ops.4",
    }

    def __init__(
        self,
        in_channels,
        out_channels,
        in_bins,
        out_bins,
        kernel_size,
        freq_stride,
        groups,
        transposed=False,
        last=False,
    ):
        super().__init__()
        self.conv = _CausalConv(
            in_channels,
            out_channels,
            kernel_size,
            freq_stride,
            groups,
            transposed,
        )
        self.conv_cache_shape = self.conv.cache_shape(in_channels, in_bins)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = (
            nn.Identity() if last else _ScaledPReLU(out_channels, out_bins)
        )
        self.attention = _TimeFreqAttention(out_channels, out_bins)
        self.shuffle = groups == 2 and not last

    def forward(self, x, conv_cache=None, attention_state=None):
        """Returns the output, the new conv cache and attention state."""
        x, conv_cache = self.conv(x, conv_cache)
        x = self.act(self.norm(x))
        x, attention_state = self.attention(x, attention_state)
        if self.shuffle:
            x = _shuffle(x)
        return x, conv_cache, attention_state


class _SeparableStage(nn.Module):
    """Grouped pointwise + depthwise convolution + attention.

    Arguments are those of ``_ConvStage`` (without ``last``).
    """

    OFFICIAL_NAMES = {
        "point_conv": "pconv.0",
        "point_norm": "pconv.1",
        "point_act": "pconv.2",
        "depth_conv": "dconv.1",
        "depth_norm": "dconv.2",
        "depth_act": "dconv.3",
        "attention": "dconv.4",
    }

    def __init__(
        self,
        in_channels,
        out_channels,
        in_bins,
        out_bins,
        kernel_size,
        freq_stride,
        groups,
        transposed=False,
    ):
        super().__init__()
        self.point_conv = nn.Conv2d(in_channels, out_channels, 1, groups=groups)
        self.point_norm = nn.BatchNorm2d(out_channels)
        self.point_act = _ScaledPReLU(out_channels, in_bins)
        self.shuffle = groups == 2
        self.depth_conv = _CausalConv(
            out_channels,
            out_channels,
            kernel_size,
            freq_stride,
            out_channels,
            transposed,
        )
        self.conv_cache_shape = self.depth_conv.cache_shape(
            out_channels, in_bins
        )
        self.depth_norm = nn.BatchNorm2d(out_channels)
        self.depth_act = _ScaledPReLU(out_channels, out_bins)
        self.attention = _TimeFreqAttention(out_channels, out_bins)

    def forward(self, x, conv_cache=None, attention_state=None):
        """Returns the output, the new conv cache and attention state."""
        x = self.point_act(self.point_norm(self.point_conv(x)))
        if self.shuffle:
            x = _shuffle(x)
        x, conv_cache = self.depth_conv(x, conv_cache)
        x = self.depth_act(self.depth_norm(x))
        x, attention_state = self.attention(x, attention_state)
        return x, conv_cache, attention_state


class _MobileStage(nn.Module):
    """Inverted-bottleneck stage: pointwise, depthwise, pointwise.

    A residual connection is added when the input and output shapes
    agree. Arguments are those of ``_ConvStage`` (without ``last``).
    """

    OFFICIAL_NAMES = {
        "expand_conv": "pconv1.0",
        "expand_norm": "pconv1.1",
        "expand_act": "pconv1.2",
        "depth_conv": "dconv.1",
        "depth_norm": "dconv.2",
        "depth_act": "dconv.3",
        "project_conv": "pconv2.0",
        "project_norm": "pconv2.1",
        "attention": "pconv2.2",
    }

    def __init__(
        self,
        in_channels,
        out_channels,
        in_bins,
        out_bins,
        kernel_size,
        freq_stride,
        groups,
        transposed=False,
    ):
        super().__init__()
        self.expand_conv = nn.Conv2d(
            in_channels, out_channels, 1, groups=groups
        )
        self.expand_norm = nn.BatchNorm2d(out_channels)
        self.expand_act = _ScaledPReLU(out_channels, in_bins)
        self.shuffle = groups == 2
        self.depth_conv = _CausalConv(
            out_channels,
            out_channels,
            kernel_size,
            freq_stride,
            out_channels,
            transposed,
        )
        self.conv_cache_shape = self.depth_conv.cache_shape(
            out_channels, in_bins
        )
        self.depth_norm = nn.BatchNorm2d(out_channels)
        self.depth_act = _ScaledPReLU(out_channels, out_bins)
        self.project_conv = nn.Conv2d(
            out_channels, out_channels, 1, groups=groups
        )
        self.project_norm = nn.BatchNorm2d(out_channels)
        self.attention = _TimeFreqAttention(out_channels, out_bins)

    def forward(self, x, conv_cache=None, attention_state=None):
        """Returns the output, the new conv cache and attention state."""
        residual = x
        x = self.expand_act(self.expand_norm(self.expand_conv(x)))
        if self.shuffle:
            x = _shuffle(x)
        x, conv_cache = self.depth_conv(x, conv_cache)
        x = self.depth_act(self.depth_norm(x))
        x = self.project_norm(self.project_conv(x))
        x, attention_state = self.attention(x, attention_state)
        if x.shape == residual.shape:
            x = x + residual
        if self.shuffle:
            x = _shuffle(x)
        return x, conv_cache, attention_state


_STAGE_CLASSES = {
    "conv": _ConvStage,
    "separable": _SeparableStage,
    "mobile": _MobileStage,
}


class _GroupedGRU(nn.Module):
    """Two GRUs, each on one half of the features (a grouped GRU).

    Arguments
    ---------
    features : int
        Input features (even).
    hidden : int
        Output features of each GRU per direction.
    bidirectional : bool
        Run both GRUs in both directions.
    """

    OFFICIAL_NAMES = {"first": "rnn1", "second": "rnn2"}

    def __init__(self, features, hidden, bidirectional):
        super().__init__()
        self.first = nn.GRU(
            features // 2,
            hidden,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.second = nn.GRU(
            features // 2,
            hidden,
            batch_first=True,
            bidirectional=bidirectional,
        )

    def forward(self, x, state=None):
        """Runs ``x [N, L, features]``; ``state`` is ``[layers, N, H]``
        with the first GRU's state in the first half of ``H``.

        Returns the concatenated outputs and states.
        """
        first_x, second_x = x.chunk(2, dim=-1)
        first_state = second_state = None
        if state is not None:
            first_state, second_state = state.chunk(2, dim=-1)
            first_state = first_state.contiguous()
            second_state = second_state.contiguous()
        first_y, first_state = self.first(first_x, first_state)
        second_y, second_state = self.second(second_x, second_state)
        y = torch.cat([first_y, second_y], dim=-1)
        return y, torch.cat([first_state, second_state], dim=-1)


class _DualPathLayer(nn.Module):
    """Grouped dual-path GRU: across bands in a frame, then across frames.

    Each path adds its layer-normalised output to its input.

    Arguments
    ---------
    channels : int
        Channels (a multiple of 4).
    bins : int
        Frequency bins.
    """

    OFFICIAL_NAMES = {
        "band_gru": "intra_rnn",
        "band_proj": "intra_fc",
        "band_norm": "intra_ln",
        "frame_gru": "inter_rnn",
        "frame_proj": "inter_fc",
        "frame_norm": "inter_ln",
    }

    def __init__(self, channels, bins):
        super().__init__()
        self.band_gru = _GroupedGRU(channels, channels // 4, True)
        self.band_proj = nn.Linear(channels, channels)
        self.band_norm = nn.LayerNorm((bins, channels), eps=1e-8)
        self.frame_gru = _GroupedGRU(channels, channels // 2, False)
        self.frame_proj = nn.Linear(channels, channels)
        self.frame_norm = nn.LayerNorm((bins, channels), eps=1e-8)

    def forward(self, x, state=None):
        """Runs ``x [B, C, T, F]``; ``state [B, F, C]`` is the frame GRU's.

        Returns the output and the frame GRU's final state.
        """
        batch, channels, frames, bins = x.shape
        x = x.permute(0, 2, 3, 1)  # [B, T, F, C]
        across_bands = x.reshape(batch * frames, bins, channels)
        across_bands = self.band_proj(self.band_gru(across_bands)[0])
        across_bands = across_bands.reshape(batch, frames, bins, channels)
        x = x + self.band_norm(across_bands)

        across_frames = x.transpose(1, 2).reshape(batch * bins, frames, -1)
        if state is not None:
            state = state.reshape(1, batch * bins, channels)
        across_frames, state = self.frame_gru(across_frames, state)
        across_frames = self.frame_proj(across_frames)
        across_frames = across_frames.reshape(batch, bins, frames, channels)
        x = x + self.frame_norm(across_frames.transpose(1, 2))
        return x.permute(0, 3, 1, 2), state.reshape(batch, bins, channels)


class _DualPathBottleneck(nn.Module):
    """The dual-path GRU layers between encoder and decoder.

    Arguments
    ---------
    channels : int
        Channels (a multiple of 4).
    bins : int
        Frequency bins.
    layers : int
        Number of dual-path layers.
    """

    OFFICIAL_NAMES = {"layers": "dpgrnn"}

    def __init__(self, channels, bins, layers):
        super().__init__()
        self.layers = nn.ModuleList(
            [_DualPathLayer(channels, bins) for _ in range(layers)]
        )

    def forward(self, x, states=None):
        """Returns the latent ``[B, C, T, F]`` of ``x``.

        ``states`` (a list of frame GRU states, one per layer) is updated
        in place when given, for streaming.
        """
        for i, layer in enumerate(self.layers):
            x, state = layer(x, None if states is None else states[i])
            if states is not None:
                states[i] = state
        return x


class ULUNAS(nn.Module):
    """UL-UNAS (Rong et al., IEEE TASLP 2026): a causal mask U-Net.

    ``forward`` maps a complex spectrum ``[batch, 257, frames, 2]`` (real,
    imaginary; 512-point STFT at 16 kHz, plain periodic Hann window of 512
    samples, hop 256) to the enhanced spectrum of the same shape, the noisy
    spectrum times a real mask in [0, 1]. ``channel_scale`` multiplies the
    channels of every stage (rounded to even numbers, the bottleneck's to
    a multiple of 4), so that smaller members of the family exist; 1.0 is
    the published model (146,752 learnable parameters and 24,576 fixed ERB
    weights).

    The ``bottleneck`` submodule outputs the latent
    ``[batch, channels, frames, 33]`` for forward hooks.

    Arguments
    ---------
    channel_scale : float
        Multiplier of the published channels (12, 24, 24, 32, 16).

    Example
    -------
    >>> model = ULUNAS().eval()
    >>> spec = torch.randn(2, 257, 20, 2)
    >>> model(spec).shape
    torch.Size([2, 257, 20, 2])
    >>> info = model.complexity()
    >>> info["learnable"], info["fixed"]
    (146752, 24576)
    >>> ULUNAS(channel_scale=0.65).channels
    [8, 16, 16, 20, 12]
    """

    required_features = {
        "sample_rate": 16000,
        "n_fft": 512,
        "win_length": 32,
        "hop_length": 16,
        "window": "hann",
    }

    OFFICIAL_NAMES = {
        "bands": "erb",
        "encoder": "encoder.en_convs",
        "bottleneck": "",
        "decoder": "decoder.de_convs",
    }

    def __init__(self, channel_scale=1.0):
        super().__init__()
        if not channel_scale > 0:
            raise ValueError(
                f"ULUNAS: channel_scale must be > 0, got {channel_scale!r}"
            )
        self.channel_scale = channel_scale
        # Even channels (grouped convolutions, shuffles); the bottleneck's
        # a multiple of 4 (its GRUs split them in halves and directions)
        self.channels = [
            max(step, step * round(stage[1] * channel_scale / step))
            for stage, step in zip(STAGES, (2, 2, 2, 2, 4))
        ]
        n_bins = self.required_features["n_fft"] // 2 + 1
        self.bands = ERBBands(LOW_BINS, ERB_BANDS, 2 * (n_bins - 1))

        bins = [LOW_BINS + ERB_BANDS]
        for _, _, (_, kf), stride, _ in STAGES:
            bins.append((bins[-1] + 2 * (kf // 2) - kf) // stride + 1)
        self.bins = bins

        self.encoder = nn.ModuleList()
        in_channels = 1
        for i, (kind, _, kernel, stride, groups) in enumerate(STAGES):
            self.encoder.append(
                _STAGE_CLASSES[kind](
                    in_channels,
                    self.channels[i],
                    bins[i],
                    bins[i + 1],
                    kernel,
                    stride,
                    groups,
                )
            )
            in_channels = self.channels[i]

        self.bottleneck = _DualPathBottleneck(
            self.channels[-1], bins[-1], BOTTLENECK_LAYERS
        )

        self.decoder = nn.ModuleList()
        for i in reversed(range(len(STAGES))):
            kind, _, kernel, stride, groups = STAGES[i]
            out_channels = self.channels[i - 1] if i > 0 else 1
            options = {"last": True} if i == 0 else {}
            self.decoder.append(
                _STAGE_CLASSES[kind](
                    self.channels[i],
                    out_channels,
                    bins[i + 1],
                    bins[i],
                    kernel,
                    stride,
                    groups,
                    transposed=True,
                    **options,
                )
            )

    def forward(self, spec, state=None):
        """Enhances the complex spectrum ``spec [B, 257, T, 2]``.

        Arguments
        ---------
        spec : torch.Tensor
            Noisy spectrum (real, imaginary) ``[batch, 257, frames, 2]``.
        state : dict, optional
            Streaming state (see ``initial_state``), updated in place;
            None processes ``spec`` as a whole utterance.

        Returns
        -------
        torch.Tensor
            The enhanced spectrum, ``[batch, 257, frames, 2]``.
        """
        if spec.dim() != 4 or spec.shape[1] != self.bands.n_bins:
            raise ValueError(
                "ULUNAS expects a spectrum [batch, "
                f"{self.bands.n_bins}, frames, 2], got {tuple(spec.shape)}"
            )
        # log10 of the magnitude floored at 1e-12, from the power so that
        # silent bins have finite gradients
        power = spec.pow(2).sum(dim=-1)  # [B, F, T]
        feats = 0.5 * power.clamp(min=1e-24).log10().transpose(1, 2)
        x = self.bands.to_bands(feats.unsqueeze(1))  # [B, 1, T, 129]

        conv_caches = attention_states = frame_states = None
        if state is not None:
            conv_caches = state["conv"]
            attention_states = state["attention"]
            frame_states = state["frame"]

        skips = []
        for i, stage in enumerate(self.encoder):
            x = self._run_stage(stage, i, x, conv_caches, attention_states)
            skips.append(x)
        x = self.bottleneck(x, frame_states)
        for j, stage in enumerate(self.decoder):
            x = x + skips[-1 - j]
            index = len(self.encoder) + j
            x = self._run_stage(stage, index, x, conv_caches, attention_states)

        mask = self.bands.from_bands(torch.sigmoid(x))  # [B, 1, T, 257]
        return spec * mask[:, 0].transpose(1, 2).unsqueeze(-1)

    @staticmethod
    def _run_stage(stage, index, x, conv_caches, attention_states):
        """Runs one stage, reading and updating the streaming state."""
        if conv_caches is None:
            return stage(x)[0]
        x, conv_caches[index], attention_states[index] = stage(
            x, conv_caches[index], attention_states[index]
        )
        return x

    def streaming(self):
        """The frame-by-frame form of this model (sharing its weights).

        Returns
        -------
        speechbrain_kd.models.ulunas_streaming.ULUNASStreaming
        """
        from speechbrain_kd.models.ulunas_streaming import ULUNASStreaming

        return ULUNASStreaming(self)

    def complexity(self, seconds=4.0):
        """Parameters and MACs per second of audio.

        Counted as for every published model of the project (see
        ``speechbrain_kd.models.complexity.spectrum_model_complexity``).

        Arguments
        ---------
        seconds : float
            Length of the probe input.

        Returns
        -------
        dict
            ``learnable`` and ``fixed`` parameter counts (BatchNorm
            statistics are buffers, not counted) and ``macs_per_second``
            (convolutions, linear layers, GRUs and the fixed ERB matrices).

        Example
        -------
        >>> info = ULUNAS(channel_scale=0.4).complexity()
        >>> info["learnable"], info["fixed"]
        (35982, 24576)
        """
        return spectrum_model_complexity(self, seconds)

    @classmethod
    def official_key_map(cls, official_keys):
        """Maps the official UL-UNAS checkpoint's keys to this class's keys.

        The names are those of ``official_state_names`` (the same at every
        ``channel_scale``); an official key without a counterpart is left
        out, so that loading reports it as unexpected.

        Arguments
        ---------
        official_keys : iterable of str
            Keys of the official ``state_dict``.

        Returns
        -------
        dict
            ``{official_key: our_key}``.

        Example
        -------
        >>> ULUNAS.official_key_map(["erb.ierb_fc.weight", "extra"])
        {'erb.ierb_fc.weight': 'bands.split.weight'}
        """
        ours = {
            official: key
            for key, official in official_state_names(cls()).items()
        }
        return {key: ours[key] for key in official_keys if key in ours}

    def stages(self):
        """Returns the encoder then decoder stages, in processing order."""
        return list(self.encoder) + list(self.decoder)

    def initial_state(self, batch_size=1):
        """Returns the zero streaming state for ``forward(frame, state)``.

        Arguments
        ---------
        batch_size : int
            Batch size of the stream.

        Returns
        -------
        dict
            ``conv``: per stage, the cached input frames of its time
            convolution (None without one); ``attention``: per stage, the
            time GRU state ``[1, B, 2C]``; ``frame``: per bottleneck
            layer, the frame GRU state ``[B, bins, C]``.
        """
        device = self.bands.merge.weight.device
        conv, attention = [], []
        for stage in self.stages():
            shape = stage.conv_cache_shape
            conv.append(
                None
                if shape is None
                else torch.zeros(batch_size, *shape, device=device)
            )
            size = stage.attention.state_size
            attention.append(torch.zeros(1, batch_size, size, device=device))
        frame = [
            torch.zeros(
                batch_size, self.bins[-1], self.channels[-1], device=device
            )
            for _ in self.bottleneck.layers
        ]
        return {"conv": conv, "attention": attention, "frame": frame}


def official_state_names(module, prefix="", official_prefix=""):
    """Maps each state key of ``module`` to its name in the official code.

    Each of our modules lists, in ``OFFICIAL_NAMES``, the official name of
    those of its parameters and children that are named differently (an
    empty name merges a child into its parent); other names are equal.
    The modules shared with other models (the ERB bands) have their
    UL-UNAS names in ``SHARED_MODULE_NAMES``.

    Arguments
    ---------
    module : torch.nn.Module
        A ``ULUNAS`` (or one of its submodules).
    prefix : str
        Prefix of our keys (for the recursion).
    official_prefix : str
        Prefix of the official keys (for the recursion).

    Returns
    -------
    dict
        ``{our key: official key}``.

    Example
    -------
    >>> names = official_state_names(ULUNAS())
    >>> names["encoder.1.depth_conv.conv.weight"]
    'encoder.en_convs.1.dconv.1.weight'
    >>> names["bottleneck.layers.0.frame_gru.first.weight_hh_l0"]
    'dpgrnn.0.inter_rnn.rnn1.weight_hh_l0'
    >>> names["bands.merge.weight"]
    'erb.erb_fc.weight'
    """
    table = getattr(module, "OFFICIAL_NAMES", None)
    if table is None:
        table = SHARED_MODULE_NAMES.get(type(module), {})
    names = {}
    own = itertools.chain(
        module.named_parameters(recurse=False),
        module.named_buffers(recurse=False),
    )
    for name, _ in own:
        names[prefix + name] = official_prefix + table.get(name, name)
    for name, child in module.named_children():
        official = table.get(name, name)
        child_official = official_prefix + (f"{official}." if official else "")
        names.update(
            official_state_names(child, f"{prefix}{name}.", child_official)
        )
    return names
