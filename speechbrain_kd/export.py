"""Export of a trained student for deployment: hub folder, TorchScript, ONNX.

``export_student`` turns a checkpoint of the student (a run of
``recipes/train.py`` or ``recipes/distill.py``) into a SpeechBrain
model-hub folder that ``SpectralMaskEnhancement.from_hparams`` loads, plus
the mask network as TorchScript and ONNX, a standalone ONNX Runtime
script (``enhance_onnx.py``, no PyTorch) and a model card. Only the
student's weights are exported: the distillation adapter
(``kd_method.ckpt``) and the teacher never are. Every artefact is checked
against the PyTorch model on real speech before the folder is moved into
place; a failed check raises :class:`ExportError` and leaves no folder.

``validate_hub_folder`` and ``publish`` check and upload such a folder to
the Hugging Face Hub; ``real_time_factor`` and ``onnx_session`` serve the
deployment benchmark (``recipes/bench_deploy.py``).

Authors
 * speechbrain-kd contributors 2026
"""

import copy
import functools
import logging
import os
import runpy
import shutil
import statistics
import string
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.processing.features import ISTFT, STFT, spectral_magnitude
from speechbrain.processing.signal_processing import resynthesize
from speechbrain.utils.callchains import lengths_arg_exists

from speechbrain_kd.brains import EnhanceBrain
from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.metrics import pesq_wb
from speechbrain_kd.models import count_parameters, macs_per_second
from speechbrain_kd.teacher import find_teacher_checkpoint

HPARAMS_FILE = "hyperparams.yaml"
CKPT_FILE = "enhance_model.ckpt"
TORCHSCRIPT_FILE = "enhance_model.ts.pt"
ONNX_FILE = "enhance_model.onnx"
INT8_FILE = "enhance_model.int8.onnx"
SCRIPT_FILE = "enhance_onnx.py"
CARD_FILE = "README.md"
EXAMPLE_FILE = "example.wav"
ONNX_OPSET = 17

# Parameter names that must never leave the training run: the KD method's
# trainable parts (adapters) and the teacher.
FORBIDDEN_KEYS = ("kd_method", "adapter", "teacher")
# Entries a SpectralMaskEnhancement hyperparams.yaml must define.
REQUIRED_HPARAMS = (
    "compute_stft",
    "spectral_magnitude",
    "resynth",
    "enhance_model",
    "modules",
    "pretrainer",
)


class ExportError(RuntimeError):
    """An exported artefact does not reproduce the PyTorch model.

    Example
    -------
    >>> issubclass(ExportError, RuntimeError)
    True
    """


def model_yaml(model_file):
    """Returns a model file's root as the YAML of an ``enhance_model`` entry.

    The files of ``hparams/models`` hold one model as a tagged root,
    ``--- !new:<class>`` followed by its arguments; they are copied
    verbatim (nested tags included), indented under ``enhance_model``.

    Arguments
    ---------
    model_file : str or pathlib.Path
        A YAML file whose root is ``--- !new:<class>``.

    Returns
    -------
    str
        ``enhance_model: !new:<class>`` and the indented arguments.

    Example
    -------
    >>> path = os.path.join(tempfile.mkdtemp(), "m.yaml")
    >>> with open(path, "w") as f:
    ...     _ = f.write("# tiny\\n--- !new:speechbrain_kd.models.MaskUNet\\n"
    ...                 "depth: 2\\n")
    >>> print(model_yaml(path))
    enhance_model: !new:speechbrain_kd.models.MaskUNet
        depth: 2
    <BLANKLINE>
    """
    lines = Path(model_file).read_text(encoding="utf-8").splitlines()
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
        A YAML file whose root is the model (``!new:...``).

    Returns
    -------
    torch.nn.Module
        The model, randomly initialised.

    Example
    -------
    >>> path = os.path.join(tempfile.mkdtemp(), "m.yaml")
    >>> with open(path, "w") as f:
    ...     _ = f.write("--- !new:speechbrain_kd.models.MaskUNet\\ndepth: 2\\n")
    >>> load_model(path).depth
    2
    """
    path = os.path.abspath(model_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path} does not exist")
    return load_hyperpyyaml("model: !include:" + path)["model"]


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
        Anything ``find_teacher_checkpoint`` accepts: a state-dict file,
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
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "m.yaml")
    >>> with open(path, "w") as f:
    ...     _ = f.write("--- !new:speechbrain_kd.models.MaskUNet\\ndepth: 2\\n")
    >>> torch.save(load_model(path).state_dict(), f"{folder}/model.ckpt")
    >>> model, found = load_student(folder, path)
    >>> os.path.basename(found), model.training
    ('model.ckpt', False)
    """
    try:
        path = find_teacher_checkpoint(checkpoint)
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


def stft_hparams(sample_rate=16000, n_fft=512, win_length=32, hop_length=16):
    """The STFT, magnitude and resynthesis of training and inference.

    Arguments
    ---------
    sample_rate : int
        Sample rate in Hz.
    n_fft : int
        FFT size.
    win_length : float
        Window length in ms.
    hop_length : float
        Hop length in ms.

    Returns
    -------
    dict
        ``compute_stft``, ``compute_istft``, ``spectral_magnitude`` and
        ``resynth``, as in ``hparams/train.yaml``.

    Example
    -------
    >>> hparams = stft_hparams()
    >>> hparams["compute_stft"](torch.zeros(1, 16000)).shape
    torch.Size([1, 63, 257, 2])
    """
    options = dict(
        sample_rate=sample_rate,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
    )
    compute_stft, compute_istft = STFT(**options), ISTFT(**options)
    return {
        "compute_stft": compute_stft,
        "compute_istft": compute_istft,
        "spectral_magnitude": functools.partial(spectral_magnitude, power=0.5),
        "resynth": functools.partial(
            resynthesize,
            stft=compute_stft,
            istft=compute_istft,
            normalize_wavs=False,
        ),
    }


def compute_features(wavs, hparams):
    """Log1p STFT magnitudes ``[batch, time, freq]``, as ``EnhanceBrain``.

    Arguments
    ---------
    wavs : torch.Tensor
        Waveforms ``[batch, samples]``.
    hparams : dict
        As returned by :func:`stft_hparams`.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> compute_features(torch.zeros(2, 8000), stft_hparams()).shape
    torch.Size([2, 32, 257])
    """
    spec = hparams["compute_stft"](wavs)
    return torch.log1p(hparams["spectral_magnitude"](spec))


def brain_enhance(model, wav, hparams):
    """Enhances one waveform with ``EnhanceBrain``'s test-stage forward.

    This is the computation of training and validation, used as the
    reference that every exported artefact must reproduce.

    Arguments
    ---------
    model : torch.nn.Module
        The mask network.
    wav : torch.Tensor
        One waveform ``[samples]``.
    hparams : dict
        As returned by :func:`stft_hparams`.

    Returns
    -------
    torch.Tensor
        The enhanced waveform ``[samples]``.

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=1, base_channels=2)
    >>> brain_enhance(model, torch.rand(8000) - 0.5, stft_hparams()).shape
    torch.Size([8000])
    """
    brain = EnhanceBrain(
        modules={"model": model}, hparams=hparams, run_opts={"device": "cpu"}
    )
    brain.modules.eval()
    batch = PaddedBatch([{"id": "example", "noisy_sig": wav}])
    with torch.no_grad():
        return brain.compute_forward(batch, sb.Stage.TEST)["wav"][0]


def lookahead_frames(model, n_freq=257, n_frames=128):
    """Future feature frames that one output frame of the model depends on.

    Measured structurally on a copy of the model whose convolutions
    average their inputs (positive weights, no bias, identity norms), so
    every connection of the receptive field carries gradient: the look-ahead
    is the largest distance from an output frame to an input frame with a
    non-zero gradient, maximised over the phases of time downsampling.

    Arguments
    ---------
    model : torch.nn.Module
        A convolutional model taking ``[batch, time, freq]`` features.
    n_freq : int
        Frequency bins of the features.
    n_frames : int
        Frames of the probe input (more than the receptive field).

    Returns
    -------
    int
        Look-ahead in frames (0 for a causal model).

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> lookahead_frames(MaskUNet(depth=2, base_channels=2, causal=True))
    0
    >>> # one frame each: encoder, bottleneck and decoder 3x3 convolutions
    >>> lookahead_frames(MaskUNet(depth=1, base_channels=2))
    3
    """
    probe = copy.deepcopy(model).eval()
    for module in probe.modules():
        if isinstance(module, torch.nn.modules.conv._ConvNd):
            module.weight.data.fill_(1.0 / module.weight[0].numel())
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()
    lookahead = 0
    first = n_frames // 2
    for frame in range(first, first + getattr(model, "time_factor", 1)):
        feats = torch.ones(1, n_frames, n_freq)
        feats.requires_grad_(True)
        probe(feats)[0, frame].sum().backward()
        last = int(feats.grad[0].abs().sum(dim=1).nonzero().max())
        if last == n_frames - 1:
            raise ValueError(
                f"The receptive field of {type(model).__name__} reaches "
                f"beyond {n_frames} frames: raise n_frames"
            )
        lookahead = max(lookahead, last - frame)
    return lookahead


def export_torchscript(model, feats, path):
    """Traces the mask network (``forward(feats)``) and saves it.

    Arguments
    ---------
    model : torch.nn.Module
        The mask network, in ``eval()`` mode.
    feats : torch.Tensor
        Example features ``[batch, time, freq]`` for tracing.
    path : str or pathlib.Path
        The ``.pt`` file to write.

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=2, base_channels=2, time_downsample=1).eval()
    >>> path = os.path.join(tempfile.mkdtemp(), "m.ts.pt")
    >>> export_torchscript(model, torch.rand(1, 20, 257), path)
    >>> feats = torch.rand(2, 33, 257)  # another batch and an odd length
    >>> bool(torch.allclose(load_torchscript(path)(feats), model(feats)))
    True
    """
    with warnings.catch_warnings(), torch.no_grad():
        # TorchScript is deprecated (FutureWarning) but still supported
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(model, feats, check_trace=False)
    traced.save(str(path))


def load_torchscript(path):
    """Loads a TorchScript file on the CPU.

    Arguments
    ---------
    path : str or pathlib.Path
        A file written by :func:`export_torchscript`.

    Returns
    -------
    torch.jit.ScriptModule

    Example
    -------
    >>> path = os.path.join(tempfile.mkdtemp(), "m.ts.pt")
    >>> export_torchscript(torch.nn.ReLU(), torch.zeros(1, 3, 4), path)
    >>> load_torchscript(path)(-torch.ones(1, 2, 2)).sum().item()
    0.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location="cpu")


def export_onnx(model, feats, path, opset=ONNX_OPSET):
    """Exports the mask network to ONNX: ``feats`` in, ``mask`` out.

    Uses the TorchScript-based exporter (``dynamo=False``), whose graph
    keeps MaskUNet's padding of time to a multiple of its downsampling
    factor symbolic; batch and time are dynamic axes.

    Arguments
    ---------
    model : torch.nn.Module
        The mask network, in ``eval()`` mode.
    feats : torch.Tensor
        Example features ``[batch, time, freq]``.
    path : str or pathlib.Path
        The ``.onnx`` file to write.
    opset : int
        ONNX opset version (>= 17).

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=2, base_channels=2, time_downsample=1).eval()
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    >>> export_onnx(model, torch.rand(1, 20, 257), path)
    >>> feats = torch.rand(2, 33, 257)
    >>> mask = onnx_session(path).run(["mask"], {"feats": feats.numpy()})[0]
    >>> bool(np.allclose(mask, model(feats).detach().numpy(), atol=1e-6))
    True
    """
    axes = {0: "batch", 1: "time"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "Constant folding")
        torch.onnx.export(
            model,
            (feats,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["feats"],
            output_names=["mask"],
            dynamic_axes={"feats": axes, "mask": axes},
        )
    onnx.checker.check_model(str(path))


def onnx_session(path, threads=None):
    """An ONNX Runtime CPU session, optionally with a fixed thread count.

    Arguments
    ---------
    path : str or pathlib.Path
        The ``.onnx`` file.
    threads : int, optional
        Intra- and inter-op threads (ONNX Runtime's default when None).

    Returns
    -------
    onnxruntime.InferenceSession

    Example
    -------
    >>> from speechbrain_kd.models import MaskUNet
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    >>> model = MaskUNet(depth=1, base_channels=2).eval()
    >>> export_onnx(model, torch.rand(1, 10, 257), path)
    >>> [i.name for i in onnx_session(path, threads=1).get_inputs()]
    ['feats']
    """
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


def check_parity(name, reference, candidate, atol):
    """Checks that an artefact's output equals the reference within atol.

    Arguments
    ---------
    name : str
        What is compared, for the message.
    reference : torch.Tensor or numpy.ndarray
        Output of the PyTorch model.
    candidate : torch.Tensor or numpy.ndarray
        Output of the exported artefact.
    atol : float
        Largest allowed absolute difference.

    Returns
    -------
    float
        The largest absolute difference.

    Raises
    ------
    ExportError
        Naming the check, the difference and the tolerance.

    Example
    -------
    >>> check_parity("onnx", np.zeros(3), np.full(3, 1e-6), atol=1e-4)
    1e-06
    >>> check_parity("onnx", np.zeros(3), np.ones(3), atol=1e-4)
    Traceback (most recent call last):
    ...
    speechbrain_kd.export.ExportError: Parity check failed: onnx differs \
from PyTorch by 1 (max abs), more than atol=0.0001
    """
    reference, candidate = np.asarray(reference), np.asarray(candidate)
    if reference.shape != candidate.shape:
        raise ExportError(
            f"Parity check failed: {name} has shape {candidate.shape}, "
            f"PyTorch {reference.shape}"
        )
    diff = float(np.max(np.abs(reference - candidate), initial=0.0))
    if not diff <= atol:
        raise ExportError(
            f"Parity check failed: {name} differs from PyTorch by {diff:.3g} "
            f"(max abs), more than atol={atol:g}"
        )
    return diff


def real_time_factor(run_fn, n_seconds_audio, warmup=1, repeats=3):
    """Median processing time of ``run_fn`` divided by the audio duration.

    Arguments
    ---------
    run_fn : callable
        Processes ``n_seconds_audio`` of audio when called without
        arguments.
    n_seconds_audio : float
        Duration of the audio that one call processes.
    warmup : int
        Untimed calls first.
    repeats : int
        Timed calls; the median is taken.

    Returns
    -------
    float
        Real-time factor (below 1: faster than real time).

    Example
    -------
    >>> real_time_factor(lambda: time.sleep(0.01), 1.0) < 0.5
    True
    """
    for _ in range(warmup):
        run_fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / n_seconds_audio


def file_sizes(folder):
    """Sizes in bytes of the files of a folder, by relative path.

    Arguments
    ---------
    folder : str or pathlib.Path
        The folder.

    Returns
    -------
    dict
        ``{relative path: bytes}``, sorted by path.

    Example
    -------
    >>> folder = tempfile.mkdtemp()
    >>> Path(folder, "a.txt").write_text("abc")
    3
    >>> file_sizes(folder)
    {'a.txt': 3}
    """
    folder = Path(folder)
    return {
        str(path.relative_to(folder)): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_hparams(path, model_entry, stft_options):
    """Writes the ``hyperparams.yaml`` of a SpectralMaskEnhancement folder.

    Arguments
    ---------
    path : str or pathlib.Path
        The file to write.
    model_entry : str
        The ``enhance_model`` entry (see :func:`model_yaml`).
    stft_options : dict
        ``sample_rate``, ``n_fft``, ``win_length`` (ms), ``hop_length``
        (ms).

    Example
    -------
    >>> path = os.path.join(tempfile.mkdtemp(), "hyperparams.yaml")
    >>> entry = "enhance_model: !new:speechbrain_kd.models.MaskUNet\\n"
    >>> write_hparams(path, entry + "    depth: 2\\n", {"sample_rate": 16000,
    ...     "n_fft": 512, "win_length": 32, "hop_length": 16})
    >>> with open(path) as f:
    ...     hparams = load_hyperpyyaml(f)
    >>> hparams["enhance_model"].depth, sorted(hparams["modules"])
    (2, ['enhance_model'])
    """
    text = string.Template(_HPARAMS_TEMPLATE).substitute(
        model_entry=model_entry, **stft_options
    )
    Path(path).write_text(text, encoding="utf-8")


def export_student(
    checkpoint,
    model_file,
    output_folder,
    example_wav,
    parity_wavs=(),
    pesq_pairs=(),
    metrics=None,
    card_info=None,
    quantize=False,
    sample_rate=16000,
    n_fft=512,
    win_length=32,
    hop_length=16,
    atol=1e-4,
    script_rtol=1e-3,
    overwrite=False,
):
    """Exports a trained student as a checked SpeechBrain hub folder.

    Writes ``hyperparams.yaml``, ``enhance_model.ckpt`` (the student's
    state dict only), ``enhance_model.ts.pt`` (TorchScript),
    ``enhance_model.onnx`` (opset 17, input ``feats`` ``[batch, time,
    freq]``, output ``mask``, dynamic batch and time), optionally
    ``enhance_model.int8.onnx``, ``enhance_onnx.py`` (numpy + soundfile +
    ONNX Runtime reference pipeline), ``example.wav`` and the model card
    ``README.md``. The folder is built aside and moved into place only
    when all the checks pass:

    * TorchScript and ONNX masks equal PyTorch's within ``atol`` on the
      features of every wav, of 101- and 7-frame crops and of a batch of
      two;
    * ``SpectralMaskEnhancement.from_hparams`` on the folder enhances the
      example like ``EnhanceBrain`` does, within ``atol``;
    * ``enhance_onnx.py`` does too, within ``script_rtol`` of its peak;
    * :func:`validate_hub_folder` accepts the folder.

    Arguments
    ---------
    checkpoint : str or pathlib.Path
        The student's weights: a state-dict file, a ``CKPT+...`` folder,
        a ``save`` or experiment folder (best validation PESQ).
    model_file : str or pathlib.Path
        The student's architecture, a file of ``hparams/models``.
    output_folder : str or pathlib.Path
        The hub folder to create.
    example_wav : str or pathlib.Path
        A real noisy recording, copied as ``example.wav`` and used in the
        checks.
    parity_wavs : sequence of str
        More real recordings for the mask parity checks.
    pesq_pairs : sequence of (str, str)
        ``(noisy, clean)`` files on which the int8 model's PESQ change is
        measured (with ``quantize``).
    metrics : dict, optional
        Measured test metrics for the model card, ``{name: value}`` or
        ``{name: {"mean", "std", "n"}}`` (``test_summary.json``).
    card_info : dict, optional
        Free text for the card: ``title``, ``license``,
        ``training_data``, ``kd_method``, ``teacher``, ``test_data``.
    quantize : bool
        Also write an int8 dynamic-quantised ONNX model.
    sample_rate : int
        Sample rate in Hz.
    n_fft : int
        FFT size.
    win_length : float
        Window length in ms.
    hop_length : float
        Hop length in ms.
    atol : float
        Tolerance of the mask and hub parity checks.
    script_rtol : float
        Tolerance of ``enhance_onnx.py``, relative to the peak amplitude.
    overwrite : bool
        Replace an existing ``output_folder`` once the checks pass.

    Returns
    -------
    dict
        Paths, size, compute, latency, parity differences, file sizes and
        int8 results.

    Example
    -------
    >>> from speechbrain_kd.data.audio import write_audio
    >>> folder = tempfile.mkdtemp()
    >>> model_file = os.path.join(folder, "tiny.yaml")
    >>> with open(model_file, "w") as f:
    ...     _ = f.write(
    ...         "--- !new:speechbrain_kd.models.MaskUNet\\n"
    ...         "depth: 2\\nbase_channels: 2\\ntime_downsample: 1\\n"
    ...     )
    >>> torch.save(load_model(model_file).state_dict(), f"{folder}/m.ckpt")
    >>> wav = os.path.join(folder, "noisy.wav")
    >>> write_audio(wav, 0.1 * torch.randn(12345))
    >>> report = export_student(
    ...     f"{folder}/m.ckpt", model_file, f"{folder}/hub", wav
    ... )
    >>> report["parity"]["onnx"] < 1e-4
    True
    >>> "enhance_model.onnx" in report["files"]
    True
    """
    output_folder = Path(output_folder).resolve()
    if output_folder.exists() and not overwrite:
        raise FileExistsError(
            f"{output_folder} exists; remove it or set overwrite"
        )
    stft_options = dict(
        sample_rate=sample_rate,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
    )
    model, ckpt_path = load_student(checkpoint, model_file)
    if not lengths_arg_exists(model.forward):
        raise ValueError(
            f"{model_file}: SpectralMaskEnhancement calls "
            "enhance_model(feats, lengths=...), which "
            f"{type(model).__name__}.forward does not accept"
        )
    model_entry = model_yaml(model_file)
    output_folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(
        tempfile.mkdtemp(
            prefix=f".{output_folder.name}.", dir=output_folder.parent
        )
    )
    try:
        report = _build_folder(
            model,
            work,
            model_entry,
            stft_options,
            example_wav,
            parity_wavs,
            pesq_pairs,
            quantize,
            atol,
            script_rtol,
        )
        report.update(
            _describe_student(model, ckpt_path, stft_options, model_file)
        )
        _write_card(work, report, metrics or {}, card_info or {})
        report["files"] = validate_hub_folder(work)
        report["sizes"] = file_sizes(work)
        if output_folder.exists():
            shutil.rmtree(output_folder)
        work.rename(output_folder)
    finally:
        if work.exists():
            shutil.rmtree(work)
    report["folder"] = str(output_folder)
    return report


def validate_hub_folder(folder):
    """Checks a hub folder for ``SpectralMaskEnhancement`` before upload.

    Arguments
    ---------
    folder : str or pathlib.Path
        The folder made by :func:`export_student`.

    Returns
    -------
    list of str
        The files to upload, relative to ``folder``.

    Raises
    ------
    ValueError
        Naming the problem: a missing file, a YAML that does not load or
        lacks an entry, a checkpoint that does not match the YAML's model
        or that holds adapter or teacher weights.

    Example
    -------
    >>> validate_hub_folder(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: missing hyperparams.yaml
    """
    folder = Path(folder)
    for name in (HPARAMS_FILE, CKPT_FILE):
        if not (folder / name).is_file():
            raise ValueError(f"Hub folder {folder}: missing {name}")
    try:
        with open(folder / HPARAMS_FILE, encoding="utf-8") as fin:
            hparams = load_hyperpyyaml(fin)
    except Exception as error:
        raise ValueError(
            f"{folder / HPARAMS_FILE} does not load: "
            f"{type(error).__name__}: {error}"
        ) from error
    missing = [key for key in REQUIRED_HPARAMS if key not in hparams]
    if missing:
        raise ValueError(
            f"{folder / HPARAMS_FILE} lacks {', '.join(missing)}, needed by "
            "SpectralMaskEnhancement"
        )
    model = hparams["enhance_model"]
    if hparams["modules"].get("enhance_model") is not model:
        raise ValueError(
            f"{folder / HPARAMS_FILE}: modules.enhance_model must be "
            "!ref <enhance_model>"
        )
    if hparams["pretrainer"].loadables.get("enhance_model") is not model:
        raise ValueError(
            f"{folder / HPARAMS_FILE}: pretrainer.loadables.enhance_model "
            "must be !ref <enhance_model>"
        )
    state = torch.load(
        folder / CKPT_FILE, map_location="cpu", weights_only=True
    )
    check_no_kd_weights(state, folder / CKPT_FILE)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{folder / CKPT_FILE} does not match the enhance_model of "
            f"{folder / HPARAMS_FILE}: {error}"
        ) from error
    return list(file_sizes(folder))


def publish(folder, repo_id, dry_run=False, token=None, private=False):
    """Validates a hub folder and uploads it to the Hugging Face Hub.

    Arguments
    ---------
    folder : str or pathlib.Path
        The folder made by :func:`export_student`.
    repo_id : str
        The model repository, ``user/name``.
    dry_run : bool
        Only validate and print the files that would be uploaded.
    token : str, optional
        Hugging Face token (the cached login when None).
    private : bool
        Create the repository as private.

    Returns
    -------
    list of str
        The files uploaded (or that would be).

    Example
    -------
    >>> publish(tempfile.mkdtemp(), "user/name", dry_run=True)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: missing hyperparams.yaml
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import validate_repo_id

    validate_repo_id(repo_id)
    if repo_id.count("/") != 1:
        raise ValueError(f"repo_id must be 'user/name', got {repo_id!r}")
    files = validate_hub_folder(folder)
    if dry_run:
        print(f"Dry run: would upload to https://huggingface.co/{repo_id}")
        for name in files:
            print(f"  {name}")
        return files
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        commit_message="Upload speechbrain-kd student",
    )
    return files


def _build_folder(
    model,
    work,
    model_entry,
    stft_options,
    example_wav,
    parity_wavs,
    pesq_pairs,
    quantize,
    atol,
    script_rtol,
):
    """Writes and checks every artefact but the card; returns the report."""
    hparams = stft_hparams(**stft_options)
    rate = stft_options["sample_rate"]
    write_hparams(work / HPARAMS_FILE, model_entry, stft_options)
    torch.save(model.state_dict(), work / CKPT_FILE)
    shutil.copyfile(example_wav, work / EXAMPLE_FILE)
    hop = hparams["compute_stft"].hop_length
    probes = _parity_features([example_wav, *parity_wavs], hparams, rate, hop)

    export_torchscript(model, probes[0][1], work / TORCHSCRIPT_FILE)
    export_onnx(model, probes[0][1], work / ONNX_FILE)
    scripted = load_torchscript(work / TORCHSCRIPT_FILE)
    session = onnx_session(work / ONNX_FILE)
    parity = {"torchscript": 0.0, "onnx": 0.0}
    for name, feats in probes:
        with torch.no_grad():
            reference = model(feats)
            candidates = {
                "torchscript": scripted(feats),
                "onnx": _run(session, feats),
            }
        for kind, mask in candidates.items():
            where = f"{kind} mask on {name} {tuple(feats.shape)}"
            diff = check_parity(where, reference, mask, atol)
            parity[kind] = max(parity[kind], diff)

    noisy = read_audio(example_wav, rate)
    reference = brain_enhance(model, noisy, hparams)
    parity["hub"] = check_parity(
        f"SpectralMaskEnhancement of {Path(example_wav).name}",
        reference,
        _hub_enhance(work),
        atol,
    )
    _write_script(work / SCRIPT_FILE, hparams)
    enhance = runpy.run_path(str(work / SCRIPT_FILE))["enhance"]
    scripted_wav = enhance(noisy.numpy(), session)
    peak = float(reference.abs().max())
    parity["script"] = check_parity(
        f"{SCRIPT_FILE} on {Path(example_wav).name}",
        reference,
        scripted_wav,
        script_rtol * peak,
    )
    parity["script_peak_relative"] = parity["script"] / peak
    report = {"parity": parity, "atol": atol, "probes": len(probes)}
    if quantize:
        report["int8"] = _quantize(work, session, probes, pesq_pairs, enhance)
    return report


def _parity_features(wavs, hparams, sample_rate, hop):
    """Named feature batches of real speech: each file, two crops of an
    odd number of frames (101 and 7) and a batch of two crops."""
    signals = [read_audio(path, sample_rate) for path in wavs]
    named = [(Path(path).name, wav[None]) for path, wav in zip(wavs, signals)]
    first = Path(wavs[0]).name
    # A crop of k hops gives 1 + k frames
    for hops in (100, 6):
        named.append((f"a crop of {first}", signals[0][None, : hops * hop]))
    second = signals[1] if len(signals) > 1 else signals[0].flip(0)
    n = min(len(signals[0]), len(second), 150 * hop)
    named.append(("a batch of 2", torch.stack([signals[0][:n], second[:n]])))
    return [(name, compute_features(wav, hparams)) for name, wav in named]


def _hub_enhance(folder):
    """Enhances the folder's example.wav through SpectralMaskEnhancement
    loaded offline from the folder into a fresh savedir."""
    from speechbrain.inference.enhancement import SpectralMaskEnhancement

    with tempfile.TemporaryDirectory() as savedir:
        enhancer = SpectralMaskEnhancement.from_hparams(
            source=str(Path(folder).resolve()),
            savedir=savedir,
            run_opts={"device": "cpu"},
        )
        with torch.no_grad():
            return enhancer.enhance_file(str(Path(folder) / EXAMPLE_FILE))


def _quantize(work, session, probes, pesq_pairs, enhance):
    """Writes the int8 model; returns its size, mask change and PESQ change
    (fp32 and int8 ONNX through the reference script's pipeline)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs a warning for every int64 shape tensor it skips
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(work / ONNX_FILE),
            str(work / INT8_FILE),
            weight_type=QuantType.QInt8,
        )
    finally:
        logging.disable(logging.NOTSET)
    int8 = onnx_session(work / INT8_FILE)
    mask_diff = max(
        float(np.abs(_run(session, feats) - _run(int8, feats)).max())
        for _, feats in probes
    )
    scores = {"fp32": [], "int8": []}
    for noisy_path, clean_path in pesq_pairs:
        noisy = read_audio(noisy_path).numpy()
        clean = read_audio(clean_path).numpy()
        name = Path(noisy_path).name
        for kind, sess in (("fp32", session), ("int8", int8)):
            scores[kind].append(pesq_wb(enhance(noisy, sess), clean, name=name))
    result = {
        "bytes": (work / INT8_FILE).stat().st_size,
        "fp32_bytes": (work / ONNX_FILE).stat().st_size,
        "mask_max_abs_diff": mask_diff,
        "pesq_files": [Path(noisy).name for noisy, _ in pesq_pairs],
    }
    if pesq_pairs:
        result["pesq_fp32"] = float(np.mean(scores["fp32"]))
        result["pesq_int8"] = float(np.mean(scores["int8"]))
        result["pesq_change"] = result["pesq_int8"] - result["pesq_fp32"]
    return result


def _run(session, feats):
    """The mask of an ONNX Runtime session for features ``feats``."""
    return session.run(["mask"], {"feats": feats.numpy()})[0]


def _describe_student(model, ckpt_path, stft_options, model_file):
    """Size, compute and latency of the student, and where it came from."""
    hop = stft_options["hop_length"]
    n_freq = stft_options["n_fft"] // 2 + 1
    lookahead = lookahead_frames(model, n_freq)
    description = {
        "checkpoint": ckpt_path,
        "model_file": str(model_file),
        "model_class": type(model).__name__,
        "params": count_parameters(model),
        "macs_per_s": macs_per_second(model, n_freq, 1000.0 / hop),
        "lookahead_frames": lookahead,
        "latency_ms": stft_options["win_length"] + lookahead * hop,
        "stft": dict(stft_options),
    }
    kd_ckpt = Path(ckpt_path).parent / "kd_method.ckpt"
    if kd_ckpt.is_file():
        adapter = torch.load(kd_ckpt, map_location="cpu", weights_only=True)
        description["adapter_params_dropped"] = sum(
            value.numel() for value in adapter.values()
        )
    return description


def _write_script(path, hparams):
    """Writes enhance_onnx.py with the STFT settings in samples."""
    stft = hparams["compute_stft"]
    text = string.Template(_SCRIPT_TEMPLATE).substitute(
        sample_rate=stft.sample_rate,
        n_fft=stft.n_fft,
        win_length=stft.win_length,
        hop_length=stft.hop_length,
    )
    Path(path).write_text(text, encoding="utf-8")


def _write_card(folder, report, measured, info):
    """Writes the model card README.md of the hub folder."""
    title = (
        info.get("title") or f"speechbrain-kd {Path(report['model_file']).stem}"
    )
    stated = {
        key: info.get(key) or "not stated at export"
        for key in ("training_data", "teacher", "test_data")
    }
    stft = report["stft"]
    lookahead = report["lookahead_frames"]
    latency_text = (
        f"{report['latency_ms']:g} ms = {stft['win_length']:g} ms STFT "
        f"window + {lookahead} frame(s) of look-ahead x "
        f"{stft['hop_length']:g} ms hop. "
    )
    if lookahead == 0:
        latency_text += (
            "The model is causal: no output frame uses future input."
        )
    else:
        latency_text += (
            "The look-ahead is the receptive field of the network into "
            "future frames, measured by back-propagating from one output "
            "frame to the input (at every phase of time downsampling). "
            "As exported, the model processes whole utterances offline."
        )
    if "adapter_params_dropped" in report:
        kd_text = (
            "The KD adapter beside the checkpoint "
            f"({report['adapter_params_dropped']:,} parameters, "
            "kd_method.ckpt) exists only in training and is not exported."
        )
    else:
        kd_text = "No KD adapter beside the checkpoint."
    if info.get("kd_method"):
        kd_text = f"{info['kd_method']}. {kd_text}"
    rows = "".join(
        f"| {name} | {_format_metric(value)} |\n"
        for name, value in measured.items()
    )
    results = (
        "| metric | value |\n|---|---|\n" + rows
        if rows
        else "No test metrics were given at export.\n"
    )
    sizes = file_sizes(folder)
    files = "".join(
        f"| `{name}` | {size:,} | {_FILE_ROLES.get(name, '')} |\n"
        for name, size in sizes.items()
    )
    parity = report["parity"]
    int8_text = ""
    if "int8" in report:
        int8 = report["int8"]
        int8_text = (
            "\n## int8 model\n\n"
            f"`{INT8_FILE}`: ONNX Runtime dynamic quantisation (int8 "
            f"weights), {int8['bytes']:,} bytes vs {int8['fp32_bytes']:,} "
            f"(fp32). Largest mask change: {int8['mask_max_abs_diff']:.3g}."
        )
        if "pesq_change" in int8:
            int8_text += (
                f" Mean PESQ on {len(int8['pesq_files'])} real "
                f"VoiceBank-DEMAND test pairs: {int8['pesq_fp32']:.3f} "
                f"(fp32 ONNX) -> {int8['pesq_int8']:.3f} (int8), change "
                f"{int8['pesq_change']:+.4f}."
            )
        int8_text += "\n"
    text = string.Template(_CARD_TEMPLATE).substitute(
        title=title,
        license=info.get("license") or "apache-2.0",
        params=f"{report['params']:,}",
        mmacs=f"{report['macs_per_s'] / 1e6:.1f}",
        latency=latency_text,
        training_data=stated["training_data"],
        kd=kd_text,
        teacher=stated["teacher"],
        test_data=stated["test_data"],
        model_class=report["model_class"],
        checkpoint=Path(report["checkpoint"]).parent.name,
        results=results,
        files=files,
        ts_diff=f"{parity['torchscript']:.2g}",
        onnx_diff=f"{parity['onnx']:.2g}",
        hub_diff=f"{parity['hub']:.2g}",
        script_diff=f"{parity['script_peak_relative']:.2g}",
        probes=report["probes"],
        int8=int8_text,
        n_freq=stft["n_fft"] // 2 + 1,
        **stft,
    )
    (folder / CARD_FILE).write_text(text, encoding="utf-8")


def _format_metric(value):
    """``mean ± std (n)`` for a summary entry, else the number."""
    if isinstance(value, dict):
        return f"{value['mean']:.3f} ± {value['std']:.3f} (n={value['n']})"
    return f"{value:.3f}"


_FILE_ROLES = {
    HPARAMS_FILE: "SpeechBrain inference hyperparameters",
    CKPT_FILE: "student state dict (PyTorch)",
    TORCHSCRIPT_FILE: "mask network, TorchScript",
    ONNX_FILE: "mask network, ONNX",
    INT8_FILE: "mask network, ONNX int8 weights",
    SCRIPT_FILE: "reference pipeline: numpy + ONNX Runtime",
    EXAMPLE_FILE: "a real noisy input",
}

_HPARAMS_TEMPLATE = """\
# ############################################################################
# Model: spectral-mask denoiser, a student trained with speechbrain-kd
# Inference: speechbrain.inference.enhancement.SpectralMaskEnhancement
# Features: log1p STFT magnitudes; the mask multiplies them and the noisy
# phase resynthesises the waveform (exactly as in training)
# ############################################################################

sample_rate: $sample_rate
n_fft: $n_fft
win_length: $win_length  # ms
hop_length: $hop_length  # ms

compute_stft: !new:speechbrain.processing.features.STFT
    sample_rate: !ref <sample_rate>
    n_fft: !ref <n_fft>
    win_length: !ref <win_length>
    hop_length: !ref <hop_length>
compute_istft: !new:speechbrain.processing.features.ISTFT
    sample_rate: !ref <sample_rate>
    n_fft: !ref <n_fft>
    win_length: !ref <win_length>
    hop_length: !ref <hop_length>
spectral_magnitude: !name:speechbrain.processing.features.spectral_magnitude
    power: 0.5
resynth: !name:speechbrain.processing.signal_processing.resynthesize
    stft: !ref <compute_stft>
    istft: !ref <compute_istft>
    normalize_wavs: False

# The mask network (needs the speechbrain_kd package)
$model_entry
modules:
    enhance_model: !ref <enhance_model>

# No `paths`: from_hparams fetches enhance_model.ckpt from its `source`,
# this folder or the hub repository holding it
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        enhance_model: !ref <enhance_model>
"""

_CARD_TEMPLATE = """\
---
library_name: speechbrain
license: $license
language: en
tags:
- speechbrain
- speech-enhancement
- denoising
- knowledge-distillation
- onnx
metrics:
- pesq
- stoi
---

# $title

A compact spectral-mask speech denoiser (a $model_class student)
trained with speechbrain-kd and exported for SpeechBrain, TorchScript and
ONNX Runtime.

## Model

| | |
|---|---|
| parameters | $params |
| compute | $mmacs MMAC/s (convolutions, per second of audio) |
| features | log1p magnitude, $n_fft-point STFT, $win_length ms Hamming \
window, $hop_length ms hop, $sample_rate Hz |

Algorithmic latency: $latency

## Training

- Training data: $training_data
- Knowledge distillation: $kd
- Teacher: $teacher
- Exported checkpoint: `$checkpoint`

## Results

Test data: $test_data

$results
## Files

| file | bytes | content |
|---|---|---|
$files
## Usage

With SpeechBrain 1.1 and the `speechbrain_kd` package installed (it
defines the model class):

```python
from speechbrain.inference.enhancement import SpectralMaskEnhancement

enhancer = SpectralMaskEnhancement.from_hparams(
    source="<this repository or folder>", savedir="pretrained_models/kd"
)
enhanced = enhancer.enhance_file("example.wav", output_filename="out.wav")
```

Without PyTorch (numpy, soundfile, onnxruntime):

```
python enhance_onnx.py example.wav enhanced.wav
```

The ONNX and TorchScript files hold the mask network only: input `feats`
`[batch, time, $n_freq]` (log1p STFT magnitudes), output `mask` of the same
shape, any batch size and number of frames; `enhance_onnx.py` shows the
STFT and resynthesis around it.

## Export checks

On real speech ($probes feature batches, odd lengths and a batch of two),
the largest differences from PyTorch were: TorchScript mask $ts_diff,
ONNX mask $onnx_diff, `SpectralMaskEnhancement` waveform $hub_diff,
`enhance_onnx.py` waveform $script_diff of the peak amplitude.
$int8"""

_SCRIPT_TEMPLATE = '''\
#!/usr/bin/env python3
"""Enhances a wav file with enhance_model.onnx, without PyTorch.

Reference pipeline of the exported speechbrain-kd student, equal to
SpeechBrain's SpectralMaskEnhancement: STFT (periodic Hamming window,
centred frames, zero padding), log1p magnitudes, mask from ONNX Runtime,
enhanced magnitude expm1(mask * log1p|X|) with the noisy phase, inverse
STFT by window-weighted overlap-add (as torch.istft).

Usage: python enhance_onnx.py noisy.wav enhanced.wav [--model FILE]

Needs numpy, soundfile and onnxruntime.
"""

import argparse
from pathlib import Path

import numpy as np
import onnxruntime as ort
import soundfile as sf

SAMPLE_RATE = $sample_rate
N_FFT = $n_fft
WIN_LENGTH = $win_length  # samples
HOP_LENGTH = $hop_length  # samples
EPS = 1e-14  # added to |X|^2 by speechbrain's spectral_magnitude


def window():
    """Periodic Hamming window of WIN_LENGTH, centred in N_FFT samples."""
    n = np.arange(WIN_LENGTH)
    win = 0.54 - 0.46 * np.cos(2 * np.pi * n / WIN_LENGTH)
    left = (N_FFT - WIN_LENGTH) // 2
    return np.pad(win, (left, N_FFT - WIN_LENGTH - left))


def stft(signal):
    """Complex STFT [frames, N_FFT // 2 + 1] of a 1-D signal."""
    padded = np.pad(signal, N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // HOP_LENGTH
    starts = HOP_LENGTH * np.arange(n_frames)[:, None]
    frames = padded[starts + np.arange(N_FFT)[None, :]]
    return np.fft.rfft(frames * window(), axis=-1)


def istft(spec, length):
    """Signal of `length` samples from a complex STFT (overlap-add)."""
    win = window()
    frames = np.fft.irfft(spec, n=N_FFT, axis=-1) * win
    size = N_FFT + HOP_LENGTH * (len(frames) - 1)
    signal, envelope = np.zeros(size), np.zeros(size)
    for t, frame in enumerate(frames):
        signal[t * HOP_LENGTH : t * HOP_LENGTH + N_FFT] += frame
        envelope[t * HOP_LENGTH : t * HOP_LENGTH + N_FFT] += win**2
    start = N_FFT // 2
    return signal[start : start + length] / envelope[start : start + length]


def enhance(signal, session):
    """Enhances a 1-D float signal with an ONNX Runtime session."""
    spec = stft(np.asarray(signal, dtype=np.float64))
    feats = np.log1p(np.sqrt(np.abs(spec) ** 2 + EPS)).astype(np.float32)
    mask = session.run(["mask"], {"feats": feats[None]})[0][0]
    magnitude = np.expm1(mask * feats).astype(np.float64)
    return istft(magnitude * np.exp(1j * np.angle(spec)), len(signal))


def main():
    """Command line: noisy.wav enhanced.wav [--model FILE]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("noisy", help="input wav, mono, SAMPLE_RATE Hz")
    parser.add_argument("enhanced", help="output wav (16-bit PCM)")
    parser.add_argument(
        "--model",
        default=str(Path(__file__).with_name("enhance_model.onnx")),
        help="ONNX mask network (default: the one beside this script)",
    )
    args = parser.parse_args()
    signal, rate = sf.read(args.noisy, dtype="float32")
    if signal.ndim != 1 or rate != SAMPLE_RATE:
        raise SystemExit(
            f"{args.noisy}: expected mono {SAMPLE_RATE} Hz audio, got "
            f"{signal.ndim} dimension(s) at {rate} Hz"
        )
    session = ort.InferenceSession(
        args.model, providers=["CPUExecutionProvider"]
    )
    enhanced = enhance(signal, session)
    sf.write(args.enhanced, np.clip(enhanced, -1, 1), SAMPLE_RATE, "PCM_16")


if __name__ == "__main__":
    main()
'''
