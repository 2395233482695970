"""The TorchScript target: the mask network traced, ``forward(feats)``.

Authors
 * speechbrain-kd contributors 2026
"""

import warnings

import torch

from speechbrain_kd.export.common import (
    TORCHSCRIPT_FILE,
    ExportTarget,
    check_parity,
    traceable,
)
from speechbrain_kd.features import call_model


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
    >>> import os, tempfile
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
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.ts.pt")
    >>> export_torchscript(torch.nn.ReLU(), torch.zeros(1, 3, 4), path)
    >>> load_torchscript(path)(-torch.ones(1, 2, 2)).sum().item()
    0.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location="cpu")


class TorchScriptTarget(ExportTarget):
    """``enhance_model.ts.pt``; its masks equal PyTorch's on every probe.

    Arguments
    ---------
    atol : float
        Largest difference of a mask from PyTorch's.

    Example
    -------
    >>> TorchScriptTarget(atol=1e-3).atol
    0.001
    """

    name = "torchscript"
    files = (TORCHSCRIPT_FILE,)

    def __init__(self, atol=1e-4):
        self.atol = atol

    def write(self, ctx):
        """Traces the student on the first probe."""
        path = ctx.folder / TORCHSCRIPT_FILE
        export_torchscript(traceable(ctx.model), ctx.probes[0][1], path)

    def check(self, ctx):
        """Compares the masks on every probe batch."""
        scripted = load_torchscript(ctx.folder / TORCHSCRIPT_FILE)
        diff = 0.0
        for name, feats in ctx.probes:
            with torch.no_grad():
                reference = call_model(ctx.model, feats)
                mask = scripted(feats)
            where = f"TorchScript mask on {name} {tuple(feats.shape)}"
            diff = max(diff, check_parity(where, reference, mask, self.atol))
        ctx.record(self.name, mask=diff)
