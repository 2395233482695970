"""A grid's results: scores per cell, paired differences, tables, plots.

For every test set a run scored (``test_summary.json`` is the corpus' own
test set, ``test_<name>_summary.json`` each of ``extra_test_sets``), the
cells hold the mean ± std over seeds of each run's mean score, and the
comparisons of the grid (every method against ``student_alone`` unless
the grid says otherwise) the paired per-seed differences with their 95 %
interval and verdict (see :mod:`speechbrain_kd.grid.stats`). The noisy
input and the teacher are reference rows. :func:`write_summary` writes
``results.json``, ``results.md``, ``paired_difference.png`` (against the
mismatch size) and ``paired_forest.png`` (every comparison, one row each).

Authors
 * speechbrain-kd contributors 2026
"""

import functools
import glob
import json
import math
import os
import re
import shutil

from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.grid.config import REFERENCE, check_grid, model_file
from speechbrain_kd.grid.runner import plan_runs, result_folder
from speechbrain_kd.grid.stats import paired_difference
from speechbrain_kd.report import format_cell, mean_std, new_figure

METRICS = ("pesq", "stoi", "sisdr")
DEFAULT_TEST = "test"  # the name of the corpus' own test set
LABELS = {"pesq": "PESQ", "stoi": "STOI", "sisdr": "SI-SDR"}
LEGEND_COLUMNS = 3  # of the legend shared by the plot's panels
DIGITS = {"pesq": 2, "stoi": 3, "sisdr": 2}


def read_test_summaries(folder):
    """``{test set: {metric: mean}}`` from a run folder's summaries.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("test_summary.json", "test_dns_summary.json"):
    ...     with open(os.path.join(folder, name), "w") as f:
    ...         json.dump({"pesq": {"mean": 2.0, "std": 0.5, "n": 30}}, f)
    >>> read_test_summaries(folder)
    {'dns': {'pesq': 2.0}, 'test': {'pesq': 2.0}}
    """
    scores = {}
    for name in sorted(os.listdir(folder)):
        match = re.fullmatch(r"test(?:_(.+))?_summary\.json", name)
        if not match:
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as fin:
            summary = json.load(fin)
        scores[match.group(1) or DEFAULT_TEST] = {
            metric: value["mean"] for metric, value in summary.items()
        }
    return scores


def read_valid_pesq(folder, last=3, lag=5):
    """Validation PESQ of a run from its train log: the best epoch's, the
    mean of the ``last`` epochs' (steadier on a small validation set) and
    the mean of the ``last`` epochs ``lag`` epochs before those, so that
    their difference says whether the run was still improving when its
    budget ended.

    Arguments
    ---------
    folder : str
        A run folder (or its archive) holding ``train_log.txt``.
    last : int
        How many final epochs are averaged.
    lag : int
        How many epochs earlier the ``earlier`` window ends.

    Returns
    -------
    dict
        ``best``, ``last`` and ``earlier`` (NaN where the log is too short).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "train_log.txt"), "w") as f:
    ...     for pesq in (1.2, 1.4, 1.3, 1.5, 1.6):
    ...         print(f"epoch: 1 - valid loss: 0.1, valid pesq: {pesq}",
    ...               file=f)
    >>> scores = read_valid_pesq(folder, last=2, lag=2)
    >>> {key: round(value, 2) for key, value in scores.items()}
    {'best': 1.6, 'last': 1.55, 'earlier': 1.35}
    """
    path = os.path.join(folder, "train_log.txt")
    with open(path, encoding="utf-8") as fin:
        values = [
            float(match.group(1))
            for match in re.finditer(r"valid pesq: ([0-9.]+)", fin.read())
        ]
    earlier = values[-last - lag : -lag] if len(values) >= last + lag else []
    return {
        "best": max(values, default=math.nan),
        "last": _mean(values[-last:]),
        "earlier": _mean(earlier),
    }


def _mean(values):
    return sum(values) / len(values) if values else math.nan


def collect_runs(grid):
    """The scores of a grid's complete student runs.

    Arguments
    ---------
    grid : dict
        A checked grid.

    Returns
    -------
    list of dict
        ``scenario``, ``method``, ``seed``, ``scores`` (see
        :func:`read_test_summaries`) and the validation PESQ
        (``valid_pesq``, see :func:`read_valid_pesq`) per complete run.
    """
    records = []
    for run in plan_runs(grid):
        folder = result_folder(run)
        if run["scenario"] == REFERENCE or folder is None:
            continue
        records.append(
            {
                "scenario": run["scenario"],
                "method": run["method"],
                "seed": run["seed"],
                "scores": read_test_summaries(folder),
                "valid_pesq": read_valid_pesq(folder),
            }
        )
    return records


def cells(records, metrics=METRICS):
    """Mean ± std over seeds per scenario, method and test set.

    Arguments
    ---------
    records : list of dict
        From :func:`collect_runs`.
    metrics : sequence of str

    Returns
    -------
    list of dict
        ``scenario``, ``method``, ``test_set``, ``n`` and, per metric,
        ``<metric>_mean`` and ``<metric>_std``.

    Example
    -------
    >>> records = [
    ...     {"scenario": "w16", "method": "alone", "seed": s,
    ...      "scores": {"test": {"pesq": p}}}
    ...     for s, p in [(1, 2.0), (2, 2.2)]
    ... ]
    >>> row, = cells(records, metrics=["pesq"])
    >>> row["n"], round(row["pesq_mean"], 2), round(row["pesq_std"], 3)
    (2, 2.1, 0.141)
    """
    groups = {}
    for record in records:
        for test_set, scores in record["scores"].items():
            key = (record["scenario"], record["method"], test_set)
            groups.setdefault(key, []).append(scores)
    rows = []
    for (scenario, method, test_set), runs in groups.items():
        row = {
            "scenario": scenario,
            "method": method,
            "test_set": test_set,
            "n": len(runs),
        }
        for metric in metrics:
            values = [scores[metric] for scores in runs if metric in scores]
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(values)
        rows.append(row)
    return rows


def comparisons(records, pairs, metrics=METRICS):
    """Paired per-seed differences for every scenario, pair and test set.

    Arguments
    ---------
    records : list of dict
        From :func:`collect_runs`.
    pairs : list of tuple
        ``(method, reference)`` pairs.
    metrics : sequence of str

    Returns
    -------
    list of dict
        ``scenario``, ``method``, ``reference``, ``test_set``, ``metric``
        and the fields of :func:`paired_difference`; only where both ran
        on at least one common seed.

    Example
    -------
    >>> records = [
    ...     {"scenario": "w16", "method": m, "seed": s,
    ...      "scores": {"test": {"pesq": p}}}
    ...     for m, s, p in [("alone", 1, 2.2), ("alone", 2, 2.2),
    ...                     ("alone", 3, 2.3), ("cos", 1, 2.3),
    ...                     ("cos", 2, 2.4), ("cos", 3, 2.6)]
    ... ]
    >>> row, = comparisons(records, [("cos", "alone")], metrics=["pesq"])
    >>> [round(d, 2) for d in row["differences"]], row["verdict"]
    ([0.1, 0.2, 0.3], 'no difference')
    """
    scores = {}
    for record in records:
        for test_set, values in record["scores"].items():
            key = (record["scenario"], record["method"], test_set)
            scores.setdefault(key, {})[record["seed"]] = values
    scenarios = list(dict.fromkeys(record["scenario"] for record in records))
    test_sets = list(dict.fromkeys(key[2] for key in scores))
    rows = []
    for scenario in scenarios:
        for method, reference in pairs:
            for test_set in test_sets:
                ours = scores.get((scenario, method, test_set), {})
                theirs = scores.get((scenario, reference, test_set), {})
                for metric in metrics:
                    diff = paired_difference(
                        {s: v[metric] for s, v in ours.items()},
                        {s: v[metric] for s, v in theirs.items()},
                    )
                    if diff["n"]:
                        rows.append(
                            {
                                "scenario": scenario,
                                "method": method,
                                "reference": reference,
                                "test_set": test_set,
                                "metric": metric,
                                **diff,
                            }
                        )
    return rows


@functools.lru_cache
def model_parameters(name):
    """Trainable parameters of a model of ``hparams/models``.

    Example
    -------
    >>> model_parameters("student_w64")
    6345
    """
    model = load_hyperpyyaml(f"m: !include:{model_file(name)}")["m"]
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summarize(grid):
    """Collects a grid's results (reading only the finished runs).

    Arguments
    ---------
    grid : dict
        A grid description.

    Returns
    -------
    dict
        ``scenarios`` (name, student, mismatch, params, ``ratio``: teacher
        parameters over the student's), ``references`` (the teacher's
        scores, when its results are found), ``cells``, ``validation``,
        ``comparisons`` and ``missing`` (the planned runs not complete yet).
    """
    grid = check_grid(grid)
    runs = plan_runs(grid)
    teacher_params = model_parameters(grid["teacher"]["model"])
    scenarios = [
        {
            **scenario,
            "params": model_parameters(scenario["student"]),
            "ratio": teacher_params / model_parameters(scenario["student"]),
        }
        for scenario in grid["scenarios"]
    ]
    references = {}
    teacher = _teacher_results(grid)
    if teacher:
        references["teacher"] = read_test_summaries(teacher)
    records = collect_runs(grid)
    return {
        "scenarios": scenarios,
        "teacher_params": teacher_params,
        "references": references,
        "cells": cells(records),
        "validation": validation(records),
        "comparisons": comparisons(records, grid["comparisons"]),
        "missing": [
            run["name"]
            for run in runs
            if run["scenario"] != REFERENCE and result_folder(run) is None
        ],
    }


def _teacher_results(grid):
    """The folder of the teacher's test summaries, copied into the archive
    (when the grid has one) so that the reference row survives."""
    teacher = grid["teacher"]["path"]
    archive = grid["archive_folder"]
    kept = archive and os.path.join(archive, "teacher")
    if os.path.exists(os.path.join(teacher, "test_summary.json")):
        if kept:
            os.makedirs(kept, exist_ok=True)
            for path in glob.glob(os.path.join(teacher, "test_*summary.json")):
                shutil.copy(path, kept)
        return teacher
    if kept and os.path.exists(os.path.join(kept, "test_summary.json")):
        return kept
    return None


def validation(records):
    """Validation PESQ per scenario and method, mean over seeds: what a
    weight or an option is chosen on (never the test sets), and how much
    the last epochs still gained (``gain``: the last 3 epochs' mean minus
    that of the 3 epochs 5 before, see :func:`read_valid_pesq`, NaN for
    runs too short to tell); a gain well above zero says the budget ended
    before convergence.

    Example
    -------
    >>> records = [
    ...     {"scenario": "w16", "method": m, "seed": 1,
    ...      "valid_pesq": {"best": b, "last": r, "earlier": e}}
    ...     for m, b, r, e in [("alone", 1.40, 1.38, 1.37),
    ...                        ("cos", 1.45, 1.41, 1.36),
    ...                        ("short", 1.3, 1.3, math.nan)]
    ... ]
    >>> [(v["method"], v["last3"], round(v["gain"], 2))
    ...  for v in validation(records)]
    [('alone', 1.38, 0.01), ('cos', 1.41, 0.05), ('short', 1.3, nan)]
    """
    groups = {}
    for record in records:
        key = (record["scenario"], record["method"])
        groups.setdefault(key, []).append(record["valid_pesq"])
    return [
        {
            "scenario": scenario,
            "method": method,
            "n": len(runs),
            "best": mean_std([r["best"] for r in runs])[0],
            "last3": mean_std([r["last"] for r in runs])[0],
            "gain": mean_std(
                [
                    r["last"] - r["earlier"]
                    for r in runs
                    if not math.isnan(r["earlier"])
                ]
            )[0],
        }
        for (scenario, method), runs in groups.items()
    ]


def validation_markdown(summary):
    """Markdown of the validation PESQ of :func:`summarize`.

    Arguments
    ---------
    summary : dict

    Returns
    -------
    str
    """
    lines = [
        "| scenario | method | valid PESQ, mean of the last 3 epochs | "
        "best epoch's | gain over the last 5 epochs | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["validation"]:
        lines.append(
            f"| {row['scenario']} | {row['method']} | {row['last3']:.3f} | "
            f"{row['best']:.3f} | {_signed(row['gain'])} | {row['n']} |"
        )
    return "\n".join(lines)


def _signed(value, digits=3):
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def _interval(row, digits):
    if math.isnan(row["low"]):
        return "n/a"
    return f"[{row['low']:+.{digits}f}, {row['high']:+.{digits}f}]"


def verdict_markdown(summary, test_labels=None, metric="pesq"):
    """One line per scenario and comparison, one column per test set:
    the mean paired difference, its 95 % interval and the verdict.

    Arguments
    ---------
    summary : dict
        From :func:`summarize` (``scenarios`` and ``comparisons``).
    test_labels : dict, optional
        Display names of the test sets.
    metric : str
        The metric compared.

    Returns
    -------
    str

    Example
    -------
    >>> row = {"scenario": "w16", "method": "cos", "reference": "alone",
    ...        "test_set": "test", "metric": "pesq", "mean": 0.014,
    ...        "std": 0.027, "low": -0.02, "high": 0.048, "n": 5,
    ...        "verdict": "no difference"}
    >>> summary = {"scenarios": [{"name": "w16", "mismatch": "width",
    ...                           "ratio": 15.8}], "comparisons": [row]}
    >>> print(verdict_markdown(summary, {"test": "VoiceBank"}))
    | scenario | mismatch | teacher/student | comparison | VoiceBank |
    |---|---|---|---|---|
    | w16 | width | 16x | cos - alone | +0.014 [-0.020, +0.048] no difference (5) |
    """  # noqa: E501
    labels = test_labels or {}
    scenarios = {s["name"]: s for s in summary["scenarios"]}
    rows = [r for r in summary["comparisons"] if r["metric"] == metric]
    test_sets = sorted(
        dict.fromkeys(r["test_set"] for r in rows),
        key=lambda t: list(labels).index(t) if t in labels else len(labels),
    )
    table = {}
    for row in rows:
        key = (row["scenario"], row["method"], row["reference"])
        digits = DIGITS[metric] + 1
        table.setdefault(key, {})[row["test_set"]] = (
            f"{row['mean']:+.{digits}f} {_interval(row, digits)} "
            f"{row['verdict']} ({row['n']})"
        )
    lines = [
        "| scenario | mismatch | teacher/student | comparison | "
        + " | ".join(labels.get(t, t) for t in test_sets)
        + " |",
        "|---" * (4 + len(test_sets)) + "|",
    ]
    for (name, method, reference), cells_ in table.items():
        scenario = scenarios[name]
        lines.append(
            f"| {name} | {scenario['mismatch']} | "
            f"{scenario['ratio']:.0f}x | {method} - {reference} | "
            + " | ".join(cells_.get(t, "") for t in test_sets)
            + " |"
        )
    return "\n".join(lines)


def results_markdown(summary, test_labels=None):
    """Markdown of :func:`summarize`: scores per cell, then paired
    differences with their intervals and verdicts (test sets in the order
    of ``test_labels`` in the PESQ verdicts).

    Arguments
    ---------
    summary : dict
        From :func:`summarize`.
    test_labels : dict, optional
        Display names of the test sets, e.g. ``{"test": "VoiceBank"}``.

    Returns
    -------
    str
    """
    labels = test_labels or {}
    scenarios = {s["name"]: s for s in summary["scenarios"]}
    lines = [
        "| scenario | mismatch | params | teacher/student | method | "
        "test set | PESQ | STOI | SI-SDR | seeds |",
        "|---" * 10 + "|",
    ]
    for row in summary["cells"]:
        scenario = scenarios[row["scenario"]]
        lines.append(
            "| "
            + " | ".join(
                [
                    row["scenario"],
                    scenario["mismatch"],
                    f"{scenario['params'] / 1e3:.1f}k",
                    f"{scenario['ratio']:.0f}x",
                    row["method"],
                    labels.get(row["test_set"], row["test_set"]),
                    *(
                        format_cell(
                            row[f"{m}_mean"], row[f"{m}_std"], DIGITS[m]
                        )
                        for m in METRICS
                    ),
                    str(row["n"]),
                ]
            )
            + " |"
        )
    for name, scores in summary["references"].items():
        for test_set, values in scores.items():
            lines.append(
                f"| {REFERENCE} | | "
                f"{summary['teacher_params'] / 1e3:.1f}k | 1x | {name} | "
                f"{labels.get(test_set, test_set)} | "
                + " | ".join(
                    f"{values[m]:.{DIGITS[m]}f}" if m in values else ""
                    for m in METRICS
                )
                + " | 1 |"
            )
    lines += [
        "",
        "Mean ± sample standard deviation over seeds of each run's mean "
        "over the test utterances.",
        "",
        "| scenario | method | vs | test set | metric | mean difference "
        "± std | 95 % interval | seeds | verdict |",
        "|---" * 9 + "|",
    ]
    for row in summary["comparisons"]:
        digits = DIGITS[row["metric"]] + 1
        lines.append(
            "| "
            + " | ".join(
                [
                    row["scenario"],
                    row["method"],
                    row["reference"],
                    labels.get(row["test_set"], row["test_set"]),
                    LABELS[row["metric"]],
                    format_cell(row["mean"], row["std"], digits, signed=True),
                    _interval(row, digits),
                    str(row["n"]),
                    row["verdict"],
                ]
            )
            + " |"
        )
    lines += [
        "",
        "Paired by seed (same seed: same initialisation and training "
        "mixtures); interval: Student t over the per-seed differences; "
        "verdict: wins / loses when the interval excludes zero.",
    ]
    if summary["comparisons"]:
        lines += [
            "",
            "PESQ at a glance (paired difference, 95 % interval, verdict, "
            "seeds):",
            "",
            verdict_markdown(summary, test_labels),
        ]
    lines += ["", "Validation (the sample corpus' held-out speakers):", ""]
    lines.append(validation_markdown(summary))
    if summary["missing"]:
        lines += ["", missing_line(summary["missing"])]
    return "\n".join(lines)


def missing_line(missing):
    """One line naming the runs not complete yet, by scenario and method.

    Example
    -------
    >>> missing_line(["w16/cos/seed4", "w16/cos/seed5", "d16/alone/seed1"])
    'Not complete yet (3 runs): w16/cos x 2, d16/alone x 1.'
    """
    cells = {}
    for name in missing:
        cell = name.rsplit("/", 1)[0]
        cells[cell] = cells.get(cell, 0) + 1
    listed = ", ".join(f"{cell} x {n}" for cell, n in cells.items())
    return f"Not complete yet ({len(missing)} runs): {listed}."


def plot_paired_difference(summary, path, metric="pesq", test_labels=None):
    """Plots each method's paired difference to its reference against the
    mismatch size (teacher/student parameters), one panel per test set.

    One colour per comparison, one line (and marker) per kind of mismatch
    (width, depth, both) joining its sizes; the error bars are the 95 %
    intervals, and the points are dodged sideways a little so that they
    do not overlap.

    Arguments
    ---------
    summary : dict
        From :func:`summarize`.
    path : str
        The PNG file written.
    metric : str
    test_labels : dict, optional
        Display names of the test sets (and their order).
    """
    labels = test_labels or {}
    ratios = {s["name"]: s["ratio"] for s in summary["scenarios"]}
    mismatch = {s["name"]: s["mismatch"] for s in summary["scenarios"]}
    styles = {"width": ("o", "-"), "depth": ("s", "--"), "both": ("^", ":")}
    rows = [r for r in summary["comparisons"] if r["metric"] == metric]
    test_sets = sorted(
        dict.fromkeys(r["test_set"] for r in rows),
        key=lambda t: list(labels).index(t) if t in labels else len(labels),
    )
    pairs = list(dict.fromkeys((r["method"], r["reference"]) for r in rows))
    colours = {pair: f"C{i}" for i, pair in enumerate(pairs)}
    legend = {}  # label: handle, over every panel, shown once below them
    figure = new_figure(figsize=(6 * max(len(test_sets), 1), 4.5))
    for i, test_set in enumerate(test_sets):
        ax = figure.add_subplot(1, len(test_sets), i + 1)
        lines = {}
        for row in rows:
            if row["test_set"] == test_set:
                key = (row["method"], row["reference"])
                key += (mismatch[row["scenario"]],)
                lines.setdefault(key, []).append(row)
        for j, (key, group) in enumerate(lines.items()):
            group.sort(key=lambda r: ratios[r["scenario"]])
            dodge = 1.0 + 0.03 * (j - (len(lines) - 1) / 2)
            marker, style = styles[key[2]]
            ax.errorbar(
                [ratios[r["scenario"]] * dodge for r in group],
                [r["mean"] for r in group],
                yerr=[
                    [_half_width(r, "low") for r in group],
                    [_half_width(r, "high") for r in group],
                ],
                marker=marker,
                linestyle=style,
                color=colours[key[:2]],
                capsize=3,
                label=f"{key[0]} - {key[1]}, {key[2]}",
            )
        ticks = _spaced_ticks(ratios.values())
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{tick}x" for tick in ticks])
        ax.minorticks_off()
        ax.set_xlim(min(ticks) / 1.4, max(ticks) * 1.4)
        ax.set_xlabel("mismatch: teacher / student parameters (log)")
        ax.set_ylabel(f"paired {LABELS[metric]} difference")
        ax.set_title(labels.get(test_set, test_set))
        handles, names = ax.get_legend_handles_labels()
        legend.update(zip(names, handles))
    columns = min(LEGEND_COLUMNS, max(len(legend), 1))
    legend_rows = math.ceil(len(legend) / columns)
    height = 4.5 + 0.25 * legend_rows
    figure.set_figheight(height)
    figure.legend(
        list(legend.values()),
        list(legend),
        loc="lower center",
        ncol=columns,
        fontsize=8,
        frameon=False,
    )
    figure.tight_layout(rect=(0, (0.25 * legend_rows + 0.1) / height, 1, 1))
    figure.savefig(path, dpi=120)


def plot_paired_forest(summary, path, metric="pesq", test_labels=None):
    """Plots every paired difference of a grid as one row with its 95 %
    interval, grouped by scenario, one panel per test set (a forest plot).

    Readable where the plot against the mismatch size is not: when the
    grid has many comparisons at one size. A row's interval is filled
    when it excludes zero (wins or loses), hollow when it does not.

    Arguments
    ---------
    summary : dict
        From :func:`summarize`.
    path : str
        The PNG file written.
    metric : str
    test_labels : dict, optional
        Display names of the test sets (and their order).

    Example
    -------
    >>> import tempfile
    >>> row = {"scenario": "w16", "method": "cosine_lib",
    ...        "reference": "student_alone", "metric": "pesq",
    ...        "test_set": "test", "mean": 0.02, "low": 0.01, "high": 0.03}
    >>> summary = {"scenarios": [{"name": "w16", "mismatch": "width",
    ...                           "ratio": 15.8}], "comparisons": [row]}
    >>> path = os.path.join(tempfile.mkdtemp(), "forest.png")
    >>> plot_paired_forest(summary, path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    from matplotlib.ticker import MaxNLocator

    labels = test_labels or {}
    scenarios = {s["name"]: s for s in summary["scenarios"]}
    rows = [r for r in summary["comparisons"] if r["metric"] == metric]
    test_sets = sorted(
        dict.fromkeys(r["test_set"] for r in rows),
        key=lambda t: list(labels).index(t) if t in labels else len(labels),
    )
    pairs = list(dict.fromkeys((r["method"], r["reference"]) for r in rows))
    colours = {pair: f"C{i}" for i, pair in enumerate(pairs)}
    # one y position per (scenario, comparison), a gap between scenarios
    keys = list(
        dict.fromkeys(
            (r["scenario"], r["method"], r["reference"]) for r in rows
        )
    )
    positions, names, y = {}, [], 0.0
    for i, key in enumerate(keys):
        if i and key[0] != keys[i - 1][0]:
            y += 0.6
        positions[key] = y
        scenario = scenarios[key[0]]
        names.append(
            f"{key[0]} ({scenario['mismatch']}, {scenario['ratio']:.0f}x): "
            f"{key[1]} - {key[2]}"
        )
        y += 1.0
    figure = new_figure(
        figsize=(4.5 * max(len(test_sets), 1) + 3.5, 1.0 + 0.28 * y)
    )
    for i, test_set in enumerate(test_sets):
        ax = figure.add_subplot(1, len(test_sets), i + 1)
        for row in rows:
            if row["test_set"] != test_set:
                continue
            key = (row["scenario"], row["method"], row["reference"])
            colour = colours[key[1:]]
            excludes_zero = row["low"] > 0 or row["high"] < 0
            ax.errorbar(
                [row["mean"]],
                [positions[key]],
                xerr=[[_half_width(row, "low")], [_half_width(row, "high")]],
                marker="o",
                color=colour,
                markerfacecolor=colour if excludes_zero else "white",
                capsize=3,
            )
        ax.axvline(0.0, color="black", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_yticks(list(positions.values()), names if i == 0 else [])
        ax.set_ylim(y - 0.4, -0.6)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_xlabel(
            f"paired {LABELS[metric]} difference, 95 % interval "
            "(filled: excludes 0)"
        )
        ax.set_title(labels.get(test_set, test_set))
        ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _spaced_ticks(values, spacing=1.2):
    """Rounded values for log-axis ticks, dropping any within ``spacing``
    times the previous tick (so that 16x and 17x do not overprint).

    Example
    -------
    >>> _spaced_ticks([15.8, 16.6, 62.3, 77.6])
    [16, 62, 78]
    """
    ticks = []
    for value in sorted(round(v) for v in values):
        if not ticks or value > ticks[-1] * spacing:
            ticks.append(value)
    return ticks


def _half_width(row, side):
    if math.isnan(row[side]):
        return 0.0
    return abs(row["mean"] - row[side])


def write_summary(grid, test_labels=None):
    """Summarizes a grid and writes ``results.json``, ``results.md``,
    ``paired_difference.png`` and ``paired_forest.png`` into its archive
    folder (or, without one, its output folder).

    Arguments
    ---------
    grid : dict
        A grid description.
    test_labels : dict, optional
        Display names of the test sets.

    Returns
    -------
    dict
        The summary (see :func:`summarize`).
    """
    grid = check_grid(grid)
    summary = summarize(grid)
    folder = grid["archive_folder"] or grid["output_folder"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.json"), "w") as fout:
        json.dump(summary, fout, indent=1)
    with open(os.path.join(folder, "results.md"), "w") as fout:
        fout.write(results_markdown(summary, test_labels) + "\n")
    if summary["comparisons"]:
        plot_paired_difference(
            summary,
            os.path.join(folder, "paired_difference.png"),
            test_labels=test_labels,
        )
        plot_paired_forest(
            summary,
            os.path.join(folder, "paired_forest.png"),
            test_labels=test_labels,
        )
    return summary
