#!/usr/bin/env python3
"""Recipe: train a MaskUNet teacher, or a student on its own.

Usage (from the repository root)::

    python recipes/train.py hparams/train.yaml --data_folder=data/sample_corpus
    python recipes/train.py hparams/train.yaml --data_folder=/path/to/vbd \\
        --model='!include:models/student_w16.yaml' --experiment=student_w16

The data folder holds VoiceBank-DEMAND (16 or 48 kHz folders) or a corpus
in its layout, such as the sample corpus that ``make demo`` builds.

Authors
 * speechbrain-kd contributors 2026
"""

import sys

from speechbrain_kd.brains import EnhanceBrain
from speechbrain_kd.run import fit_and_test, load_experiment, prepare_data


def main(argv):
    """Runs the recipe for the command-line arguments ``argv``."""
    hparams, run_opts = load_experiment(argv)
    datasets = prepare_data(hparams)
    brain = EnhanceBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    fit_and_test(brain, hparams, datasets)


if __name__ == "__main__":
    main(sys.argv[1:])
