"""GTCRN: grouped temporal convolutional recurrent network (Rong et al.).

An ultra-light causal speech enhancer: ERB band merging, subband feature
unfolding, an encoder of strided and grouped dilated temporal convolutions
with temporal recurrent attention, two grouped dual-path GRUs, a mirrored
decoder and a complex ratio mask.

Reference
---------
X. Rong, T. Sun, X. Zhang, Y. Hu, C. Zhu and J. Lu, "GTCRN: A speech
enhancement model requiring ultralow computational resources", ICASSP 2024.
https://doi.org/10.1109/ICASSP48485.2024.10448310

Authors
 * speechbrain-kd contributors 2026
"""

import torch
from torch import nn

from speechbrain_kd.models.complexity import spectrum_model_complexity
from speechbrain_kd.models.erb import ERBBands
from speechbrain_kd.models.published import rename_keys

# Input features of the first encoder convolution: magnitude, real and
# imaginary part, each unfolded over 3 neighbouring bands.
_FEATURES = 3
_UNFOLD = 3
# Time dilations of the encoder's grouped temporal blocks (the decoder
# mirrors them); each keeps 2 * dilation past frames when streaming.
DILATIONS = (1, 2, 5)


class SubbandUnfold(nn.Module):
    """Stacks each band with its neighbours as channels (GTCRN's SFE).

    ``[batch, channels, time, bands]`` becomes
    ``[batch, channels * width, time, bands]``; channel ``c * width + k``
    holds band ``f + k - width // 2`` of channel ``c`` (zero outside).

    Arguments
    ---------
    width : int
        Odd number of neighbouring bands stacked.

    Example
    -------
    >>> unfold = SubbandUnfold(3)
    >>> x = torch.arange(4.0).view(1, 1, 1, 4)
    >>> unfold(x)[0, :, 0]
    tensor([[0., 0., 1., 2.],
            [0., 1., 2., 3.],
            [1., 2., 3., 0.]])
    """

    def __init__(self, width=3):
        super().__init__()
        self.width = width

    def forward(self, x):
        """Unfolds ``x`` ``[batch, channels, time, bands]``."""
        half = self.width // 2
        padded = nn.functional.pad(x, (half, half))
        n_bands = x.shape[-1]
        shifted = [padded[..., k : k + n_bands] for k in range(self.width)]
        stacked = torch.stack(shifted, dim=2)
        return stacked.flatten(1, 2)


class ConvNormAct(nn.Module):
    """Convolution (or transposed convolution), batch norm, activation.

    Arguments
    ---------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    groups : int
        Convolution groups.
    transposed : bool
        Use a transposed convolution (upsampling by 2 along bands).
    last : bool
        End with a tanh (the mask layer) instead of a PReLU.

    Example
    -------
    >>> block = ConvNormAct(9, 16)
    >>> block(torch.rand(1, 9, 4, 129)).shape
    torch.Size([1, 16, 4, 65])
    """

    def __init__(
        self, in_channels, out_channels, groups=1, transposed=False, last=False
    ):
        super().__init__()
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = conv(
            in_channels,
            out_channels,
            kernel_size=(1, 5),
            stride=(1, 2),
            padding=(0, 2),
            groups=groups,
        )
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.Tanh() if last else nn.PReLU()

    def forward(self, x):
        """Filters ``x`` ``[batch, channels, time, bands]``."""
        return self.act(self.norm(self.conv(x)))


class TemporalAttention(nn.Module):
    """Per-channel gains from a GRU over frame energies (GTCRN's TRA).

    Arguments
    ---------
    channels : int
        Channels of the input.
    hidden : int, optional
        Width of the GRU (``2 * channels`` if None, as published).

    Example
    -------
    >>> attention = TemporalAttention(8)
    >>> y, state = attention(torch.rand(2, 8, 5, 33))
    >>> y.shape, state.shape
    (torch.Size([2, 8, 5, 33]), torch.Size([1, 2, 16]))
    """

    def __init__(self, channels, hidden=None):
        super().__init__()
        hidden = hidden or 2 * channels
        self.gru = nn.GRU(channels, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, channels)

    def forward(self, x, state=None):
        """Scales ``x`` ``[batch, channels, time, bands]``.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, channels, time, bands]``.
        state : torch.Tensor, optional
            GRU hidden state ``[1, batch, 2 * channels]`` (zeros if None).

        Returns
        -------
        tuple of torch.Tensor
            The scaled input and the new GRU state.
        """
        energy = x.pow(2).mean(dim=-1).transpose(1, 2)
        hidden, state = self.gru(energy, state)
        gains = torch.sigmoid(self.proj(hidden)).transpose(1, 2)
        return x * gains.unsqueeze(-1), state


class GroupedTemporalBlock(nn.Module):
    """Half the channels through a dilated causal block, half skip it.

    The first half is unfolded over bands, expanded by a pointwise
    convolution, filtered by a depthwise convolution causal in time (3
    frames at ``dilation``, 3 bands), projected back and scaled by temporal
    attention; the halves are then interleaved (channel shuffle).

    Arguments
    ---------
    channels : int
        Input and output channels (even).
    dilation : int
        Time dilation of the depthwise convolution.
    transposed : bool
        Use transposed convolutions (the decoder's blocks).
    hidden : int, optional
        Width of the expanded features (``channels`` if None).
    attention : int, optional
        Width of the temporal attention's GRU (``channels`` if None).

    Example
    -------
    >>> block = GroupedTemporalBlock(16, dilation=2)
    >>> block(torch.rand(1, 16, 7, 33)).shape
    torch.Size([1, 16, 7, 33])
    """

    def __init__(
        self, channels, dilation, transposed=False, hidden=None, attention=None
    ):
        super().__init__()
        half = channels // 2
        hidden = hidden or channels
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.history = 2 * dilation
        self.unfold = SubbandUnfold(_UNFOLD)
        self.expand = conv(half * _UNFOLD, hidden, 1)
        self.expand_norm = nn.BatchNorm2d(hidden)
        self.expand_act = nn.PReLU()
        # A transposed convolution over 2d + 1 frames with time padding 2d
        # is the causal convolution with the kernel flipped in time.
        self.depthwise = conv(
            hidden,
            hidden,
            kernel_size=(3, 3),
            padding=(self.history if transposed else 0, 1),
            dilation=(dilation, 1),
            groups=hidden,
        )
        self.depthwise_norm = nn.BatchNorm2d(hidden)
        self.depthwise_act = nn.PReLU()
        self.project = conv(hidden, half, 1)
        self.project_norm = nn.BatchNorm2d(half)
        self.attention = TemporalAttention(half, attention or channels)

    def forward(self, x):
        """Filters a whole sequence ``[batch, channels, time, bands]``."""
        return self.step(x)[0]

    def step(self, x, history=None, state=None):
        """Filters ``x`` after ``history``, the last frames of the input.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, channels, time, bands]``.
        history : torch.Tensor, optional
            The expanded features of the ``2 * dilation`` previous frames,
            ``[batch, channels, 2 * dilation, bands]`` (zeros if None).
        state : torch.Tensor, optional
            The attention GRU state (zeros if None).

        Returns
        -------
        tuple of torch.Tensor
            The output, the new history and the new attention state.
        """
        filtered, skipped = torch.chunk(x, 2, dim=1)
        h = self.expand_act(
            self.expand_norm(self.expand(self.unfold(filtered)))
        )
        if history is None:
            history = h.new_zeros(*h.shape[:2], self.history, h.shape[-1])
        h = torch.cat([history, h], dim=2)
        history = h[:, :, h.shape[2] - self.history :]
        h = self.depthwise_act(self.depthwise_norm(self.depthwise(h)))
        h = self.project_norm(self.project(h))
        h, state = self.attention(h, state)
        shuffled = torch.stack([h, skipped], dim=2).flatten(1, 2)
        return shuffled, history, state


class GroupedGRU(nn.Module):
    """Two GRUs, each on one half of the features (and of the state).

    Arguments
    ---------
    input_size : int
        Features per step (even).
    hidden_size : int
        Output features per step and direction, over both groups (even).
    bidirectional : bool
        Run each GRU in both directions.

    Example
    -------
    >>> rnn = GroupedGRU(16, 8, bidirectional=True)
    >>> y, state = rnn(torch.rand(3, 33, 16))
    >>> y.shape, state.shape
    (torch.Size([3, 33, 16]), torch.Size([2, 3, 8]))
    """

    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.groups = nn.ModuleList(
            nn.GRU(
                input_size // 2,
                hidden_size // 2,
                batch_first=True,
                bidirectional=bidirectional,
            )
            for _ in range(2)
        )

    def forward(self, x, state=None):
        """Runs ``x`` ``[batch, steps, input_size]`` from ``state``.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, steps, input_size]``.
        state : torch.Tensor, optional
            ``[directions, batch, hidden_size]`` (zeros if None).

        Returns
        -------
        tuple of torch.Tensor
            The outputs ``[batch, steps, directions * hidden_size]`` and
            the new state.
        """
        inputs = torch.chunk(x, 2, dim=-1)
        states = (None, None) if state is None else torch.chunk(state, 2, -1)
        outputs, new_states = [], []
        for gru, part, part_state in zip(self.groups, inputs, states):
            if part_state is not None:
                part_state = part_state.contiguous()
            y, h = gru(part, part_state)
            outputs.append(y)
            new_states.append(h)
        return torch.cat(outputs, dim=-1), torch.cat(new_states, dim=-1)


class DualPathGroupedRNN(nn.Module):
    """A grouped GRU across bands, then a causal grouped GRU across time.

    Each path is followed by a linear layer and a layer norm over
    ``[bands, channels]``, and added to its input.

    Arguments
    ---------
    channels : int
        Channels (multiple of 4).
    n_bands : int
        Bands of the latent.

    Example
    -------
    >>> layer = DualPathGroupedRNN(16, 33)
    >>> layer(torch.rand(2, 16, 5, 33)).shape
    torch.Size([2, 16, 5, 33])
    """

    def __init__(self, channels, n_bands):
        super().__init__()
        self.channels = channels
        self.band_rnn = GroupedGRU(channels, channels // 2, bidirectional=True)
        self.band_proj = nn.Linear(channels, channels)
        self.band_norm = nn.LayerNorm((n_bands, channels), eps=1e-8)
        self.time_rnn = GroupedGRU(channels, channels)
        self.time_proj = nn.Linear(channels, channels)
        self.time_norm = nn.LayerNorm((n_bands, channels), eps=1e-8)

    def forward(self, x):
        """Processes a whole sequence ``[batch, channels, time, bands]``."""
        return self.step(x)[0]

    def step(self, x, state=None):
        """Processes ``x`` continuing the time GRU from ``state``.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, channels, time, bands]``.
        state : torch.Tensor, optional
            Time-GRU state ``[1, batch * bands, channels]`` (zeros if None).

        Returns
        -------
        tuple of torch.Tensor
            The output ``[batch, channels, time, bands]`` and the new state.
        """
        batch, channels, time, bands = x.shape
        x = x.permute(0, 2, 3, 1)  # [batch, time, bands, channels]
        across = self.band_rnn(x.reshape(batch * time, bands, channels))[0]
        across = self.band_proj(across).view(batch, time, bands, channels)
        x = x + self.band_norm(across)
        along = x.transpose(1, 2).reshape(batch * bands, time, channels)
        along, state = self.time_rnn(along, state)
        along = self.time_proj(along).view(batch, bands, time, channels)
        x = x + self.time_norm(along.transpose(1, 2))
        return x.permute(0, 3, 1, 2), state


class GTCRN(nn.Module):
    """GTCRN, a causal complex-ratio-mask speech enhancer of 24 k weights.

    Rong et al., "GTCRN: A speech enhancement model requiring ultralow
    computational resources", ICASSP 2024,
    https://doi.org/10.1109/ICASSP48485.2024.10448310 .

    The spectrum's magnitude, real and imaginary parts are merged into
    ERB bands (65 low bins kept, 192 bins merged into 64 bands), unfolded
    over neighbouring bands, encoded by two strided convolutions and three
    grouped dilated temporal blocks, passed through two dual-path grouped
    GRUs (the ``bottleneck``), decoded with skip additions into a complex
    mask, split back to bins and multiplied with the input spectrum. All
    time processing is causal. ``channels=16`` is the published model
    (23,669 learnable and 24,576 fixed ERB parameters, about 33 MMAC/s);
    the GRU and hidden sizes follow ``channels``.

    Arguments
    ---------
    channels : int
        Width of the encoder, bottleneck and decoder (multiple of 4); the
        GRU sizes follow it. 16 is the published size.
    hidden_channels : int, optional
        Expanded width inside the grouped temporal blocks (``channels`` if
        None, as published).
    attention_channels : int, optional
        Width of the temporal attention GRUs of those blocks
        (``channels`` if None, as published). The layer norms of the
        bottleneck keep a floor of parameters, so the students narrow
        these two as well: ``channels=12, hidden_channels=4,
        attention_channels=8`` has 10,773 learnable parameters (0.46 of
        the published) and ``channels=8, hidden_channels=2,
        attention_channels=4`` 5,401 (0.23).

    Example
    -------
    >>> model = GTCRN().eval()
    >>> spec = torch.randn(1, 257, 10, 2)
    >>> model(spec).shape
    torch.Size([1, 257, 10, 2])
    >>> latents = []
    >>> hook = model.bottleneck.register_forward_hook(
    ...     lambda module, inputs, output: latents.append(output)
    ... )
    >>> _ = model(spec)
    >>> latents[0].shape  # [batch, channels, frames, bands]
    torch.Size([1, 16, 10, 33])
    """

    required_features = {
        "sample_rate": 16000,
        "n_fft": 512,
        "win_length": 32,
        "hop_length": 16,
        "window": "sqrt_hann",
    }

    def __init__(
        self, channels=16, hidden_channels=None, attention_channels=None
    ):
        super().__init__()
        if channels < 4 or channels % 4:
            raise ValueError(
                f"GTCRN: channels must be a positive multiple of 4, got "
                f"{channels!r}"
            )
        hidden = hidden_channels or channels
        attention = attention_channels or channels
        self.channels = channels
        self.bands = ERBBands(kept_bins=65, n_bands=64, n_fft=512)
        self.unfold = SubbandUnfold(_UNFOLD)
        self.encoder = nn.ModuleList(
            [
                ConvNormAct(_FEATURES * _UNFOLD, channels),
                ConvNormAct(channels, channels, groups=2),
                *(
                    GroupedTemporalBlock(channels, d, False, hidden, attention)
                    for d in DILATIONS
                ),
            ]
        )
        latent_bands = self.latent_bands
        self.bottleneck = nn.Sequential(
            DualPathGroupedRNN(channels, latent_bands),
            DualPathGroupedRNN(channels, latent_bands),
        )
        self.decoder = nn.ModuleList(
            [
                *(
                    GroupedTemporalBlock(channels, d, True, hidden, attention)
                    for d in reversed(DILATIONS)
                ),
                ConvNormAct(channels, channels, groups=2, transposed=True),
                ConvNormAct(channels, 2, transposed=True, last=True),
            ]
        )

    @property
    def latent_bands(self):
        """Bands of the bottleneck latent (33 for 129 merged bands)."""
        n_bands = self.bands.n_outputs
        for _ in range(2):
            n_bands = (n_bands - 1) // 2 + 1
        return n_bands

    def features(self, spec):
        """Encoder input ``[batch, 9, frames, 129]`` from the spectrum."""
        real, imag = spec[..., 0], spec[..., 1]
        magnitude = torch.sqrt(real**2 + imag**2 + 1e-12)
        feats = torch.stack([magnitude, real, imag], dim=1).transpose(2, 3)
        return self.unfold(self.bands.to_bands(feats))

    def apply_mask(self, mask, spec):
        """Multiplies ``spec`` ``[batch, freq, frames, 2]`` by the mask.

        Arguments
        ---------
        mask : torch.Tensor
            Decoder output in bands ``[batch, 2, frames, 129]``.
        spec : torch.Tensor
            ``[batch, 257, frames, 2]``.

        Returns
        -------
        torch.Tensor
            The masked spectrum ``[batch, 257, frames, 2]``.
        """
        mask = self.bands.from_bands(mask).permute(0, 3, 2, 1)
        real = spec[..., 0] * mask[..., 0] - spec[..., 1] * mask[..., 1]
        imag = spec[..., 1] * mask[..., 0] + spec[..., 0] * mask[..., 1]
        return torch.stack([real, imag], dim=-1)

    def forward(self, spec):
        """Enhances ``spec`` ``[batch, 257, frames, 2]`` (real, imaginary).

        Arguments
        ---------
        spec : torch.Tensor
            Complex spectrum of a 512-point STFT, hop 256, sqrt-Hann.

        Returns
        -------
        torch.Tensor
            The enhanced spectrum, same shape.
        """
        x = self.features(spec)
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        x = self.bottleneck(x)
        for layer, skip in zip(self.decoder, reversed(skips)):
            x = layer(x + skip)
        return self.apply_mask(x, spec)

    def streaming(self):
        """The frame-by-frame form of this model (sharing its weights).

        Returns
        -------
        speechbrain_kd.models.gtcrn_streaming.GTCRNStreaming
        """
        from speechbrain_kd.models.gtcrn_streaming import GTCRNStreaming

        return GTCRNStreaming(self)

    def complexity(self, seconds=4.0):
        """Parameters and MACs per second of audio.

        Arguments
        ---------
        seconds : float
            Length of the probe input.

        Returns
        -------
        dict
            ``learnable`` and ``fixed`` parameter counts and
            ``macs_per_second`` (convolutions, linear layers, GRUs and the
            fixed ERB matrices).

        Example
        -------
        >>> info = GTCRN().complexity()
        >>> info["learnable"], info["fixed"]
        (23669, 24576)
        """
        return spectrum_model_complexity(self, seconds)

    # Renames from the official repository's state-dict keys to ours.
    OFFICIAL_RENAMES = (
        (r"^erb\.erb_fc\.", "bands.merge."),
        (r"^erb\.ierb_fc\.", "bands.split."),
        (r"^encoder\.en_convs\.", "encoder."),
        (r"^decoder\.de_convs\.", "decoder."),
        (r"^dpgrnn1\.", "bottleneck.0."),
        (r"^dpgrnn2\.", "bottleneck.1."),
        (r"\.bn\.", ".norm."),
        (r"\.point_conv1\.", ".expand."),
        (r"\.point_bn1\.", ".expand_norm."),
        (r"\.point_act\.", ".expand_act."),
        (r"\.depth_conv\.", ".depthwise."),
        (r"\.depth_bn\.", ".depthwise_norm."),
        (r"\.depth_act\.", ".depthwise_act."),
        (r"\.point_conv2\.", ".project."),
        (r"\.point_bn2\.", ".project_norm."),
        (r"\.tra\.att_gru\.", ".attention.gru."),
        (r"\.tra\.att_fc\.", ".attention.proj."),
        (r"\.intra_rnn\.rnn1\.", ".band_rnn.groups.0."),
        (r"\.intra_rnn\.rnn2\.", ".band_rnn.groups.1."),
        (r"\.intra_fc\.", ".band_proj."),
        (r"\.intra_ln\.", ".band_norm."),
        (r"\.inter_rnn\.rnn1\.", ".time_rnn.groups.0."),
        (r"\.inter_rnn\.rnn2\.", ".time_rnn.groups.1."),
        (r"\.inter_fc\.", ".time_proj."),
        (r"\.inter_ln\.", ".time_norm."),
    )

    @classmethod
    def official_key_map(cls, official_keys):
        """Maps the official GTCRN checkpoint's keys to this class's keys.

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
        >>> GTCRN.official_key_map(["encoder.en_convs.2.tra.att_fc.bias"])
        {'encoder.en_convs.2.tra.att_fc.bias': 'encoder.2.attention.proj.bias'}
        """
        return rename_keys(official_keys, cls.OFFICIAL_RENAMES)
