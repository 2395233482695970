"""Frame-by-frame GTCRN with explicit caches, and its ONNX export.

:class:`GTCRNStreaming` wraps a trained :class:`GTCRN` (sharing its
weights) and enhances one STFT frame per call. What the whole-file model
remembers of the past is passed in and out as three caches:

- ``conv_cache`` ``[2, batch, hidden, 16, bands]``: the expanded inputs of
  the depthwise convolutions over the last ``2 * dilation`` frames, for the
  encoder (``[0]``) and decoder (``[1]``) blocks, dilations 1, 2, 5 in
  order along the third axis;
- ``attention_cache`` ``[2, 3, 1, batch, attention]``: the temporal
  attention GRU states (``attention_channels`` wide) of the encoder and
  decoder blocks (dilations 1, 2, 5);
- ``time_cache`` ``[2, 1, batch * bands, channels]``: the time-GRU states
  of the two dual-path layers of the bottleneck.

Authors
 * speechbrain-kd contributors 2026
"""

import warnings

import numpy as np
import onnx
import torch
from torch import nn

from speechbrain_kd.models.gtcrn import DILATIONS, GroupedTemporalBlock
from speechbrain_kd.models.published import PublishedCheckpointError

CACHE_NAMES = ("conv_cache", "attention_cache", "time_cache")


class GTCRNStreaming(nn.Module):
    """One-frame-per-call GTCRN sharing the weights of a trained model.

    Arguments
    ---------
    model : GTCRN
        The trained whole-file model (put in eval mode).

    Example
    -------
    >>> from speechbrain_kd.models.gtcrn import GTCRN
    >>> model = GTCRN().eval()
    >>> stream = GTCRNStreaming(model)
    >>> spec = torch.randn(1, 257, 6, 2)
    >>> out = stream_spectrum(stream, spec)
    >>> bool(torch.allclose(out, model(spec), atol=1e-5))
    True
    """

    def __init__(self, model):
        super().__init__()
        self.model = model.eval()
        starts = np.cumsum([0, *(2 * d for d in DILATIONS)])
        self.slices = {
            d: (int(starts[i]), int(starts[i + 1]))
            for i, d in enumerate(DILATIONS)
        }

    def initial_caches(self, batch=1):
        """Zero caches of the shapes :meth:`forward` takes.

        Arguments
        ---------
        batch : int
            Batch size.

        Returns
        -------
        tuple of torch.Tensor
            ``conv_cache``, ``attention_cache``, ``time_cache``.
        """
        model = self.model
        hidden = model.encoder[2].expand.out_channels
        attention = model.encoder[2].attention.gru.hidden_size
        bands = model.latent_bands
        history = 2 * sum(DILATIONS)
        return (
            torch.zeros(2, batch, hidden, history, bands),
            torch.zeros(2, len(DILATIONS), 1, batch, attention),
            torch.zeros(2, 1, batch * bands, model.channels),
        )

    def export_onnx(self, path):
        """Writes the one-frame graph (see :func:`export_streaming_onnx`)."""
        export_streaming_onnx(self, path)

    def _block_step(self, block, x, conv_cache, attention_cache, new):
        """One frame through a grouped temporal block; stores its caches."""
        dilation = block.history // 2
        start, stop = self.slices[dilation]
        x, new["conv"][dilation], new["attention"][dilation] = block.step(
            x,
            conv_cache[:, :, start:stop],
            attention_cache[DILATIONS.index(dilation)],
        )
        return x

    def forward(self, spec, conv_cache, attention_cache, time_cache):
        """Enhances one frame ``[batch, 257, 1, 2]``.

        Arguments
        ---------
        spec : torch.Tensor
            One frame of the complex spectrum ``[batch, 257, 1, 2]``.
        conv_cache : torch.Tensor
            See the module docstring.
        attention_cache : torch.Tensor
            See the module docstring.
        time_cache : torch.Tensor
            See the module docstring.

        Returns
        -------
        tuple of torch.Tensor
            The enhanced frame and the three new caches.
        """
        model = self.model
        new = [{"conv": {}, "attention": {}} for _ in range(2)]
        x = model.features(spec)
        skips = []
        for layer in model.encoder:
            if isinstance(layer, GroupedTemporalBlock):
                x = self._block_step(
                    layer, x, conv_cache[0], attention_cache[0], new[0]
                )
            else:
                x = layer(x)
            skips.append(x)
        times = []
        for layer, state in zip(model.bottleneck, time_cache):
            x, state = layer.step(x, state)
            times.append(state)
        for layer in model.decoder:
            x = x + skips.pop()
            if isinstance(layer, GroupedTemporalBlock):
                x = self._block_step(
                    layer, x, conv_cache[1], attention_cache[1], new[1]
                )
            else:
                x = layer(x)
        conv = [torch.cat([n["conv"][d] for d in DILATIONS], 2) for n in new]
        attention = [
            torch.stack([n["attention"][d] for d in DILATIONS]) for n in new
        ]
        return (
            model.apply_mask(x, spec),
            torch.stack(conv),
            torch.stack(attention),
            torch.stack(times),
        )


def stream_spectrum(stream, spec):
    """Runs :class:`GTCRNStreaming` frame by frame over a whole spectrum.

    Arguments
    ---------
    stream : GTCRNStreaming
        The streaming model.
    spec : torch.Tensor
        ``[batch, 257, frames, 2]``.

    Returns
    -------
    torch.Tensor
        The enhanced spectrum, same shape.
    """
    caches = stream.initial_caches(spec.shape[0])
    frames = []
    with torch.no_grad():
        for t in range(spec.shape[2]):
            out, *caches = stream(spec[:, :, t : t + 1], *caches)
            frames.append(out)
    return torch.cat(frames, dim=2)


def export_streaming_onnx(stream, path, opset=17):
    """Writes the one-frame graph of ``stream`` (batch 1) to ``path``.

    Inputs ``spec`` ``[1, 257, 1, 2]`` and the caches of
    ``CACHE_NAMES``; outputs ``enhanced`` and the caches with ``_out``.

    Arguments
    ---------
    stream : GTCRNStreaming
        The streaming model.
    path : str or pathlib.Path
        Output ``.onnx`` file.
    opset : int
        ONNX opset.

    Example
    -------
    >>> import os, tempfile
    >>> from speechbrain_kd.models.gtcrn import GTCRN
    >>> stream = GTCRNStreaming(GTCRN(channels=8))
    >>> path = os.path.join(tempfile.mkdtemp(), "gtcrn_stream.onnx")
    >>> export_streaming_onnx(stream, path)
    >>> spec = torch.randn(1, 257, 4, 2)
    >>> out = run_onnx_stream(onnx_session(path), spec.numpy())
    >>> bool(np.allclose(out, stream_spectrum(stream, spec), atol=1e-4))
    True
    """
    stream = stream.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            stream,
            (torch.zeros(1, 257, 1, 2), *stream.initial_caches()),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["spec", *CACHE_NAMES],
            output_names=["enhanced", *(f"{n}_out" for n in CACHE_NAMES)],
        )
    onnx.checker.check_model(str(path))


def onnx_session(path, threads=1):
    """An ONNX Runtime CPU session on ``threads`` threads.

    Arguments
    ---------
    path : str or pathlib.Path
        The ``.onnx`` file.
    threads : int
        Intra- and inter-op threads.

    Returns
    -------
    onnxruntime.InferenceSession
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    return onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


def run_onnx_stream(session, spec):
    """Runs a one-frame graph over ``spec`` ``[1, 257, frames, 2]``.

    Works for any graph whose first input is the frame and whose other
    inputs are caches returned, in the same order, after the enhanced
    frame (ours and the official ``gtcrn_stream.onnx``); caches start at
    zero.

    Arguments
    ---------
    session : onnxruntime.InferenceSession
        The session.
    spec : numpy.ndarray
        ``[1, 257, frames, 2]`` float32.

    Returns
    -------
    numpy.ndarray
        The enhanced spectrum, same shape.
    """
    frame_input, *cache_inputs = session.get_inputs()
    caches = {i.name: np.zeros(i.shape, dtype=np.float32) for i in cache_inputs}
    frames = []
    for t in range(spec.shape[2]):
        feed = {frame_input.name: spec[:, :, t : t + 1], **caches}
        out, *new_caches = session.run(None, feed)
        caches = dict(zip(caches, new_caches))
        frames.append(out)
    return np.concatenate(frames, axis=2)


def _unnamed_slots():
    """The official graph's weighted nodes that lost their names.

    In execution order, as ``(op, our module)``: the export folded batch
    norms into the encoder's convolutions and renamed the GRU, PReLU and
    linear weights.
    """
    n_blocks = len(DILATIONS)
    slots = [("MatMul", "bands.merge")]
    for i in range(2):
        slots += [("Conv", f"encoder.{i}.conv"), ("PRelu", f"encoder.{i}.act")]
    for i in range(2, 2 + n_blocks):
        block = f"encoder.{i}"
        slots += [
            ("Conv", f"{block}.expand"),
            ("PRelu", f"{block}.expand_act"),
            ("Conv", f"{block}.depthwise"),
            ("PRelu", f"{block}.depthwise_act"),
            ("Conv", f"{block}.project"),
            ("GRU", f"{block}.attention.gru"),
            ("MatMul", f"{block}.attention.proj"),
        ]
    for i in range(2):
        layer = f"bottleneck.{i}"
        for path in ("band", "time"):
            slots += [
                ("GRU", f"{layer}.{path}_rnn.groups.0"),
                ("GRU", f"{layer}.{path}_rnn.groups.1"),
                ("MatMul", f"{layer}.{path}_proj"),
            ]
    for i in range(n_blocks):
        block = f"decoder.{i}"
        slots += [
            ("PRelu", f"{block}.expand_act"),
            ("PRelu", f"{block}.depthwise_act"),
            ("GRU", f"{block}.attention.gru"),
            ("MatMul", f"{block}.attention.proj"),
        ]
    slots += [("PRelu", f"decoder.{n_blocks}.act"), ("MatMul", "bands.split")]
    return slots


# Batch norms folded into the preceding convolution by the official export.
_FOLDED_NORMS = {
    "conv": "norm",
    "expand": "expand_norm",
    "depthwise": "depthwise_norm",
    "project": "project_norm",
}


def _gru_weights(prefix, weights, node):
    """PyTorch GRU parameters from an ONNX GRU node (gates z, r, h)."""
    attributes = {a.name: a.i for a in node.attribute}
    if attributes.get("linear_before_reset") != 1:
        raise ValueError(f"GRU node {node.name}: linear_before_reset is not 1")
    w, r, b = (weights[name] for name in node.input[1:4])
    hidden = w.shape[1] // 3

    def torch_gates(matrix):  # (z, r, h) to PyTorch's (r, z, n)
        z, reset, h = np.split(matrix, 3, axis=0)
        return torch.from_numpy(np.concatenate([reset, z, h]))

    state = {}
    for direction in range(w.shape[0]):
        suffix = "_reverse" if direction else ""
        state[f"{prefix}.weight_ih_l0{suffix}"] = torch_gates(w[direction])
        state[f"{prefix}.weight_hh_l0{suffix}"] = torch_gates(r[direction])
        input_bias, recurrent_bias = np.split(b[direction], [3 * hidden])
        state[f"{prefix}.bias_ih_l0{suffix}"] = torch_gates(input_bias)
        state[f"{prefix}.bias_hh_l0{suffix}"] = torch_gates(recurrent_bias)
    return state


def official_stream_state(model, path):
    """Reads the weights of the official ``gtcrn_stream.onnx`` in our keys.

    Initializers that kept their official names are mapped with
    ``GTCRN.official_key_map``; the others are read from the graph's
    weighted nodes in execution order (convolutions with their batch norm
    folded, whose norms become identities; PReLU slopes; GRUs, converted
    from ONNX's gate order; linear weights, transposed).

    Arguments
    ---------
    model : GTCRN
        A model of the published size (for its keys and norm epsilons).
    path : str or pathlib.Path
        The official streaming graph.

    Returns
    -------
    dict
        A state dict for ``model``; load it with
        ``model.load_state_dict(state, strict=True)``.
    """
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    weights = {
        i.name: numpy_helper.to_array(i).copy() for i in graph.initializer
    }
    renamed = {
        k.replace(".depth_conv.ConvTranspose2d.", ".depth_conv."): k
        for k in weights
        if not k.startswith("onnx::")
    }
    key_map = model.official_key_map(list(renamed))
    state = {
        ours: torch.from_numpy(weights[renamed[official]])
        for official, ours in key_map.items()
    }
    nodes = [
        n
        for n in graph.node
        if n.op_type in ("Conv", "PRelu", "GRU", "MatMul")
        and any(i in weights for i in n.input)
    ]
    slots = _unnamed_slots()
    found = [n.op_type for n in nodes]
    if found != [op for op, _ in slots]:
        raise ValueError(
            f"{path}: weighted nodes {found} do not follow GTCRN's layout "
            f"{[op for op, _ in slots]}"
        )
    for node, (op, prefix) in zip(nodes, slots):
        if op == "GRU":
            state.update(_gru_weights(prefix, weights, node))
        elif op == "MatMul":
            matrix = weights[node.input[1]]
            state[f"{prefix}.weight"] = torch.from_numpy(matrix.T.copy())
        elif op == "PRelu":
            slope = weights[node.input[1]].reshape(-1)
            state[f"{prefix}.weight"] = torch.from_numpy(slope)
        else:
            state[f"{prefix}.weight"] = torch.from_numpy(weights[node.input[1]])
            state[f"{prefix}.bias"] = torch.from_numpy(weights[node.input[2]])
            module, name = prefix.rsplit(".", 1)
            norm = f"{module}.{_FOLDED_NORMS[name]}"
            state.update(_identity_norm(model.get_submodule(norm), norm))
    ours = model.state_dict()
    # The graph has no use for the batch norms' update counters.
    for key in ours:
        if key.endswith(".num_batches_tracked"):
            state.setdefault(key, torch.tensor(0))
    wrong = sorted(
        [f"missing: {k}" for k in ours if k not in state]
        + [f"unexpected: {k}" for k in state if k not in ours]
        + [
            f"shape of {k}: {tuple(v.shape)} in the graph, "
            f"{tuple(ours[k].shape)} in the model"
            for k, v in state.items()
            if k in ours and v.shape != ours[k].shape
        ]
    )
    if wrong:
        raise PublishedCheckpointError(
            f"{path} does not fit {type(model).__name__}:\n  "
            + "\n  ".join(wrong)
        )
    return state


def _identity_norm(norm, prefix):
    """Batch-norm parameters and statistics that make it the identity."""
    channels = norm.num_features
    return {
        f"{prefix}.weight": torch.ones(channels),
        f"{prefix}.bias": torch.zeros(channels),
        f"{prefix}.running_mean": torch.zeros(channels),
        f"{prefix}.running_var": torch.full((channels,), 1.0 - norm.eps),
        f"{prefix}.num_batches_tracked": torch.tensor(0),
    }
