"""Distillation methods: which latents to tap and how to compare them.

A method names the student and teacher modules it reads (dotted paths, see
``FeatureTap``), builds its trainable parts (adapters, projectors) from the
latent shapes observed on a probe input, and returns the KD loss. Methods
are ``torch.nn.Module``s that live in the Brain's ``modules``: their
parameters are optimised and checkpointed with the student, and they are
never exported. Swapping the ``kd_method`` entry of a YAML swaps the method.

Authors
 * speechbrain-kd contributors 2026
"""

import torch
from torch import nn

from speechbrain_kd.distill.adapters import (
    LinearInvertedBottleneck,
    align_time,
    to_frames,
)
from speechbrain_kd.distill.layout import time_axes, usual_time_axis
from speechbrain_kd.distill.losses import (
    center_over_time,
    cosine_distance,
    masked_mse,
    similarity_preserving_loss,
)

REDUCTIONS = ("frame", "utterance", "channel")
OUTPUT_TARGETS = ("mask", "magnitude")


class KDMethod(nn.Module):
    """Base class of the distillation methods.

    Arguments
    ---------
    student_layers : list of str
        Paths of the student modules the method reads.
    teacher_layers : list of str
        Paths of the teacher modules, paired with ``student_layers``.
    student_time_dim : int, optional
        Time axis of the student latents; by default it is found by
        probing (``find_time_dims``).
    teacher_time_dim : int, optional
        Time axis of the teacher latents; likewise.

    Example
    -------
    A new method is a subclass that names its layers and returns a loss;
    ``pairs`` gives the time-aligned ``[batch, time, dim]`` frames of each
    pair of layers. Here, the distance between the frames' energies,
    which needs no adapter since it is free of the latents' sizes:

    >>> class FrameEnergyKD(KDMethod):
    ...     def __init__(self):
    ...         super().__init__(["bottleneck"], ["bottleneck"], 2, 2)
    ...
    ...     def forward(self, student, teacher, lengths=None, feats=None):
    ...         (s, t), = self.pairs(student, teacher)
    ...         return (s.norm(dim=-1) - t.norm(dim=-1)).abs().mean()
    >>> method = FrameEnergyKD()
    >>> student = {"bottleneck": torch.ones(1, 8, 5, 4)}  # frames of 32
    >>> teacher = {"bottleneck": torch.ones(1, 32, 5, 4)}  # and 128 ones
    >>> method.setup(student, teacher)
    >>> method(student, teacher)  # sqrt(128) - sqrt(32)
    tensor(5.6569)

    In a recipe, such a class replaces the ``kd_method`` entry of a
    distillation YAML (``--code_path`` finds it in the user's file).
    """

    def __init__(
        self,
        student_layers,
        teacher_layers,
        student_time_dim=None,
        teacher_time_dim=None,
    ):
        super().__init__()
        if len(student_layers) != len(teacher_layers):
            raise ValueError(
                f"{type(self).__name__}: {len(student_layers)} student "
                f"layers but {len(teacher_layers)} teacher layers; they are "
                "compared pairwise"
            )
        self.student_layers = list(student_layers)
        self.teacher_layers = list(teacher_layers)
        for name, value in (
            ("student_time_dim", student_time_dim),
            ("teacher_time_dim", teacher_time_dim),
        ):
            if value is not None and (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < 1
            ):
                raise ValueError(
                    f"{type(self).__name__}: {name} must be null (found by "
                    f"probing) or an axis >= 1 (0 is the batch), got "
                    f"{value!r}"
                )
        self.student_time_dim = student_time_dim
        self.teacher_time_dim = teacher_time_dim
        self.time_dims = {"student": {}, "teacher": {}}

    def resolve_layers(self, student, teacher):
        """Chooses layer paths from the two models, before they are tapped.

        The default keeps the paths given at construction.

        Arguments
        ---------
        student : torch.nn.Module
            The student model.
        teacher : torch.nn.Module
            The teacher model.
        """

    def find_time_dims(self, short, long, student, teacher):
        """Finds the time axis of every latent from two probe passes.

        Arguments
        ---------
        short : tuple of dict
            Student and teacher latents (path to tensor) for a short input.
        long : tuple of dict
            The same for a longer input.
        student : torch.nn.Module
            The student (named in messages).
        teacher : torch.nn.Module
            The teacher.
        """
        self.time_dims = {
            "student": time_axes(
                short[0], long[0], "student", student, self.student_time_dim
            ),
            "teacher": time_axes(
                short[1], long[1], "teacher", teacher, self.teacher_time_dim
            ),
        }

    def frames(self, latents, role, path):
        """The latent of ``path`` as frame vectors ``[batch, time, dim]``.

        Arguments
        ---------
        latents : dict
            Path to latent.
        role : str
            ``student`` or ``teacher``.
        path : str
            The module path.

        Returns
        -------
        torch.Tensor
        """
        override = getattr(self, f"{role}_time_dim")
        time_dim = self.time_dims[role].get(path, override)
        if time_dim is None:
            time_dim = self.time_dims[role][path] = usual_time_axis(
                latents[path], f"{role} latent {path!r}"
            )
        return to_frames(latents[path], time_dim)

    def setup(self, student_latents, teacher_latents):
        """Builds trainable parts from latents seen on a probe input.

        Arguments
        ---------
        student_latents : dict
            Student layer path to a latent tensor.
        teacher_latents : dict
            Teacher layer path to a latent tensor.
        """

    def pairs(self, student_latents, teacher_latents):
        """Yields time-aligned ``(student, teacher)`` frame sequences."""
        for s_path, t_path in zip(self.student_layers, self.teacher_layers):
            yield align_time(
                self.frames(student_latents, "student", s_path),
                self.frames(teacher_latents, "teacher", t_path),
            )

    def forward(
        self, student_latents, teacher_latents, lengths=None, feats=None
    ):
        """Returns the KD loss; implemented by each method.

        Arguments
        ---------
        student_latents : dict
            Student layer path to latent.
        teacher_latents : dict
            Teacher layer path to latent.
        lengths : torch.Tensor, optional
            Relative lengths; padded frames are ignored.
        feats : torch.Tensor, optional
            The input features ``[batch, time, freq]``.

        Returns
        -------
        torch.Tensor
            The scalar KD loss.
        """
        raise NotImplementedError


class _AdaptedMethod(KDMethod):
    """A method that maps student latents to the teacher's sizes with one
    linear inverted bottleneck per pair of latents before comparing them.

    ``student_latent`` and ``teacher_latent`` are one module path each, or
    paired lists of paths (e.g. the bottleneck and the first decoder
    level); the losses of the pairs are averaged.
    """

    def __init__(
        self,
        student_latent="bottleneck",
        teacher_latent="bottleneck",
        student_time_dim=None,
        teacher_time_dim=None,
        bias=True,
    ):
        paths = {}
        for name, value in (
            ("student_latent", student_latent),
            ("teacher_latent", teacher_latent),
        ):
            paths[name] = [value] if isinstance(value, str) else value
            if not paths[name] or not all(
                isinstance(path, str) for path in paths[name]
            ):
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a module path "
                    f"(a string, '' for the model's output) or a list of "
                    f"them, got {value!r}"
                )
        super().__init__(
            paths["student_latent"],
            paths["teacher_latent"],
            student_time_dim,
            teacher_time_dim,
        )
        self.bias = bias
        self.adapters = nn.ModuleList()
        self.teacher_channels = []

    @property
    def adapter(self):
        """The adapter of the first pair of latents (None before setup)."""
        return self.adapters[0] if len(self.adapters) else None

    def setup(self, student_latents, teacher_latents):
        """Sizes one adapter per pair from the latents (no hand-typed sizes)."""
        self.adapters = nn.ModuleList(
            LinearInvertedBottleneck(
                student.shape[-1], teacher.shape[-1], bias=self.bias
            )
            for student, teacher in self.pairs(student_latents, teacher_latents)
        )
        self.teacher_channels = [
            teacher_latents[path].shape[1] for path in self.teacher_layers
        ]

    def adapted_pairs(self, student_latents, teacher_latents):
        """Yields the adapted student frames and the teacher frames of
        every pair, time-aligned."""
        if not len(self.adapters):
            raise RuntimeError(
                f"{type(self).__name__}.setup() must run before training"
            )
        for adapter, s_path, t_path in zip(
            self.adapters, self.student_layers, self.teacher_layers
        ):
            student = self.frames(student_latents, "student", s_path)
            teacher = self.frames(teacher_latents, "teacher", t_path)
            yield align_time(adapter(student), teacher)


class CosineLIB(_AdaptedMethod):
    """Cosine latent alignment through a linear inverted bottleneck.

    The method of Luong et al. (AES 2025, arXiv:2505.03442): the student
    latent, expanded by a LIB adapter to the teacher latent's size, is
    pulled towards the teacher latent by the cosine distance.

    Arguments
    ---------
    student_latent : str or list of str
        Path of the student latent module, or paths of several (each
        paired with the teacher path at the same place; the distances of
        the pairs are averaged).
    teacher_latent : str or list of str
        Path(s) of the teacher latent module(s).
    reduction : str
        ``frame`` (default), ``utterance`` or ``channel`` (see
        ``cosine_distance``; ``channel`` uses the teacher's channels).
    center : bool
        Subtract each channel's mean over the utterance's frames from both
        latents first (``center_over_time``), so that the mostly positive
        post-activation latents are compared by how they vary.
    student_time_dim : int, optional
        Time axis of the student latent.
    teacher_time_dim : int, optional
        Time axis of the teacher latent.
    bias : bool
        Whether the adapter has a bias.

    Example
    -------
    >>> method = CosineLIB(student_time_dim=2, teacher_time_dim=2)
    >>> student = {"bottleneck": torch.rand(2, 8, 50, 17)}
    >>> teacher = {"bottleneck": torch.rand(2, 32, 50, 17)}
    >>> method.setup(student, teacher)
    >>> method.adapter
    LinearInvertedBottleneck(
      (linear): Linear(in_features=136, out_features=544, bias=True)
    )
    >>> loss = method(student, teacher, torch.tensor([1.0, 0.8]))
    >>> bool(0 <= loss <= 2)
    True

    Two levels, centred: one adapter per pair of latents.

    >>> method = CosineLIB(
    ...     ["bottleneck", "decoder.0"], ["bottleneck", "decoder.0"],
    ...     center=True, student_time_dim=2, teacher_time_dim=2,
    ... )
    >>> student["decoder.0"] = torch.rand(2, 4, 50, 33)
    >>> teacher["decoder.0"] = torch.rand(2, 16, 50, 33)
    >>> method.setup(student, teacher)
    >>> [adapter.linear.out_features for adapter in method.adapters]
    [544, 528]
    >>> bool(0 <= method(student, teacher) <= 2)
    True
    """

    def __init__(
        self,
        student_latent="bottleneck",
        teacher_latent="bottleneck",
        reduction="frame",
        center=False,
        student_time_dim=None,
        teacher_time_dim=None,
        bias=True,
    ):
        super().__init__(
            student_latent,
            teacher_latent,
            student_time_dim,
            teacher_time_dim,
            bias,
        )
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"CosineLIB reduction must be one of {', '.join(REDUCTIONS)}"
                f", got {reduction!r}"
            )
        if not isinstance(center, bool):
            raise ValueError(
                f"CosineLIB center must be true or false, got {center!r}"
            )
        self.reduction = reduction
        self.center = center

    def forward(
        self, student_latents, teacher_latents, lengths=None, feats=None
    ):
        """Cosine distance between adapted student and teacher latents,
        averaged over the pairs of latents."""
        distances = []
        pairs = self.adapted_pairs(student_latents, teacher_latents)
        for (student, teacher), channels in zip(pairs, self.teacher_channels):
            if self.center:
                student = center_over_time(student, lengths)
                teacher = center_over_time(teacher, lengths)
            distances.append(
                cosine_distance(
                    student, teacher, lengths, self.reduction, channels
                )
            )
        return torch.stack(distances).mean()


class FeatureMSE(_AdaptedMethod):
    """FitNets-style feature regression through a learned linear projector.

    The same projector as ``CosineLIB``, with a mean squared error, which
    is sensitive to the teacher latent's scale.

    Example
    -------
    >>> method = FeatureMSE(student_time_dim=2, teacher_time_dim=2)
    >>> student = {"bottleneck": torch.rand(2, 8, 50, 17)}
    >>> teacher = {"bottleneck": torch.rand(2, 32, 50, 17)}
    >>> method.setup(student, teacher)
    >>> method(student, teacher).dim()
    0
    """

    def forward(
        self, student_latents, teacher_latents, lengths=None, feats=None
    ):
        """MSE between projected student and teacher latents."""
        return torch.stack(
            [
                masked_mse(student, teacher, lengths)
                for student, teacher in self.adapted_pairs(
                    student_latents, teacher_latents
                )
            ]
        ).mean()


class SimilarityPreserving(KDMethod):
    """Fine-grained similarity-preserving KD over paired layers.

    The baseline of Nathoo, Kegler & Stamenovic (ICASSP 2024): for each
    pair of layers, the frame-by-frame similarity matrices of student and
    teacher are matched; no adapter is needed. Use it with a KD-only
    warm-up then supervised training (their two steps).

    Arguments
    ---------
    student_layers : list of str, str or "auto"
        Student layer paths (or one path); ``"auto"`` (for UNets with
        ``encoder`` and ``decoder`` lists, such as ``MaskUNet``) pairs the
        first two encoder levels, the bottleneck and the last decoder level of
        student and teacher, whatever their depths.
    teacher_layers : list of str or "auto"
        Teacher layer paths, paired with the student's.
    weights : list of float, optional
        Weight of each pair; by default all 1, averaged.
    student_time_dim : int, optional
        Time axis of the student latents.
    teacher_time_dim : int, optional
        Time axis of the teacher latents.

    Example
    -------
    >>> method = SimilarityPreserving(["a", "b"], ["a", "b"], None, 2, 2)
    >>> latents = {"a": torch.rand(2, 4, 10, 8), "b": torch.rand(2, 8, 5, 4)}
    >>> method(latents, latents)
    tensor(0.)
    >>> from speechbrain_kd.models import MaskUNet
    >>> auto = SimilarityPreserving("auto", "auto")
    >>> auto.resolve_layers(MaskUNet(depth=2), MaskUNet(depth=4))
    >>> auto.student_layers, auto.teacher_layers
    (['encoder.0', 'encoder.1', 'bottleneck', 'decoder.1'],
     ['encoder.0', 'encoder.1', 'bottleneck', 'decoder.3'])
    """

    def __init__(
        self,
        student_layers,
        teacher_layers,
        weights=None,
        student_time_dim=None,
        teacher_time_dim=None,
    ):
        self.auto = student_layers == "auto"
        if self.auto != (teacher_layers == "auto"):
            raise ValueError(
                "SimilarityPreserving: student_layers and teacher_layers "
                "must both be 'auto' or both name layers, got "
                f"{student_layers!r} and {teacher_layers!r}"
            )
        if self.auto:
            student_layers = teacher_layers = []
        elif isinstance(student_layers, str):
            student_layers = [student_layers]
        if isinstance(teacher_layers, str):
            teacher_layers = [teacher_layers]
        super().__init__(
            student_layers, teacher_layers, student_time_dim, teacher_time_dim
        )
        if weights is not None and (
            len(weights) != len(student_layers)
            or any(not w > 0 for w in weights)
        ):
            raise ValueError(
                "SimilarityPreserving weights must be one positive number per "
                f"layer pair ({len(student_layers)}), got {weights!r}"
            )
        self.weights = weights

    def resolve_layers(self, student, teacher):
        """Pairs UNet levels when the layers are ``"auto"``."""
        if not self.auto:
            return
        for model in (student, teacher):
            if not hasattr(model, "encoder") or not hasattr(model, "decoder"):
                raise ValueError(
                    "SimilarityPreserving layers 'auto' needs UNets with "
                    f"encoder and decoder lists; {type(model).__name__} has "
                    "none: name the layers"
                )

        def levels(model):
            first = [f"encoder.{i}" for i in range(min(2, len(model.encoder)))]
            return first + ["bottleneck", f"decoder.{len(model.decoder) - 1}"]

        self.student_layers, self.teacher_layers = (
            levels(student),
            levels(teacher),
        )
        if len(self.student_layers) != len(self.teacher_layers):
            self.student_layers = self.student_layers[-3:]
            self.teacher_layers = self.teacher_layers[-3:]

    def forward(
        self, student_latents, teacher_latents, lengths=None, feats=None
    ):
        """Weighted mean of the per-pair similarity-preserving losses."""
        weights = self.weights or [1.0] * len(self.student_layers)
        losses = [
            w * similarity_preserving_loss(s, t, lengths)
            for w, (s, t) in zip(
                weights, self.pairs(student_latents, teacher_latents)
            )
        ]
        return torch.stack(losses).sum() / sum(weights)


class OutputKD(KDMethod):
    """Output KD: the student's mask regressed onto the teacher's mask.

    Reads the models' outputs (the empty path). With ``target="magnitude"``
    the compared quantities are the masked log1p magnitudes, which weighs
    the loudest time-frequency bins more.

    Arguments
    ---------
    target : str
        ``mask`` or ``magnitude``.

    Example
    -------
    >>> method = OutputKD()
    >>> mask = {"": torch.rand(2, 50, 257)}
    >>> method(mask, mask)
    tensor(0.)
    """

    def __init__(self, target="mask"):
        super().__init__([""], [""], 1, 1)
        if target not in OUTPUT_TARGETS:
            raise ValueError(
                f"OutputKD target must be 'mask' or 'magnitude', got {target!r}"
            )
        self.target = target

    def forward(
        self, student_latents, teacher_latents, lengths=None, feats=None
    ):
        """MSE between student and teacher masks (or masked features)."""
        student, teacher = student_latents[""], teacher_latents[""]
        if self.target == "magnitude":
            if feats is None:
                raise ValueError("OutputKD(target='magnitude') needs feats")
            student, teacher = student * feats, teacher * feats
        return masked_mse(student, teacher, lengths)
