#!/usr/bin/env python3
"""Streaming GTCRN: parity with the whole-file model and the official graph.

On real VoiceBank-DEMAND test files (the complex spectrum of a 512-point
sqrt-Hann STFT, hop 256):

1. our PyTorch streaming form (one frame per call, explicit caches) against
   our whole-file model, VoiceBank-DEMAND weights;
2. our exported streaming ONNX graph against the official
   ``gtcrn_stream.onnx``, both holding the official graph's weights (read
   into our model by ``official_stream_state``); the official graph is
   also compared with our model under each official checkpoint, to show
   which weights it holds;
3. per-hop time of the two ONNX graphs in ONNX Runtime on one thread,
   interleaved call by call in one process.

Usage (from the repository root)::

    python benchmarks/gtcrn_streaming.py [--shared_data ../shared/data] \\
        [--shared_models ../shared/models] \\
        [--output results/bench/gtcrn_streaming.json]

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from reproduce_published import machine_info

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.features import load_front_end
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.gtcrn_streaming import (
    GTCRNStreaming,
    export_streaming_onnx,
    official_stream_state,
    onnx_session,
    run_onnx_stream,
    stream_spectrum,
)
from speechbrain_kd.models.published import load_published

FILES = ("p232_003.wav", "p232_013.wav", "p257_011.wav")


def interleaved_hop_times(sessions, spec, repeats):
    """Per-hop times of several one-frame graphs, alternated call by call.

    Arguments
    ---------
    sessions : dict
        ``{name: onnxruntime.InferenceSession}``.
    spec : numpy.ndarray
        ``[1, 257, frames, 2]``.
    repeats : int
        Passes over the frames.

    Returns
    -------
    dict
        ``{name: {"median_ms": float, "p99_ms": float}}``.
    """
    feeds = {}
    for name, session in sessions.items():
        frame_input, *cache_inputs = session.get_inputs()
        caches = {
            i.name: np.zeros(i.shape, dtype=np.float32) for i in cache_inputs
        }
        feeds[name] = (frame_input.name, caches)
    times = {name: [] for name in sessions}
    order = list(sessions)
    for _ in range(repeats):
        for t in range(spec.shape[2]):
            frame = spec[:, :, t : t + 1]
            order.reverse()  # neither graph always runs first
            for name in order:
                frame_name, caches = feeds[name]
                start = time.perf_counter()
                _, *new_caches = sessions[name].run(
                    None, {frame_name: frame, **caches}
                )
                times[name].append(time.perf_counter() - start)
                feeds[name] = (frame_name, dict(zip(caches, new_caches)))
    return {
        name: {
            "median_ms": 1e3 * float(np.median(values)),
            "p99_ms": 1e3 * float(np.percentile(values, 99)),
        }
        for name, values in times.items()
    }


def main(argv=None):
    """Runs the three comparisons and writes the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared_data", default="../shared/data", type=Path)
    parser.add_argument(
        "--shared_models", default="../shared/models", type=Path
    )
    parser.add_argument(
        "--output", default="results/bench/gtcrn_streaming.json", type=Path
    )
    parser.add_argument("--repeats", default=3, type=int)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    noisy = args.shared_data / "voicebank" / "noisy_testset_wav_16k"
    front_end = load_front_end("complex_32ms")
    specs = [
        front_end.model_input(read_audio(noisy / name)[None]) for name in FILES
    ]
    official_graph = args.shared_models / "gtcrn" / "gtcrn_stream.onnx"
    official = onnx_session(official_graph)

    vctk = load_published(
        GTCRN(), args.shared_models / "gtcrn" / "model_trained_on_vctk.tar"
    )
    stream = GTCRNStreaming(vctk)
    streaming_diff = 0.0
    with torch.no_grad():
        for spec in specs:
            whole = vctk(spec)
            frames = stream_spectrum(stream, spec)
            streaming_diff = max(streaming_diff, (whole - frames).abs().max())

    graph_vs_checkpoints = {}
    for label in ("vctk", "dns3"):
        model = load_published(
            GTCRN(),
            args.shared_models / "gtcrn" / f"model_trained_on_{label}.tar",
        )
        with torch.no_grad():
            ours = model(specs[0]).numpy()
        theirs = run_onnx_stream(official, specs[0].numpy())
        graph_vs_checkpoints[label] = float(np.abs(ours - theirs).max())

    from_graph = GTCRN()
    from_graph.load_state_dict(
        official_stream_state(from_graph, official_graph), strict=True
    )
    ours_graph = Path(tempfile.mkdtemp()) / "gtcrn_stream_ours.onnx"
    export_streaming_onnx(GTCRNStreaming(from_graph.eval()), ours_graph)
    ours = onnx_session(ours_graph)
    onnx_diff = 0.0
    for spec in specs:
        a = run_onnx_stream(ours, spec.numpy())
        b = run_onnx_stream(official, spec.numpy())
        onnx_diff = max(onnx_diff, float(np.abs(a - b).max()))

    timing = interleaved_hop_times(
        {"ours": ours, "official": official}, specs[0].numpy(), args.repeats
    )
    report = {
        "files": list(FILES),
        "torch_streaming_vs_whole_max_abs": float(streaming_diff),
        "our_onnx_vs_official_onnx_max_abs": onnx_diff,
        "official_onnx_vs_our_model_with_checkpoint_max_abs": (
            graph_vs_checkpoints
        ),
        "onnx_per_hop_one_thread": timing,
        "per_hop_ratio_ours_over_official": (
            timing["ours"]["median_ms"] / timing["official"]["median_ms"]
        ),
        "machine": machine_info(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    printed = {k: v for k, v in report.items() if k != "machine"}
    print(json.dumps(printed, indent=2))
    return report


if __name__ == "__main__":
    main()
