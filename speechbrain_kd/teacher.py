"""Where a teacher's weights come from, and how strictly they load.

A SpeechBrain user keeps trained models in many places: a run folder of
ours, the ``save/`` folder of a stock SpeechBrain recipe or one of its
``CKPT+...`` folders, a ``.ckpt`` file, a model-hub folder. Whichever it
is, ``find_teacher_checkpoint`` finds the file holding the model's state
dict, and ``load_strict`` (the ``Pretrainer``'s hook) refuses weights that
do not fit the teacher's model file instead of loading part of them.
When the teacher comes from a run folder that recorded its
hyperparameters, ``training_config_differences`` compares the model it
was trained as with the teacher's model file.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import os

from speechbrain.utils.checkpoints import torch_patched_state_dict_load

from speechbrain_kd.checkpoints import CrashSafeCheckpointer
from speechbrain_kd.run_record import find_run_record, recorded_node

logger = logging.getLogger(__name__)

HUB_FILE = "enhance_model.ckpt"
MODEL_KEY = "model"


def find_teacher_checkpoint(path):
    """Finds the file holding the teacher's state dict.

    Arguments
    ---------
    path : str
        One of: a ``.ckpt`` file; a SpeechBrain model-hub folder (with
        ``enhance_model.ckpt``); a checkpoint folder (``CKPT+...`` with
        ``model.ckpt``); a ``save`` folder of checkpoints, ours or a stock
        SpeechBrain recipe's, or the run folder holding it, where the
        checkpoint of best validation ``pesq`` is taken (the latest one if
        none recorded it).

    Returns
    -------
    str
        Path of the file holding the teacher's state dict.

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> save = tempfile.mkdtemp()
    >>> model = torch.nn.Linear(2, 2)
    >>> stock = Checkpointer(save, {"model": model})  # not ours
    >>> _ = stock.save_checkpoint(meta={"pesq": 2.1})
    >>> best = stock.save_checkpoint(meta={"pesq": 2.5})
    >>> find_teacher_checkpoint(save) == str(best.paramfiles["model"])
    True
    """
    path = os.path.abspath(path)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Teacher checkpoint {path} does not exist")
    for name in (HUB_FILE, f"{MODEL_KEY}.ckpt"):
        if os.path.isfile(os.path.join(path, name)):
            return os.path.join(path, name)
    for folder in (path, os.path.join(path, "save")):
        if os.path.isdir(folder):
            checkpoint = _best_checkpoint(folder)
            if checkpoint is not None:
                return _model_file(checkpoint)
    raise FileNotFoundError(
        f"No teacher weights in {path}: expected a .ckpt file, a model-hub "
        f"folder with {HUB_FILE}, a checkpoint folder with {MODEL_KEY}.ckpt, "
        "or a folder of checkpoints (save/CKPT+*)"
    )


def _best_checkpoint(folder):
    """The best-PESQ checkpoint of a folder, else its latest one."""
    checkpointer = CrashSafeCheckpointer(folder)
    best = checkpointer.find_checkpoint(max_key="pesq")
    if best is None:
        best = checkpointer.find_checkpoint()
        if best is not None:
            logger.info(
                "No checkpoint of %s recorded 'pesq'; the teacher is its "
                "latest one, %s",
                folder,
                best.path,
            )
    return best


def _model_file(checkpoint):
    """The model's parameter file of a checkpoint."""
    if MODEL_KEY not in checkpoint.paramfiles:
        raise FileNotFoundError(
            f"Checkpoint {checkpoint.path} has no {MODEL_KEY}.ckpt (it holds "
            f"{sorted(checkpoint.paramfiles)}); pass the teacher's file "
            f"itself, e.g. --teacher={checkpoint.path}/<name>.ckpt"
        )
    return str(checkpoint.paramfiles[MODEL_KEY])


def load_strict(model, path):
    """Loads a state dict only if it fits ``model`` exactly.

    The ``Pretrainer`` hook of the teacher (SpeechBrain's default transfer
    loads what fits and only logs the rest).

    Arguments
    ---------
    model : torch.nn.Module
        The teacher, built from its model file.
    path : str
        File of the state dict.

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
    ValueError: Teacher weights .../model.ckpt do not fit the teacher's \
model file (Linear): shape mismatch: weight (file [3, 2], model [4, 2]), \
bias (file [3], model [4]). Is teacher_model the model that was trained?
    """
    state = torch_patched_state_dict_load(path, "cpu")
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
        raise ValueError(
            f"Teacher weights {path} do not fit the teacher's model file "
            f"({type(model).__name__}): {'; '.join(problems)}. Is "
            "teacher_model the model that was trained?"
        )
    model.load_state_dict(state, strict=True)


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
