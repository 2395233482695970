"""Denoising models: the MaskUNet family, size/compute helpers, and
``call_model`` (with ``lengths`` where a model takes them)."""

from speechbrain_kd.models.calling import call_model
from speechbrain_kd.models.unet import (
    MaskUNet,
    count_parameters,
    describe,
    macs_per_second,
)

__all__ = [
    "MaskUNet",
    "call_model",
    "count_parameters",
    "describe",
    "macs_per_second",
]
