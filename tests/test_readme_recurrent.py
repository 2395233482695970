"""The README's recurrent model (its "A recurrent model" part of "Bring
your own model"), trained and exported as written there, on real audio."""

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import FAST, REPO

from speechbrain_kd.export import ONNX_FILE, TORCHSCRIPT_FILE
from speechbrain_kd.export.common import STREAM_ONNX_FILE


def _recurrent_walkthrough():
    """The files and commands of the README's recurrent model part."""
    text = (REPO / "README.md").read_text()
    section = text.split("### A recurrent model")[1].split("\n## ")[0]
    section = section.split("\n### ")[0]
    files = dict(
        re.findall(r"`(my_models/[\w.]+)`:\n\n```\w+\n(.*?)```", section, re.S)
    )
    commands = [
        command.replace("\\\n", " ")
        for block in re.findall(r"```bash\n(.*?)```", section, re.S)
        for command in re.split(r"\n(?=python )", block.strip())
    ]
    return files, commands


def test_readme_recurrent_model_trains_and_exports(
    tiny_corpus, shared_data, tmp_path
):
    files, commands = _recurrent_walkthrough()
    assert set(files) == {"my_models/gru_mask.py", "my_models/bigru_mask.yaml"}
    assert [c.split()[1] for c in commands] == [
        "recipes/train.py",
        "recipes/export.py",
    ]
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(content)
    for name in ("recipes", "hparams"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample_corpus").symlink_to(tiny_corpus)
    python = str(Path(sys.executable).parent)
    options = {
        "recipes/train.py": (
            f"--number_of_epochs=1 --scoring_workers=0 {' '.join(FAST)}"
        ),
        "recipes/export.py": f"--shared_data={shared_data}",
    }
    for command in commands:
        result = subprocess.run(
            f"{command} {options[command.split()[1]]}",
            shell=True,
            cwd=tmp_path,
            env={**os.environ, "PATH": f"{python}:{os.environ['PATH']}"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    export = tmp_path / "results" / "export" / "bigru_mask"
    assert (export / ONNX_FILE).is_file()
    assert (export / TORCHSCRIPT_FILE).is_file()
    assert not (export / STREAM_ONNX_FILE).exists()
    card = (export / "README.md").read_text()
    assert "\n# speechbrain-kd bigru_mask\n" in card
    assert "**whole file**" in card
    assert "| pesq |" in card
