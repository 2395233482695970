"""Strict loading of published models' official checkpoints.

A published model class states how the official repository's state-dict
keys map onto its own modules with a class method
``official_key_map(official_keys) -> {official_key: our_key}`` (see
:func:`rename_keys` for a rule-based map). :func:`load_published` loads a
checkpoint through that map and refuses any partial load: a missing,
unexpected or mis-shaped key is an error that names the file and every
key at fault.

Authors
 * speechbrain-kd contributors 2026
"""

import re
from pathlib import Path

import torch


class PublishedCheckpointError(ValueError):
    """An official checkpoint does not match the model it is loaded into."""


def rename_keys(keys, rules):
    """Maps keys by applying ordered ``(regex, replacement)`` rules to each.

    Arguments
    ---------
    keys : iterable of str
        Official state-dict keys.
    rules : sequence of (str, str)
        Regular expressions and their replacements, applied in order.

    Returns
    -------
    dict
        ``{key: renamed_key}``.

    Example
    -------
    >>> rename_keys(["enc.0.bn.weight"], [(r"^enc\\.", "encoder."),
    ...                                   (r"\\.bn\\.", ".norm.")])
    {'enc.0.bn.weight': 'encoder.0.norm.weight'}
    """
    mapping = {}
    for key in keys:
        renamed = key
        for pattern, replacement in rules:
            renamed = re.sub(pattern, replacement, renamed)
        mapping[key] = renamed
    return mapping


def read_official_state(path):
    """Reads the ``state_dict`` of an official checkpoint file.

    A ``torch.save`` dictionary holding the state dict under ``"model"``
    (the published repositories' layout) or the state dict itself.

    Arguments
    ---------
    path : str or pathlib.Path
        The checkpoint file.

    Returns
    -------
    dict
        ``{key: torch.Tensor}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Official checkpoint not found: {path}")
    content = torch.load(path, map_location="cpu", weights_only=True)
    state = content.get("model", content) if isinstance(content, dict) else None
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise PublishedCheckpointError(
            f"{path}: expected a state dict or a dict with a 'model' state dict"
        )
    return state


def map_official_state(model, official_state, source="checkpoint"):
    """Renames an official state dict to ``model``'s keys, strictly.

    Arguments
    ---------
    model : torch.nn.Module
        A model whose class has ``official_key_map(official_keys)``.
    official_state : dict
        The official ``state_dict``.
    source : str
        Name of the checkpoint in error messages (its file).

    Returns
    -------
    dict
        The state dict in ``model``'s keys.

    Raises
    ------
    PublishedCheckpointError
        Naming every missing, unexpected or mis-shaped key.
    """
    if not hasattr(model, "official_key_map"):
        raise TypeError(
            f"{type(model).__name__} has no official_key_map(official_keys):"
            " it cannot load published checkpoints"
        )
    mapping = model.official_key_map(list(official_state))
    ours = model.state_dict()
    problems = []
    renamed = {}
    for official, key in mapping.items():
        if key not in ours:
            problems.append(f"unexpected: {official} (as {key})")
        elif key in renamed:
            problems.append(f"mapped twice onto {key}: {official}")
        elif official_state[official].shape != ours[key].shape:
            problems.append(
                f"shape of {official}: {tuple(official_state[official].shape)}"
                f" in the file, {tuple(ours[key].shape)} in the model ({key})"
            )
        else:
            renamed[key] = official_state[official]
    unmapped = set(official_state) - set(mapping)
    problems += [f"unexpected: {k} (no mapping)" for k in sorted(unmapped)]
    mapped_to = set(mapping.values())
    problems += [f"missing: {k}" for k in ours if k not in mapped_to]
    if problems:
        raise PublishedCheckpointError(
            f"{source} does not fit {type(model).__name__} "
            f"({len(problems)} keys):\n  " + "\n  ".join(problems)
        )
    return renamed


def load_published(model, path):
    """Loads an official checkpoint into ``model`` through its key map.

    Arguments
    ---------
    model : torch.nn.Module
        A model whose class has ``official_key_map(official_keys)``.
    path : str or pathlib.Path
        The official checkpoint (a ``torch.save`` dict with ``"model"``).

    Returns
    -------
    torch.nn.Module
        ``model``, loaded, in eval mode.

    Raises
    ------
    PublishedCheckpointError
        Naming the file and every missing, unexpected or mis-shaped key;
        nothing is loaded then.

    Example
    -------
    >>> import os, tempfile
    >>> from speechbrain_kd.models.gtcrn import GTCRN
    >>> path = os.path.join(tempfile.mkdtemp(), "narrow.tar")
    >>> torch.save({"model": GTCRN(channels=8).state_dict()}, path)
    >>> load_published(GTCRN(), path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_kd.models.published.PublishedCheckpointError: ...narrow.tar...
    """
    state = map_official_state(model, read_official_state(path), str(path))
    model.load_state_dict(state, strict=True)
    return model.eval()
