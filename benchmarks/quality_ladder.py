#!/usr/bin/env python3
"""The quality ladder: test scores of finished runs against training time.

Collects every finished training run under the given folders (a run folder
holds ``train_log.txt``, ``test_summary.json`` and the ``hyperparams.yaml``
SpeechBrain saved), reads its steps and training minutes from the log, its
model's parameter count, and its scores on the VoiceBank-DEMAND pairs
(``test_summary.json``) and, where it was scored there, on the DNS pairs
(``test_dns_summary.json``). Writes ``results/quality/ladder.json``, a
markdown table, and two plots: PESQ against training minutes, and PESQ
against parameters with the peers of ``shared/docs/anchors.md`` as
reference lines.

Usage::

    python benchmarks/quality_ladder.py results/quality results/demo \\
        results/losses --output docs

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import re

from common import HPARAMS, benchmark_parser

from speechbrain_kd.report import markdown_table, new_figure

# Peers measured on the same 30 VoiceBank-DEMAND pairs and 150 DNS pairs
# (../shared/docs/anchors.md): PESQ-WB, parameters.
PEERS = {
    "noisy input": {"voicebank": 1.787, "dns": 1.582, "params": None},
    "RNNoise 0.2": {"voicebank": 2.065, "dns": None, "params": 2.9e6},
    "GTCRN (DNS3 weights)": {"voicebank": 2.389, "dns": 2.253, "params": 48e3},
    "GTCRN (VoiceBank weights)": {
        "voicebank": 2.612,
        "dns": 1.697,
        "params": 48e3,
    },
}


def read_run(folder):
    """Steps, minutes, model, parameters and test scores of one run."""
    with open(os.path.join(folder, "train_log.txt"), encoding="utf-8") as fin:
        epochs = [line for line in fin if line.startswith("epoch:")]
    last = epochs[-1]

    def field(name):
        if f"{name}: " not in last:
            return None
        return float(last.split(f"{name}: ")[1].split(" ")[0].rstrip(","))

    with open(os.path.join(folder, "hyperparams.yaml"), encoding="utf-8") as f:
        hparams = f.read()
    model = _model_name(hparams)
    scores = {}
    for test_set, name in (("voicebank", "test"), ("dns", "test_dns")):
        path = os.path.join(folder, f"{name}_summary.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fin:
                summary = json.load(fin)
            scores[test_set] = {
                m: round(summary[m]["mean"], 3)
                for m in ("pesq", "stoi", "sisdr")
            }
    return {
        "run": os.path.relpath(folder),
        "model": model,
        "params": _parameters(model),
        "steps": field("train steps"),
        "minutes": field("train train_minutes"),
        "epochs": len(epochs),
        **scores,
    }


def _model_name(hparams):
    """The file of ``hparams/models`` whose options the run's model has."""
    found = re.search(
        r"^(?:model|student): (?:&\w+ )?(!new:\S+)\n\n?((?:  +\S.*\n)+)",
        hparams,
        re.MULTILINE,
    )
    options = {line.strip().lower() for line in found.group(2).splitlines()}
    models = HPARAMS / "models"
    for path in sorted(os.listdir(models)):
        if not path.endswith(".yaml"):
            continue
        with open(os.path.join(models, path)) as fin:
            lines = [line for line in fin if not line.startswith("#")]
        if found.group(1) in lines[0] and options == {
            line.strip().lower() for line in lines[1:] if line.strip()
        }:
            return path[: -len(".yaml")]
    raise ValueError(f"No file of hparams/models matches {found.group(0)}")


def _parameters(model):
    """Parameter count of a model file of ``hparams/models``."""
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_kd.models import count_parameters

    text = f"m: !include:{HPARAMS}/models/{model}.yaml\n"
    return count_parameters(load_hyperpyyaml(text)["m"])


def find_runs(folders):
    """Run folders (with ``test_summary.json``) under the given folders."""
    runs = []
    for top in folders:
        for root, _, files in os.walk(top):
            if "test_summary.json" in files and "train_log.txt" in files:
                runs.append(root)
    return sorted(runs)


def markdown(rows_of_runs):
    """The ladder as a markdown table."""
    header = ["run", "model", "params", "steps", "train min"] + [
        f"{corpus} {metric}"
        for corpus in ("VB", "DNS")
        for metric in ("PESQ", "STOI", "SI-SDR")
    ]
    rows = []
    for r in rows_of_runs:
        vb, dns = r.get("voicebank", {}), r.get("dns", {})
        rows.append(
            [
                f"`{r['run']}`",
                r["model"],
                f"{r['params'] / 1000:.1f} k",
                "-" if r["steps"] is None else f"{r['steps']:.0f}",
                "-" if r["minutes"] is None else f"{r['minutes']:.1f}",
                *(_cell(vb, m) for m in ("pesq", "stoi", "sisdr")),
                *(_cell(dns, m) for m in ("pesq", "stoi", "sisdr")),
            ]
        )
    return markdown_table(header, rows)


def _cell(scores, metric):
    return f"{scores[metric]:.3f}" if metric in scores else "-"


def plot(rows, folder):
    """PESQ vs training minutes, and PESQ vs parameters with the peers."""
    paths = []
    figure = new_figure(figsize=(6, 4))
    axis = figure.add_subplot()
    # each run is its own point (runs of one model differ in method,
    # loss or budget: no line joins them), named in the legend
    for index, model in enumerate(sorted({r["model"] for r in rows})):
        runs = [r for r in rows if r["model"] == model and r["minutes"]]
        for number, r in enumerate(runs):
            axis.plot(
                r["minutes"],
                r["voicebank"]["pesq"],
                "osD^v"[number % 5],
                color=f"C{index}",
                label=f"{model}: {os.path.basename(r['run'])}",
            )
    _peer_lines(axis)
    axis.set_xlabel("training minutes (wall clock, this CPU)")
    axis.set_ylabel("PESQ-WB, 30 VoiceBank-DEMAND pairs")
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    paths.append(os.path.join(folder, "quality_pesq_vs_minutes.png"))
    figure.savefig(paths[-1], dpi=120)

    figure = new_figure(figsize=(6, 4))
    axis = figure.add_subplot()
    best = {}
    for r in rows:
        key = r["model"]
        if key not in best or r["voicebank"]["pesq"] > best[key][1]:
            best[key] = (r["params"], r["voicebank"]["pesq"])
    for model, (params, pesq) in best.items():
        axis.scatter(params, pesq)
        axis.annotate(model, (params, pesq), fontsize=7)
    for name, peer in PEERS.items():
        if peer["params"] is not None:
            axis.scatter(peer["params"], peer["voicebank"], marker="x", c="k")
            axis.annotate(name, (peer["params"], peer["voicebank"]), fontsize=7)
    _peer_lines(axis, only_unsized=True)
    axis.set_xscale("log")
    axis.set_xlabel("parameters")
    axis.set_ylabel("best PESQ-WB, 30 VoiceBank-DEMAND pairs")
    figure.tight_layout()
    paths.append(os.path.join(folder, "quality_pesq_vs_params.png"))
    figure.savefig(paths[-1], dpi=120)
    return paths


def _peer_lines(axis, only_unsized=False):
    """A dotted line per peer (only those without a size), named at the
    right edge."""
    for name, peer in PEERS.items():
        if only_unsized and peer["params"] is not None:
            continue
        axis.axhline(peer["voicebank"], ls=":", lw=1, color="grey")
        axis.text(
            0.99,
            peer["voicebank"],
            name,
            transform=axis.get_yaxis_transform(),
            fontsize=7,
            ha="right",
            va="bottom",
            color="dimgrey",
        )


def main(argv=None):
    """Collects the runs, writes the JSON, table and plots."""
    parser = benchmark_parser(
        __doc__.split("\n")[0], "results/quality", shared_data=False
    )
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args(argv)
    rows = [read_run(folder) for folder in find_runs(args.folders)]
    if not rows:
        parser.error(f"no finished run (test_summary.json) in {args.folders}")
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "ladder.json"), "w") as fout:
        json.dump(rows, fout, indent=2)
    table = markdown(rows)
    with open(os.path.join(args.output, "ladder.md"), "w") as fout:
        fout.write(table + "\n")
    print(table)
    for path in plot(rows, args.output):
        print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
