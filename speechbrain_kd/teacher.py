"""The teacher: how strictly its weights load, and whether it is any good.

Wherever the teacher's weights are (a run folder of ours, the ``save/``
folder of a stock SpeechBrain recipe, a ``.ckpt`` file, a model-hub
folder: ``speechbrain_kd.checkpoints.find_model_checkpoint`` finds them),
``load_strict`` (the ``Pretrainer``'s hook) refuses weights that do not fit
the teacher's model file instead of loading part of them, naming the
``--teacher`` given and the class its own run recorded. When the teacher
comes from a run folder that recorded its hyperparameters,
``training_config_differences`` compares the model it was trained as with
the teacher's model file. ``check_teacher`` scores the teacher against the
noisy input on the validation set before distilling from it.

Authors
 * speechbrain-kd contributors 2026
"""

import json
import logging
import os
import pydoc

import speechbrain as sb
import torch
from speechbrain.utils.checkpoints import torch_patched_state_dict_load
from speechbrain.utils.distributed import main_process_only
from tqdm import tqdm

from speechbrain_kd import metrics
from speechbrain_kd.atomic import atomic_write
from speechbrain_kd.features import call_model, front_end_of
from speechbrain_kd.models.published import load_published
from speechbrain_kd.run_record import (
    find_run_record,
    recorded_front_end,
    recorded_node,
)

logger = logging.getLogger(__name__)


def is_published_checkpoint(state):
    """Whether a loaded file is an official checkpoint of a published
    model: a dictionary whose ``model`` entry is the state dict.

    Arguments
    ---------
    state : object
        What ``torch.load`` returned.

    Returns
    -------
    bool

    Example
    -------
    >>> is_published_checkpoint({"model": {"w": torch.zeros(1)}})
    True
    >>> is_published_checkpoint({"w": torch.zeros(1)})
    False
    """
    return isinstance(state, dict) and isinstance(state.get("model"), dict)


def load_strict(model, path, source=None, role=("Teacher", "teacher_model")):
    """Loads a state dict only if it fits ``model`` exactly.

    The ``Pretrainer`` hook of the teacher (SpeechBrain's default transfer
    loads what fits and only logs the rest). An official checkpoint of a
    published model (``torch.load(path)["model"]``) goes through the
    model's own key map (:func:`speechbrain_kd.models.load_published`),
    as strict.

    Arguments
    ---------
    model : torch.nn.Module
        The teacher, built from its model file.
    path : str
        File of the state dict (the Pretrainer's copy of it).
    source : str, optional
        The ``--teacher`` given, named in the error in place of ``path``,
        with the class its run folder recorded if that is another one.
    role : tuple of str
        Whose weights they are and the setting of their model file, as the
        error names them (``("Starting", "init_model")`` for a warm start).

    Raises
    ------
    ValueError
        Naming the file, the model and every missing, unexpected or
        mis-shaped key.

    Example
    -------
    >>> import tempfile, torch
    >>> path = tempfile.mkdtemp() + "/model.ckpt"
    >>> torch.save(torch.nn.Linear(2, 3).state_dict(), path)
    >>> load_strict(torch.nn.Linear(2, 3), path)
    >>> load_strict(torch.nn.Linear(2, 4), path)
    Traceback (most recent call last):
      ...
    ValueError: Teacher weights .../model.ckpt do not fit the teacher_model \
model file (Linear): shape mismatch: weight (file [3, 2], model [4, 2]), \
bias (file [3], model [4]). Is teacher_model the model that was trained?
    """
    state = torch_patched_state_dict_load(path, "cpu")
    if is_published_checkpoint(state) and hasattr(model, "official_key_map"):
        load_published(model, path)
        return
    expected = model.state_dict()
    problems = []
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    mismatched = [
        f"{key} (file {list(state[key].shape)}, model "
        f"{list(expected[key].shape)})"
        for key in expected
        if key in state and state[key].shape != expected[key].shape
    ]
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatch: {', '.join(mismatched)}")
    if problems:
        whose, setting = role
        raise ValueError(
            f"{whose} weights {source or path} do not fit the "
            f"{setting} model file ({type(model).__name__}): "
            f"{'; '.join(problems)}. "
            + (
                _recorded_class_mismatch(model, source)
                or f"Is {setting} the model that was trained?"
            )
        )
    model.load_state_dict(state, strict=True)


def _recorded_class_mismatch(model, source):
    """Says so if the teacher's run recorded another class than ``model``.

    Returns
    -------
    str or None
        A sentence naming the teacher's ``hyperparams.yaml`` and both
        classes, or None (same class, or no record).
    """
    record = source and find_run_record(source, key="model")
    trained = record and _config(record, "model")
    if not trained:
        return None
    path = trained[0].partition(":")[2]
    recorded = pydoc.locate(path)
    if recorded is None:  # not importable here: compare the names
        same = path.rpartition(".")[2] == type(model).__name__
    else:
        same = recorded is type(model)
    if same:
        return None
    return (
        f"The teacher's own {record} names another class, {path}: set "
        f"teacher_model to the model it was trained as (e.g. "
        f"--teacher_model='!new:{path}' with its arguments)."
    )


def training_config_differences(teacher, teacher_model_config):
    """How the teacher's model file differs from the one it was trained as.

    Arguments
    ---------
    teacher : str
        The ``--teacher`` path. Its run folder (the path or up to three
        levels above it, as for a ``save/CKPT+.../model.ckpt`` file) may
        hold the ``hyperparams.yaml`` of its training, with its ``model``.
    teacher_model_config : str
        A ``hyperparams.yaml`` whose ``teacher_model`` is the model file in
        use (the distillation run's own).

    Returns
    -------
    list of str
        ``"<argument>: <now> (trained with <then>)"`` for every argument
        that differs; empty when they agree or no training record exists.

    Example
    -------
    >>> import pathlib, tempfile
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> unet = "!new:speechbrain_kd.models.MaskUNet"
    >>> _ = (run / "hyperparams.yaml").write_text(
    ...     f"model: {unet}\\n  depth: 2\\n  causal: false\\n"
    ... )
    >>> distill = run / "distill.yaml"
    >>> _ = distill.write_text(
    ...     f"teacher_model: {unet}\\n  depth: 2\\n  causal: true\\n"
    ... )
    >>> training_config_differences(str(run / "save"), str(distill))
    ['causal: True (trained with False)']
    """
    record = find_run_record(teacher, key="model")
    trained = None if record is None else _config(record, "model")
    if trained is None:
        return []
    used = _config(teacher_model_config, "teacher_model")
    if used is None:
        return []
    if trained[0] != used[0]:
        return [f"class: {used[0]} (trained with {trained[0]})"]
    keys = sorted(set(trained[1]) | set(used[1]))
    return [
        f"{key}: {used[1].get(key)} (trained with {trained[1].get(key)})"
        for key in keys
        if trained[1].get(key) != used[1].get(key)
    ]


def _config(hyperparams_file, key):
    """``(tag, arguments)`` of a ``!new:`` entry of a YAML, or None."""
    node = recorded_node(hyperparams_file, key)
    tag = getattr(getattr(node, "tag", None), "value", None)
    if not isinstance(node, dict) or not tag:
        return None
    return tag, {
        k: repr(v) if isinstance(v, dict | list) else v for k, v in node.items()
    }


@main_process_only
def teacher_front_end(hparams):
    """The front-end the teacher was trained with.

    That of ``teacher_features`` if given, else the one the teacher's run
    folder recorded, else the student's. Given and recorded front-ends
    that differ are an error naming both, as is a teacher model class
    that requires other features (a published model's STFT).

    Arguments
    ---------
    hparams : dict
        The distillation recipe's hyperparameters: ``teacher`` (its
        checkpoint or folder), ``teacher_features`` (a loaded file of
        ``hparams/features``, or None) and the student's features.

    Returns
    -------
    speechbrain_kd.features.SpectralFrontEnd

    Example
    -------
    >>> from speechbrain_kd.features import load_features_file
    >>> hparams = {"teacher": "elsewhere", "teacher_features": None,
    ...            **load_features_file("stft_16ms")}
    >>> teacher_front_end(hparams).n_fft  # the student's
    256
    """
    student = front_end_of(hparams)
    given = hparams.get("teacher_features")
    given = front_end_of(given) if given else None
    record = None
    if hparams.get("teacher") and os.path.exists(hparams["teacher"]):
        record = find_run_record(hparams["teacher"])
    recorded = recorded_front_end(record) if record else None
    if given and recorded and given.describe() != recorded.describe():
        raise ValueError(
            f"teacher_features gives {given}, but the teacher "
            f"{hparams['teacher']} was trained with {recorded} ({record}): "
            "drop teacher_features, or give the teacher's own"
        )
    front_end = given or recorded or student
    if front_end is not student:
        logger.info("The teacher runs on its own features: %s", front_end)
    return front_end


def check_teacher(brain, valid_set, loader_kwargs):
    """Scores the teacher and the noisy input on the validation set.

    Logs both mean PESQ and STOI and warns if the teacher is no better
    than the noisy input: a sign of a wrong teacher model file or
    checkpoint. Also warns if the teacher's run folder recorded a model
    that differs from ``teacher_model``. The scores are kept in
    ``teacher_check.json`` of the output folder (a resumed run reads them
    back).

    Arguments
    ---------
    brain : speechbrain_kd.brains.DistillBrain
        The distillation Brain (its features, scoring and teacher).
    valid_set : Dataset
        The validation set.
    loader_kwargs : dict
        Its dataloader options.

    Returns
    -------
    dict
        ``{"teacher": {metric: mean}, "noisy": {metric: mean}}``.
    """
    hparams = brain.hparams
    path = os.path.join(hparams.output_folder, "teacher_check.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fin:
            scores = json.load(fin)
    else:
        scores = _score_teacher(brain, valid_set, loader_kwargs)
        with atomic_write(path) as fout:
            json.dump(scores, fout, indent=2)
    teacher, noisy = scores["teacher"], scores["noisy"]
    logger.info(
        "Teacher on the validation set: PESQ %.2f, STOI %.3f (noisy "
        "input: PESQ %.2f, STOI %.3f)",
        teacher["pesq"],
        teacher["stoi"],
        noisy["pesq"],
        noisy["stoi"],
    )
    differences = training_config_differences(
        hparams.teacher,
        os.path.join(hparams.output_folder, "hyperparams.yaml"),
    )
    if differences:
        logger.warning(
            "teacher_model differs from the model the teacher was trained "
            "as: %s",
            "; ".join(differences),
        )
    worse = [
        f"{name.upper()} {teacher[name]:.3g} vs {noisy[name]:.3g}"
        for name in ("pesq", "stoi")
        if not teacher[name] > noisy[name]
    ]
    if worse:
        logger.warning(
            "THE TEACHER IS NO BETTER THAN THE NOISY INPUT on the "
            "validation set (%s): is teacher_model the architecture it was "
            "trained with (e.g. causal), --teacher its trained checkpoint, "
            "and teacher_features the features it was trained on? "
            "Distilling from it teaches the student nothing useful.",
            ", ".join(worse),
        )
    return scores


def _score_teacher(brain, valid_set, loader_kwargs):
    """Mean PESQ and STOI of the teacher's output and the noisy input."""
    distillation = brain.distillation
    distillation.to(brain.device)
    loader = brain.make_dataloader(
        valid_set, sb.Stage.VALID, ckpt_prefix=None, **loader_kwargs
    )
    brain.rows, kinds = [], []
    with torch.no_grad(), distillation.teacher_tap.disabled():
        for batch in tqdm(loader, desc="teacher check", unit="batch"):
            batch = batch.to(brain.device)
            noisy, lens = batch.noisy_sig
            clean, _ = batch.clean_sig
            front_end = distillation.teacher_front_end
            feats = front_end.model_input(noisy)
            output = call_model(distillation.teacher, feats, lens)
            enhanced = front_end.waveform(
                front_end.estimate(output, feats), noisy
            )
            for name, wavs in (("teacher", enhanced), ("noisy", noisy)):
                brain.score_batch(batch.id, wavs, clean, lens, sb.Stage.VALID)
                kinds += [name] * len(batch.id)
    scores = brain.scoring.collect()
    brain.rows = []
    return {
        name: {
            k: v["mean"]
            for k, v in metrics.summarize(
                [s for s, kind in zip(scores, kinds) if kind == name]
            ).items()
        }
        for name in ("teacher", "noisy")
    }
