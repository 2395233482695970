"""The student to export: its architecture file, weights, size and latency.

Authors
 * speechbrain-kd contributors 2026
"""

import copy
from pathlib import Path

import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.checkpoints import find_model_checkpoint
from speechbrain_kd.features import call_model, front_end_of, load_front_end
from speechbrain_kd.models import (
    count_parameters,
    macs_per_second,
    parameter_counts,
    probe_input,
)
from speechbrain_kd.run_record import (
    LEVELS_UP,
    RECORD_FILE,
    find_run_record,
    recorded_front_end,
    recorded_model,
    recorded_node,
)

# Parameter names that must never leave the training run: the KD method's
# trainable parts (adapters) and the teacher.
FORBIDDEN_KEYS = ("kd_method", "adapter", "teacher")


def model_text(model_file):
    """The text of a model file, or of the model a run recorded.

    Arguments
    ---------
    model_file : str or pathlib.Path
        A model file (root ``--- !new:<class>``, as in ``hparams/models``)
        or the ``hyperparams.yaml`` a recipe saved in its run folder (its
        ``student`` or ``model``).

    Returns
    -------
    str
        The model file's text.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "hyperparams.yaml"
    >>> with open(path, "w") as f:
    ...     _ = f.write("model: !new:torch.nn.Linear\\n  in_features: 2\\n")
    >>> print(model_text(path))
    --- !new:torch.nn.Linear
    in_features: 2
    <BLANKLINE>
    """
    path = Path(model_file)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {path.resolve()} does not exist")
    text = path.read_text(encoding="utf-8")
    if any(line.startswith("---") for line in text.splitlines()):
        return text
    return recorded_model(path)


def model_yaml(model_file):
    """Returns a model file's root as the YAML of an ``enhance_model`` entry.

    The files of ``hparams/models`` hold one model as a tagged root,
    ``--- !new:<class>`` followed by its arguments; they are copied
    verbatim (nested tags included), indented under ``enhance_model``.

    Arguments
    ---------
    model_file : str or pathlib.Path
        A YAML file whose root is ``--- !new:<class>``, or a run's
        ``hyperparams.yaml`` (see :func:`model_text`).

    Returns
    -------
    str
        ``enhance_model: !new:<class>`` and the indented arguments.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.yaml"
    >>> with open(path, "w") as f:
    ...     _ = f.write("# tiny\\n--- !new:speechbrain_kd.models.MaskUNet\\n"
    ...                 "depth: 2\\n")
    >>> print(model_yaml(path))
    enhance_model: !new:speechbrain_kd.models.MaskUNet
        depth: 2
    <BLANKLINE>
    """
    lines = model_text(model_file).splitlines()
    roots = [i for i, line in enumerate(lines) if line.startswith("---")]
    tag = lines[roots[0]][3:].strip() if roots else ""
    if not tag.startswith("!new:"):
        raise ValueError(
            f"{model_file}: expected a model file whose root is "
            "'--- !new:<class>' followed by its arguments"
        )
    body = "".join(
        f"    {line}\n" if line.strip() else "\n"
        for line in lines[roots[0] + 1 :]
    )
    return f"enhance_model: {tag}\n{body}"


def load_model(model_file):
    """Instantiates the architecture of a model file of ``hparams/models``.

    Arguments
    ---------
    model_file : str or pathlib.Path
        A YAML file whose root is the model (``!new:...``), or a run's
        ``hyperparams.yaml`` (see :func:`model_text`).

    Returns
    -------
    torch.nn.Module
        The model, randomly initialised.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.yaml"
    >>> with open(path, "w") as f:
    ...     _ = f.write("--- !new:speechbrain_kd.models.MaskUNet\\ndepth: 2\\n")
    >>> load_model(path).depth
    2
    """
    return load_hyperpyyaml(model_yaml(model_file))["enhance_model"]


def model_name(model_file):
    """A short name of the model: its file's, or the run's.

    A run's name is its experiment where the run folder lies under it
    (``results/train/<experiment>/<seed>``), else the name of the run
    folder (an ``--output_folder`` given instead of ``--experiment``).

    Arguments
    ---------
    model_file : str or pathlib.Path
        A model file or a run's ``hyperparams.yaml``.

    Returns
    -------
    str

    Example
    -------
    >>> model_name("hparams/models/student_w16.yaml")
    'student_w16'
    """
    path = Path(model_file)
    if path.name != RECORD_FILE or not path.is_file():
        return path.stem
    run_folder = path.resolve().parent
    experiment = recorded_node(path, "experiment")
    if experiment and str(experiment) in run_folder.parts:
        return str(experiment)
    return run_folder.name


def export_settings(checkpoint, model_file=None, features=None):
    """The architecture and features of a student to export.

    Both come from the run's own record (the ``hyperparams.yaml`` its
    recipe saved in the run folder) unless given.

    Arguments
    ---------
    checkpoint : str or pathlib.Path
        The student's weights (see :func:`load_student`).
    model_file : str or pathlib.Path, optional
        Its model file, instead of the one the run recorded.
    features : dict, optional
        Its features (a loaded file of ``hparams/features``), instead of
        those the run recorded.

    Returns
    -------
    model_file : str or pathlib.Path
        A model file or the run's record.
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The student's front-end.

    Example
    -------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> _ = (run / RECORD_FILE).write_text(
    ...     "student: !new:speechbrain_kd.models.MaskUNet\\n  depth: 2\\n"
    ...     "sample_rate: 16000\\nn_fft: 256\\nwin_length: 16\\n"
    ...     "hop_length: 8\\n"
    ... )
    >>> model_file, front_end = export_settings(run / "save")
    >>> load_model(model_file).depth, front_end.n_fft
    (2, 256)
    >>> export_settings(run.parent / "elsewhere.ckpt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No hyperparams.yaml recorded by the run of \
.../elsewhere.ckpt (in its folder or the 3 above): name the student's \
model file, e.g. --model_file=hparams/models/student_w16.yaml
    """
    record = find_run_record(checkpoint)
    if model_file is None and record is None:
        raise FileNotFoundError(
            f"No {RECORD_FILE} recorded by the run of {checkpoint} (in its "
            f"folder or the {LEVELS_UP} above): name the student's model "
            "file, e.g. --model_file=hparams/models/student_w16.yaml"
        )
    if features is not None:
        front_end = front_end_of(features)
    elif record is not None:
        front_end = recorded_front_end(record)
    else:
        front_end = load_front_end()
    return model_file or record, front_end


def check_no_kd_weights(names, where):
    """Raises ValueError if parameter names belong to an adapter or teacher.

    Arguments
    ---------
    names : iterable of str
        Parameter or initializer names.
    where : str
        What holds them, for the message.

    Example
    -------
    >>> check_no_kd_weights(["encoder.0.conv.weight"], "model.ckpt")
    >>> check_no_kd_weights(["adapter.linear.weight"], "kd_method.ckpt")
    Traceback (most recent call last):
    ...
    ValueError: kd_method.ckpt holds distillation weights (adapter or \
teacher), which are never exported: adapter.linear.weight
    """
    found = [
        name
        for name in names
        if any(key in name.lower() for key in FORBIDDEN_KEYS)
    ]
    if found:
        raise ValueError(
            f"{where} holds distillation weights (adapter or teacher), "
            f"which are never exported: {', '.join(found[:5])}"
        )


def load_student(checkpoint, model_file):
    """Loads the student's weights into the architecture of ``model_file``.

    Arguments
    ---------
    checkpoint : str or pathlib.Path
        Anything ``find_model_checkpoint`` accepts: a state-dict file,
        a checkpoint folder (``CKPT+...`` with ``model.ckpt``), a ``save``
        or experiment folder (best validation PESQ), or a hub folder.
    model_file : str or pathlib.Path
        The student's model file of ``hparams/models``.

    Returns
    -------
    model : torch.nn.Module
        The student, in ``eval()`` mode.
    path : str
        The state-dict file that was loaded.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = Path(folder) / "m.yaml"
    >>> with open(path, "w") as f:
    ...     _ = f.write("--- !new:speechbrain_kd.models.MaskUNet\\ndepth: 2\\n")
    >>> torch.save(load_model(path).state_dict(), f"{folder}/model.ckpt")
    >>> model, found = load_student(folder, path)
    >>> Path(found).name, model.training
    ('model.ckpt', False)
    """
    try:
        path = find_model_checkpoint(checkpoint)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"No student weights found from {checkpoint}: {error}"
        ) from error
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a state dict of the student")
    check_no_kd_weights(state, path)
    model = load_model(model_file)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{path} does not match the architecture of {model_file}: {error}"
        ) from error
    return model.eval(), path


def lookahead_frames(model, n_freq=None, n_frames=128, front_end=None):
    """Future feature frames that one output frame of the model depends on.

    Measured structurally on a copy of the model whose convolutions
    average their inputs (positive weights, no bias, identity norms), so
    every connection of the receptive field carries gradient: the look-ahead
    is the largest distance from an output frame to an input frame with a
    non-zero gradient, maximised over the phases of time downsampling.
    GRU and LSTM layers of the copy carry their state (update or forget
    gates held near one), so their gradient does not vanish within the
    probe. A model whose output frames see to the end of the probe (a
    bidirectional recurrent layer, attention over the whole input) at 8
    times ``n_frames`` too has no bounded look-ahead: it needs the whole
    file.

    Arguments
    ---------
    model : torch.nn.Module
        A model taking ``[batch, time, freq]`` features.
    n_freq : int, optional
        Frequency bins of the features; required without ``front_end``.
    n_frames : int
        Frames of the probe input (more than the receptive field).
    front_end : speechbrain_kd.features.SpectralFrontEnd, optional
        The model's front-end, which shapes the probe input (then
        ``n_freq`` is its own); ``[batch, time, freq]`` features if None.

    Returns
    -------
    int or None
        Look-ahead in frames (0 for a causal model), None if unbounded.

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> lookahead_frames(MaskUNet(depth=2, base_channels=2, causal=True), 257)
    0
    >>> # one frame each: encoder, bottleneck and decoder 3x3 convolutions
    >>> lookahead_frames(MaskUNet(depth=1, base_channels=2), 257)
    3
    >>> class BiGRU(torch.nn.Module):  # over time: the whole file
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.gru = torch.nn.GRU(257, 4, bidirectional=True)
    ...     def forward(self, feats):
    ...         return self.gru(feats.transpose(0, 1))[0].transpose(0, 1)
    >>> print(lookahead_frames(BiGRU(), 257))
    None
    """
    probe = copy.deepcopy(model).eval()
    for module in probe.modules():
        if isinstance(module, torch.nn.modules.conv._ConvNd):
            module.weight.data.fill_(1.0 / module.weight[0].numel())
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()
        elif isinstance(module, (torch.nn.GRU, torch.nn.LSTM)):
            _carry_state(module)
    for frames in (n_frames, 8 * n_frames):
        lookahead = _probe_lookahead(probe, frames, n_freq, front_end)
        if lookahead is not None:
            return lookahead
    return None


def _carry_state(rnn, gate_bias=4.0):
    """Set a GRU or LSTM so that its state, and its gradient, carry on.

    Only the candidate state (a GRU's ``n``, an LSTM's ``g``) sees the
    input, averaged; recurrent weights are zero and constant gates keep
    the state: a GRU's update gate and an LSTM's forget gate near one, an
    LSTM's input gate their complement, so its cell does not saturate. The
    gradient then shrinks by about 2 % a step instead of vanishing after a
    few hundred steps, as random weights let it.
    """
    keep, candidate = 1, 2  # gates (r, z, n) of a GRU, (i, f, g, o) of LSTM
    for name, param in rnn.named_parameters():
        gates = param.data.zero_().view(-1, rnn.hidden_size, *param.shape[1:])
        if name.startswith("weight_ih"):
            gates[candidate].fill_(1.0 / param.shape[1])
        elif name.startswith("bias_ih"):
            gates[keep].fill_(gate_bias)
            if isinstance(rnn, torch.nn.LSTM):
                gates[0].fill_(-gate_bias)


def _probe_lookahead(probe, n_frames, n_freq, front_end=None):
    """The look-ahead seen on ``n_frames``, None if it reaches their end."""
    lookahead = 0
    first = n_frames // 2
    for frame in range(first, first + getattr(probe, "time_factor", 1)):
        feats, axis = probe_input(n_frames, n_freq, front_end, fill=1.0)
        feats.requires_grad_(True)
        call_model(probe, feats).select(axis, frame).sum().backward()
        grad = feats.grad.abs().movedim(axis, 0).flatten(1).sum(1)
        last = int(grad.nonzero().max())
        if last == n_frames - 1:
            return None
        lookahead = max(lookahead, last - frame)
    return lookahead


def describe_student(model, ckpt_path, front_end, model_file):
    """Size, compute and algorithmic latency of the student, and source.

    The algorithmic latency is the STFT window plus the look-ahead of the
    network (:func:`lookahead_frames`) in hops: 0 look-ahead for a causal
    student; None for a student whose look-ahead is unbounded (it
    processes whole files).

    Arguments
    ---------
    model : torch.nn.Module
        The student.
    ckpt_path : str
        The state-dict file it was loaded from.
    front_end : speechbrain_kd.features.SpectralFrontEnd
        Its front-end.
    model_file : str or pathlib.Path
        Its architecture file.

    Returns
    -------
    dict

    Example
    -------
    >>> from speechbrain_kd.features import load_front_end
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=2, base_channels=2, causal=True)
    >>> front_end = load_front_end("stft_16ms")
    >>> info = describe_student(model, "m.ckpt", front_end, "m.yaml")
    >>> info["lookahead_frames"], info["latency_ms"]
    (0, 16)
    """
    lookahead = lookahead_frames(model, front_end=front_end)
    description = {
        "checkpoint": ckpt_path,
        "model_file": str(model_file),
        "model_name": model_name(model_file),
        "model_class": type(model).__name__,
        "params": count_parameters(model),
        "params_fixed": parameter_counts(model)["fixed"],
        "macs_per_s": (
            model.complexity()["macs_per_second"]
            if hasattr(model, "complexity")
            else macs_per_second(
                model,
                frames_per_second=1000.0 / front_end.hop_length,
                front_end=front_end,
            )
        ),
        "lookahead_frames": lookahead,
        "latency_ms": (
            None if lookahead is None else front_end.latency_ms(lookahead)
        ),
        "stft": front_end.describe(),
        "contract": front_end.contract,
    }
    kd_ckpt = Path(ckpt_path).parent / "kd_method.ckpt"
    if kd_ckpt.is_file():
        adapter = torch.load(kd_ckpt, map_location="cpu", weights_only=True)
        description["adapter_params_dropped"] = sum(
            value.numel() for value in adapter.values()
        )
    return description
