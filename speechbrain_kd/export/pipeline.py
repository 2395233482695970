"""``export_student``: a trained student through every export target.

The student is loaded from its checkpoint and architecture file; the
reference output is computed from the student and the features alone
(``speechbrain_kd.features.enhance``). Each target (the ``targets`` of
``hparams/export.yaml``, or :func:`default_targets`) writes its files
into a folder built aside and checks them against the PyTorch student on
real speech; the folder is moved into place only when every check passes,
and a failed check raises ``ExportError`` and leaves nothing. Adding a
target: an ``ExportTarget`` subclass, its options as keyword arguments of
its ``__init__``, and one ``!new:`` entry in the YAML's ``targets``.

Authors
 * speechbrain-kd contributors 2026
"""

import shutil
import tempfile
from pathlib import Path

import torch
from tqdm import tqdm

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.export.card import write_card
from speechbrain_kd.export.common import ExportContext, ExportError, file_sizes
from speechbrain_kd.export.hub import HubTarget
from speechbrain_kd.export.int8 import Int8Target
from speechbrain_kd.export.onnx_offline import OnnxTarget
from speechbrain_kd.export.onnx_streaming import StreamingOnnxTarget
from speechbrain_kd.export.student import describe_student, load_student
from speechbrain_kd.export.torchscript import TorchScriptTarget
from speechbrain_kd.features import DEFAULT_FEATURES, load_front_end
from speechbrain_kd.run_record import RECORD_FILE, recorded_front_end


def default_targets(
    atol=1e-4, script_rtol=1e-3, stream_atol=1e-5, pesq_pairs=()
):
    """Every target of this package, in the order they are written and
    checked (a target may read the files of those before it): those that
    ``hparams/export.yaml`` declares, with these options.

    Arguments
    ---------
    atol : float
        Tolerance of the hub, TorchScript and ONNX checks.
    script_rtol : float
        Tolerance of ``enhance_onnx.py``, relative to the peak amplitude.
    stream_atol : float
        Tolerance of the streamed outputs against the offline ones.
    pesq_pairs : sequence of (str, str)
        ``(noisy, clean)`` files on which the int8 model's PESQ change is
        measured.

    Returns
    -------
    list of ExportTarget

    Example
    -------
    >>> [t.name for t in default_targets()]
    ['hub', 'torchscript', 'onnx', 'streaming_onnx', 'int8']
    """
    return [
        HubTarget(atol=atol),
        TorchScriptTarget(atol=atol),
        OnnxTarget(atol=atol, script_rtol=script_rtol),
        StreamingOnnxTarget(atol=stream_atol),
        Int8Target(pesq_pairs=pesq_pairs),
    ]


def select_targets(targets, quantize=False, streaming="auto"):
    """The targets of an export, and those whose refusal is an error.

    Arguments
    ---------
    targets : list of ExportTarget
        The declared targets, in order.
    quantize : bool
        Keep the int8 target.
    streaming : bool or "auto"
        True: the streaming target is required (a student that cannot
        stream is refused with the reason); "auto": exported when the
        student can stream; False: never.

    Returns
    -------
    targets : list of ExportTarget
    required : set of str
        Names of the targets that must not be skipped.

    Raises
    ------
    ValueError
        ``quantize`` or ``streaming`` is True and ``targets`` lacks the
        int8 or the streaming target.

    Example
    -------
    >>> targets, required = select_targets(default_targets())
    >>> [t.name for t in targets]
    ['hub', 'torchscript', 'onnx', 'streaming_onnx']
    >>> sorted(required)
    ['hub', 'onnx', 'torchscript']
    >>> select_targets(targets, quantize=True)
    Traceback (most recent call last):
    ...
    ValueError: quantize is True but no target is named int8
    """
    names = {t.name for t in targets}
    for flag, value, name in (
        ("quantize", quantize, Int8Target.name),
        ("streaming", streaming, StreamingOnnxTarget.name),
    ):
        if value is True and name not in names:
            raise ValueError(f"{flag} is True but no target is named {name}")
    if not quantize:
        targets = [t for t in targets if t.name != Int8Target.name]
    if streaming is False:
        targets = [t for t in targets if t.name != StreamingOnnxTarget.name]
    required = {t.name for t in targets}
    if streaming == "auto":
        required.discard(StreamingOnnxTarget.name)
    return targets, required


def parity_features(wavs, front_end):
    """Named batches of the model's input on real speech for the output
    checks: each file, two crops of an odd number of frames (101 and 7)
    and a batch of two crops.

    Arguments
    ---------
    wavs : list of str
        Real recordings (at least one).
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The student's front-end.

    Returns
    -------
    list of (str, torch.Tensor)
    """
    hop = front_end.hop_samples
    signals = [read_audio(path, front_end.sample_rate) for path in wavs]
    named = [(Path(path).name, wav[None]) for path, wav in zip(wavs, signals)]
    first = Path(wavs[0]).name
    # A crop of k hops gives 1 + k frames
    for hops in (100, 6):
        named.append((f"a crop of {first}", signals[0][None, : hops * hop]))
    second = signals[1] if len(signals) > 1 else signals[0].flip(0)
    n = min(len(signals[0]), len(second), 150 * hop)
    named.append(("a batch of 2", torch.stack([signals[0][:n], second[:n]])))
    with torch.no_grad():
        return [(name, front_end.model_input(w)) for name, w in named]


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
    streaming="auto",
    targets=None,
    front_end=None,
    atol=1e-4,
    script_rtol=1e-3,
    stream_atol=1e-5,
    overwrite=False,
):
    """Exports a trained student through every target, each checked.

    Targets (:func:`default_targets` unless given): the SpeechBrain hub
    folder (``hyperparams.yaml``, ``custom.yaml`` + ``custom.py``,
    ``enhance_model.ckpt``, ``example.wav``), TorchScript
    (``enhance_model.ts.pt``), offline ONNX (``enhance_model.onnx`` and
    the torch-free ``enhance_onnx.py``), streaming ONNX
    (``enhance_model.stream.onnx``, causal students) and int8 ONNX
    (``quantize``); then the model card ``README.md``.

    Arguments
    ---------
    checkpoint : str or pathlib.Path
        The student's weights: a state-dict file, a ``CKPT+...`` folder,
        a ``save`` or experiment folder (best validation PESQ).
    model_file : str or pathlib.Path
        The student's architecture, a file of ``hparams/models`` (or
        any YAML whose root is ``--- !new:<class>``), or the
        ``hyperparams.yaml`` of its run (see
        :func:`~speechbrain_kd.export.student.export_settings`).
    output_folder : str or pathlib.Path
        The folder to create.
    example_wav : str or pathlib.Path
        A real noisy recording, copied as ``example.wav`` and used in the
        checks.
    parity_wavs : sequence of str
        More real recordings for the mask parity checks.
    pesq_pairs : sequence of (str, str)
        ``(noisy, clean)`` files on which the int8 model's PESQ change is
        measured (with ``quantize``; default targets only).
    metrics : dict, optional
        Measured test metrics for the model card.
    card_info : dict, optional
        Free text for the card: ``title``, ``license``,
        ``training_data``, ``kd_method``, ``teacher``, ``test_data``.
    quantize : bool
        Also write the int8 model.
    streaming : bool or "auto"
        Whether the streaming target is required, optional or left out
        (see :func:`select_targets`).
    targets : list of ExportTarget, optional
        The targets to export, in order, with their own options (as the
        ``targets`` of ``hparams/export.yaml``); when None,
        :func:`default_targets` with ``atol``, ``script_rtol``,
        ``stream_atol`` and ``pesq_pairs``. ``quantize`` and
        ``streaming`` select among them.
    front_end : speechbrain_kd.features.SpectralFrontEnd, optional
        The front-end the student was trained with (the ``front_end`` of
        its features file); when None, the one its run recorded if
        ``model_file`` is a run's ``hyperparams.yaml``, else that of
        ``speechbrain_kd.features.DEFAULT_FEATURES``.
    atol : float
        Tolerance of the mask and waveform checks (default targets only).
    script_rtol : float
        Tolerance of ``enhance_onnx.py``, relative to the peak amplitude
        (default targets only).
    stream_atol : float
        Tolerance of the streamed outputs against the offline ones
        (default targets only).
    overwrite : bool
        Replace an existing ``output_folder`` once the checks pass.

    Returns
    -------
    dict
        Paths, size, compute, latency, parity differences per target,
        skipped targets with their reasons, file sizes and int8 results.

    Example
    -------
    >>> import os, tempfile
    >>> from speechbrain_kd.data.audio import write_audio
    >>> from speechbrain_kd.export.student import load_model
    >>> folder = tempfile.mkdtemp()
    >>> model_file = os.path.join(folder, "tiny.yaml")
    >>> with open(model_file, "w") as f:
    ...     _ = f.write(
    ...         "--- !new:speechbrain_kd.models.MaskUNet\\n"
    ...         "depth: 2\\nbase_channels: 2\\ncausal: True\\n"
    ...     )
    >>> torch.save(load_model(model_file).state_dict(), f"{folder}/m.ckpt")
    >>> wav = os.path.join(folder, "noisy.wav")
    >>> write_audio(wav, 0.1 * torch.randn(12345))
    >>> report = export_student(
    ...     f"{folder}/m.ckpt", model_file, f"{folder}/hub", wav,
    ...     front_end=load_front_end("stft_16ms"),
    ... )
    >>> report["parity"]["streaming_onnx"]["onnx_mask"] < 1e-5
    True
    >>> report["latency_ms"], "enhance_model.stream.onnx" in report["files"]
    (16, True)
    """
    output_folder = Path(output_folder).resolve()
    if output_folder.exists() and not overwrite:
        raise FileExistsError(
            f"{output_folder} exists; remove it or set overwrite"
        )
    if front_end is None:
        front_end = (
            recorded_front_end(model_file)
            if Path(model_file).name == RECORD_FILE
            else load_front_end(DEFAULT_FEATURES)
        )
    model, ckpt_path = load_student(checkpoint, model_file)
    front_end.check_model(model)
    if targets is None:
        targets = default_targets(atol, script_rtol, stream_atol, pesq_pairs)
    targets, required = select_targets(targets, quantize, streaming)
    noisy = read_audio(example_wav, front_end.sample_rate)
    output_folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(
        tempfile.mkdtemp(
            prefix=f".{output_folder.name}.", dir=output_folder.parent
        )
    )
    ctx = ExportContext(
        model=model,
        folder=work,
        front_end=front_end,
        example_wav=Path(example_wav),
        noisy=noisy,
        probes=parity_features([example_wav, *parity_wavs], front_end),
        reference=front_end.enhance(model, noisy),
        model_file=Path(model_file),
    )
    try:
        ctx.report["skipped"] = run_targets(ctx, targets, required)
        ctx.report["probes"] = len(ctx.probes)
        ctx.report.update(
            describe_student(model, ckpt_path, front_end, model_file)
        )
        ctx.report["model_module"] = type(model).__module__
        write_card(work, ctx.report, metrics or {}, card_info or {})
        ctx.report["files"] = list(file_sizes(work))
        ctx.report["sizes"] = file_sizes(work)
        if output_folder.exists():
            shutil.rmtree(output_folder)
        work.rename(output_folder)
    finally:
        if work.exists():
            shutil.rmtree(work)
    ctx.report["folder"] = str(output_folder)
    return ctx.report


def run_targets(ctx, targets, required):
    """Writes and checks each target in turn.

    Arguments
    ---------
    ctx : ExportContext
        The export in progress.
    targets : list of ExportTarget
        The targets, in order.
    required : set of str
        Names of the targets whose refusal is an error.

    Returns
    -------
    dict
        ``{name: reason}`` of the optional targets that were skipped.

    Raises
    ------
    ExportError
        A required target refuses the model, or a check fails.
    """
    skipped = {}
    progress = tqdm(targets, desc="export", unit="target")
    for target in progress:
        progress.set_postfix_str(target.name)
        reason = target.refusal(ctx)
        if reason and target.name in required:
            raise ExportError(f"Cannot export {target.name}: {reason}")
        if reason:
            skipped[target.name] = reason
            continue
        target.write(ctx)
        target.check(ctx)
    return skipped
