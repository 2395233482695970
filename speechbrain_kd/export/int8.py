"""The int8 target: ONNX Runtime dynamic quantisation of the offline
graph (int8 weights), with its mask change and its PESQ change on real
pairs through the reference script.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import os
from pathlib import Path

import numpy as np

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.export.common import (
    INT8_FILE,
    ONNX_FILE,
    ExportTarget,
    check_parity,
    onnx_session,
    run_mask,
)
from speechbrain_kd.export.onnx_offline import load_script
from speechbrain_kd.metrics import pesq_wb


def same_name_pairs(noisy_folder, clean_folder, names):
    """``(noisy, clean)`` paths of recordings of the same name in two
    folders.

    Arguments
    ---------
    noisy_folder : str
        The folder of noisy recordings.
    clean_folder : str
        The folder of their clean references.
    names : sequence of str
        File names, found in both folders.

    Returns
    -------
    list of (str, str)

    Example
    -------
    >>> same_name_pairs("noisy", "clean", ["a.wav"])
    [('noisy/a.wav', 'clean/a.wav')]
    """
    return [
        (os.path.join(noisy_folder, name), os.path.join(clean_folder, name))
        for name in names
    ]


class Int8Target(ExportTarget):
    """``enhance_model.int8.onnx`` (after the ``onnx`` target).

    Not a parity target: quantisation changes the output by design. The
    largest output change and the PESQ change are reported, and the export
    fails if a mask changes by more than ``max_mask_change``.

    Arguments
    ---------
    pesq_pairs : sequence of (str, str)
        ``(noisy, clean)`` real recordings on which the PESQ change is
        measured (through ``enhance_onnx.py``); none: not measured.
    max_mask_change : float
        Largest change of a mask by quantisation (for a complex-spectrum
        model: that fraction of the largest output of all probes).

    Example
    -------
    >>> target = Int8Target(same_name_pairs("noisy", "clean", ["a.wav"]))
    >>> target.pesq_pairs, target.max_mask_change
    ([('noisy/a.wav', 'clean/a.wav')], 0.2)
    """

    name = "int8"
    files = (INT8_FILE,)

    def __init__(self, pesq_pairs=(), max_mask_change=0.2):
        self.pesq_pairs = [tuple(pair) for pair in pesq_pairs]
        self.max_mask_change = max_mask_change

    def write(self, ctx):
        """Quantises the offline ONNX graph's weights to int8."""
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # The quantiser logs a warning for every int64 shape tensor it skips
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(
                str(ctx.folder / ONNX_FILE),
                str(ctx.folder / INT8_FILE),
                weight_type=QuantType.QInt8,
            )
        finally:
            logging.disable(logging.NOTSET)

    def check(self, ctx):
        """Mask change on the probes; PESQ change on the given pairs."""
        fp32 = onnx_session(ctx.folder / ONNX_FILE)
        int8 = onnx_session(ctx.folder / INT8_FILE)
        references = [run_mask(fp32, feats) for _, feats in ctx.probes]
        scale = 1.0
        if ctx.front_end.contract == "complex":
            scale = max(float(np.abs(r).max()) for r in references)
        mask_diff = 0.0
        for (name, feats), reference in zip(ctx.probes, references):
            mask_diff = max(
                mask_diff,
                check_parity(
                    f"int8 output on {name}",
                    reference,
                    run_mask(int8, feats),
                    self.max_mask_change * scale,
                ),
            )
        enhance = load_script(ctx.folder)["enhance"]
        rate = ctx.stft_options["sample_rate"]
        scores = {"fp32": [], "int8": []}
        for noisy_path, clean_path in self.pesq_pairs:
            noisy = read_audio(noisy_path, rate).numpy()
            clean = read_audio(clean_path, rate).numpy()
            name = Path(noisy_path).name
            for kind, session in (("fp32", fp32), ("int8", int8)):
                wav = enhance(noisy, session)
                scores[kind].append(pesq_wb(wav, clean, name=name))
        result = {
            "bytes": (ctx.folder / INT8_FILE).stat().st_size,
            "fp32_bytes": (ctx.folder / ONNX_FILE).stat().st_size,
            "mask_max_abs_diff": mask_diff,
            "pesq_files": [Path(noisy).name for noisy, _ in self.pesq_pairs],
        }
        if self.pesq_pairs:
            result["pesq_fp32"] = float(np.mean(scores["fp32"]))
            result["pesq_int8"] = float(np.mean(scores["int8"]))
            result["pesq_change"] = result["pesq_int8"] - result["pesq_fp32"]
        ctx.report["int8"] = result
