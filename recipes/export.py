#!/usr/bin/env python3
"""Recipe: export a trained student as a checked SpeechBrain hub folder.

Usage (from the repository root)::

    python recipes/export.py hparams/export.yaml \\
        --checkpoint=results/distill/student_w16_cosine_lib/1234 \\
        --output_folder=results/export/student_w16 [--quantize=True]

Writes the hub folder (``hyperparams.yaml``, ``custom.yaml``,
``custom.py``, ``enhance_model.ckpt``, ``README.md``, ``example.wav``),
``enhance_model.ts.pt``, ``enhance_model.onnx``,
``enhance_model.stream.onnx`` (causal students), ``enhance_model.int8.onnx``
(``--quantize=True``) and ``enhance_onnx.py`` after checking every target
against PyTorch on real speech (see
``speechbrain_kd.export.export_student``); prints the export report.
The student's architecture and features are those its run recorded in
its ``hyperparams.yaml``; weights without a run folder name them
(``--model_file=hparams/models/student_w16.yaml``,
``--features='!include:features/stft_16ms.yaml'``), which also overrides
the record.
Upload the folder with ``sbkd-publish``.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import os
import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.export import (
    export_settings,
    export_student,
)


def main(argv):
    """Runs the recipe for the command-line arguments ``argv``.

    Arguments
    ---------
    argv : list of str
        ``hparams/export.yaml`` followed by YAML overrides
        (``--key=value``).

    Returns
    -------
    dict
        The export report of ``export_student``.
    """
    hparams_file, _, overrides = sb.parse_arguments(argv)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    metrics = None
    if hparams["metrics_file"]:
        with open(hparams["metrics_file"], encoding="utf-8") as fin:
            metrics = json.load(fin)
    pesq_pairs = [
        (
            os.path.join(hparams["noisy_folder"], name),
            os.path.join(hparams["clean_folder"], name),
        )
        for name in hparams["pesq_files"]
    ]
    model_file, features = export_settings(
        hparams["checkpoint"], hparams["model_file"], hparams["features"]
    )
    report = export_student(
        checkpoint=hparams["checkpoint"],
        model_file=model_file,
        output_folder=hparams["output_folder"],
        example_wav=hparams["example_wav"],
        parity_wavs=hparams["parity_wavs"],
        pesq_pairs=pesq_pairs,
        metrics=metrics,
        card_info=hparams["card_info"],
        quantize=hparams["quantize"],
        streaming=hparams["streaming"],
        **features,
        atol=hparams["atol"],
        script_rtol=hparams["script_rtol"],
        stream_atol=hparams["stream_atol"],
        overwrite=hparams["overwrite"],
    )
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
