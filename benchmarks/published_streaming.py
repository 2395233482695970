#!/usr/bin/env python3
"""Streaming forms of the published models against whole files and the
official streaming graphs.

For each published model (GTCRN, UL-UNAS), on real noisy test files (three
VoiceBank-DEMAND and two DNS-Challenge files), through the model's own
front-end:

1. our PyTorch streaming form (one STFT frame per call, explicit caches)
   against our whole-file model, official checkpoint loaded;
2. the official streaming graph against our whole-file model under each
   official checkpoint, which shows which weights the graph holds;
3. our exported streaming ONNX graph against the official graph, both
   holding the same weights. UL-UNAS's graph holds its checkpoint's
   weights. GTCRN's graph holds weights that are in neither checkpoint, so
   GTCRN is compared with the graph's own weights read into our model by
   ``official_stream_state``;
4. per-hop time of our graph and the official one in ONNX Runtime on one
   thread, alternated call by call in one process, and their ratio.

Usage (from the repository root)::

    python benchmarks/published_streaming.py [--shared_data ../shared/data] \\
        [--shared_models ../shared/models] \\
        [--output results/bench/published_streaming.json] [--repeats 3]

Writes the JSON file and a markdown table beside it (``.md``).

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from common import machine_info, machine_lines

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
from speechbrain_kd.models.ulunas import ULUNAS
from speechbrain_kd.models.ulunas_streaming import (
    ULUNASStreaming,
    export_ulunas_streaming,
)

# Real noisy files: folder of ../shared/data and file names.
FILES = (
    ("voicebank/noisy_testset_wav_16k", "p232_003.wav"),
    ("voicebank/noisy_testset_wav_16k", "p232_013.wav"),
    ("voicebank/noisy_testset_wav_16k", "p257_011.wav"),
    ("dns_test_noreverb/noisy", "no_reverb_fileid_0.flac"),
    ("dns_test_noreverb/noisy", "no_reverb_fileid_101.flac"),
)

# Published models: class, features file, the checkpoint whose streaming
# form is compared with the whole file, all official checkpoints, the
# official graph, how our graph is exported, and where the weights of the
# graph comparison come from (None: the streamed checkpoint).
MODELS = [
    {
        "name": "GTCRN",
        "model": GTCRN,
        "features": "complex_32ms",
        "checkpoint": "gtcrn/model_trained_on_vctk.tar",
        "checkpoints": (
            "gtcrn/model_trained_on_vctk.tar",
            "gtcrn/model_trained_on_dns3.tar",
        ),
        "official_graph": "gtcrn/gtcrn_stream.onnx",
        "streaming": GTCRNStreaming,
        "export": export_streaming_onnx,
        "graph_weights": "official_stream_state",
    },
    {
        "name": "UL-UNAS",
        "model": ULUNAS,
        "features": "complex_hann_32ms",
        "checkpoint": "ul_unas/model_trained_on_dns3.tar",
        "checkpoints": ("ul_unas/model_trained_on_dns3.tar",),
        "official_graph": "ul_unas/ulunas_stream.onnx",
        "streaming": ULUNASStreaming,
        "export": export_ulunas_streaming,
        "graph_weights": None,
    },
]


def interleaved_hop_times(sessions, spec, repeats):
    """Per-hop times of several one-frame graphs, alternated call by call.

    Arguments
    ---------
    sessions : dict
        ``{name: onnxruntime.InferenceSession}``; each graph's first input
        is the frame, the others caches returned after the output.
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
            frame = np.ascontiguousarray(spec[:, :, t : t + 1])
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


def max_abs(pairs):
    """Largest absolute difference over ``(a, b)`` array pairs."""
    return max(
        float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in pairs
    )


def compare_model(entry, specs, shared_models, folder, repeats):
    """Runs the comparisons of one published model.

    Arguments
    ---------
    entry : dict
        An entry of ``MODELS``.
    specs : list of torch.Tensor
        Noisy spectra ``[1, 257, frames, 2]`` of the model's front-end.
    shared_models : pathlib.Path
        The ``shared/models`` folder.
    folder : pathlib.Path
        Where our streaming graph is written.
    repeats : int
        Passes over the first file for the timing.

    Returns
    -------
    dict
    """
    official_graph = shared_models / entry["official_graph"]
    official = onnx_session(official_graph)
    official_out = [run_onnx_stream(official, s.numpy()) for s in specs]

    checkpoint_models = {
        path: load_published(entry["model"](), shared_models / path)
        for path in entry["checkpoints"]
    }
    model = checkpoint_models[entry["checkpoint"]]
    stream = entry["streaming"](model).eval()
    with torch.no_grad():
        whole = [model(s) for s in specs]
        streamed = [stream_spectrum(stream, s) for s in specs]
        graph_vs_checkpoints = {
            path: max_abs(
                (m(s).numpy(), out) for s, out in zip(specs, official_out)
            )
            for path, m in checkpoint_models.items()
        }

    if entry["graph_weights"] == "official_stream_state":
        graph_model = entry["model"]()
        graph_model.load_state_dict(
            official_stream_state(graph_model, official_graph), strict=True
        )
        weights = f"read from {entry['official_graph']}"
    else:
        graph_model = model
        weights = entry["checkpoint"]
    ours_path = folder / f"{entry['name'].lower()}_stream_ours.onnx"
    entry["export"](entry["streaming"](graph_model.eval()).eval(), ours_path)
    ours = onnx_session(ours_path)
    ours_out = [run_onnx_stream(ours, s.numpy()) for s in specs]

    timing = interleaved_hop_times(
        {"ours": ours, "official": official}, specs[0].numpy(), repeats
    )
    return {
        "name": entry["name"],
        "features": entry["features"],
        "peak_abs_spectrum": max(float(s.abs().max()) for s in specs),
        "torch_stream_vs_whole": {
            "checkpoint": entry["checkpoint"],
            "max_abs": max_abs(
                (a.numpy(), b.numpy()) for a, b in zip(streamed, whole)
            ),
        },
        "official_graph_vs_our_whole_model_per_checkpoint": (
            graph_vs_checkpoints
        ),
        "our_onnx_vs_official_onnx": {
            "weights": weights,
            "max_abs": max_abs(zip(ours_out, official_out)),
        },
        "onnx_per_hop_one_thread": timing,
        "per_hop_ratio_ours_over_official": (
            timing["ours"]["median_ms"] / timing["official"]["median_ms"]
        ),
    }


def markdown_table(rows):
    """The comparisons as a markdown table."""
    lines = [
        "| model | PyTorch stream vs whole file | official graph vs our "
        "whole model, per checkpoint | our ONNX vs official ONNX (weights) "
        "| per hop ours / official, median ms | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        stream = row["torch_stream_vs_whole"]
        checkpoints = ", ".join(
            f"{Path(path).stem}: {value:.1e}"
            for path, value in row[
                "official_graph_vs_our_whole_model_per_checkpoint"
            ].items()
        )
        graph = row["our_onnx_vs_official_onnx"]
        timing = row["onnx_per_hop_one_thread"]
        lines.append(
            f"| {row['name']} (`{row['features']}`) "
            f"| {stream['max_abs']:.1e} ({Path(stream['checkpoint']).stem}) "
            f"| {checkpoints} "
            f"| {graph['max_abs']:.1e} ({graph['weights']}) "
            f"| {timing['ours']['median_ms']:.3f} / "
            f"{timing['official']['median_ms']:.3f} "
            f"| {row['per_hop_ratio_ours_over_official']:.2f} |"
        )
    note = (
        "\nLargest absolute differences of the enhanced spectra (the "
        "largest noisy bin is given per model in the JSON file). The "
        "official GTCRN graph holds weights that are in neither official "
        "checkpoint: GTCRN's graph comparison uses the graph's own weights, "
        "read into our model by `official_stream_state`.\n"
    )
    return "\n".join(lines) + "\n" + note


def main(argv=None):
    """Runs the comparisons of every model and writes JSON and markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared_data", default="../shared/data", type=Path)
    parser.add_argument(
        "--shared_models", default="../shared/models", type=Path
    )
    parser.add_argument(
        "--output", default="results/bench/published_streaming.json", type=Path
    )
    parser.add_argument("--repeats", default=3, type=int)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    wavs = [read_audio(args.shared_data / d / name) for d, name in FILES]
    folder = Path(tempfile.mkdtemp())
    rows = []
    for entry in MODELS:
        front_end = load_front_end(entry["features"])
        specs = [front_end.model_input(wav[None]) for wav in wavs]
        rows.append(
            compare_model(
                entry, specs, args.shared_models, folder, args.repeats
            )
        )
        print(json.dumps(rows[-1], indent=2))
    report = {
        "files": ["/".join(f) for f in FILES],
        "models": rows,
        "onnxruntime": onnxruntime.__version__,
        "machine": machine_info(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table(rows) + machine_lines(report["machine"])
    args.output.with_suffix(".md").write_text(table)
    print(table)
    return report


if __name__ == "__main__":
    main()
