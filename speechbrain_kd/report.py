"""Reporting: mean ± std cells, markdown tables, plots and the demo report.

The one place that formats results, shared by evaluation (the summary
printed by ``python -m speechbrain_kd.metrics``), the demo report, the
benchmarks, the loss study and the quality ladder. Plots are drawn on a
``matplotlib.figure.Figure`` with the Agg canvas, so that importing this
module (or any module that imports it) never changes matplotlib's backend.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import math
import os
import statistics

# How a metric is named in tables and plots (others: upper case)
LABELS = {"sisdr": "SI-SDR"}


def mean_std(values):
    """Mean and sample standard deviation (``ddof=1``) of a few values.

    Arguments
    ---------
    values : list of float

    Returns
    -------
    tuple of float
        ``(mean, std)``; std is ``nan`` for fewer than two values, and both
        are ``nan`` for none.

    Example
    -------
    >>> mean_std([2.0, 3.0, 4.0])
    (3.0, 1.0)
    >>> mean_std([2.5])
    (2.5, nan)
    >>> mean_std([])
    (nan, nan)
    """
    if not values:
        return math.nan, math.nan
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return statistics.fmean(values), std


def format_cell(mean, std, digits=2, signed=False):
    """Formats ``mean ± std``; the mean alone when std is ``nan``.

    Arguments
    ---------
    mean : float
    std : float
    digits : int
        Decimals.
    signed : bool
        Writes the sign of a positive mean too (for gains).

    Returns
    -------
    str

    Example
    -------
    >>> format_cell(2.345, 0.0512)
    '2.35 ± 0.05'
    >>> format_cell(2.345, float("nan"))
    '2.35'
    >>> format_cell(0.1, 0.05, signed=True)
    '+0.10 ± 0.05'
    """
    text = f"{mean:{'+' if signed else ''}.{digits}f}"
    if math.isnan(std):
        return text
    return f"{text} ± {std:.{digits}f}"


def metric_label(metric):
    """The name of a metric in tables and plots.

    Arguments
    ---------
    metric : str
        A key of ``speechbrain_kd.metrics.METRICS``.

    Returns
    -------
    str

    Example
    -------
    >>> metric_label("pesq"), metric_label("sisdr")
    ('PESQ', 'SI-SDR')
    """
    return LABELS.get(metric, metric.upper())


def markdown_table(header, rows, align=None):
    """A markdown table.

    Arguments
    ---------
    header : list of str
        Column titles.
    rows : list of list
        Cells, one list per row (converted with ``str``).
    align : str, optional
        One letter per column, ``l`` (default) or ``r`` (numbers).

    Returns
    -------
    str
        The table, without a final newline.

    Example
    -------
    >>> print(markdown_table(["model", "params"], [["w16", "24.9 k"]], "lr"))
    | model | params |
    |---|---:|
    | w16 | 24.9 k |
    """
    align = align or "l" * len(header)
    if len(align) != len(header):
        raise ValueError(
            f"align={align!r} has {len(align)} letters for "
            f"{len(header)} columns"
        )
    rule = "".join("|---:" if a == "r" else "|---" for a in align) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_metrics(summaries):
    """The metrics of per-system summaries, in their order of appearance.

    Arguments
    ---------
    summaries : dict
        ``{system: {metric: {"mean", "std", "n"}}}``, as written by
        ``speechbrain_kd.metrics.summarize``.

    Returns
    -------
    list of str

    Example
    -------
    >>> one = {"mean": 1.0, "std": 0.0, "n": 1}
    >>> summary_metrics({"a": {"pesq": one}, "b": {"pesq": one, "stoi": one}})
    ['pesq', 'stoi']
    """
    return list(dict.fromkeys(m for s in summaries.values() for m in s))


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
        system: {metric: stats["mean"] for metric, stats in s.items()}
        for system, s in summaries.items()
    }


def summary_table(summaries, digits=2):
    """A markdown table of mean ± std per system and metric.

    Arguments
    ---------
    summaries : dict
        ``{system: {metric: {"mean", "std", "n"}}}``.
    digits : int
        Decimals.

    Returns
    -------
    str

    Example
    -------
    >>> print(summary_table({"noisy": {"pesq": {"mean": 1.5, "std": 0.1,
    ...                                         "n": 3}}}))
    | system | PESQ | n |
    |---|---|---|
    | noisy | 1.50 ± 0.10 | 3 |
    """
    metrics = summary_metrics(summaries)
    rows = [
        [
            system,
            *(format_cell(s[m]["mean"], s[m]["std"], digits) for m in metrics),
            max(s[m]["n"] for m in metrics),
        ]
        for system, s in summaries.items()
    ]
    return markdown_table(
        ["system", *(metric_label(m) for m in metrics), "n"], rows
    )


def format_summary(summary):
    """Formats a summary as one ``metric: mean ± std (n=..)`` line each.

    Arguments
    ---------
    summary : dict
        The output of ``speechbrain_kd.metrics.summarize``.

    Returns
    -------
    str
        The table, one line per metric.

    Example
    -------
    >>> summary = {"pesq": {"mean": 2.5, "std": 0.5, "n": 2}}
    >>> print(format_summary(summary))
    pesq:    2.500 ± 0.500 (n=2)
    """
    return "\n".join(
        f"{metric + ':':<7}{stats['mean']:7.3f} ± {stats['std']:.3f} "
        f"(n={stats['n']})"
        for metric, stats in summary.items()
    )


def new_figure(**kwargs):
    """A matplotlib figure drawn by the Agg canvas (no pyplot, no backend
    switch), to be saved with ``savefig``.

    Arguments
    ---------
    **kwargs
        For ``matplotlib.figure.Figure`` (``figsize``, ...).

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> import tempfile
    >>> figure = new_figure(figsize=(2, 2))
    >>> _ = figure.add_subplot().plot([0, 1], [1, 0])
    >>> figure.savefig(os.path.join(tempfile.mkdtemp(), "a.png"))
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


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

    Example
    -------
    >>> import tempfile
    >>> one = {"mean": 2.0, "std": 0.5, "n": 3}
    >>> path = os.path.join(tempfile.mkdtemp(), "systems.png")
    >>> plot_systems({"a": {"pesq": one}, "b": {"pesq": one}}, path, ["pesq"])
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib import colormaps

    systems = list(summaries)
    figure = new_figure(figsize=(4 * len(metrics), 3.5))
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    colors = colormaps["tab10"].colors[: len(systems)]
    for ax, metric in zip(axes, metrics):
        means = [summaries[s][metric]["mean"] for s in systems]
        stds = [summaries[s][metric]["std"] for s in systems]
        ax.bar(range(len(systems)), means, yerr=stds, capsize=4, color=colors)
        ax.set_xticks(range(len(systems)), systems, rotation=30, ha="right")
        ax.set_title(metric.upper().replace("SISDR", "SI-SDR (dB)"))
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_spectrograms(waveforms, path, sample_rate=16000, n_fft=512):
    """Log-magnitude spectrograms of a few versions of one utterance.

    Arguments
    ---------
    waveforms : dict
        ``{label: 1-D waveform tensor}``, one panel each, top to bottom.
    path : str
        PNG file to write.
    sample_rate : int
        Sampling rate of the waveforms (Hz).
    n_fft : int
        FFT size (hop: a quarter of it).

    Example
    -------
    >>> import tempfile, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "spec.png")
    >>> wav = torch.randn(16000)
    >>> plot_spectrograms({"noisy": wav, "clean": wav / 2}, path)
    >>> os.path.getsize(path) > 0
    True
    """
    import torch

    figure = new_figure(figsize=(8, 1.6 * len(waveforms) + 0.6))
    axes = figure.subplots(len(waveforms), 1, sharex=True, squeeze=False)
    window = torch.hann_window(n_fft)
    for ax, (label, wav) in zip(axes[:, 0], waveforms.items()):
        spec = torch.stft(
            wav.float(), n_fft, n_fft // 4, window=window, return_complex=True
        )
        db = 20 * torch.log10(spec.abs() + 1e-5)
        seconds = wav.numel() / sample_rate
        ax.imshow(
            db.numpy(),
            origin="lower",
            aspect="auto",
            extent=(0, seconds, 0, sample_rate / 2000),
            vmin=float(db.max()) - 80,
            vmax=float(db.max()),
            cmap="magma",
        )
        ax.set_ylabel("kHz")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_paired_differences(differences, path, title):
    """Per-utterance paired differences, sorted, with mean and interval.

    Arguments
    ---------
    differences : dict
        ``{metric label: (per-utterance differences, summary)}``, the
        summary with ``mean``, ``low`` and ``high`` (the 95 % interval of
        the mean, as :func:`speechbrain_kd.grid.stats.paired_difference`
        gives it); one panel each.
    path : str
        PNG file to write.
    title : str
        Figure title (what minus what).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "paired.png")
    >>> summary = {"mean": 0.1, "low": 0.0, "high": 0.2}
    >>> plot_paired_differences({"PESQ": ([0.3, -0.1, 0.1], summary)},
    ...                         path, "a minus b")
    >>> os.path.getsize(path) > 0
    True
    """
    figure = new_figure(figsize=(4 * len(differences), 3.2))
    axes = figure.subplots(1, len(differences), squeeze=False)[0]
    for ax, (label, (values, summary)) in zip(axes, differences.items()):
        values = sorted(values)
        colors = ["tab:green" if v > 0 else "tab:red" for v in values]
        ax.bar(range(len(values)), values, color=colors, width=0.8)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axhspan(summary["low"], summary["high"], color="tab:blue", alpha=0.2)
        ax.axhline(summary["mean"], color="tab:blue", linewidth=1.5)
        ax.set_title(
            f"{label}: {summary['mean']:+.3f} "
            f"[{summary['low']:+.3f}, {summary['high']:+.3f}]",
            fontsize=9,
        )
        ax.set_xlabel("test utterances, sorted")
        ax.set_xticks([])
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_report(summaries, folder, command, details=None, bars=True):
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
    bars : bool
        Draw ``report.png``, the bars of mean ± std per system (False:
        the caller adds its own figures).

    Returns
    -------
    str
        Path of ``report.md``.

    Example
    -------
    >>> import tempfile
    >>> def summary(pesq):
    ...     return {m: {"mean": pesq, "std": 0.1, "n": 30}
    ...             for m in ("pesq", "stoi", "sisdr")}
    >>> path = write_report(
    ...     {"student_alone": summary(2.0), "student_kd": summary(2.1)},
    ...     tempfile.mkdtemp(), "make demo",
    ... )
    >>> print(open(path).read().splitlines()[-3])
    - student_kd vs student_alone: PESQ +0.100, STOI +0.100, SISDR +0.100
    """
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "summary.json"), "w") as fout:
        json.dump(mean_table(summaries), fout, indent=2)
    with open(os.path.join(folder, "summary_full.json"), "w") as fout:
        json.dump({"summaries": summaries, "details": details}, fout, indent=2)
    if bars:
        plot_systems(summaries, os.path.join(folder, "report.png"))

    lines = [
        "# speechbrain-kd demo report",
        "",
        f"Produced by `{command}`; metrics on the real VoiceBank-DEMAND "
        "test pairs of `../shared/data/voicebank` (mean ± std over "
        "utterances).",
        "",
        summary_table(summaries),
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
            "Settings: "
            + ", ".join(
                f"{k}={v}"
                for k, v in details.items()
                if not isinstance(v, dict)  # e.g. the machine: in the JSON
            ),
            "",
        ]
    if bars:
        lines.append("![metrics per system](report.png)")
    path = os.path.join(folder, "report.md")
    with open(path, "w") as fout:
        fout.write("\n".join(lines) + "\n")
    return path
