"""Check a recipe's options before anything runs.

SpeechBrain already refuses an override that names no YAML key; this
module refuses values that would train silently wrong (zero epochs, a
negative learning rate, an unknown precision, ...), with an error naming
the option and what it accepts. Options absent from a recipe's YAML are
not checked, so one table serves every recipe. The options of a KD
method's schedule (``kd_weight``, ``kd_warmup_epochs``,
``kd_after_warmup``, ``kd_balance``, ``kd_epochs``) are checked, with the
same errors, by ``speechbrain_kd.distill.KDSchedule`` as the YAML loads.

Authors
 * speechbrain-kd contributors 2026
"""

import numbers

from speechbrain_kd.data.datasets import FORMATS
from speechbrain_kd.precision import KD_PRECISIONS


def _integer(minimum):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return value >= minimum

    check.allowed = f"an integer >= {minimum}"
    return check


def _number(minimum, strict):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        return value > minimum if strict else value >= minimum

    check.allowed = f"a number {'>' if strict else '>='} {minimum}"
    return check


def _choice(choices):
    def check(value):
        return value in choices

    check.allowed = f"one of {', '.join(map(repr, choices))}"
    return check


def _optional(check):
    def optional(value):
        return value is None or check(value)

    optional.allowed = f"null or {check.allowed}"
    return optional


def _optional_speakers(value):
    return value is None or (
        isinstance(value, list)
        and value
        and all(isinstance(v, str | int) for v in value)
    )


_optional_speakers.allowed = (
    "null (the corpus's own validation speakers) or a list of speaker ids, "
    "e.g. [p226, p287]"
)

RULES = {
    "seed": _integer(0),
    "sample_rate": _integer(1),
    "number_of_epochs": _integer(1),
    "batch_size": _integer(1),
    "segment_seconds": _number(0, strict=True),
    "learning_rate": _number(0, strict=True),
    "n_fft": _integer(1),
    "win_length": _number(0, strict=True),
    "hop_length": _number(0, strict=True),
    "valid_speakers": _optional_speakers,
    "kd_precision": _choice(KD_PRECISIONS),
    "train_data": _choice(("static", "dynamic")),
    "dataset_format": _choice(("auto", *FORMATS)),
    "steps_per_epoch": _integer(1),
    "max_steps": _optional(_integer(1)),
    "max_minutes": _optional(_number(0, strict=True)),
    "warmup_fraction": _number(0, strict=False),
    "max_grad_norm": _number(0, strict=True),
    "precision": _choice(("fp32", "bf16", "fp16")),
    "scoring_workers": _integer(0),
}


def check_options(hparams):
    """Raises on the first option whose value is not allowed.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters of a recipe.

    Raises
    ------
    ValueError
        Naming the option, its value and the allowed values.

    Example
    -------
    >>> check_options({"precision": "bf16", "number_of_epochs": 3})
    >>> check_options({"precision": "fp8"})
    Traceback (most recent call last):
      ...
    ValueError: Option precision='fp8' is not allowed: use one of 'fp32', \
'bf16', 'fp16'
    >>> check_options({"learning_rate": -1})
    Traceback (most recent call last):
      ...
    ValueError: Option learning_rate=-1 is not allowed: use a number > 0
    >>> check_options({"number_of_epochs": 0})
    Traceback (most recent call last):
      ...
    ValueError: Option number_of_epochs=0 is not allowed: use an integer >= 1
    """
    for name, check in RULES.items():
        if name in hparams and not check(hparams[name]):
            raise ValueError(
                f"Option {name}={hparams[name]!r} is not allowed: use "
                f"{check.allowed}"
            )
