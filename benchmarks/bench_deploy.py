#!/usr/bin/env python3
"""Deployment benchmark of the CPU teacher and the students on one thread.

For every model file of ``hparams/models`` (``teacher_full`` only with
``--include_teacher_full``): parameters, MACs per second of audio, ONNX
file size and the real-time factor (processing time / audio duration) of
the mask network with ONE thread, in PyTorch eager, TorchScript and ONNX
Runtime. As in the GTCRN / FastEnhancer protocols, only the mask network
is timed, on precomputed features: the STFT and its inverse run outside.
The audio is the 30 real VoiceBank-DEMAND test files, one utterance per
call; one warm-up pass, then the median of 3 timed passes.

Weights are random unless ``--checkpoint NAME=PATH`` gives trained ones:
size and speed do not depend on weight values.

Usage (from the repository root)::

    python benchmarks/bench_deploy.py --shared_data ../shared/data \\
        [--output results/bench] [--checkpoint student_w16=results/...]

Writes ``deploy.json`` and ``deploy.md`` in the output folder.

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import onnxruntime as ort
import torch
from common import HPARAMS, benchmark_parser

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.export import (
    ONNX_OPSET,
    export_onnx,
    export_torchscript,
    load_model,
    load_student,
    load_torchscript,
    onnx_session,
    real_time_factor,
)
from speechbrain_kd.features import load_front_end
from speechbrain_kd.models import (
    count_parameters,
    macs_per_second,
)
from speechbrain_kd.report import markdown_table

TEACHER = "teacher_cpu"
OPTIONAL = "teacher_full"
RTF_TARGET = 0.02


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
        "One-thread deployment benchmark of the mask networks.",
        "results/bench",
    )
    parser.add_argument("--models_folder", default=str(HPARAMS / "models"))
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        type=name_and_path,
        metavar="NAME=PATH",
        help="trained weights of a model (repeatable); random otherwise",
    )
    parser.add_argument(
        "--include_teacher_full",
        action="store_true",
        help="also time teacher_full (minutes on one thread)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def name_and_path(text):
    """Splits a ``NAME=PATH`` argument.

    Arguments
    ---------
    text : str
        The argument.

    Returns
    -------
    tuple of str
        ``(name, path)``.
    """
    name, sep, path = text.partition("=")
    if not (name and sep and path):
        raise argparse.ArgumentTypeError(
            f"expected NAME=PATH (a model of hparams/models), got {text!r}"
        )
    return name, path


def load_features(noisy_folder, front_end):
    """Features ``[1, time, freq]`` of every wav of a folder, and seconds.

    Arguments
    ---------
    noisy_folder : pathlib.Path
        Folder of real noisy wavs.
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The features' front-end.

    Returns
    -------
    feats : list of torch.Tensor
        One feature tensor per file.
    seconds : float
        Total audio duration.
    """
    files = sorted(noisy_folder.glob("*.wav"))
    if not files:
        raise FileNotFoundError(f"No wav files in {noisy_folder}")
    rate = front_end.sample_rate
    feats, samples = [], 0
    with torch.no_grad():
        for path in files:
            wav = read_audio(path, rate)
            samples += len(wav)
            feats.append(front_end.model_input(wav[None]))
    return feats, samples / rate


def bench_model(model, front_end, feats, seconds, workdir, repeats):
    """Size, compute and one-thread RTFs of one mask network.

    Arguments
    ---------
    model : torch.nn.Module
        The mask network, in ``eval()`` mode.
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The features' front-end.
    feats : list of torch.Tensor
        Features of the benchmark files.
    seconds : float
        Their total duration.
    workdir : pathlib.Path
        Where the TorchScript and ONNX files are written.
    repeats : int
        Timed passes (the median is kept).

    Returns
    -------
    dict
    """
    ts_path, onnx_path = workdir / "model.ts.pt", workdir / "model.onnx"
    export_torchscript(model, feats[0], ts_path)
    export_onnx(model, feats[0], onnx_path)
    scripted = load_torchscript(ts_path)
    session = onnx_session(onnx_path, threads=1)
    arrays = [f.numpy() for f in feats]

    def run_torch(net):
        with torch.inference_mode():
            for f in feats:
                net(f)

    def run_onnx():
        for array in arrays:
            session.run(["mask"], {"feats": array})

    def rtf(run_fn):
        return real_time_factor(run_fn, seconds, warmup=1, repeats=repeats)

    return {
        "params": count_parameters(model),
        "macs_per_s": macs_per_second(
            model,
            frames_per_second=1000.0 / front_end.hop_length,
            front_end=front_end,
        ),
        "rtf_onnx_1thread": rtf(run_onnx),
        "rtf_torch_1thread": rtf(lambda: run_torch(model)),
        "rtf_torchscript_1thread": rtf(lambda: run_torch(scripted)),
        "onnx_bytes": os.path.getsize(onnx_path),
    }


def results_table(models):
    """A markdown table of the results, one row per model.

    Arguments
    ---------
    models : dict
        ``{name: results}`` as in ``deploy.json``.

    Returns
    -------
    str
    """
    header = [
        "model",
        "params",
        "MMAC/s",
        "ONNX bytes",
        "RTF torch",
        "RTF TorchScript",
        "RTF ONNX",
        "weights",
    ]
    rows = [
        [
            name,
            f"{r['params']:,}",
            f"{r['macs_per_s'] / 1e6:.1f}",
            f"{r['onnx_bytes']:,}",
            f"{r['rtf_torch_1thread']:.4f}",
            f"{r['rtf_torchscript_1thread']:.4f}",
            f"{r['rtf_onnx_1thread']:.4f}",
            r["weights"],
        ]
        for name, r in models.items()
    ]
    return markdown_table(header, rows, "lrrrrrrl") + "\n"


def verdict(models):
    """The smallest student's ONNX RTF against the target and the teacher.

    Arguments
    ---------
    models : dict
        ``{name: results}`` as in ``deploy.json``.

    Returns
    -------
    str
    """
    students = {k: v for k, v in models.items() if k.startswith("student")}
    if not students:
        return "No student was benchmarked."
    name = min(students, key=lambda k: students[k]["params"])
    rtf = students[name]["rtf_onnx_1thread"]
    text = (
        f"Smallest student {name}: ONNX RTF {rtf:.4f} on one thread, "
        f"{'within' if rtf <= RTF_TARGET else 'ABOVE'} the target "
        f"{RTF_TARGET}"
    )
    if TEACHER in models:
        teacher = models[TEACHER]["rtf_onnx_1thread"]
        text += f"; {rtf / teacher:.3f} x the {TEACHER} teacher's {teacher:.4f}"
    return text + "."


def main(argv=None):
    """Runs the benchmark; returns the content of ``deploy.json``."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    checkpoints = dict(args.checkpoint)
    model_files = sorted(Path(args.models_folder).glob("*.yaml"))
    if not args.include_teacher_full:
        model_files = [f for f in model_files if f.stem != OPTIONAL]
    unknown = set(checkpoints) - {f.stem for f in model_files}
    if unknown:
        raise ValueError(
            f"--checkpoint names no benchmarked model: {sorted(unknown)}"
        )
    front_end = load_front_end()
    features = front_end.settings
    noisy = Path(args.shared_data) / "voicebank" / "noisy_testset_wav_16k"
    feats, seconds = load_features(noisy, front_end)

    models = {}
    with tempfile.TemporaryDirectory() as workdir:
        for model_file in model_files:
            name = model_file.stem
            if name in checkpoints:
                model = load_student(checkpoints[name], model_file)[0]
                weights = f"trained ({checkpoints[name]})"
            else:
                torch.manual_seed(0)
                model = load_model(model_file).eval()
                weights = "random init"
            if getattr(model, "required_features", None):
                # a published model's own STFT: published_streaming.py
                print(
                    f"{name}: skipped (its own features; see "
                    "benchmarks/published_streaming.py)",
                    flush=True,
                )
                continue
            models[name] = bench_model(
                model, front_end, feats, seconds, Path(workdir), args.repeats
            )
            models[name]["weights"] = weights
            print(f"{name}: {json.dumps(models[name])}", flush=True)

    protocol = {
        "timed": "mask network on precomputed features; STFT and iSTFT "
        "outside the timing (GTCRN / FastEnhancer protocol)",
        "audio": f"{len(feats)} real VoiceBank-DEMAND test files "
        f"({noisy.name}), {seconds:.1f} s in all, one utterance per call",
        "features": f"log1p STFT magnitude, {features['sample_rate']} Hz, "
        f"{features['n_fft']}-point FFT, {features['win_length']} ms Hamming "
        f"window, {features['hop_length']} ms hop, "
        f"{features['n_fft'] // 2 + 1} bins",
        "threads": "1: torch.set_num_threads(1); ONNX Runtime "
        "intra_op_num_threads=1, inter_op_num_threads=1, sequential",
        "timing": f"1 warm-up pass, median of {args.repeats} timed passes "
        "over all files; RTF = processing time / audio duration",
        "runtimes": f"PyTorch eager (inference_mode), TorchScript "
        f"(torch.jit.trace), ONNX Runtime CPU (opset {ONNX_OPSET})",
        "weights": "random init unless a checkpoint is given: size and "
        "speed do not depend on weight values",
        "macs": "convolution and linear multiply-accumulates per second of "
        "audio (models.macs_per_second); attention products not counted",
        "versions": f"torch {torch.__version__}, onnxruntime {ort.__version__}",
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
    }
    results = {"protocol": protocol, "models": models}
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    with open(output / "deploy.json", "w", encoding="utf-8") as fout:
        json.dump(results, fout, indent=2)
    table = results_table(models)
    summary = verdict(models)
    (output / "deploy.md").write_text(
        "# Deployment benchmark (one CPU thread)\n\n"
        + "".join(f"- {key}: {value}\n" for key, value in protocol.items())
        + "\n"
        + table
        + "\n"
        + summary
        + "\n",
        encoding="utf-8",
    )
    print(table)
    print(summary)
    return results


if __name__ == "__main__":
    main()
