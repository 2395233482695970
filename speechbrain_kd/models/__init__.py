"""Denoising models: the MaskUNet family and size/compute helpers."""

from speechbrain_kd.models.unet import (
    MaskUNet,
    count_parameters,
    describe,
    macs_per_second,
)

__all__ = ["MaskUNet", "count_parameters", "describe", "macs_per_second"]
