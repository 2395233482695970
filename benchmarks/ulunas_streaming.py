#!/usr/bin/env python3
"""Our UL-UNAS streaming graph against the official one, on real audio.

Exports our streaming form (``ULUNASStreaming``, official DNS3 weights) to
ONNX, then on real noisy files (VoiceBank-DEMAND and DNS test sets) runs
our PyTorch model whole-utterance, our PyTorch streaming form, our ONNX
graph and the official ``ulunas_stream.onnx`` frame by frame, and reports
the largest absolute differences of the enhanced spectra. The per-hop time
of the two graphs is measured in ONNX Runtime on one thread, interleaved
hop by hop (official, ours, official, ...), so that both see the same
machine load.

Usage (from the repository root)::

    python benchmarks/ulunas_streaming.py [--shared_data ../shared/data] \\
        [--output results/bench/ulunas_streaming.json] [--files 4]

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from tqdm import tqdm

# Runs from a checkout without installing the package.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.reproduce_ulunas import (  # noqa: E402
    CHECKPOINT,
    cpu_description,
    evaluation_pairs,
)
from speechbrain_kd.data.audio import read_audio  # noqa: E402
from speechbrain_kd.models.ulunas import (  # noqa: E402
    ULUNAS,
    load_ulunas_checkpoint,
)
from speechbrain_kd.models.ulunas_streaming import (  # noqa: E402
    ULUNASStreaming,
    export_ulunas_streaming,
)

OFFICIAL_ONNX = "ul_unas/ulunas_stream.onnx"


def one_thread_session(path):
    """An ONNX Runtime CPU session on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


def spectrum(wav):
    """The ``[1, 257, frames, 2]`` spectrum of UL-UNAS's reference STFT."""
    spec = torch.stft(
        wav, 512, 256, window=torch.hann_window(512), return_complex=True
    )
    return torch.view_as_real(spec).unsqueeze(0)


def interleaved_streams(sessions, spec):
    """Runs several streaming sessions hop by hop, alternating between
    them at every hop; returns their outputs and per-hop times (s)."""
    array = spec.numpy()
    caches = [
        {
            i.name: np.zeros(i.shape, dtype=np.float32)
            for i in session.get_inputs()
            if i.name != "mix"
        }
        for session in sessions
    ]
    outputs = [[] for _ in sessions]
    times = [[] for _ in sessions]
    for t in range(array.shape[2]):
        frame = np.ascontiguousarray(array[:, :, t : t + 1])
        for k, session in enumerate(sessions):
            start = time.perf_counter()
            enhanced, *new = session.run(None, {"mix": frame, **caches[k]})
            times[k].append(time.perf_counter() - start)
            caches[k] = dict(zip(caches[k], new))
            outputs[k].append(enhanced)
    return [np.concatenate(o, axis=2) for o in outputs], times


def torch_stream(stream, spec):
    """Runs our PyTorch streaming form frame by frame."""
    caches = stream.initial_caches()
    frames = []
    with torch.no_grad():
        for t in range(spec.shape[2]):
            frame, *caches = stream(spec[:, :, t : t + 1], *caches)
            frames.append(frame)
    return torch.cat(frames, dim=2).numpy()


def main(argv=None):
    """Runs the comparison and writes the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared_data", default="../shared/data")
    parser.add_argument("--shared_models", default=None)
    parser.add_argument(
        "--output", default="results/bench/ulunas_streaming.json"
    )
    parser.add_argument(
        "--files", type=int, default=4, help="files of each test set"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    models = Path(
        args.shared_models or Path(args.shared_data).parent / "models"
    )
    model = load_ulunas_checkpoint(ULUNAS().eval(), models / CHECKPOINT)
    stream = ULUNASStreaming(model).eval()
    folder = Path(tempfile.mkdtemp())
    export_ulunas_streaming(stream, folder / "ours.onnx")
    sessions = [
        one_thread_session(models / OFFICIAL_ONNX),
        one_thread_session(folder / "ours.onnx"),
    ]

    rows = []
    all_times = [[], []]
    pairs = evaluation_pairs(args.shared_data)
    chosen = [p for ps in pairs.values() for p in ps[: args.files]]
    for name, noisy_path, _ in tqdm(chosen):
        spec = spectrum(read_audio(noisy_path))
        with torch.no_grad():
            whole = model(spec).numpy()
        streamed = torch_stream(stream, spec)
        (official, ours), times = interleaved_streams(sessions, spec)
        for k in range(2):
            all_times[k].extend(times[k][1:])  # the first call warms up
        rows.append(
            {
                "id": name,
                "frames": spec.shape[2],
                "peak_abs_spectrum": float(spec.abs().max()),
                "ours_onnx_vs_official": float(np.abs(ours - official).max()),
                "whole_vs_official": float(np.abs(whole - official).max()),
                "stream_vs_whole": float(np.abs(streamed - whole).max()),
                "ours_onnx_vs_whole": float(np.abs(ours - whole).max()),
            }
        )
    official_ms = 1e3 * float(np.median(all_times[0]))
    ours_ms = 1e3 * float(np.median(all_times[1]))
    keys = [k for k in rows[0] if k.endswith(("official", "whole"))]
    results = {
        "files": len(rows),
        "max_abs_diff": {k: max(row[k] for row in rows) for k in keys},
        "per_hop_ms_median": {"official": official_ms, "ours": ours_ms},
        "per_hop_ms_mean": {
            "official": 1e3 * float(np.mean(all_times[0])),
            "ours": 1e3 * float(np.mean(all_times[1])),
        },
        "ratio_ours_over_official": ours_ms / official_ms,
        "hop_ms": 16.0,
        "onnxruntime": ort.__version__,
        "threads": 1,
        "cpu": cpu_description(),
        "per_file": rows,
    }
    print(json.dumps({k: results[k] for k in list(results)[:5]}, indent=1))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
