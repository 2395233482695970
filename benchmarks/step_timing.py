"""Timing training steps of the real recipes' Brains on real audio.

Shared by the training-step benchmarks (``bench_kd_overhead.py``,
``bench_precision.py``): batches of 2 s crops of the real VoiceBank-DEMAND
test pairs, a Brain built from the recipes' YAML ready to step, and the
wall time of its steps.

Authors
 * speechbrain-kd contributors 2026
"""

import os
import time

import speechbrain as sb
from common import HPARAMS
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.brains import DistillBrain, EnhanceBrain
from speechbrain_kd.data.pipeline import make_datasets
from speechbrain_kd.data.voicebank import prepare_voicebank


def real_batches(shared_data, folder, batch_size, n_batches):
    """``n_batches`` batches of 2 s crops of the real test pairs."""
    layout = os.path.join(folder, "layout")
    os.makedirs(layout)
    for kind in ("clean", "noisy"):
        source = os.path.join(
            os.path.abspath(shared_data), "voicebank", f"{kind}_testset_wav_16k"
        )
        for split in ("trainset_28spk", "testset"):
            os.symlink(source, os.path.join(layout, f"{kind}_{split}_wav_16k"))
    manifests = prepare_voicebank(
        layout, os.path.join(folder, "manifests"), valid_speakers=[]
    )
    dataset = make_datasets({"train": manifests["train"]}, layout)["train"]
    loader = sb.dataio.dataloader.make_dataloader(
        dataset, batch_size=batch_size, shuffle=True
    )
    batches = []
    while len(batches) < n_batches:
        batches.extend(loader)
    return batches[:n_batches]


def make_brain(kind, folder, student, teacher_file, **settings):
    """An EnhanceBrain (``alone``) or DistillBrain ready to step; more
    ``settings`` (e.g. ``precision="bf16"``) override the YAML's."""
    common = {
        "data_folder": folder,
        "output_folder": os.path.join(folder, kind),
        **settings,
    }
    if kind == "alone":
        path = HPARAMS / "train.yaml"
        overrides = {**common, "model": f"!include:models/{student}.yaml"}
    else:
        path = HPARAMS / "distill.yaml"
        overrides = {
            **common,
            "teacher": teacher_file,
            "student": f"!include:models/{student}.yaml",
        }
    text = "\n".join(f"{k}: {v}" for k, v in overrides.items())
    with open(path) as fin:
        hparams = load_hyperpyyaml(fin, text)
    brain_class = EnhanceBrain
    if kind == "distill":
        hparams["teacher_pretrainer"].collect_files()
        hparams["teacher_pretrainer"].load_collected()
        brain_class = DistillBrain
    brain = brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=hparams["checkpointer"],
    )
    brain.on_fit_start()
    hparams["epoch_counter"].current = 1  # joint training, as after warm-up
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    brain.modules.train()
    return brain


def time_steps(brain, batches, warmup):
    """Median wall time of ``fit_batch`` over the batches after warm-up."""
    times = []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        brain.fit_batch(batch)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times
