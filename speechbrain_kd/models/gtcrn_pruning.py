"""Structured pruning of a trained GTCRN into a narrower GTCRN.

A student GTCRN (fewer ``channels``, ``hidden_channels`` or
``attention_channels``) starts from the weights of the channels it keeps
of a wider trained GTCRN, such as the published one. Which channels: the
L1-norm criterion of Li et al. (2017), "Pruning filters for efficient
ConvNets": in each group of interchangeable units (the expanded channels
of a block, the units of a GRU) the units whose weights, summed in
absolute value, are largest.

The main channels (those the skip connections, the grouped convolutions
and the channel shuffles of the grouped temporal blocks tie together)
have few valid choices: every student channel stands for one teacher
channel, and a block's shuffle must send the kept set onto itself, so
that the encoder, bottleneck and decoder all read the same channels.
Among the valid orders, the one of largest L1 norm is kept. Pruning a
model into its own size changes nothing.

Authors
 * speechbrain-kd contributors 2026
"""

import itertools

import torch

GATES = 3  # GRU weights stack the reset, update and new gates


def gate_rows(units, hidden):
    """Rows of a GRU weight for ``units``, in each of the three gates.

    Arguments
    ---------
    units : torch.Tensor
        Kept hidden units (indices below ``hidden``).
    hidden : int
        Hidden size of the GRU the rows are taken from.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> gate_rows(torch.tensor([0, 2]), 4)
    tensor([ 0,  2,  4,  6,  8, 10])
    """
    return torch.cat([units + gate * hidden for gate in range(GATES)])


def largest_l1(scores, count):
    """The ``count`` indices of largest score, in increasing order.

    Example
    -------
    >>> largest_l1(torch.tensor([0.5, 3.0, 1.0, 2.0]), 2)
    tensor([1, 3])
    """
    return torch.sort(torch.topk(scores, count).indices).values


def unit_l1(weight, dim):
    """Sum of absolute weights per index of ``dim``.

    Example
    -------
    >>> unit_l1(torch.tensor([[1.0, -2.0], [3.0, 0.0]]), 1)
    tensor([4., 2.])
    """
    dims = [d for d in range(weight.dim()) if d != dim]
    return weight.abs().sum(dim=dims)


def grouped_slice(weight, rows, cols, groups_teacher, groups_student):
    """Slices a (grouped) convolution weight ``[rows, cols / groups, ...]``.

    ``rows`` are teacher indices along the first axis; ``cols`` teacher
    indices along the other side (before grouping). The student's row
    ``r`` reads, in its group, the ``cols`` of that group, taken in the
    teacher's group of ``rows[r]``. For a ``Conv2d`` the rows are the
    outputs, for a ``ConvTranspose2d`` the inputs.

    Arguments
    ---------
    weight : torch.Tensor
        The teacher's weight.
    rows, cols : torch.Tensor
        Kept teacher indices, in the student's order.
    groups_teacher, groups_student : int
        The convolution's groups in teacher and student.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> weight = torch.arange(8.0).view(4, 2)  # 4 outputs, 2 groups of 2
    >>> grouped_slice(weight, torch.tensor([1, 3]), torch.tensor([0, 2]),
    ...               2, 2)
    tensor([[2.],
            [6.]])
    """
    per_group_teacher = weight.shape[1]
    per_group_student = len(cols) // groups_student
    rows_per_group = len(rows) // groups_student
    group_student = torch.arange(len(rows)) // rows_per_group
    group_teacher = rows // (weight.shape[0] // groups_teacher)
    local = cols.view(groups_student, per_group_student)[group_student]
    local = local - (group_teacher * per_group_teacher)[:, None]
    return weight[rows[:, None], local]


def main_channel_order(scores, kept):
    """Teacher channels for the student's main channels, shuffle-proof.

    A grouped temporal block filters the first half of its channels into
    new ones (``h``), keeps the second half, and interleaves them: output
    ``2i`` is ``h[i]``, output ``2i + 1`` is input ``half + i``. The
    student's channel ``j`` stands for teacher channel ``order[j]`` before
    and after every block only if: its first half lies in the teacher's
    first half, its second half in the second, even positions hold even
    channels, and ``order[2i + 1] == 2 * (order[half + i] - teacher_half)
    + 1``. Among the orders that satisfy this, the one of largest summed
    ``scores``.

    Arguments
    ---------
    scores : torch.Tensor
        Importance of each teacher main channel.
    kept : int
        Student channels (even, at most ``len(scores)``).

    Returns
    -------
    torch.Tensor
        ``kept`` teacher channel indices, in the student's order.

    Raises
    ------
    ValueError
        If no order exists for these sizes.

    Example
    -------
    >>> main_channel_order(torch.ones(16), 16).tolist() == list(range(16))
    True
    >>> main_channel_order(torch.ones(16), 8).tolist()
    [0, 1, 2, 3, 8, 9, 12, 15]
    """
    channels = len(scores)
    half, kept_half = channels // 2, kept // 2
    best, best_score = None, None
    for second in itertools.permutations(range(half, channels), kept_half):
        order = _complete_order(list(second), channels, kept, scores)
        if order is None:
            continue
        score = float(scores[sorted(order)].sum())  # same set, same sum
        if best is None or score > best_score:
            best, best_score = order, score
    if best is None:
        raise ValueError(
            f"GTCRN pruning: no channel order keeps {kept} of {channels} "
            "main channels through the channel shuffles; choose another "
            "student width"
        )
    return torch.tensor(best)


def _complete_order(second, channels, kept, scores):
    """The order with this second half, or None where none is valid."""
    half, kept_half = channels // 2, kept // 2
    order = [None] * kept_half + second
    for i, channel in enumerate(second):
        position, value = 2 * i + 1, 2 * (channel - half) + 1
        if order[position] is None:
            if value >= half:
                return None
            order[position] = value
        elif order[position] != value:
            return None
    fixed = [channel for channel in order if channel is not None]
    if len(set(fixed)) < len(fixed):
        return None
    if any(order[p] % 2 for p in range(0, kept, 2) if order[p] is not None):
        return None
    free = [p for p in range(kept) if order[p] is None]
    spare = sorted(
        (c for c in range(0, half, 2) if c not in fixed),
        key=lambda c: -float(scores[c]),
    )
    if len(spare) < len(free):
        return None
    chosen = sorted(spare[: len(free)])
    for position, channel in zip(free, chosen):
        order[position] = channel
    return order


def _norm(prefix, module, index):
    """A batch or layer norm's tensors, sliced along its last axis."""
    state = {}
    for name, tensor in module.state_dict().items():
        state[f"{prefix}.{name}"] = (
            tensor if tensor.dim() == 0 else tensor[..., index]
        )
    return state


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


def _conv_norm_act(prefix, teacher, student, out_index, in_index):
    """A ``ConvNormAct`` sliced: outputs ``out_index``, inputs ``in_index``."""
    state = _conv(
        f"{prefix}.conv", teacher.conv, student.conv, out_index, in_index
    )
    state.update(_norm(f"{prefix}.norm", teacher.norm, out_index))
    state.update(
        {f"{prefix}.act.{k}": v for k, v in teacher.act.state_dict().items()}
    )
    return state


def _gru(prefix, teacher, units, inputs):
    """A GRU's tensors (both directions) for kept ``units`` and ``inputs``."""
    hidden = teacher.hidden_size
    rows = gate_rows(units, hidden)
    state = {}
    for name, tensor in teacher.state_dict().items():
        if name.startswith("weight_ih"):
            tensor = tensor[rows][:, inputs]
        elif name.startswith("weight_hh"):
            tensor = tensor[rows][:, units]
        else:
            tensor = tensor[rows]
        state[f"{prefix}.{name}"] = tensor
    return state


def _gru_unit_scores(gru):
    """L1 norm of every weight that writes or reads each hidden unit."""
    hidden = gru.hidden_size
    scores = torch.zeros(hidden)
    for name, tensor in gru.state_dict().items():
        per_row = tensor.abs().reshape(GATES, hidden, -1).sum(dim=(0, 2))
        scores += per_row
        if name.startswith("weight_hh"):
            scores += tensor.abs().sum(dim=0)
    return scores


def _temporal_block(prefix, teacher, student, main):
    """A grouped temporal block sliced around the main channels."""
    kept_half = len(main) // 2
    filtered = main[:kept_half]
    unfold = teacher.unfold.width
    unfolded = (filtered[:, None] * unfold + torch.arange(unfold)).flatten()
    h = main[0::2] // 2
    transposed = isinstance(teacher.expand, torch.nn.ConvTranspose2d)
    out_dim, in_dim = (1, 0) if transposed else (0, 1)
    hidden = largest_l1(
        unit_l1(teacher.expand.weight, out_dim)
        + unit_l1(teacher.depthwise.weight, 0)
        + unit_l1(teacher.project.weight, in_dim),
        student.expand_norm.num_features,
    )
    att = teacher.attention
    att_units = largest_l1(
        _gru_unit_scores(att.gru) + unit_l1(att.proj.weight, 1),
        student.attention.gru.hidden_size,
    )
    state = _conv(
        f"{prefix}.expand", teacher.expand, student.expand, hidden, unfolded
    )
    state.update(
        _conv(
            f"{prefix}.depthwise",
            teacher.depthwise,
            student.depthwise,
            hidden,
            hidden,
        )
    )
    state.update(
        _conv(f"{prefix}.project", teacher.project, student.project, h, hidden)
    )
    for name in ("expand_norm", "depthwise_norm"):
        state.update(_norm(f"{prefix}.{name}", getattr(teacher, name), hidden))
    state.update(_norm(f"{prefix}.project_norm", teacher.project_norm, h))
    for name in ("expand_act", "depthwise_act"):
        for key, value in getattr(teacher, name).state_dict().items():
            state[f"{prefix}.{name}.{key}"] = value
    state.update(_gru(f"{prefix}.attention.gru", att.gru, att_units, h))
    state[f"{prefix}.attention.proj.weight"] = att.proj.weight[h][:, att_units]
    state[f"{prefix}.attention.proj.bias"] = att.proj.bias[h]
    return state


def _grouped_gru(prefix, teacher, student, main):
    """A grouped GRU's tensors; returns them and its kept output columns."""
    half_teacher = teacher.groups[0].input_size
    kept_half = len(main) // 2
    state, columns = {}, []
    for g, (gru_t, gru_s) in enumerate(zip(teacher.groups, student.groups)):
        inputs = main[g * kept_half : (g + 1) * kept_half] - g * half_teacher
        units = largest_l1(_gru_unit_scores(gru_t), gru_s.hidden_size)
        state.update(_gru(f"{prefix}.groups.{g}", gru_t, units, inputs))
        width = gru_t.hidden_size
        directions = 2 if gru_t.bidirectional else 1
        offset = g * directions * width
        columns += [units + offset + d * width for d in range(directions)]
    return state, torch.cat(columns)


def _dual_path(prefix, teacher, student, main):
    """A dual-path grouped RNN sliced around the main channels."""
    state = {}
    for path in ("band", "time"):
        rnn_state, columns = _grouped_gru(
            f"{prefix}.{path}_rnn",
            getattr(teacher, f"{path}_rnn"),
            getattr(student, f"{path}_rnn"),
            main,
        )
        state.update(rnn_state)
        proj = getattr(teacher, f"{path}_proj")
        state[f"{prefix}.{path}_proj.weight"] = proj.weight[main][:, columns]
        state[f"{prefix}.{path}_proj.bias"] = proj.bias[main]
        norm = getattr(teacher, f"{path}_norm")
        state.update(_norm(f"{prefix}.{path}_norm", norm, main))
    return state


def main_channel_scores(teacher):
    """L1 norm of the plain layers' filters that write each main channel.

    The first two encoder convolutions and the output projections of the
    bottleneck's recurrent paths.
    """
    scores = unit_l1(teacher.encoder[0].conv.weight, 0)
    scores = scores + unit_l1(teacher.encoder[1].conv.weight, 0)
    for layer in teacher.bottleneck:
        scores = scores + unit_l1(layer.band_proj.weight, 0)
        scores = scores + unit_l1(layer.time_proj.weight, 0)
    return scores.detach()


@torch.no_grad()
def pruned_state(teacher, student):
    """The student's state dict, pruned from a wider trained GTCRN.

    Arguments
    ---------
    teacher : GTCRN
        The trained wider model.
    student : GTCRN
        The narrower model to initialise (its own weights are not read).

    Returns
    -------
    dict
        A state dict that fits ``student`` exactly.

    Example
    -------
    >>> from speechbrain_kd.models.gtcrn import GTCRN
    >>> teacher = GTCRN().eval()
    >>> same = GTCRN().eval()
    >>> same.load_state_dict(pruned_state(teacher, same))
    <All keys matched successfully>
    >>> spec = torch.randn(1, 257, 8, 2)
    >>> bool(torch.equal(same(spec), teacher(spec)))
    True
    >>> student = GTCRN(8, 2, 4)
    >>> student.load_state_dict(pruned_state(teacher, student))
    <All keys matched successfully>
    """
    main = main_channel_order(main_channel_scores(teacher), student.channels)
    every = torch.arange
    state = {f"bands.{k}": v for k, v in teacher.bands.state_dict().items()}
    features = teacher.encoder[0].conv.in_channels
    state.update(
        _conv_norm_act(
            "encoder.0",
            teacher.encoder[0],
            student.encoder[0],
            main,
            every(features),
        )
    )
    state.update(
        _conv_norm_act(
            "encoder.1", teacher.encoder[1], student.encoder[1], main, main
        )
    )
    for i in range(2, len(teacher.encoder)):
        state.update(
            _temporal_block(
                f"encoder.{i}", teacher.encoder[i], student.encoder[i], main
            )
        )
    for i, (layer_t, layer_s) in enumerate(
        zip(teacher.bottleneck, student.bottleneck)
    ):
        state.update(_dual_path(f"bottleneck.{i}", layer_t, layer_s, main))
    blocks = len(teacher.decoder) - 2
    for i in range(blocks):
        state.update(
            _temporal_block(
                f"decoder.{i}", teacher.decoder[i], student.decoder[i], main
            )
        )
    state.update(
        _conv_norm_act(
            f"decoder.{blocks}",
            teacher.decoder[blocks],
            student.decoder[blocks],
            main,
            main,
        )
    )
    outputs = teacher.decoder[-1].conv.out_channels
    state.update(
        _conv_norm_act(
            f"decoder.{blocks + 1}",
            teacher.decoder[-1],
            student.decoder[-1],
            every(outputs),
            main,
        )
    )
    return {key: value.clone() for key, value in state.items()}
