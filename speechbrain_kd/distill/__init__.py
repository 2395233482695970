"""Distillation as one component: feature taps, LIB adapters, KD losses,
methods and their schedules, and ``Distillation``, which attaches a method
to a student and a frozen teacher for a Brain."""

from speechbrain_kd.distill.adapters import (
    LinearInvertedBottleneck,
    align_time,
    to_frames,
)
from speechbrain_kd.distill.distillation import Distillation
from speechbrain_kd.distill.losses import (
    cosine_distance,
    masked_mse,
    similarity_preserving_loss,
)
from speechbrain_kd.distill.methods import (
    CosineLIB,
    FeatureMSE,
    KDMethod,
    OutputKD,
    SimilarityPreserving,
)
from speechbrain_kd.distill.schedule import KDSchedule
from speechbrain_kd.distill.taps import FeatureTap, find_module

__all__ = [
    "CosineLIB",
    "Distillation",
    "FeatureMSE",
    "FeatureTap",
    "KDMethod",
    "KDSchedule",
    "LinearInvertedBottleneck",
    "OutputKD",
    "SimilarityPreserving",
    "align_time",
    "cosine_distance",
    "find_module",
    "masked_mse",
    "similarity_preserving_loss",
    "to_frames",
]
