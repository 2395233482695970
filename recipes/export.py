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
The targets and their tolerances are the ``targets`` of the YAML.
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
    run_results,
)
from speechbrain_kd.paths import (  # noqa: E402
    hparams_folder,
    resolve_shared_path,
)
from speechbrain_kd.recipe_help import print_recipe_help  # noqa: E402


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
    print_recipe_help(argv, os.path.join(hparams_folder(), "export.yaml"))
    hparams_file, _, overrides = sb.parse_arguments(argv)
    hparams = load_export_hparams(hparams_file, overrides)
    metrics, recorded_info = run_results(hparams["checkpoint"])
    if hparams["metrics_file"]:
        with open(hparams["metrics_file"], encoding="utf-8") as fin:
            metrics = json.load(fin)
    card_info = {
        key: value if value is not None else recorded_info.get(key)
        for key, value in {**recorded_info, **hparams["card_info"]}.items()
    }
    model_file, front_end = export_settings(
        hparams["checkpoint"], hparams["model_file"], hparams["features"]
    )
    report = export_student(
        checkpoint=hparams["checkpoint"],
        model_file=model_file,
        output_folder=hparams["output_folder"],
        example_wav=hparams["example_wav"],
        parity_wavs=hparams["parity_wavs"],
        metrics=metrics,
        card_info=card_info,
        quantize=hparams["quantize"],
        streaming=hparams["streaming"],
        targets=hparams["targets"],
        front_end=front_end,
        overwrite=hparams["overwrite"],
    )
    print(json.dumps(report, indent=2))
    return report


def load_export_hparams(hparams_file, overrides):
    """Loads the export YAML, its real recordings found or refused.

    A relative ``shared_data`` (``../shared/data``) that does not exist
    from the working directory is taken from the project root; a real
    recording that exists in neither place is an error naming it and the
    option to pass.

    Arguments
    ---------
    hparams_file : str
        ``hparams/export.yaml``.
    overrides : str
        Command-line overrides (YAML).

    Returns
    -------
    dict
        The hyperparameters.
    """
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    shared_data = resolve_shared_path(hparams["shared_data"])
    if shared_data != hparams["shared_data"]:
        overrides = "".join(
            f"{line}\n"
            for line in overrides.splitlines()
            if not line.startswith("shared_data:")
        )
        overrides += f"shared_data: {shared_data}\n"
        with open(hparams_file, encoding="utf-8") as fin:
            hparams = load_hyperpyyaml(fin, overrides)
    wavs = [hparams["example_wav"], *hparams["parity_wavs"]] + [
        os.path.join(hparams[folder], name)
        for folder in ("noisy_folder", "clean_folder")
        for name in hparams["pesq_files"]
    ]
    for wav in wavs:
        if not os.path.isfile(wav):
            raise FileNotFoundError(
                f"Real recording {wav} not found (shared_data: "
                f"{hparams['shared_data']}); pass --shared_data=<the shared "
                "data folder>, or the file's own option"
            )
    return hparams


if __name__ == "__main__":
    main(sys.argv[1:])
