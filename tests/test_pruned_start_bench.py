"""``benchmarks/pruned_start.py`` on a few real test pairs: every pruned
start is scored untrained beside the teacher and the noisy input, with
the learnable parameters of its member, and the noisy row is the PESQ of
the pairs themselves."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO
from pesq import pesq

from speechbrain_kd.models import count_parameters
from speechbrain_kd.models.gtcrn import GTCRN

VOICEBANK = ("p232_003.wav", "p257_011.wav")
DNS = ("no_reverb_fileid_0.flac", "no_reverb_fileid_101.flac")
# the widths of benchmarks/pruned_start.py's PRUNINGS, in its order
WIDTHS = [(12, 4, 8), (8, 2, 4), (12, 16, 16), (16, 4, 16), (16, 16, 8)]


@pytest.fixture(scope="module")
def small_shared_data(shared_data, tmp_path_factory):
    """``shared/data`` with two pairs of each test set."""
    root = tmp_path_factory.mktemp("shared") / "data"
    folders = {
        ("voicebank", "noisy_testset_wav_16k", "clean_testset_wav_16k"): (
            VOICEBANK
        ),
        ("dns_test_noreverb", "noisy", "clean"): DNS,
    }
    for (test_set, *kinds), names in folders.items():
        for kind in kinds:
            (root / test_set / kind).mkdir(parents=True)
            for name in names:
                (root / test_set / kind / name).symlink_to(
                    shared_data / test_set / kind / name
                )
    return root


def test_pruned_starts_are_scored_untrained(small_shared_data, tmp_path):
    output = tmp_path / "pruned_start.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "pruned_start.py"),
            f"--shared_data={small_shared_data}",
            f"--shared_models={REPO.parent / 'shared' / 'models'}",
            f"--output={output}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    rows = json.loads(output.read_text())["models"]
    assert [row["params"] for row in rows] == [
        None,
        count_parameters(GTCRN(), True),
        *(count_parameters(GTCRN(*w), True) for w in WIDTHS),
    ]
    for row in rows:
        assert [r["n"] for r in row["results"].values()] == [2, 2]
    folder = small_shared_data / "voicebank"
    direct = [
        pesq(
            16000,
            sf.read(folder / "clean_testset_wav_16k" / name)[0],
            sf.read(folder / "noisy_testset_wav_16k" / name)[0],
            "wb",
        )
        for name in VOICEBANK
    ]
    noisy = rows[0]["results"]["voicebank"]["pesq"]
    assert noisy == pytest.approx(np.mean(direct))
    # the teacher enhances these pairs; its pruned half, untrained, less
    teacher, half = (rows[i]["results"]["voicebank"]["pesq"] for i in (1, 2))
    assert teacher > noisy + 0.3 and half < teacher - 0.3
    assert output.with_suffix(".md").read_text().count("\n| pruned") == 5
