#!/usr/bin/env python3
"""Reproduces UL-UNAS (official DNS3 weights) on the two test sets.

Loads the official checkpoint into our ``ULUNAS`` implementation, enhances
the 30 VoiceBank-DEMAND test pairs and the 150 DNS no-reverb test pairs
whole-utterance (``speechbrain_kd.models.ulunas.enhance``), and scores them
with the project's metric pipeline (PESQ-WB, STOI, SI-SDR; means over
files). The noisy input is scored too. Records the CPU model and flags.

Usage (from the repository root)::

    python benchmarks/reproduce_ulunas.py [--shared_data ../shared/data] \\
        [--output results/bench/ulunas.json] [--window hann] \\
        [--sets voicebank,dns_test_noreverb]

Authors
 * speechbrain-kd contributors 2026
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

# Runs from a checkout without installing the package.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speechbrain_kd.data.audio import read_audio  # noqa: E402
from speechbrain_kd.metrics import pesq_wb, sisdr, stoi  # noqa: E402
from speechbrain_kd.models.ulunas import (  # noqa: E402
    ULUNAS,
    count_ulunas_parameters,
    enhance,
    load_ulunas_checkpoint,
    spectrum_macs_per_second,
)

CHECKPOINT = "ul_unas/model_trained_on_dns3.tar"


def evaluation_pairs(shared_data):
    """Returns ``{test set: [(name, noisy path, clean path)]}``."""
    voicebank = Path(shared_data) / "voicebank"
    dns = Path(shared_data) / "dns_test_noreverb"
    return {
        "voicebank": [
            (p.stem, p, voicebank / "clean_testset_wav_16k" / p.name)
            for p in sorted((voicebank / "noisy_testset_wav_16k").glob("*"))
        ],
        "dns_test_noreverb": [
            (p.stem, p, dns / "clean" / p.name)
            for p in sorted((dns / "noisy").glob("*.flac"))
        ],
    }


def cpu_description():
    """Returns the CPU model name and flags of this machine (Linux)."""
    info = {"model": platform.processor() or platform.machine(), "flags": ""}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and info["flags"] == "":
                info["model"] = value.strip()
            elif key.strip() == "flags":
                info["flags"] = value.strip()
                break
    return info


def score_set(model, pairs, window, label):
    """Enhances and scores pairs; returns per-file rows and the time."""
    rows, seconds, audio = [], 0.0, 0.0
    for name, noisy_path, clean_path in tqdm(pairs, desc=label):
        noisy = read_audio(noisy_path)
        clean = read_audio(clean_path).numpy()
        start = time.perf_counter()
        enhanced = enhance(model, noisy, window=window).numpy()
        seconds += time.perf_counter() - start
        audio += len(noisy) / 16000
        row = {"id": name}
        for prefix, signal in (("", enhanced), ("noisy_", noisy.numpy())):
            row[prefix + "pesq"] = pesq_wb(signal, clean, name=name)
            row[prefix + "stoi"] = stoi(signal, clean, name=name)
            row[prefix + "sisdr"] = sisdr(signal, clean, name=name)
        rows.append(row)
    return rows, seconds / audio


def main(argv=None):
    """Runs the reproduction and writes the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared_data", default="../shared/data")
    parser.add_argument(
        "--shared_models",
        default=None,
        help="folder of the official weights (default: beside shared_data)",
    )
    parser.add_argument("--output", default="results/bench/ulunas.json")
    parser.add_argument(
        "--window", default="hann", choices=("hann", "sqrt_hann")
    )
    parser.add_argument(
        "--sets",
        default="voicebank,dns_test_noreverb",
        help="comma-separated test sets to run",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    models = Path(
        args.shared_models or Path(args.shared_data).parent / "models"
    )
    model = load_ulunas_checkpoint(ULUNAS().eval(), models / CHECKPOINT)

    results = {
        "model": "ULUNAS (official DNS3 weights)",
        "checkpoint": CHECKPOINT,
        "window": args.window,
        "parameters": count_ulunas_parameters(model),
        "macs_per_second": spectrum_macs_per_second(model),
        "cpu": cpu_description(),
        "torch_threads": 1,
        "sets": {},
    }
    for label, pairs in evaluation_pairs(args.shared_data).items():
        if label not in args.sets.split(","):
            continue
        rows, rtf = score_set(model, pairs, args.window, label)
        means = {
            key: sum(row[key] for row in rows) / len(rows)
            for key in rows[0]
            if key != "id"
        }
        results["sets"][label] = {
            "files": len(rows),
            "mean": means,
            "real_time_factor": rtf,
            "per_file": rows,
        }
        print(
            f"{label}: {len(rows)} files, PESQ {means['pesq']:.3f} STOI "
            f"{means['stoi']:.3f} SI-SDR {means['sisdr']:.2f} (noisy "
            f"{means['noisy_pesq']:.3f} / {means['noisy_stoi']:.3f} / "
            f"{means['noisy_sisdr']:.2f}), RTF {rtf:.3f}"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
