"""Structured pruning of a trained UL-UNAS into a narrower UL-UNAS.

A student UL-UNAS (a smaller ``channel_scale``) starts from the weights of
the channels it keeps of a wider trained UL-UNAS, such as the published
one. Which channels: the L1-norm criterion of Li et al. (2017), "Pruning
filters for efficient ConvNets", as in
``speechbrain_kd.models.gtcrn_pruning``, counting the incoming and the
outgoing weights of each unit, since every convolution of UL-UNAS is
followed by a BatchNorm, which cancels the scale of its own filter. A
channel's importance is the L1 norm of its rows of the convolutions that
write it (in the encoder stage and, where a skip connection adds the two,
in the decoder stage; for the last stage, also the bottleneck's linear
layers), of its depthwise kernel, and of its columns of the convolutions
or GRUs that read it (the attention gates, computed from the channels'
energies, do not count). A GRU unit's importance is the L1 norm of its
rows in the three gates and of its columns of the recurrent weights and
of the linear layer after the GRU, each direction of a bidirectional GRU
on its own.

The channels of UL-UNAS are tied together by its grouped pointwise
convolutions (two groups, which the narrower members keep, with fewer
channels in each), by the channel shuffle that follows each of them (it
interleaves the two halves) and by the skip connections, which add each
decoder stage's output to an encoder stage's. Every grouped convolution
(or grouped GRU) reads the channels of the shuffle before it, so that a
student channel may stand for a teacher channel only if both lie in the
same half before the shuffle and in the same half after it: four classes
of channels, of sizes that the student's fit in the teacher's (the
halves of a member with an odd number of channels per group are split
unevenly, as its shuffle splits them). The kept channels are chosen by L1
norm within each class, in increasing order, so that pruning a model into
its own size changes nothing. A decoder stage writes, before its last
shuffle, the channels of the encoder stage whose output its own output is
added to: one choice serves both. Every layer then reads, in the student,
the teacher channels it read (those kept), through the whole graph. The
first stage's output, which no shuffle follows, is the skip that the last
mobile decoder stage's shuffle writes; its channels are chosen as that
stage's channels before its shuffle.

The ERB matrices, the frequency attention (its GRU runs over groups of
bins, the same in every member) and the mask stage's single output
channel are copied as they are. The mobile stages add their input to
their output where the two have the same shape, that is in members whose
third and fourth stages have equal channels (``channel_scale`` below 0.16
or near 0.21); the rule refuses those members, whose residuals would tie
these channels together further.

What carries over: with its dropped units silenced, the teacher computes
what the pruned student computes (but for the frequency attention and the
layer norms, which average over the channels), and the latent of the
pruned half-size member follows the teacher's; the mask it outputs before
any training does not, and is further from the teacher's than a random
member's (a few channels of large mean activation carry much of the
teacher's output; see ``tests/test_ulunas_pruning.py``).

Authors
 * speechbrain-kd contributors 2026
"""

import torch

from speechbrain_kd.models.gtcrn_pruning import (
    gate_rows,
    grouped_slice,
    largest_l1,
    unit_l1,
)
from speechbrain_kd.models.ulunas import (
    _ConvStage,
    _MobileStage,
    _SeparableStage,
    _shuffle,
)

DIRECTION_SUFFIXES = ("", "_reverse")  # forward and backward GRU tensors


def shuffle_positions(channels):
    """Where the channel shuffle of UL-UNAS sends each channel.

    Example
    -------
    >>> shuffle_positions(6)
    tensor([0, 2, 4, 1, 3, 5])
    """
    return torch.argsort(_shuffle(torch.arange(channels)[None])[0])


def shuffle_classes(channels):
    """Class of each channel: 2 * (half before) + (half after the shuffle).

    Example
    -------
    >>> shuffle_classes(10)
    tensor([0, 0, 0, 1, 1, 2, 2, 3, 3, 3])
    """
    half = channels // 2
    before = torch.arange(channels) >= half
    after = shuffle_positions(channels) >= half
    return 2 * before.long() + after.long()


def shuffle_safe_order(scores, kept):
    """Teacher channels for ``kept`` student channels, class by class.

    The student's channel ``j`` stands for a teacher channel of its class
    (see ``shuffle_classes``); in each class, the teacher channels of
    largest ``scores``, in increasing order.

    Arguments
    ---------
    scores : torch.Tensor
        Importance of each teacher channel (an even number of them).
    kept : int
        Student channels (even, at most ``len(scores)``).

    Returns
    -------
    torch.Tensor
        ``kept`` teacher channel indices, in the student's order.

    Example
    -------
    >>> shuffle_safe_order(torch.arange(8.0), 8).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> shuffle_classes(8).tolist(), shuffle_classes(4).tolist()
    ([0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 2, 3])
    >>> scores = torch.tensor([1.0, 2, 5, 3, 4, 0, 6, 7])
    >>> shuffle_safe_order(scores, 4).tolist()
    [1, 2, 4, 7]
    """
    teacher, student = shuffle_classes(len(scores)), shuffle_classes(kept)
    order = torch.empty(kept, dtype=torch.long)
    for group in range(4):
        slots = torch.nonzero(student == group).flatten()
        candidates = torch.nonzero(teacher == group).flatten()
        best = largest_l1(scores[candidates], len(slots))
        order[slots] = candidates[best]
    return order


def shuffled(order, channels):
    """A student's kept teacher channels after the shuffle of both.

    Arguments
    ---------
    order : torch.Tensor
        Kept teacher channels before the shuffle, in the student's order.
    channels : int
        Teacher channels.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> shuffled(torch.tensor([0, 2, 3, 5]), 6)
    tensor([0, 1, 4, 5])
    """
    return shuffle_positions(channels)[_shuffle(order[None])[0]]


def _unshuffled(scores):
    """Scores of the shuffle's outputs, indexed by its inputs."""
    return scores[shuffle_positions(len(scores))]


def _filter_l1(conv):
    """L1 norm of each output filter of a linear layer, a convolution that
    is not transposed or a depthwise one (outputs first in all three)."""
    return unit_l1(conv.weight, 0)


def _input_l1(conv):
    """L1 norm of the weights of a (grouped or transposed) convolution
    that read each of its input channels.

    Example
    -------
    >>> conv = torch.nn.Conv2d(4, 2, 1, groups=2)
    >>> weights = torch.tensor([1.0, -2, 3, 4]).view(2, 2, 1, 1)
    >>> conv.weight = torch.nn.Parameter(weights)
    >>> _input_l1(conv).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    weight = conv.weight.abs()
    if isinstance(conv, torch.nn.ConvTranspose2d):
        return unit_l1(weight, 0)
    per_output = weight.sum(dim=(2, 3))  # [outputs, inputs / groups]
    grouped = per_output.reshape(conv.groups, -1, per_output.shape[1])
    return grouped.sum(dim=1).flatten()


def _gru_input_l1(gru):
    """L1 norm of a GRU's input weights (both directions) per input."""
    return sum(
        unit_l1(tensor, 1)
        for name, tensor in gru.state_dict().items()
        if name.startswith("weight_ih")
    )


def _channels(prefix, module, index, axis=0):
    """Every tensor of a per-channel module, at ``index`` along ``axis``."""
    return {
        f"{prefix}.{name}": (
            tensor if tensor.dim() == 0 else tensor.index_select(axis, index)
        )
        for name, tensor in module.state_dict().items()
    }


def _conv(prefix, teacher, student, rows_out, cols_in):
    """A (transposed) convolution's weight and bias, sliced."""
    transposed = isinstance(teacher, torch.nn.ConvTranspose2d)
    rows, cols = (cols_in, rows_out) if transposed else (rows_out, cols_in)
    weight = grouped_slice(
        teacher.weight, rows, cols, teacher.groups, student.groups
    )
    return {
        f"{prefix}.weight": weight,
        f"{prefix}.bias": teacher.bias[rows_out],
    }


def _gru_unit_l1(gru, suffix):
    """L1 norm of the weights that write or read each unit of one
    direction of a one-layer GRU (without the linear layer after it)."""
    hidden = gru.hidden_size
    scores = unit_l1(getattr(gru, f"weight_hh_l0{suffix}"), 1)
    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        tensor = getattr(gru, f"{kind}_l0{suffix}")
        scores = scores + tensor.abs().reshape(3, hidden, -1).sum(dim=(0, 2))
    return scores


def _gru(prefix, teacher, student, inputs, proj, offset):
    """A GRU's tensors for its kept ``inputs`` and units of largest L1.

    ``proj`` is the linear layer reading the GRU's output at column
    ``offset`` on. Returns the state and the kept columns of ``proj``.
    """
    hidden = teacher.hidden_size
    units, columns = {}, []
    for suffix in DIRECTION_SUFFIXES[: 1 + teacher.bidirectional]:
        reads = unit_l1(proj.weight[:, offset : offset + hidden], 1)
        units[suffix] = largest_l1(
            _gru_unit_l1(teacher, suffix) + reads, student.hidden_size
        )
        columns.append(units[suffix] + offset)
        offset += hidden
    state = {}
    for name, tensor in teacher.state_dict().items():
        kept = units["_reverse" if name.endswith("_reverse") else ""]
        tensor = tensor[gate_rows(kept, hidden)]
        if name.startswith("weight_ih"):
            tensor = tensor[:, inputs]
        elif name.startswith("weight_hh"):
            tensor = tensor[:, kept]
        state[f"{prefix}.{name}"] = tensor
    return state, torch.cat(columns)


def _attention(prefix, teacher, student, index):
    """A time-frequency attention on the kept channels ``index``."""
    state, columns = _gru(
        f"{prefix}.time_gru",
        teacher.time_gru,
        student.time_gru,
        index,
        teacher.time_proj,
        0,
    )
    proj = teacher.time_proj
    state[f"{prefix}.time_proj.weight"] = proj.weight[index][:, columns]
    state[f"{prefix}.time_proj.bias"] = proj.bias[index]
    for name in ("freq_gru", "freq_proj"):
        for key, value in getattr(teacher, name).state_dict().items():
            state[f"{prefix}.{name}.{key}"] = value
    return state


def _conv_block(prefix, teacher, student, names, outputs, inputs):
    """A stage's convolution ``names[0]`` (kept ``outputs``, ``inputs``)
    and the per-channel modules ``names[1:]`` after it."""
    conv, *after = names
    state = _conv(
        f"{prefix}.{conv}",
        teacher.get_submodule(conv),
        student.get_submodule(conv),
        outputs,
        inputs,
    )
    for name in after:
        module = teacher.get_submodule(name)
        state.update(_channels(f"{prefix}.{name}", module, outputs))
    return state


def _conv_stage(prefix, teacher, student, inputs, outputs):
    """A full-convolution stage from ``inputs`` to ``outputs``."""
    names = ("conv.conv", "norm", "act")
    state = _conv_block(prefix, teacher, student, names, outputs, inputs)
    state.update(
        _attention(
            f"{prefix}.attention", teacher.attention, student.attention, outputs
        )
    )
    return state


def _separable_stage(prefix, teacher, student, inputs, written):
    """A separable stage; ``written``: its kept pointwise outputs."""
    names = ("point_conv", "point_norm", "point_act")
    state = _conv_block(prefix, teacher, student, names, written, inputs)
    mixed = shuffled(written, teacher.point_conv.out_channels)
    names = ("depth_conv.conv", "depth_norm", "depth_act")
    state.update(_conv_block(prefix, teacher, student, names, mixed, mixed))
    state.update(
        _attention(
            f"{prefix}.attention", teacher.attention, student.attention, mixed
        )
    )
    return state


def _mobile_stage(prefix, teacher, student, inputs, written):
    """A mobile stage; ``written``: its kept projection outputs.

    The expanded channels are its own: those whose weights (expansion
    rows, depthwise kernels, projection columns) have the largest L1 norm
    in each class of the shuffle between the expansion and the projection.
    """
    expand = shuffle_safe_order(
        _filter_l1(teacher.expand_conv)
        + _unshuffled(
            _filter_l1(teacher.depth_conv.conv)
            + _input_l1(teacher.project_conv)
        ),
        student.expand_conv.out_channels,
    )
    names = ("expand_conv", "expand_norm", "expand_act")
    state = _conv_block(prefix, teacher, student, names, expand, inputs)
    mixed = shuffled(expand, teacher.expand_conv.out_channels)
    names = ("depth_conv.conv", "depth_norm", "depth_act")
    state.update(_conv_block(prefix, teacher, student, names, mixed, mixed))
    names = ("project_conv", "project_norm")
    state.update(_conv_block(prefix, teacher, student, names, written, mixed))
    state.update(
        _attention(
            f"{prefix}.attention",
            teacher.attention,
            student.attention,
            written,
        )
    )
    return state


def _dual_path(prefix, teacher, student, index):
    """A dual-path layer on the kept channels ``index``."""
    state = {}
    kept_half = len(index) // 2
    for path in ("band", "frame"):
        proj = getattr(teacher, f"{path}_proj")
        offset, columns = 0, []
        for g, name in enumerate(("first", "second")):
            gru = getattr(getattr(teacher, f"{path}_gru"), name)
            inputs = index[g * kept_half : (g + 1) * kept_half]
            gru_state, kept = _gru(
                f"{prefix}.{path}_gru.{name}",
                gru,
                getattr(getattr(student, f"{path}_gru"), name),
                inputs - g * gru.input_size,
                proj,
                offset,
            )
            state.update(gru_state)
            columns.append(kept)
            offset += gru.hidden_size * (1 + gru.bidirectional)
        columns = torch.cat(columns)
        state[f"{prefix}.{path}_proj.weight"] = proj.weight[index][:, columns]
        state[f"{prefix}.{path}_proj.bias"] = proj.bias[index]
        norm = getattr(teacher, f"{path}_norm")
        state.update(_channels(f"{prefix}.{path}_norm", norm, index, -1))
    return state


_STAGE_RULES = {_SeparableStage: _separable_stage, _MobileStage: _mobile_stage}
# The convolution that reads a stage's input
FIRST_CONVS = {
    _ConvStage: "conv.conv",
    _SeparableStage: "point_conv",
    _MobileStage: "expand_conv",
}


def _written_l1(stage):
    """L1 norm of the filters of a separable or mobile stage that write
    each of its output channels, indexed before its last shuffle."""
    if isinstance(stage, _SeparableStage):
        return _filter_l1(stage.point_conv) + _unshuffled(
            _filter_l1(stage.depth_conv.conv)
        )
    return _filter_l1(stage.project_conv)


def _read_l1(stage):
    """L1 norm of the weights of a stage's first convolution that read
    each of its input channels."""
    return _input_l1(stage.get_submodule(FIRST_CONVS[type(stage)]))


@torch.no_grad()
def main_channel_scores(teacher):
    """L1 norm of the weights that write or read each stage's channels.

    Stage ``i``'s channels are indexed as they are before its last
    shuffle (for the first stage, before the shuffle of the last mobile
    decoder stage, which writes them too). They are written by encoder
    stage ``i``, by the decoder stage whose output is added to them and,
    for the last stage, by the bottleneck's linear layers; they are read
    by the next encoder stage (the bottleneck's GRUs after the last one)
    and by the decoder stage after that skip connection.

    Arguments
    ---------
    teacher : ULUNAS
        The trained model.

    Returns
    -------
    list of torch.Tensor
        One score per channel, stage by stage.

    Example
    -------
    >>> from speechbrain_kd.models.ulunas import ULUNAS
    >>> [len(s) for s in main_channel_scores(ULUNAS())]
    [12, 24, 24, 32, 16]
    """
    encoder, decoder = teacher.encoder, teacher.decoder
    writes = [_unshuffled(_filter_l1(encoder[0].conv.conv))]
    writes += [_written_l1(stage) for stage in encoder[1:]]
    reads = [_read_l1(stage) for stage in reversed(decoder)]
    for i, stage in enumerate(encoder[1:]):
        writes[i] = writes[i] + _written_l1(decoder[-2 - i])
        reads[i] = reads[i] + _read_l1(stage)
    for layer in teacher.bottleneck.layers:
        projections = _filter_l1(layer.band_proj) + _filter_l1(layer.frame_proj)
        writes[-1] = writes[-1] + _unshuffled(projections)
        for grouped in (layer.band_gru, layer.frame_gru):
            reads[-1] = reads[-1] + torch.cat(
                [_gru_input_l1(grouped.first), _gru_input_l1(grouped.second)]
            )
    return [w + _unshuffled(r) for w, r in zip(writes, reads)]


@torch.no_grad()
def pruned_state(teacher, student):
    """The student's state dict, pruned from a wider trained UL-UNAS.

    Arguments
    ---------
    teacher : ULUNAS
        The trained wider model.
    student : ULUNAS
        The narrower model to initialise (its own weights are not read).

    Returns
    -------
    dict
        A state dict that fits ``student`` exactly.

    Raises
    ------
    ValueError
        If a stage of the student is wider than the teacher's, or if
        either model's mobile stages add residuals.

    Example
    -------
    >>> from speechbrain_kd.models.ulunas import ULUNAS
    >>> teacher = ULUNAS().eval()
    >>> same = ULUNAS().eval()
    >>> same.load_state_dict(pruned_state(teacher, same))
    <All keys matched successfully>
    >>> spec = torch.randn(1, 257, 8, 2)
    >>> bool(torch.equal(same(spec), teacher(spec)))
    True
    >>> student = ULUNAS(channel_scale=0.4)
    >>> student.load_state_dict(pruned_state(teacher, student))
    <All keys matched successfully>
    >>> pruned_state(student, teacher)
    Traceback (most recent call last):
      ...
    ValueError: UL-UNAS pruning: the student's channels [12, 24, 24, 32, \
16] do not fit in the teacher's [4, 10, 10, 12, 8]
    """
    if any(s > t for s, t in zip(student.channels, teacher.channels)):
        raise ValueError(
            f"UL-UNAS pruning: the student's channels {student.channels} "
            f"do not fit in the teacher's {teacher.channels}"
        )
    for model in (teacher, student):
        if model.channels[2] == model.channels[3]:
            raise ValueError(
                f"UL-UNAS pruning: channels {model.channels} make the "
                "mobile stages add residuals, which the rule does not "
                "support; choose another channel_scale"
            )
    # Stage i's channels before its last shuffle, and after it (its output)
    written = [
        shuffle_safe_order(scores, kept)
        for scores, kept in zip(main_channel_scores(teacher), student.channels)
    ]
    outputs = [
        shuffled(order, channels)
        for order, channels in zip(written, teacher.channels)
    ]
    every = torch.arange
    state = {f"bands.{k}": v for k, v in teacher.bands.state_dict().items()}
    pairs = zip(teacher.encoder, student.encoder)
    for i, (stage_t, stage_s) in enumerate(pairs):
        prefix = f"encoder.{i}"
        if i == 0:
            state.update(
                _conv_stage(prefix, stage_t, stage_s, every(1), outputs[0])
            )
        else:
            rule = _STAGE_RULES[type(stage_t)]
            state.update(
                rule(prefix, stage_t, stage_s, outputs[i - 1], written[i])
            )
    pairs = zip(teacher.bottleneck.layers, student.bottleneck.layers)
    for i, (layer_t, layer_s) in enumerate(pairs):
        state.update(
            _dual_path(f"bottleneck.layers.{i}", layer_t, layer_s, outputs[-1])
        )
    # Decoder stage j mirrors encoder stage i: it reads stage i's output
    # (plus the skip) and writes stage i - 1's channels
    pairs = zip(teacher.decoder, student.decoder)
    for j, (stage_t, stage_s) in enumerate(pairs):
        prefix, i = f"decoder.{j}", len(teacher.encoder) - 1 - j
        if i == 0:
            state.update(
                _conv_stage(prefix, stage_t, stage_s, outputs[0], every(1))
            )
        else:
            rule = _STAGE_RULES[type(stage_t)]
            state.update(
                rule(prefix, stage_t, stage_s, outputs[i], written[i - 1])
            )
    return {key: value.clone() for key, value in state.items()}
