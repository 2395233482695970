"""Markdown/JSON reports of test metrics per system, with a plot.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from speechbrain_kd.metrics import METRICS  # noqa: E402


def mean_table(summaries):
    """Reduces ``{system: {metric: {"mean", "std", "n"}}}`` to means.

    Arguments
    ---------
    summaries : dict
        Per system, the summary of ``speechbrain_kd.metrics.summarize``.

    Returns
    -------
    dict
        ``{system: {metric: mean}}``.

    Example
    -------
    >>> mean_table({"noisy": {"pesq": {"mean": 1.5, "std": 0.1, "n": 3}}})
    {'noisy': {'pesq': 1.5}}
    """
    return {
        system: {m: s[m]["mean"] for m in METRICS if m in s}
        for system, s in summaries.items()
    }


def markdown_table(summaries):
    """Returns a markdown table of mean ± std per system and metric.

    Arguments
    ---------
    summaries : dict
        ``{system: {metric: {"mean", "std", "n"}}}``.

    Returns
    -------
    str

    Example
    -------
    >>> print(markdown_table({"noisy": {"pesq": {"mean": 1.5, "std": 0.1,
    ...                                         "n": 3}}}))
    | system | PESQ | n |
    |---|---|---|
    | noisy | 1.50 ± 0.10 | 3 |
    """
    metrics = [m for m in METRICS if any(m in s for s in summaries.values())]
    lines = [
        "| system | "
        + " | ".join(m.upper().replace("SISDR", "SI-SDR") for m in metrics)
        + " | n |",
        "|---" * (len(metrics) + 2) + "|",
    ]
    for system, s in summaries.items():
        cells = [f"{s[m]['mean']:.2f} ± {s[m]['std']:.2f}" for m in metrics]
        n = max(s[m]["n"] for m in metrics)
        lines.append(f"| {system} | " + " | ".join(cells) + f" | {n} |")
    return "\n".join(lines)


def plot_systems(summaries, path, metrics=("pesq", "stoi", "sisdr")):
    """Bar chart of mean ± std per system for a few metrics.

    Arguments
    ---------
    summaries : dict
        ``{system: {metric: {"mean", "std", "n"}}}``.
    path : str
        PNG file to write.
    metrics : tuple of str
        Metrics to plot, one panel each.
    """
    systems = list(summaries)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5))
    for ax, metric in zip(axes, metrics):
        means = [summaries[s][metric]["mean"] for s in systems]
        stds = [summaries[s][metric]["std"] for s in systems]
        ax.bar(
            range(len(systems)),
            means,
            yerr=stds,
            capsize=4,
            color=plt.cm.tab10.colors[: len(systems)],
        )
        ax.set_xticks(range(len(systems)), systems, rotation=30, ha="right")
        ax.set_title(metric.upper().replace("SISDR", "SI-SDR (dB)"))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(summaries, folder, command, details=None):
    """Writes ``summary.json``, ``summary_full.json``, ``report.md`` and
    ``report.png`` into ``folder``.

    Arguments
    ---------
    summaries : dict
        ``{system: {metric: {"mean", "std", "n"}}}``; a system named
        ``student_alone`` is the baseline of the gains reported for the
        other ``student_*`` systems.
    folder : str
        Output folder.
    command : str
        The command that produced the numbers (printed in the report).
    details : dict, optional
        Settings shown in the report.

    Returns
    -------
    str
        Path of ``report.md``.
    """
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "summary.json"), "w") as fout:
        json.dump(mean_table(summaries), fout, indent=2)
    with open(os.path.join(folder, "summary_full.json"), "w") as fout:
        json.dump({"summaries": summaries, "details": details}, fout, indent=2)
    plot_systems(summaries, os.path.join(folder, "report.png"))

    lines = [
        "# speechbrain-kd demo report",
        "",
        f"Produced by `{command}`; metrics on the real VoiceBank-DEMAND "
        "test pairs of `../shared/data/voicebank` (mean ± std over "
        "utterances).",
        "",
        markdown_table(summaries),
        "",
    ]
    if "student_alone" in summaries:
        base = summaries["student_alone"]
        for system, s in summaries.items():
            if system.startswith("student_") and system != "student_alone":
                gains = ", ".join(
                    f"{m.upper()} {s[m]['mean'] - base[m]['mean']:+.3f}"
                    for m in ("pesq", "stoi", "sisdr")
                )
                lines.append(f"- {system} vs student_alone: {gains}")
        lines.append("")
    if details:
        lines += [
            "Settings: " + ", ".join(f"{k}={v}" for k, v in details.items()),
            "",
        ]
    lines.append("![metrics per system](report.png)")
    path = os.path.join(folder, "report.md")
    with open(path, "w") as fout:
        fout.write("\n".join(lines) + "\n")
    return path
