"""Starting a model from the pruned weights of a wider trained one.

``init_from`` in ``hparams/train.yaml`` and ``hparams/distill.yaml``: the
model (a student of a published family) starts from the weights of the
channels it keeps of a wider trained model of the same class (the
published checkpoint, a run of ours), chosen by the family's pruning rule,
instead of from random weights. The Brain applies it right after the
seeded initialisation of the model (``initialize_weights``); a resumed
run then loads its own checkpoint over them, as always.

Authors
 * speechbrain-kd contributors 2026
"""

import copy
import logging

from speechbrain_kd.checkpoints import find_model_checkpoint
from speechbrain_kd.models import gtcrn_pruning, ulunas_pruning
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.ulunas import ULUNAS
from speechbrain_kd.teacher import load_strict

logger = logging.getLogger(__name__)

# Model class: the function giving a narrower model's state dict from a
# wider trained one (teacher, student) -> state dict
PRUNING_RULES = {
    GTCRN: gtcrn_pruning.pruned_state,
    ULUNAS: ulunas_pruning.pruned_state,
}


def start_from(model, checkpoint, wider_model):
    """Loads ``checkpoint`` into ``wider_model`` and prunes it into ``model``.

    Arguments
    ---------
    model : torch.nn.Module
        The model to initialise (a student).
    checkpoint : str or None
        The wider model's weights: an official checkpoint of a published
        model, a ``.ckpt`` file, a run or hub folder. None: nothing to do
        (random start).
    wider_model : torch.nn.Module or None
        The wider model's architecture (a file of ``hparams/models``),
        of the class of ``model``.

    Raises
    ------
    ValueError
        Naming the setting: ``init_model`` missing or of another class, or
        a class without a pruning rule.

    Example
    -------
    >>> start_from(GTCRN(8, 2, 4), None, None)  # random start
    >>> import torch
    >>> start_from(torch.nn.Linear(2, 2), "x.ckpt", torch.nn.Linear(4, 4))
    Traceback (most recent call last):
      ...
    ValueError: init_from: Linear has no pruning rule (GTCRN, ULUNAS have \
one); use init_from: null for a random start
    """
    if checkpoint is None:
        return
    rule = PRUNING_RULES.get(type(model))
    if rule is None:
        known = ", ".join(cls.__name__ for cls in PRUNING_RULES)
        raise ValueError(
            f"init_from: {type(model).__name__} has no pruning rule "
            f"({known} have one); use init_from: null for a random start"
        )
    if type(wider_model) is not type(model):
        raise ValueError(
            f"init_from: {checkpoint} needs init_model, the architecture of "
            f"those weights, a {type(model).__name__} (got "
            f"{type(wider_model).__name__})"
        )
    wider = copy.deepcopy(wider_model)  # may be the teacher: left as it is
    load_strict(
        wider,
        find_model_checkpoint(checkpoint),
        checkpoint,
        role=("Starting", "init_model"),
    )
    model.load_state_dict(rule(wider.eval(), model), strict=True)
    logger.info(
        "Started %s from the pruned weights of %s",
        type(model).__name__,
        checkpoint,
    )
