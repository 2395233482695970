"""The offline ONNX target: the mask network for whole utterances, and
the torch-free reference script ``enhance_onnx.py`` around it.

The graph takes ``feats`` ``[batch, time, freq]`` and returns ``mask``
(dynamic batch and time); the STFT settings travel in its metadata, where
``enhance_onnx.py`` reads them.

Authors
 * speechbrain-kd contributors 2026
"""

import runpy
import shutil
import warnings
from pathlib import Path

import onnx
import torch

from speechbrain_kd.export.common import (
    ONNX_FILE,
    ONNX_OPSET,
    SCRIPT_FILE,
    ExportTarget,
    check_parity,
    onnx_session,
    run_mask,
    traceable,
)
from speechbrain_kd.features import call_model

TEMPLATES = Path(__file__).with_name("templates")
# The input and output names of the graph, by model contract
ONNX_NAMES = {"magnitude": ("feats", "mask"), "complex": ("spec", "enhanced")}


def stft_metadata(front_end):
    """The STFT settings in samples, as ONNX metadata strings.

    Arguments
    ---------
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The training front-end.

    Returns
    -------
    dict

    Example
    -------
    >>> from speechbrain_kd.features import load_front_end
    >>> stft_metadata(load_front_end("stft_16ms"))
    {'sample_rate': '16000', 'n_fft': '256', 'win_length': '256', \
'hop_length': '128', 'window': 'hamming', 'contract': 'magnitude', \
'output': 'mask'}
    """
    return {
        "sample_rate": str(front_end.sample_rate),
        "n_fft": str(front_end.n_fft),
        "win_length": str(front_end.win_samples),
        "hop_length": str(front_end.hop_samples),
        "window": front_end.describe()["window"],
        "contract": front_end.contract,
        "output": getattr(front_end, "output", "mask"),
    }


def add_metadata(path, metadata):
    """Stores ``{key: str}`` in an ONNX file's ``metadata_props``.

    Arguments
    ---------
    path : str or pathlib.Path
        The ``.onnx`` file, rewritten.
    metadata : dict
        Keys and string values.
    """
    model = onnx.load(str(path))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def export_onnx(
    model, feats, path, opset=ONNX_OPSET, metadata=None, contract="magnitude"
):
    """Exports the network to ONNX: ``feats`` in, ``mask`` out (or, for
    the complex contract, ``spec`` in, ``enhanced`` out).

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
    metadata : dict, optional
        ``{key: str}`` stored in the model (the STFT settings).
    contract : str
        ``magnitude`` (``[batch, time, freq]`` features) or ``complex``
        (spectra ``[batch, freq, time, 2]``).

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=2, base_channels=2, time_downsample=1).eval()
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    >>> export_onnx(model, torch.rand(1, 20, 257), path)
    >>> feats = torch.rand(2, 33, 257)
    >>> mask = run_mask(onnx_session(path), feats)
    >>> bool(np.allclose(mask, model(feats).detach().numpy(), atol=1e-6))
    True
    """
    names = ONNX_NAMES[contract]
    axes = {0: "batch", 1 if contract == "magnitude" else 2: "time"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "Constant folding")
        torch.onnx.export(
            model,
            (feats,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=[names[0]],
            output_names=[names[1]],
            dynamic_axes={name: axes for name in names},
        )
    if metadata:
        add_metadata(path, metadata)
    onnx.checker.check_model(str(path))


def load_script(folder):
    """The functions of a folder's ``enhance_onnx.py`` (run, not imported).

    Arguments
    ---------
    folder : str or pathlib.Path
        An export folder.

    Returns
    -------
    dict
        The script's globals (``enhance``, ``enhance_stream``, ...).
    """
    return runpy.run_path(str(Path(folder) / SCRIPT_FILE))


class OnnxTarget(ExportTarget):
    """``enhance_model.onnx`` and ``enhance_onnx.py``: masks equal
    PyTorch's on every probe; the script's waveform equals the PyTorch
    pipeline's within ``script_rtol`` of its peak (numpy's float64 STFT
    is not torch's float32 one).

    Arguments
    ---------
    atol : float
        Largest difference of an output of the graph from PyTorch's.
    script_rtol : float
        Largest difference of the waveform of ``enhance_onnx.py`` from
        the PyTorch pipeline's, relative to its peak amplitude.

    Example
    -------
    >>> target = OnnxTarget(script_rtol=1e-2)
    >>> target.atol, target.script_rtol
    (0.0001, 0.01)
    """

    name = "onnx"
    files = (ONNX_FILE, SCRIPT_FILE)

    def __init__(self, atol=1e-4, script_rtol=1e-3):
        self.atol = atol
        self.script_rtol = script_rtol

    def write(self, ctx):
        """Exports the graph with the STFT metadata; copies the script."""
        export_onnx(
            traceable(ctx.model),
            ctx.probes[0][1],
            ctx.folder / ONNX_FILE,
            metadata=stft_metadata(ctx.front_end),
            contract=ctx.front_end.contract,
        )
        shutil.copyfile(TEMPLATES / SCRIPT_FILE, ctx.folder / SCRIPT_FILE)

    def check(self, ctx):
        """Compares the masks on the probes and the script's waveform."""
        session = onnx_session(ctx.folder / ONNX_FILE)
        diff = 0.0
        for name, feats in ctx.probes:
            with torch.no_grad():
                reference = call_model(ctx.model, feats)
            where = f"ONNX output on {name} {tuple(feats.shape)}"
            mask = run_mask(session, feats)
            diff = max(diff, check_parity(where, reference, mask, self.atol))
        enhance = load_script(ctx.folder)["enhance"]
        peak = float(ctx.reference.abs().max())
        script = check_parity(
            f"{SCRIPT_FILE} on {Path(ctx.example_wav).name}",
            ctx.reference,
            enhance(ctx.noisy.numpy(), session),
            self.script_rtol * peak,
        )
        ctx.record(self.name, mask=diff, script_peak_relative=script / peak)
