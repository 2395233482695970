"""What a run folder records of its training: its ``hyperparams.yaml``.

Every recipe saves its hyperparameters, references resolved and files
included, as ``hyperparams.yaml`` in its output folder (SpeechBrain's
``create_experiment_directory``). Export reads the student's model and
features from there, and distillation compares a teacher's model file
with the model it was trained as.

Authors
 * speechbrain-kd contributors 2026
"""

import io
import os
from pathlib import Path

import ruamel.yaml
from hyperpyyaml import load_hyperpyyaml
from ruamel.yaml.comments import CommentedMap

from speechbrain_kd.features import SETTINGS, MagnitudeMask

RECORD_FILE = "hyperparams.yaml"
# The trained model's key: the student of a distillation recipe, the model
# of the training recipe
MODEL_KEYS = ("student", "model")
# How far above a checkpoint its run folder may be (save/CKPT+.../x.ckpt)
LEVELS_UP = 3


def find_run_record(path, key=None):
    """The ``hyperparams.yaml`` of the run that holds ``path``.

    Arguments
    ---------
    path : str or pathlib.Path
        A run folder, or its ``save`` folder, a ``CKPT+...`` folder or a
        checkpoint file in it (the record is looked for up to three
        levels above).
    key : str, optional
        Only a record with this top-level key counts.

    Returns
    -------
    pathlib.Path or None
        The record, or None when there is none.

    Example
    -------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> _ = (run / RECORD_FILE).write_text("seed: 1\\n")
    >>> find_run_record(run / "save" / "CKPT+x" / "model.ckpt") == (
    ...     run / RECORD_FILE
    ... )
    True
    >>> find_run_record(run, key="model") is None
    True
    """
    folder = Path(os.path.abspath(path))
    for _ in range(LEVELS_UP + 1):
        record = folder / RECORD_FILE
        if record.is_file() and (key is None or _load(record).get(key)):
            return record
        folder = folder.parent
    return None


def recorded_node(record, key):
    """A top-level entry of a record, as ruamel loads it (tags kept).

    Arguments
    ---------
    record : str or pathlib.Path
        A ``hyperparams.yaml``.
    key : str
        The top-level key.

    Returns
    -------
    object or None
        The entry; a tagged mapping such as ``!new:<class>`` keeps its tag
        in ``.tag.value``. None when absent.

    Example
    -------
    >>> import tempfile
    >>> record = Path(tempfile.mkdtemp()) / RECORD_FILE
    >>> _ = record.write_text("model: !new:torch.nn.Linear\\n  bias: true\\n")
    >>> node = recorded_node(record, "model")
    >>> node.tag.value, dict(node)
    ('!new:torch.nn.Linear', {'bias': True})
    """
    tree = _load(record)
    return tree.get(key) if isinstance(tree, dict) else None


def recorded_model(record):
    """The trained model of a record, as the text of a model file.

    Arguments
    ---------
    record : str or pathlib.Path
        The ``hyperparams.yaml`` of a training or distillation run.

    Returns
    -------
    str
        ``--- !new:<class>`` and its arguments, as in the files of
        ``hparams/models`` (nested tags kept).

    Example
    -------
    >>> import tempfile
    >>> record = Path(tempfile.mkdtemp()) / RECORD_FILE
    >>> _ = record.write_text(
    ...     "student: &id1 !new:speechbrain_kd.models.MaskUNet\\n"
    ...     "  depth: 2\\nmodules:\\n  model: *id1\\n"
    ... )
    >>> print(recorded_model(record))
    --- !new:speechbrain_kd.models.MaskUNet
    depth: 2
    <BLANKLINE>
    >>> _ = record.write_text("student: !new:torch.nn.Identity\\n")
    >>> recorded_model(record)
    '--- !new:torch.nn.Identity\\n'
    >>> _ = record.write_text("seed: 1\\n")
    >>> recorded_model(record)
    Traceback (most recent call last):
    ...
    ValueError: .../hyperparams.yaml records no model (no 'student' or \
'model' entry tagged !new:<class>); name the model file instead
    """
    for key in MODEL_KEYS:
        node = recorded_node(record, key)
        tag = getattr(getattr(node, "tag", None), "value", None) or ""
        if not tag.startswith("!new:"):
            continue
        if isinstance(node, dict):
            text = io.StringIO()
            _yaml().dump(CommentedMap(node), text)
            return f"--- {tag}\n{text.getvalue()}"
        if not str(getattr(node, "value", "")).strip():
            return f"--- {tag}\n"  # default arguments: '!new:my.Model'
    raise ValueError(
        f"{record} records no model (no 'student' or 'model' entry tagged "
        "!new:<class>); name the model file instead"
    )


def recorded_features(record):
    """The feature settings of a record.

    Arguments
    ---------
    record : str or pathlib.Path
        The ``hyperparams.yaml`` of a training or distillation run.

    Returns
    -------
    dict
        ``sample_rate``, ``n_fft``, ``win_length`` and ``hop_length``.

    Example
    -------
    >>> import tempfile
    >>> record = Path(tempfile.mkdtemp()) / RECORD_FILE
    >>> _ = record.write_text(
    ...     "sample_rate: 16000\\nn_fft: 256\\nwin_length: 16\\n"
    ...     "hop_length: 8\\n"
    ... )
    >>> recorded_features(record)["n_fft"]
    256
    >>> _ = record.write_text("n_fft: 256\\n")
    >>> recorded_features(record)
    Traceback (most recent call last):
    ...
    ValueError: .../hyperparams.yaml records no sample_rate, win_length, \
hop_length; name the features file instead
    """
    tree = _load(record)
    missing = [key for key in SETTINGS if key not in tree]
    if missing:
        raise ValueError(
            f"{record} records no {', '.join(missing)}; name the features "
            "file instead"
        )
    return {key: tree[key] for key in SETTINGS}


def _yaml():
    """A round-trip YAML parser (keeps tags)."""
    return ruamel.yaml.YAML()


def _load(record):
    """The parsed record (an empty mapping for an empty file)."""
    with open(record, encoding="utf-8") as fin:
        tree = _yaml().load(fin)
    return tree if isinstance(tree, dict) else {}


def recorded_front_end(record):
    """The front-end a run was trained with.

    Arguments
    ---------
    record : str or pathlib.Path
        The ``hyperparams.yaml`` of a training or distillation run.

    Returns
    -------
    speechbrain_kd.features.SpectralFrontEnd
        The ``front_end`` of its ``features`` entry; for a run recorded
        before front-end objects, the magnitude-mask front-end of its STFT
        settings.

    Example
    -------
    >>> import tempfile
    >>> record = Path(tempfile.mkdtemp()) / RECORD_FILE
    >>> _ = record.write_text(
    ...     "features:\\n"
    ...     "  front_end: !new:speechbrain_kd.features.ComplexSpectrum\\n"
    ...     "    sample_rate: 16000\\n    n_fft: 256\\n"
    ...     "    win_length: 16\\n    hop_length: 8\\n"
    ... )
    >>> recorded_front_end(record).n_freq
    129
    >>> _ = record.write_text(
    ...     "sample_rate: 16000\\nn_fft: 256\\nwin_length: 16\\n"
    ...     "hop_length: 8\\n"
    ... )
    >>> recorded_front_end(record)
    MagnitudeMask(sample_rate=16000, n_fft=256, win_length=16, \
hop_length=8, window=hamming)
    """
    features = recorded_node(record, "features")
    node = features.get("front_end") if isinstance(features, dict) else None
    tag = getattr(getattr(node, "tag", None), "value", None) or ""
    if not (tag.startswith("!new:") and isinstance(node, dict)):
        return MagnitudeMask(**recorded_features(record))
    text = io.StringIO()
    _yaml().dump({"front_end": CommentedMap(node)}, text)
    body = text.getvalue().replace("front_end:", f"front_end: {tag}", 1)
    return load_hyperpyyaml(body)["front_end"]
