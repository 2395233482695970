"""When the KD term counts, and how much, epoch by epoch.

A method's YAML (``hparams/methods/<name>.yaml``) declares its schedule
next to its class: KD alone for the first ``warmup_epochs``, then
``joint`` (denoising + KD) or ``supervised`` (denoising alone, the teacher
idle); KD may end after ``kd_epochs``; the KD term is ``weight`` x KD, or
scale-free with ``balance`` (see ``distill.losses.kd_term``).

Authors
 * speechbrain-kd contributors 2026
"""

import numbers

from speechbrain_kd.distill.losses import kd_term

AFTER_WARMUP = ("joint", "supervised")


class KDSchedule:
    """The KD phase of each epoch and the loss of each phase.

    Arguments
    ---------
    weight : float
        Fixed weight of the KD term (option ``kd_weight``), >= 0.
    warmup_epochs : int
        Epochs of KD alone first (``kd_warmup_epochs``), >= 0.
    after_warmup : str
        ``joint`` or ``supervised`` (``kd_after_warmup``).
    balance : float, optional
        The KD term as a fraction of the denoising loss (``kd_balance``);
        ``weight`` is then ignored.
    kd_epochs : int, optional
        Epochs with a KD term (``kd_epochs``); supervised after them.

    Example
    -------
    >>> schedule = KDSchedule(warmup_epochs=2, after_warmup="supervised")
    >>> [schedule.phase(epoch) for epoch in (1, 2, 3)]
    ['kd_only', 'kd_only', 'supervised']
    >>> KDSchedule(after_warmup="supervise")
    Traceback (most recent call last):
      ...
    ValueError: Option kd_after_warmup='supervise' is not allowed: use one \
of 'joint', 'supervised'
    """

    def __init__(
        self,
        weight=1.0,
        warmup_epochs=0,
        after_warmup="joint",
        balance=None,
        kd_epochs=None,
    ):
        _check("kd_weight", weight, _is_number(weight) and weight >= 0)
        _check(
            "kd_warmup_epochs",
            warmup_epochs,
            _is_integer(warmup_epochs) and warmup_epochs >= 0,
            "an integer >= 0",
        )
        _check(
            "kd_after_warmup",
            after_warmup,
            after_warmup in AFTER_WARMUP,
            "one of 'joint', 'supervised'",
        )
        _check(
            "kd_balance",
            balance,
            balance is None or (_is_number(balance) and balance > 0),
            "null or a number > 0",
        )
        _check(
            "kd_epochs",
            kd_epochs,
            kd_epochs is None or (_is_integer(kd_epochs) and kd_epochs >= 1),
            "null or an integer >= 1",
        )
        self.weight = weight
        self.warmup_epochs = warmup_epochs
        self.after_warmup = after_warmup
        self.balance = balance
        self.kd_epochs = kd_epochs

    def phase(self, epoch):
        """``kd_only``, ``joint`` or ``supervised`` for an epoch (from 1)."""
        if epoch <= self.warmup_epochs:
            return "kd_only"
        if self.kd_epochs is not None and epoch > self.kd_epochs:
            return "supervised"
        return self.after_warmup

    def loss(self, kd, denoise, epoch):
        """The training loss of an epoch from its KD and denoising terms.

        Arguments
        ---------
        kd : torch.Tensor
            The KD loss (scalar).
        denoise : torch.Tensor
            The denoising loss (scalar).
        epoch : int
            The epoch (from 1).

        Returns
        -------
        torch.Tensor

        Example
        -------
        >>> import torch
        >>> schedule = KDSchedule(weight=0.5, warmup_epochs=1)
        >>> kd, denoise = torch.tensor(2.0), torch.tensor(3.0)
        >>> schedule.loss(kd, denoise, 1), schedule.loss(kd, denoise, 2)
        (tensor(2.), tensor(4.))
        """
        if self.phase(epoch) == "kd_only":
            # 0 x denoise keeps every student parameter in the graph (DDP)
            return kd + 0.0 * denoise
        return denoise + kd_term(kd, denoise, self.weight, self.balance)

    def check_epochs(self, number_of_epochs, name="the run"):
        """Refuses a run too short for a two-step schedule.

        A schedule of KD alone then supervised training teaches nothing
        useful unless both steps run: ``1 <= warmup_epochs <
        number_of_epochs``. Other schedules fit any number of epochs.

        Arguments
        ---------
        number_of_epochs : int
            Epochs of the run.
        name : str
            The run or method, for the message.

        Example
        -------
        >>> two_step = KDSchedule(warmup_epochs=5, after_warmup="supervised")
        >>> two_step.check_epochs(8)
        >>> two_step.check_epochs(5, "sp_two_step")
        Traceback (most recent call last):
          ...
        ValueError: sp_two_step: kd_warmup_epochs must be an integer in \
[1, number_of_epochs - 1] = [1, 4] so that both steps of the KD-then-\
supervised schedule run, got 5
        """
        if self.after_warmup != "supervised":
            return
        if not 1 <= self.warmup_epochs < number_of_epochs:
            raise ValueError(
                f"{name}: kd_warmup_epochs must be an integer in "
                f"[1, number_of_epochs - 1] = [1, {number_of_epochs - 1}] "
                "so that both steps of the KD-then-supervised schedule run, "
                f"got {self.warmup_epochs}"
            )


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check(option, value, ok, allowed="a number >= 0"):
    if not ok:
        raise ValueError(
            f"Option {option}={value!r} is not allowed: use {allowed}"
        )
