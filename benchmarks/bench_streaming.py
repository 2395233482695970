#!/usr/bin/env python3
"""Streaming benchmark of the causal students, one CPU thread.

For every causal student of ``hparams/models/causal`` and every feature
configuration of ``hparams/features`` (16 ms / 8 ms, the hearing-aid
8 ms / 4 ms, and the original 32 ms / 16 ms): the streaming ONNX graph
(``speechbrain_kd.streaming``, BatchNorm folded) is run in ONNX Runtime on
one thread, one hop per call, over the features of real VoiceBank-DEMAND
test files: per-hop latency (median and 99th percentile), network RTF
(time / audio), algorithmic latency (window + look-ahead), parameters,
MACs per second and model bytes. For the 25 k student the whole
``enhance_onnx.py --stream`` pipeline (numpy STFT, ONNX, overlap-add) is
timed too.

It also writes a causal student's complete export folder (trained
weights with ``--export_checkpoint``, random ones otherwise) to
``<output>/stream_export/``, and, for ``--quality`` entries, scores
causal and non-causal checkpoints on both test sets (30 VoiceBank-DEMAND
pairs, 150 DNS no-reverb pairs): PESQ-WB, STOI, SI-SDR.

Usage (from the repository root)::

    python benchmarks/bench_streaming.py --shared_data ../shared/data \\
        [--output results/bench] [--export_checkpoint PATH] \\
        [--quality LABEL:MODEL_FILE:CHECKPOINT:FEATURES_FILE ...] \\
        [--quality_only]

Writes ``streaming.json`` and ``streaming.md`` in the output folder
(``streaming_quality.json`` alone with ``--quality_only``).

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from common import HPARAMS, benchmark_parser

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.export import (
    export_streaming_onnx,
    export_student,
    load_model,
    load_student,
    lookahead_frames,
    onnx_session,
    stft_metadata,
)
from speechbrain_kd.export.onnx_offline import load_script
from speechbrain_kd.features import load_front_end
from speechbrain_kd.metrics import pesq_wb, sisdr, stoi
from speechbrain_kd.models import (
    count_parameters,
    macs_per_second,
)
from speechbrain_kd.report import markdown_table
from speechbrain_kd.streaming import StreamingMaskUNet

FEATURES = ("stft_16ms", "stft_8ms", "stft_32ms")
EXPORTED = "student_w16"  # the causal student of stream_export/
TARGET_MS_PER_8MS_HOP = 0.05


def parse_args(argv=None):
    """Parses the command line.

    Arguments
    ---------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    argparse.Namespace
    """
    parser = benchmark_parser(
        "One-thread streaming benchmark of causal students.", "results/bench"
    )
    parser.add_argument(
        "--export_checkpoint",
        help="trained weights of causal student_w16 (random otherwise)",
    )
    parser.add_argument(
        "--export_features",
        default="stft_16ms",
        help="the features file of hparams/features it was trained on",
    )
    parser.add_argument(
        "--quality",
        action="append",
        default=[],
        metavar="LABEL:MODEL_FILE:CHECKPOINT:FEATURES_FILE",
        help="a checkpoint to score on both test sets (repeatable)",
    )
    parser.add_argument(
        "--quality_only",
        action="store_true",
        help="only score the --quality checkpoints (streaming_quality.json)",
    )
    parser.add_argument(
        "--frames", type=int, default=3000, help="timed hops per model"
    )
    return parser.parse_args(argv)


def frame_times(session, feats, warmup=200):
    """Seconds of each ``session.run`` of a streaming graph, one hop each,
    with numpy inputs and outputs.

    Arguments
    ---------
    session : onnxruntime.InferenceSession
        A streaming graph.
    feats : numpy.ndarray
        Features ``[1, time, freq]``.
    warmup : int
        Untimed hops first.

    Returns
    -------
    times : numpy.ndarray
        Seconds per timed hop.
    masks : numpy.ndarray
        The masks ``[1, time, freq]``.
    """
    caches = {
        i.name: np.zeros(i.shape, dtype=np.float32)
        for i in session.get_inputs()
        if i.name != "frame"
    }
    times, masks = [], []
    for t in range(feats.shape[1]):
        frame = feats[:, t : t + 1]
        start = time.perf_counter()
        mask, *outputs = session.run(None, {"frame": frame, **caches})
        times.append(time.perf_counter() - start)
        caches = dict(zip(caches, outputs))
        masks.append(mask)
    return np.array(times[warmup:]), np.concatenate(masks, axis=1)


def bound_frame_times(session, feats, warmup=200):
    """Like :func:`frame_times` with ONNX Runtime I/O binding, as a
    device would run it: the frame is copied into a bound input buffer,
    and two sets of cache buffers swap roles at every hop (no allocation
    per call).

    Arguments
    ---------
    session : onnxruntime.InferenceSession
        A streaming graph.
    feats : numpy.ndarray
        Features ``[1, time, freq]``.
    warmup : int
        Untimed hops first.

    Returns
    -------
    times : numpy.ndarray
        Seconds per timed hop (copy of the frame included).
    masks : numpy.ndarray
        The masks ``[1, time, freq]``.
    """
    inputs = {i.name: i.shape for i in session.get_inputs()}
    frame = np.zeros(inputs.pop("frame"), dtype=np.float32)
    mask = np.zeros_like(frame)
    buffers = [
        {k: np.zeros(shape, dtype=np.float32) for k, shape in inputs.items()}
        for _ in range(2)
    ]
    bindings = []
    for source, target in ((0, 1), (1, 0)):
        binding = session.io_binding()
        binding.bind_cpu_input("frame", frame)
        binding.bind_output(
            "mask", "cpu", 0, np.float32, mask.shape, mask.ctypes.data
        )
        for name, array in buffers[source].items():
            binding.bind_cpu_input(name, array)
            out = buffers[target][name]
            binding.bind_output(
                f"{name}_out", "cpu", 0, np.float32, out.shape, out.ctypes.data
            )
        bindings.append(binding)
    times, masks = [], []
    for t in range(feats.shape[1]):
        start = time.perf_counter()
        np.copyto(frame, feats[:, t : t + 1])
        session.run_with_iobinding(bindings[t % 2])
        times.append(time.perf_counter() - start)
        masks.append(mask.copy())
    return np.array(times[warmup:]), np.concatenate(masks, axis=1)


def bench_stream(model, front_end, wavs, n_frames, workdir):
    """Latency, speed, size and compute of one causal student.

    Arguments
    ---------
    model : torch.nn.Module
        A causal MaskUNet, in eval mode.
    front_end : speechbrain_kd.features.SpectralFrontEnd
        Its features.
    wavs : list of torch.Tensor
        Real noisy waveforms.
    n_frames : int
        Timed hops (after 200 warm-up hops).
    workdir : pathlib.Path
        Where the ONNX file is written.

    Returns
    -------
    dict
    """
    n_freq, hop_ms = front_end.n_freq, front_end.hop_length
    feats = torch.cat([front_end.model_input(w[None]) for w in wavs], 1)
    feats = feats[:, : n_frames + 200].numpy()
    path = workdir / "stream.onnx"
    export_streaming_onnx(
        StreamingMaskUNet(model, n_freq),
        path,
        metadata=stft_metadata(front_end),
    )
    session = onnx_session(path, threads=1)
    times, masks = frame_times(session, feats)
    bound, bound_masks = bound_frame_times(session, feats)
    if not np.allclose(masks, bound_masks, atol=1e-6, rtol=0):
        raise RuntimeError("I/O binding changed the streamed masks")
    times, bound = times * 1e3, bound * 1e3
    lookahead = lookahead_frames(model, n_freq)
    return {
        "hop_ms": hop_ms,
        "window_ms": front_end.win_length,
        "algorithmic_latency_ms": front_end.latency_ms(lookahead),
        "params": count_parameters(model),
        "macs_per_s": macs_per_second(model, n_freq, 1000.0 / hop_ms),
        "onnx_bytes": os.path.getsize(path),
        "hops_timed": len(times),
        "ms_per_hop_median": float(np.median(times)),
        "ms_per_hop_p99": float(np.percentile(times, 99)),
        "rtf_network": float(times.sum() / (len(times) * hop_ms)),
        "bound_ms_per_hop_median": float(np.median(bound)),
        "bound_ms_per_hop_p99": float(np.percentile(bound, 99)),
        "bound_rtf_network": float(bound.sum() / (len(bound) * hop_ms)),
    }


def pipeline_rtf(folder, wav, sample_rate, repeats=3):
    """RTF of ``enhance_onnx.py --stream`` (numpy STFT, ONNX on one
    thread, overlap-add) on one file: median of ``repeats`` runs.

    Arguments
    ---------
    folder : pathlib.Path
        An export folder with a streaming graph.
    wav : torch.Tensor
        A real noisy waveform.
    sample_rate : int
        Its sample rate.
    repeats : int
        Timed runs.

    Returns
    -------
    float
    """
    script = load_script(folder)
    session = onnx_session(folder / "enhance_model.stream.onnx", threads=1)
    signal = wav.numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        script["enhance_stream"](signal, session)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / (len(signal) / sample_rate)


def write_export(checkpoint, features, output, example, parity):
    """Exports causal student_w16 to ``output``.

    Arguments
    ---------
    checkpoint : str or None
        Trained weights; random (seeded) ones when None.
    features : str
        Its features file (of ``hparams/features``).
    output : pathlib.Path
        The folder to (re)write.
    example : pathlib.Path
        A real noisy wav.
    parity : list of pathlib.Path
        More real wavs for the checks.

    Returns
    -------
    dict
        The export report.
    """
    model_file = HPARAMS / "models" / "causal" / f"{EXPORTED}.yaml"
    training = None
    with tempfile.TemporaryDirectory() as tmp:
        if checkpoint is None:
            training = "none: random weights (benchmark folder)"
            torch.manual_seed(0)
            checkpoint = Path(tmp) / "random.ckpt"
            torch.save(load_model(model_file).state_dict(), checkpoint)
        return export_student(
            checkpoint,
            model_file,
            output,
            example,
            parity_wavs=parity,
            streaming=True,
            overwrite=True,
            card_info={
                "title": "speechbrain-kd causal student_w16",
                "training_data": training,
            },
            front_end=load_front_end(features),
        )


def test_pairs(shared_data):
    """The two test sets: ``{name: [(noisy, clean), ...]}``."""
    voicebank = Path(shared_data) / "voicebank"
    dns = Path(shared_data) / "dns_test_noreverb"
    return {
        "voicebank_30": [
            (p, voicebank / "clean_testset_wav_16k" / p.name)
            for p in sorted((voicebank / "noisy_testset_wav_16k").glob("*"))
        ],
        "dns_noreverb_150": [
            (p, dns / "clean" / p.name)
            for p in sorted((dns / "noisy").glob("*.flac"))
        ],
    }


def score_checkpoint(entry, pairs):
    """Mean PESQ-WB, STOI and SI-SDR of a checkpoint on each test set.

    Arguments
    ---------
    entry : str
        ``LABEL:MODEL_FILE:CHECKPOINT:FEATURES_FILE``.
    pairs : dict
        As returned by :func:`test_pairs`.

    Returns
    -------
    tuple
        ``(label, {test set: {metric: mean, "n": count}})``.
    """
    label, model_file, checkpoint, features = entry.split(":")
    model = load_student(checkpoint, model_file)[0]
    front_end = load_front_end(features)
    results = {"checkpoint": checkpoint, "model_file": model_file}
    results["causal"] = lookahead_frames(model, front_end=front_end) == 0
    for name, files in pairs.items():
        rows = []
        for noisy, clean in files:
            wav = front_end.enhance(model, read_audio(noisy)).numpy()
            ref = read_audio(clean).numpy()
            rows.append(
                (
                    pesq_wb(wav, ref, name=noisy.name),
                    stoi(wav, ref),
                    sisdr(wav, ref, name=noisy.name),
                )
            )
        means = np.nanmean(np.array(rows), axis=0)
        results[name] = {
            "pesq": float(means[0]),
            "stoi": float(means[1]),
            "sisdr": float(means[2]),
            "n": len(rows),
        }
    return label, results


def markdown(results):
    """The markdown tables of ``streaming.json``.

    Arguments
    ---------
    results : dict
        The benchmark results.

    Returns
    -------
    str
    """
    header = [
        "student",
        "features",
        "alg. latency ms",
        "params",
        "MMAC/s",
        "ONNX bytes",
        "ms/hop median (p99)",
        "RTF",
        "bound: ms/hop median (p99)",
        "bound: RTF",
    ]
    rows = []
    for key, r in results["streams"].items():
        student, features = key.split("@")
        rows.append(
            [
                student,
                f"{r['window_ms']:g}/{r['hop_ms']:g} ms",
                f"{r['algorithmic_latency_ms']:g}",
                f"{r['params']:,}",
                f"{r['macs_per_s'] / 1e6:.1f}",
                f"{r['onnx_bytes']:,}",
                f"{r['ms_per_hop_median']:.4f} ({r['ms_per_hop_p99']:.3f})",
                f"{r['rtf_network']:.4f}",
                f"{r['bound_ms_per_hop_median']:.4f} "
                f"({r['bound_ms_per_hop_p99']:.3f})",
                f"{r['bound_rtf_network']:.4f}",
            ]
        )
    text = markdown_table(header, rows, "llrrrrrrrr") + "\n"
    if results["quality"]:
        header = [
            "checkpoint",
            "causal",
            "VoiceBank 30 PESQ / STOI / SI-SDR",
            "DNS 150 PESQ / STOI / SI-SDR",
        ]
        rows = [
            [
                label,
                q["causal"],
                *(
                    f"{q[s]['pesq']:.3f} / {q[s]['stoi']:.3f} / "
                    f"{q[s]['sisdr']:.2f}"
                    for s in ("voicebank_30", "dns_noreverb_150")
                ),
            ]
            for label, q in results["quality"].items()
        ]
        text += "\n" + markdown_table(header, rows) + "\n"
    else:
        text += "\nNo --quality checkpoints were given.\n"
    return text


def main(argv=None):
    """Runs the benchmark; returns the content of ``streaming.json``."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    if args.quality_only:
        quality = dict(
            score_checkpoint(entry, test_pairs(args.shared_data))
            for entry in args.quality
        )
        with open(output / "streaming_quality.json", "w") as fout:
            json.dump(quality, fout, indent=2)
        print(markdown({"streams": {}, "quality": quality}))
        return quality
    noisy = Path(args.shared_data) / "voicebank" / "noisy_testset_wav_16k"
    files = sorted(noisy.glob("*.wav"))
    wavs = [read_audio(path) for path in files[:10]]
    streams = {}
    with tempfile.TemporaryDirectory() as workdir:
        for model_file in sorted((HPARAMS / "models" / "causal").glob("*")):
            torch.manual_seed(0)
            model = load_model(model_file).eval()
            for features in FEATURES:
                key = f"{model_file.stem}@{features}"
                streams[key] = bench_stream(
                    model,
                    load_front_end(features),
                    wavs,
                    args.frames,
                    Path(workdir),
                )
                print(f"{key}: {json.dumps(streams[key])}", flush=True)
    export = write_export(
        args.export_checkpoint,
        args.export_features,
        output / "stream_export",
        files[0],
        files[1:3],
    )
    exported = {
        "folder": export["folder"],
        "weights": args.export_checkpoint or "random init (seed 0)",
        "latency_ms": export["latency_ms"],
        "parity": export["parity"],
        "pipeline_rtf_1thread": pipeline_rtf(
            Path(export["folder"]), wavs[0], export["stft"]["sample_rate"]
        ),
    }
    quality = dict(
        score_checkpoint(entry, test_pairs(args.shared_data))
        for entry in args.quality
    )
    results = {
        "protocol": {
            "timed": "streaming ONNX graph, one hop per call, caches fed "
            "back; STFT outside (network only); 200 warm-up hops; plain "
            "session.run with numpy arrays, and with I/O binding (bound "
            "buffers, cache buffers swapped at each hop, frame copy timed)",
            "audio": f"features of {len(wavs)} real VoiceBank-DEMAND test "
            f"files ({noisy.name}), {args.frames} timed hops per model",
            "threads": "1 (intra_op_num_threads=1, inter_op_num_threads=1, "
            "sequential); torch.set_num_threads(1)",
            "rtf": "sum of hop times / (hops x hop length)",
            "latency": "algorithmic: STFT window + look-ahead x hop",
            "weights": "random init (speed does not depend on values)",
            "target": f"{TARGET_MS_PER_8MS_HOP} ms per 8 ms hop (RTF 0.006) "
            "for the 25 k student",
            "versions": f"torch {torch.__version__}, onnxruntime "
            f"{ort.__version__}",
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        },
        "streams": streams,
        "stream_export": exported,
        "quality": quality,
    }
    with open(output / "streaming.json", "w", encoding="utf-8") as fout:
        json.dump(results, fout, indent=2)
    table = markdown(results)
    (output / "streaming.md").write_text(
        "# Streaming benchmark (one CPU thread)\n\n"
        + "".join(f"- {k}: {v}\n" for k, v in results["protocol"].items())
        + "\n"
        + table,
        encoding="utf-8",
    )
    print(table)
    print(
        f"stream_export: {exported['folder']}, pipeline RTF "
        f"{exported['pipeline_rtf_1thread']:.4f}"
    )
    return results


if __name__ == "__main__":
    main()
