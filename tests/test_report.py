"""The reporting module on real scores: tables, plots, no backend switch."""

import subprocess
import sys

import pytest
from conftest import REPO

from speechbrain_kd import metrics
from speechbrain_kd.report import (
    format_cell,
    mean_std,
    summary_table,
    write_report,
)

UTTERANCES = ("p232_003.wav", "p257_011.wav")


def test_report_of_real_scores(voicebank, tmp_path):
    """The demo report of the noisy input's real scores: a mean ± std
    table, summary.json and a plot."""
    noisy = tmp_path / "noisy"
    noisy.mkdir()
    for name in UTTERANCES:
        (noisy / name).symlink_to(voicebank / "noisy_testset_wav_16k" / name)
    rows, summary = metrics.evaluate_folder(
        noisy, voicebank / "clean_testset_wav_16k", n_jobs=1
    )
    pesq = [row["pesq"] for row in rows]
    table = summary_table({"noisy": summary}).splitlines()
    assert table[0] == (
        "| system | PESQ | STOI | SI-SDR | CSIG | CBAK | COVL | n |"
    )
    mean = summary["pesq"]["mean"]
    assert table[2].startswith(
        f"| noisy | {format_cell(mean, summary['pesq']['std'])} |"
    )
    assert mean_std(pesq)[0] == pytest.approx(mean)
    path = write_report({"noisy": summary}, tmp_path / "out", "pytest")
    assert "\n".join(table) in open(path).read()
    assert (tmp_path / "out" / "report.png").stat().st_size > 0


def test_reporting_never_switches_the_backend(tmp_path):
    """Importing the modules that report, and plotting, leave the
    process's matplotlib backend as its owner set it."""
    code = (
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import speechbrain_kd.metrics, speechbrain_kd.report as r\n"
        "one = {'mean': 2.0, 'std': 0.1, 'n': 2}\n"
        "s = {m: one for m in ('pesq', 'stoi', 'sisdr')}\n"
        f"r.write_report({{'a': s}}, {str(tmp_path)!r}, 'x')\n"
        "print(matplotlib.get_backend())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "svg"
