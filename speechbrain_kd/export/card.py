"""The model card (``README.md``) of an export folder.

Authors
 * speechbrain-kd contributors 2026
"""

import string
from pathlib import Path

from speechbrain_kd.export.common import (
    CARD_FILE,
    CKPT_FILE,
    CUSTOM_CODE_FILE,
    CUSTOM_HPARAMS_FILE,
    EXAMPLE_FILE,
    HPARAMS_FILE,
    INT8_FILE,
    ONNX_FILE,
    SCRIPT_FILE,
    STREAM_ONNX_FILE,
    TORCHSCRIPT_FILE,
    file_sizes,
    template,
)

FILE_ROLES = {
    HPARAMS_FILE: "SpeechBrain inference hyperparameters (from_hparams)",
    CUSTOM_HPARAMS_FILE: "the same, for foreign_class with custom.py",
    CUSTOM_CODE_FILE: "the model's code (foreign_class)",
    CKPT_FILE: "student state dict (PyTorch)",
    TORCHSCRIPT_FILE: "mask network, TorchScript",
    ONNX_FILE: "mask network, ONNX, whole utterances",
    STREAM_ONNX_FILE: "mask network, ONNX, one frame per call with caches",
    INT8_FILE: "mask network, ONNX int8 weights",
    SCRIPT_FILE: "reference pipeline: numpy + ONNX Runtime",
    EXAMPLE_FILE: "a real noisy input",
}


def interface_text(contract, stft):
    """The card's words for the loading interface and the network's input
    and output, by model contract.

    Arguments
    ---------
    contract : str
        ``magnitude`` or ``complex``.
    stft : dict
        The STFT settings (``n_fft``).

    Returns
    -------
    dict
        ``kind``, ``feature_kind``, ``window``, ``interface``,
        ``interface_path`` and ``network_io``.

    Example
    -------
    >>> interface_text("complex", {"n_fft": 512})["network_io"]
    'input `spec` `[batch, 257, time, 2]` (the noisy STFT, real and \
imaginary), output `enhanced` (the enhanced STFT) of the same shape'
    """
    n_freq = stft["n_fft"] // 2 + 1
    window = stft.get("window", "hamming").replace("_", "-").capitalize()
    if contract == "complex":
        return {
            "kind": "complex-spectrum",
            "feature_kind": "complex spectrum",
            "window": window.replace("Sqrt-hann", "square-root Hann"),
            "interface": "ComplexSpectrumEnhancement",
            "interface_path": "speechbrain_kd.inference."
            "ComplexSpectrumEnhancement",
            "network_io": f"input `spec` `[batch, {n_freq}, time, 2]` (the "
            "noisy STFT, real and imaginary), output `enhanced` (the "
            "enhanced STFT) of the same shape",
        }
    return {
        "kind": "spectral-mask",
        "feature_kind": "log1p magnitude",
        "window": window,
        "interface": "SpectralMaskEnhancement",
        "interface_path": "SpectralMaskEnhancement",
        "network_io": f"input `feats` `[batch, time, {n_freq}]` (log1p STFT "
        "magnitudes), output `mask` of the same shape",
    }


def parameters_text(report):
    """The parameters of the card: learnable and fixed ones apart when
    the model has fixed ones (a published model's ERB matrices).

    Arguments
    ---------
    report : dict
        The export report (``params``, ``params_fixed``).

    Returns
    -------
    str

    Example
    -------
    >>> parameters_text({"params": 48245, "params_fixed": 24576})
    '48,245 (23,669 learnable, 24,576 fixed)'
    >>> parameters_text({"params": 6300})
    '6,300'
    """
    fixed = report.get("params_fixed", 0)
    if not fixed:
        return f"{report['params']:,}"
    learnable = report["params"] - fixed
    return f"{report['params']:,} ({learnable:,} learnable, {fixed:,} fixed)"


def latency_text(report):
    """Explains the algorithmic latency: window plus look-ahead.

    Arguments
    ---------
    report : dict
        With ``stft``, ``lookahead_frames`` and ``latency_ms``.

    Returns
    -------
    str

    Example
    -------
    >>> report = {"latency_ms": 16, "lookahead_frames": 0,
    ...           "stft": {"win_length": 16, "hop_length": 8}}
    >>> latency_text(report)[:60]
    '16 ms = 16 ms STFT window + 0 frame(s) of look-ahead x 8 ms '
    """
    stft = report["stft"]
    lookahead = report["lookahead_frames"]
    if lookahead is None:
        return (
            "the whole file: every output frame depends on the input to "
            "the end of the file (a bidirectional recurrent layer or "
            "attention over the whole input), so the model enhances whole "
            "files offline and has no streaming form."
        )
    text = (
        f"{report['latency_ms']:g} ms = {stft['win_length']:g} ms STFT "
        f"window + {lookahead} frame(s) of look-ahead x "
        f"{stft['hop_length']:g} ms hop. "
    )
    if lookahead == 0:
        return text + (
            "The model is causal: no output frame uses future input."
        )
    return text + (
        "The look-ahead is the receptive field of the network into future "
        "frames, measured by back-propagating from one output frame to the "
        "input (at every phase of time downsampling). As exported, the "
        "model processes whole utterances offline."
    )


def streaming_text(report):
    """The card's streaming section (empty without a streaming graph)."""
    parity = report["parity"].get("streaming_onnx")
    if not parity:
        return ""
    hop = report["stft"]["hop_length"]
    if "onnx_spectrum" in parity:  # a complex model's own stream
        return (
            "\n### Streaming\n\n"
            f"`{STREAM_ONNX_FILE}` processes one {hop:g} ms hop per call: "
            "input `spec` `[1, bins, 1, 2]` (one frame of the complex "
            "spectrum) and the model's caches (zeros at the start), outputs "
            "the enhanced frame and the caches (`_out`) to feed back. The "
            "streamed spectrum equals the whole-utterance one (checked at "
            f"export on {parity['frames']} frames of real speech: largest "
            f"difference {parity['onnx_spectrum']:.2g}, bound "
            f"{parity['bound']:.2g}).\n"
        )
    return (
        "\n### Streaming\n\n"
        f"`{STREAM_ONNX_FILE}` processes one {hop:g} ms hop per call: "
        "inputs `frame` `[1, 1, bins]` and the convolution caches "
        "`cache_<i>` (zeros at the start), outputs `mask` and the caches "
        "`cache_<i>_out` to feed back. BatchNorm is folded into the "
        "convolutions. Hop by hop, with a streaming STFT and overlap-add:\n"
        "\n```\npython enhance_onnx.py example.wav enhanced.wav --stream\n"
        "```\n\nThe streamed output equals the offline one (checked at "
        f"export on {parity['frames']} frames of real speech: masks "
        f"{parity['onnx_mask']:.2g}, waveform {parity['script_wav']:.2g}).\n"
    )


def write_card(folder, report, metrics, info):
    """Writes the model card README.md of an export folder.

    Arguments
    ---------
    folder : pathlib.Path
        The export folder (its other files already written).
    report : dict
        The export report (size, latency, parity, int8).
    metrics : dict
        Measured test metrics, ``{name: value}`` or ``{name: {"mean",
        "std", "n"}}``.
    info : dict
        Free text: ``title``, ``license``, ``training_data``,
        ``kd_method``, ``teacher``, ``test_data``.
    """
    title = info.get("title") or f"speechbrain-kd {report['model_name']}"
    stated = {
        key: info.get(key) or "not stated at export"
        for key in ("training_data", "teacher", "test_data")
    }
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
        for name, value in metrics.items()
    )
    results = (
        "| metric | value |\n|---|---|\n" + rows
        if rows
        else "No test metrics were given at export.\n"
    )
    files = "".join(
        f"| `{name}` | {size:,} | {FILE_ROLES.get(name, '')} |\n"
        for name, size in file_sizes(folder).items()
        if name != CARD_FILE
    )
    parity = "".join(
        f"| {target} | {check} | {value:.2g} |\n"
        for target, figures in report["parity"].items()
        for check, value in figures.items()
        if check != "frames"
    )
    stft = report["stft"]
    text = string.Template(template("card.md")).substitute(
        title=title,
        license=info.get("license") or "apache-2.0",
        params=parameters_text(report),
        mmacs=f"{report['macs_per_s'] / 1e6:.1f}",
        latency_ms=(
            "whole file"
            if report["latency_ms"] is None
            else f"{report['latency_ms']:g} ms"
        ),
        latency=latency_text(report),
        training_data=stated["training_data"],
        kd=kd_text,
        teacher=stated["teacher"],
        test_data=stated["test_data"],
        model_class=report["model_class"],
        model_module=report["model_module"],
        checkpoint=Path(report["checkpoint"]).parent.name,
        results=results,
        files=files,
        streaming=streaming_text(report),
        parity=parity,
        probes=report["probes"],
        int8=_int8_text(report),
        **{
            **stft,
            **interface_text(report.get("contract", "magnitude"), stft),
        },
    )
    (folder / CARD_FILE).write_text(text, encoding="utf-8")


def _int8_text(report):
    """The card's int8 section (empty without an int8 model)."""
    if "int8" not in report:
        return ""
    int8 = report["int8"]
    text = (
        "\n## int8 model\n\n"
        f"`{INT8_FILE}`: ONNX Runtime dynamic quantisation (int8 "
        f"weights), {int8['bytes']:,} bytes vs {int8['fp32_bytes']:,} "
        f"(fp32). Largest mask change: {int8['mask_max_abs_diff']:.3g}."
    )
    if "pesq_change" in int8:
        text += (
            f" Mean PESQ on {len(int8['pesq_files'])} real "
            f"VoiceBank-DEMAND test pairs: {int8['pesq_fp32']:.3f} "
            f"(fp32 ONNX) -> {int8['pesq_int8']:.3f} (int8), change "
            f"{int8['pesq_change']:+.4f}."
        )
    return text + "\n"


def _format_metric(value):
    """``mean ± std (n)`` for a summary entry, else the number."""
    if isinstance(value, dict):
        return f"{value['mean']:.3f} ± {value['std']:.3f} (n={value['n']})"
    return f"{value:.3f}"
