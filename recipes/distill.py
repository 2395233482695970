#!/usr/bin/env python3
"""Recipe: distil a frozen teacher into a compact student.

Usage (from the repository root)::

    python recipes/distill.py hparams/distill.yaml \\
        --teacher=results/train/teacher_cpu/1234 \\
        --data_folder=data/sample_corpus

``--teacher`` takes a run folder of ours, a ``save`` or ``CKPT+...``
folder (ours or a stock SpeechBrain recipe's), a ``.ckpt`` file or a
SpeechBrain model-hub folder; its architecture is the YAML's
``teacher_model``, and weights that do not fit it are refused. Before
distilling, the teacher is scored on the validation set (a warning if it
is no better than the noisy input). The student is
``--student='!include:models/<name>.yaml'``, the method
``--kd_method='!include:methods/<name>.yaml'``: ``cosine_lib`` (ours, the
default), ``sp_two_step`` (Nathoo et al. 2024), ``feature_mse`` (FitNets),
``output_kd``, or a file of one's own; the settings of the method's file
are options too (``--kd_weight=0.3``). The recipe files of earlier
versions (``hparams/distill/<method>.yaml``) still run.

Authors
 * speechbrain-kd contributors 2026
"""

import sys

from speechbrain.utils.distributed import run_on_main

from speechbrain_kd.brains import DistillBrain
from speechbrain_kd.distill.recipe import RECIPE_FILE, distill_arguments
from speechbrain_kd.run import fit_and_test, load_experiment, prepare_data
from speechbrain_kd.teacher import check_teacher


def main(argv, brain_class=DistillBrain):
    """Runs the recipe for the command-line arguments ``argv``."""
    hparams, run_opts = load_experiment(distill_arguments(argv), RECIPE_FILE)
    pretrainer = hparams["teacher_pretrainer"]
    run_on_main(pretrainer.collect_files)
    pretrainer.load_collected()
    datasets = prepare_data(hparams)
    brain = brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    check_teacher(brain, datasets["valid"], hparams["valid_dataloader_opts"])
    fit_and_test(brain, hparams, datasets)


if __name__ == "__main__":
    main(sys.argv[1:])
