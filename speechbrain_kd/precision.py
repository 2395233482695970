"""bfloat16 autocast where the hardware runs it natively, fp32 elsewhere.

bfloat16 autocast pays only on hardware with native bfloat16 arithmetic:
a GPU that supports it, or a CPU with AVX512-BF16 or AMX, where a training
step of ``teacher_cpu`` ran about 3x faster than in fp32
(``docs/benchmarks.md``). On a CPU without them (AVX2 only) every
bfloat16 operation is converted in software, and the same step ran 10x
*slower* than in fp32 (10.4 s against 1.09 s for a batch of 16 x 2 s on
a 2-core AMD EPYC with AVX2; ``benchmarks/bench_precision.py``). So the
recipes' default for the teacher pass and KD term, ``kd_precision:
auto``, picks bfloat16 only where it is native, the demo picks its
training precision the same way, and an explicit ``bf16`` on a machine
without it is kept, with a warning that says so.

Authors
 * speechbrain-kd contributors 2026
"""

import logging

import torch

logger = logging.getLogger(__name__)

# The values of ``kd_precision``; ``auto``: see :func:`resolve_precision`
KD_PRECISIONS = ("auto", "fp32", "bf16")
# CPU features that give native bfloat16 arithmetic (torch.cpu checks)
NATIVE_BF16_CPU_CHECKS = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def native_bf16(device="cpu"):
    """Whether bfloat16 autocast runs on native arithmetic on ``device``.

    Arguments
    ---------
    device : str or torch.device
        ``cpu``, ``cuda:0``, ...

    Returns
    -------
    bool

    Example
    -------
    >>> native_bf16("cpu") in (True, False)
    True
    >>> native_bf16("meta")
    False
    """
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if kind != "cpu":
        return False
    checks = [getattr(torch.cpu, name, None) for name in NATIVE_BF16_CPU_CHECKS]
    return any(check() for check in checks if check is not None)


def resolve_precision(precision, device="cpu", key="precision"):
    """The precision to run for a setting of ``fp32``, ``bf16`` or ``auto``.

    ``auto`` becomes ``bf16`` where bfloat16 is native on ``device`` (see
    :func:`native_bf16`) and ``fp32`` elsewhere. ``bf16`` is kept as
    asked, with a warning where it is not native (it then runs several
    times slower than fp32).

    Arguments
    ---------
    precision : str
        ``fp32``, ``bf16`` or ``auto``.
    device : str or torch.device
        Where the model runs.
    key : str
        The setting's name, for the messages.

    Returns
    -------
    str
        ``fp32`` or ``bf16``.

    Raises
    ------
    ValueError
        Naming ``key`` and the values it takes.

    Example
    -------
    >>> resolve_precision("fp32")
    'fp32'
    >>> resolve_precision("auto", "meta")  # no native bfloat16 there
    'fp32'
    >>> resolve_precision("auto") == ("bf16" if native_bf16() else "fp32")
    True
    >>> resolve_precision("fp16", key="kd_precision")
    Traceback (most recent call last):
      ...
    ValueError: kd_precision='fp16' is not allowed: use one of 'auto', \
'fp32', 'bf16'
    """
    if precision not in KD_PRECISIONS:
        allowed = ", ".join(repr(value) for value in KD_PRECISIONS)
        raise ValueError(
            f"{key}={precision!r} is not allowed: use one of {allowed}"
        )
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    warn_if_emulated(precision, device, key)
    return precision


def warn_if_emulated(precision, device="cpu", key="precision"):
    """Warns when ``precision`` is ``bf16`` on a device without native
    bfloat16 (it then runs several times slower than fp32).

    Arguments
    ---------
    precision : str
        ``fp32``, ``fp16`` or ``bf16`` (others pass silently).
    device : str or torch.device
        Where the model runs.
    key : str
        The setting's name, for the message.

    Example
    -------
    >>> warn_if_emulated("fp32", "meta")  # fp32: nothing to say
    >>> warn_if_emulated("bf16", "meta")  # logs a warning naming the key
    """
    if precision != "bf16" or native_bf16(device):
        return
    logger.warning(
        "%s: bf16 on %s, which has no native bfloat16 arithmetic (a CPU "
        "needs AVX512-BF16 or AMX): it runs several times slower than "
        "fp32 here; use fp32 (or kd_precision: auto) unless you need the "
        "bf16 numerics, e.g. to pair with runs made in bf16",
        key,
        device,
    )
