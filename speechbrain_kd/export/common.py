"""What every export target shares: file names, the target interface,
the export context, parity checks and ONNX Runtime sessions.

Authors
 * speechbrain-kd contributors 2026
"""

import dataclasses
import inspect
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

HPARAMS_FILE = "hyperparams.yaml"
CUSTOM_HPARAMS_FILE = "custom.yaml"
CUSTOM_CODE_FILE = "custom.py"
CKPT_FILE = "enhance_model.ckpt"
TORCHSCRIPT_FILE = "enhance_model.ts.pt"
ONNX_FILE = "enhance_model.onnx"
STREAM_ONNX_FILE = "enhance_model.stream.onnx"
INT8_FILE = "enhance_model.int8.onnx"
SCRIPT_FILE = "enhance_onnx.py"
CARD_FILE = "README.md"
EXAMPLE_FILE = "example.wav"
ONNX_OPSET = 17


class WholeUtterances(torch.nn.Module):
    """A network whose ``forward`` requires ``lengths``, called on whole
    utterances (lengths all 1): the form that TorchScript and ONNX trace.

    Arguments
    ---------
    model : torch.nn.Module
        A network ``forward(inputs, lengths)``.

    Example
    -------
    >>> class Needs(torch.nn.Module):
    ...     def forward(self, x, lengths):
    ...         return x * lengths[:, None, None]
    >>> WholeUtterances(Needs())(torch.ones(2, 3, 4)).sum().item()
    24.0
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        """The network's output for whole utterances."""
        lengths = torch.ones_like(inputs.flatten(1)[:, 0])
        return self.model(inputs, lengths=lengths)


def traceable(model):
    """The model, or :class:`WholeUtterances` of it if its ``forward``
    requires ``lengths`` (as SpeechBrain's MetricGAN generator does).

    Arguments
    ---------
    model : torch.nn.Module
        The network.

    Returns
    -------
    torch.nn.Module
        A module ``forward(inputs)``.

    Example
    -------
    >>> traceable(torch.nn.ReLU())
    ReLU()
    """
    lengths = inspect.signature(model.forward).parameters.get("lengths")
    if lengths is not None and lengths.default is inspect.Parameter.empty:
        return WholeUtterances(model)
    return model


class ExportError(RuntimeError):
    """An exported artefact does not reproduce the PyTorch model, or a
    requested target cannot be exported.

    Example
    -------
    >>> issubclass(ExportError, RuntimeError)
    True
    """


@dataclasses.dataclass
class ExportContext:
    """What the targets read and write during one export.

    Arguments
    ---------
    model : torch.nn.Module
        The student, in ``eval()`` mode.
    folder : pathlib.Path
        The folder being built (moved into place when all checks pass).
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The student's front-end (its features and model contract).
    example_wav : pathlib.Path
        A real noisy recording (copied as ``example.wav``).
    noisy : torch.Tensor
        Its waveform, at the features' sample rate.
    probes : list of (str, torch.Tensor)
        Named batches of the model's input on real speech, for the
        output checks.
    reference : torch.Tensor
        The PyTorch student's enhancement of the example, computed from
        the model and the features alone.
    model_file : pathlib.Path
        The student's architecture file.
    report : dict
        Parity figures and results, filled by the targets.
    """

    model: torch.nn.Module
    folder: Path
    front_end: object
    example_wav: Path
    noisy: torch.Tensor
    probes: list
    reference: torch.Tensor
    model_file: Path
    report: dict = dataclasses.field(default_factory=dict)

    @property
    def n_freq(self):
        """Frequency bins of the features."""
        return self.front_end.n_freq

    @property
    def stft_options(self):
        """``sample_rate``, ``n_fft``, ``win_length`` and ``hop_length``."""
        return dict(self.front_end.settings)

    def record(self, target, **figures):
        """Stores a target's parity figures in ``report["parity"]``."""
        self.report.setdefault("parity", {})[target] = figures


class ExportTarget:
    """One artefact of the export folder, with its own parity check.

    A target names its files, says why it does not apply to a model (or
    None), writes its files into ``ctx.folder`` and checks them against
    the PyTorch student, raising :class:`ExportError` on a mismatch. Its
    options (tolerances) are keyword arguments of its ``__init__``. To
    add a target, write a subclass (in a module of this package, or in
    the code given to the recipe with ``--code_path``) and list it with
    ``!new:`` in the ``targets`` of ``hparams/export.yaml``.

    Example
    -------
    >>> class Noop(ExportTarget):
    ...     name = "noop"
    >>> Noop().refusal(None) is None
    True
    """

    name = ""
    files = ()

    def refusal(self, ctx):
        """Why the target cannot be exported for ``ctx.model``, or None."""
        return None

    def write(self, ctx):
        """Writes the target's files into ``ctx.folder``."""

    def check(self, ctx):
        """Checks the written files; records figures with ``ctx.record``."""


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
    speechbrain_kd.export.common.ExportError: Parity check failed: onnx \
differs from PyTorch by 1 (max abs), more than atol=0.0001
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
    >>> onnx_session("missing.onnx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    onnxruntime.capi.onnxruntime_pybind11_state.NoSuchFile: ...
    """
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


def run_mask(session, feats):
    """The output of an offline ONNX Runtime session for one input.

    Arguments
    ---------
    session : onnxruntime.InferenceSession
        A session of an offline network (``feats`` in, ``mask`` out; or
        ``spec`` in, ``enhanced`` out).
    feats : torch.Tensor
        The network's input.

    Returns
    -------
    numpy.ndarray
    """
    name = session.get_inputs()[0].name
    return session.run(None, {name: feats.numpy()})[0]


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
    >>> import tempfile
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
        if path.is_file() and "__pycache__" not in path.parts
    }


def template(name):
    """The text of a file of ``speechbrain_kd/export/templates``.

    Arguments
    ---------
    name : str
        The file name.

    Returns
    -------
    str

    Example
    -------
    >>> "def main" in template("enhance_onnx.py")
    True
    """
    path = Path(__file__).with_name("templates") / name
    return path.read_text(encoding="utf-8")
