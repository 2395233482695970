"""Denoising models: the MaskUNet family, the published GTCRN and UL-UNAS,
and size/compute helpers."""

from speechbrain_kd.models.complexity import count_macs, parameter_counts
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.published import load_published
from speechbrain_kd.models.ulunas import ULUNAS
from speechbrain_kd.models.unet import (
    MaskUNet,
    count_parameters,
    describe,
    macs_per_second,
    probe_input,
)

__all__ = [
    "GTCRN",
    "MaskUNet",
    "ULUNAS",
    "count_macs",
    "count_parameters",
    "describe",
    "load_published",
    "macs_per_second",
    "parameter_counts",
    "probe_input",
]
