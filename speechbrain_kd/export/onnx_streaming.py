"""The streaming ONNX target: a causal student, one frame per call.

The graph is :class:`speechbrain_kd.streaming.StreamingMaskUNet`
(BatchNorm folded into the convolutions): inputs ``frame`` ``[1, 1,
freq]`` and the convolution caches ``cache_<i>``, outputs ``mask`` ``[1,
1, freq]`` and the updated caches ``cache_<i>_out``, in the same order;
the caches start at zero. ``enhance_onnx.py --stream`` runs it hop by hop
with a streaming STFT and overlap-add. Checked at export, on real speech:
the PyTorch and the ONNX streams reproduce the offline causal masks, and
the streamed waveform of the script equals its offline one, within
the target's ``atol`` (1e-5); otherwise nothing is written.

A model of the complex contract that has a frame-by-frame form of its
own (``model.streaming()``: GTCRN, UL-UNAS) is exported through it:
inputs ``spec`` ``[1, freq, 1, 2]`` and its caches, outputs the enhanced
frame and the caches; checked, on real speech, by the PyTorch and the
ONNX streams reproducing the whole-utterance model's spectrum within
``atol`` times the largest spectrum value.

Non-causal students, students that halve time and models without a
streaming form are refused with the reason.

Authors
 * speechbrain-kd contributors 2026
"""

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from speechbrain_kd.export.common import (
    ONNX_FILE,
    ONNX_OPSET,
    STREAM_ONNX_FILE,
    ExportTarget,
    check_parity,
    onnx_session,
)
from speechbrain_kd.export.onnx_offline import (
    add_metadata,
    load_script,
    stft_metadata,
)
from speechbrain_kd.models.gtcrn_streaming import (
    run_onnx_stream,
    stream_spectrum,
)
from speechbrain_kd.streaming import (
    StreamingMaskUNet,
    stream_masks,
    streaming_refusal,
)


def export_streaming_onnx(stream, path, opset=ONNX_OPSET, metadata=None):
    """Exports a streaming model: ``frame`` and caches in, ``mask`` and
    caches out.

    Arguments
    ---------
    stream : StreamingMaskUNet
        The streaming model.
    path : str or pathlib.Path
        The ``.onnx`` file to write.
    opset : int
        ONNX opset version.
    metadata : dict, optional
        ``{key: str}`` stored in the model (the STFT settings).

    Example
    -------
    >>> import os, tempfile
    >>> from speechbrain_kd.models import MaskUNet
    >>> model = MaskUNet(depth=2, base_channels=2, causal=True).eval()
    >>> stream = StreamingMaskUNet(model, n_freq=65)
    >>> path = os.path.join(tempfile.mkdtemp(), "s.onnx")
    >>> export_streaming_onnx(stream, path)
    >>> feats = torch.rand(1, 6, 65)
    >>> masks = stream_onnx_masks(onnx_session(path), feats)
    >>> bool(np.allclose(masks, model(feats).detach(), atol=1e-5))
    True
    """
    caches = stream.initial_caches()
    names = [f"cache_{i}" for i in range(len(caches))]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "Constant folding")
        torch.onnx.export(
            stream,
            (torch.zeros(1, 1, stream.n_freq), *caches),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["frame", *names],
            output_names=["mask", *[f"{n}_out" for n in names]],
        )
    if metadata:
        add_metadata(path, metadata)
    onnx.checker.check_model(str(path))


def stream_onnx_masks(session, feats):
    """Runs a streaming ONNX session frame by frame over features.

    Arguments
    ---------
    session : onnxruntime.InferenceSession
        A session of a graph written by :func:`export_streaming_onnx`.
    feats : torch.Tensor
        Features ``[1, time, freq]``.

    Returns
    -------
    numpy.ndarray
        The masks ``[1, time, freq]``.
    """
    caches = {
        i.name: np.zeros(i.shape, dtype=np.float32)
        for i in session.get_inputs()
        if i.name != "frame"
    }
    array = feats.numpy()
    frames = []
    for t in range(array.shape[1]):
        mask, *outputs = session.run(
            None, {"frame": array[:, t : t + 1], **caches}
        )
        caches = dict(zip(caches, outputs))
        frames.append(mask)
    return np.concatenate(frames, axis=1)


class StreamingOnnxTarget(ExportTarget):
    """``enhance_model.stream.onnx``, for causal students that stream.

    Its waveform check compares ``enhance_onnx.py --stream`` with the
    script's offline run on the offline graph, so it comes after the
    ``onnx`` target.

    Arguments
    ---------
    atol : float
        Largest difference of the streamed masks (PyTorch and ONNX) from
        the offline ones, and of the script's streamed waveform from its
        offline one.

    Example
    -------
    >>> StreamingOnnxTarget().atol
    1e-05
    """

    name = "streaming_onnx"
    files = (STREAM_ONNX_FILE,)

    def __init__(self, atol=1e-5):
        self.atol = atol

    def refusal(self, ctx):
        """The reason the student cannot stream, or None."""
        if callable(getattr(ctx.model, "streaming", None)):
            return None  # a frame-by-frame form of its own, causal
        return streaming_refusal(ctx.model)

    def write(self, ctx):
        """Exports the frame-by-frame graph with the STFT metadata."""
        if callable(getattr(ctx.model, "streaming", None)):
            path = ctx.folder / STREAM_ONNX_FILE
            ctx.model.streaming().eval().export_onnx(path)
            add_metadata(path, stft_metadata(ctx.front_end))
            return
        export_streaming_onnx(
            StreamingMaskUNet(ctx.model, ctx.n_freq),
            ctx.folder / STREAM_ONNX_FILE,
            metadata=stft_metadata(ctx.front_end),
        )

    def check(self, ctx):
        """Streamed masks and waveform equal the offline causal ones."""
        if callable(getattr(ctx.model, "streaming", None)):
            self._check_own_stream(ctx)
            return
        name = Path(ctx.example_wav).name
        feats = ctx.probes[0][1]
        with torch.no_grad():
            offline = ctx.model(feats)
        stream = StreamingMaskUNet(ctx.model, ctx.n_freq)
        session = onnx_session(ctx.folder / STREAM_ONNX_FILE)
        figures = {
            "torch_mask": check_parity(
                f"PyTorch streamed mask on {name}",
                offline,
                stream_masks(stream, feats),
                self.atol,
            ),
            "onnx_mask": check_parity(
                f"streaming ONNX mask on {name}",
                offline,
                stream_onnx_masks(session, feats),
                self.atol,
            ),
        }
        script = load_script(ctx.folder)
        noisy = ctx.noisy.numpy()
        offline_wav = script["enhance"](
            noisy, onnx_session(ctx.folder / ONNX_FILE)
        )
        figures["script_wav"] = check_parity(
            f"enhance_onnx.py --stream vs offline on {name}",
            offline_wav,
            script["enhance_stream"](noisy, session),
            self.atol,
        )
        figures["frames"] = feats.shape[1]
        ctx.record(self.name, **figures)

    def _check_own_stream(self, ctx):
        """A model's own stream (PyTorch and ONNX) equals its whole-file
        output on the example, relative to the largest output value."""
        name = Path(ctx.example_wav).name
        spec = ctx.probes[0][1]
        with torch.no_grad():
            offline = ctx.model(spec)
        bound = self.atol * max(1.0, float(offline.abs().max()))
        session = onnx_session(ctx.folder / STREAM_ONNX_FILE)
        streamed = run_onnx_stream(session, spec.numpy())
        ctx.record(
            self.name,
            torch_spectrum=check_parity(
                f"PyTorch streamed spectrum on {name}",
                offline,
                stream_spectrum(ctx.model.streaming().eval(), spec),
                bound,
            ),
            onnx_spectrum=check_parity(
                f"streaming ONNX spectrum on {name}", offline, streamed, bound
            ),
            bound=bound,
            frames=spec.shape[2],
        )
