"""A KD method attached to a student and a frozen teacher, for a Brain.

``Distillation`` owns a method's whole life cycle, so that a Brain only
asks it for the teacher's latents and the loss: attaching (forward-hook
taps on both models, two probe passes on silence that find every latent's
time axis and size the method's adapters), running the frozen teacher
(``no_grad``, ``eval()``, its forward pass stopped once its taps are
recorded), and the loss of each epoch under the method's schedule, in the
KD precision (``kd_precision``: bfloat16 autocast where native).

Authors
 * speechbrain-kd contributors 2026
"""

import logging

import torch

from speechbrain_kd.distill.layout import PROBE_SECONDS
from speechbrain_kd.distill.schedule import KDSchedule
from speechbrain_kd.distill.taps import FeatureTap
from speechbrain_kd.features import call_model
from speechbrain_kd.precision import KD_PRECISIONS, resolve_precision

logger = logging.getLogger(__name__)


class Distillation:
    """A KD method between a student and a frozen teacher.

    Arguments
    ---------
    method : speechbrain_kd.distill.KDMethod
        The method (trained and checkpointed with the student).
    teacher : torch.nn.Module
        The teacher, loaded; never trained.
    schedule : KDSchedule, optional
        The method's schedule (default: KD and denoising jointly, weight 1).
    precision : str
        ``fp32``, ``bf16`` or ``auto`` (option ``kd_precision``) for the
        teacher's pass and the KD term.

    Example
    -------
    >>> from speechbrain_kd.distill import CosineLIB
    >>> from speechbrain_kd.features import front_end_of, load_features_file
    >>> from speechbrain_kd.models import MaskUNet
    >>> kd = Distillation(CosineLIB(), MaskUNet(depth=2, base_channels=8))
    >>> student = MaskUNet(depth=2, base_channels=2)
    >>> front_end = front_end_of(load_features_file("stft_16ms"))
    >>> kd.attach(student, front_end)
    >>> kd.method.adapter  # sized by the probe: 4 x 33 -> 16 x 33
    LinearInvertedBottleneck(
      (linear): Linear(in_features=132, out_features=528, bias=True)
    )
    >>> noisy = torch.rand(2, 16000)
    >>> feats = front_end.model_input(noisy)
    >>> _ = student(feats)
    >>> teacher_latents = kd.teacher_latents(noisy, feats=feats)
    >>> loss, kd_loss = kd.loss(feats, teacher_latents, torch.tensor(0.1), 1)
    >>> bool(loss > kd_loss > 0)  # joint: denoising + KD
    True
    """

    def __init__(self, method, teacher, schedule=None, precision="fp32"):
        self.method = method
        self.teacher = teacher
        self.schedule = schedule or KDSchedule()
        if precision not in KD_PRECISIONS:
            allowed = ", ".join(map(repr, KD_PRECISIONS))
            raise ValueError(
                f"Option kd_precision={precision!r} is not allowed: use one "
                f"of {allowed}"
            )
        self.precision_setting = precision
        self.precision = "fp32"  # until `to` resolves the setting
        self.device = "cpu"
        self.student_tap = self.teacher_tap = None
        self.front_end = self.teacher_front_end = None

    def attach(self, student, front_end, teacher_front_end=None):
        """Taps both models, finds their latents' time axes, sizes adapters.

        Runs before ``Brain.__init__``, on the models as the YAML built
        them, so that SpeechBrain counts the adapters among the trainable
        parameters and moves them to the device with the student.

        Arguments
        ---------
        student : torch.nn.Module
            The student.
        front_end : speechbrain_kd.features.SpectralFrontEnd
            The student's (its ``model_input`` of waveforms).
        teacher_front_end : speechbrain_kd.features.SpectralFrontEnd
            The teacher's, if it was trained with other features
            (``teacher_features``); by default the student's.
        """
        self.front_end = front_end
        self.teacher_front_end = teacher_front_end or front_end
        self.teacher_front_end.check_model(self.teacher, "teacher_features")
        self.method.resolve_layers(student, self.teacher)
        self.student_tap = FeatureTap(student, self.method.student_layers)
        self.teacher_tap = FeatureTap(
            self.teacher, self.method.teacher_layers, stop_when_complete=True
        )
        short, long = (
            self._probe(student, torch.zeros(1, n))
            for n in (int(s * front_end.sample_rate) for s in PROBE_SECONDS)
        )
        self.method.find_time_dims(short, long, student, self.teacher)
        self.method.setup(*short)
        self.log_trainable_parts()

    def _probe(self, student, wav):
        """Both models' latents for one waveform (models in ``eval()``)."""
        was_training = student.training
        student.eval()
        self.teacher.eval()
        lengths = torch.ones(len(wav))
        with torch.no_grad():
            self.student_tap.clear()
            call_model(student, self.front_end.model_input(wav), lengths)
            teacher_latents = dict(
                self.teacher_tap.run(
                    call_model,
                    self.teacher,
                    self.teacher_front_end.model_input(wav),
                    lengths,
                )
            )
        student.train(was_training)
        return dict(self.student_tap.features), teacher_latents

    def log_trainable_parts(self):
        """Logs each adapter of the method: in -> out features, parameters."""
        adapters = [
            (name, module)
            for name, module in self.method.named_modules()
            if isinstance(module, torch.nn.Linear)
        ]
        for name, linear in adapters:
            logger.info(
                "KD adapter %s of %s: %d -> %d features, %d parameters",
                name,
                type(self.method).__name__,
                linear.in_features,
                linear.out_features,
                sum(p.numel() for p in linear.parameters()),
            )
        if not adapters:
            logger.info(
                "KD method %s: no adapter, %d trainable parameters",
                type(self.method).__name__,
                sum(p.numel() for p in self.method.parameters()),
            )

    def to(self, device):
        """Moves the teacher to ``device``, frozen and in ``eval()``.

        The KD precision ``auto`` is resolved for this device.
        """
        self.device = device
        self.precision = resolve_precision(
            self.precision_setting, device, "kd_precision"
        )
        self.teacher.to(device).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)
        return self

    def autocast(self):
        """The autocast context of the teacher pass and the KD term."""
        return torch.autocast(
            torch.device(self.device).type,
            dtype=torch.bfloat16,
            enabled=self.precision == "bf16",
        )

    def active(self, epoch):
        """Whether the teacher runs in this epoch (not ``supervised``)."""
        return self.schedule.phase(epoch) != "supervised"

    def student_latents(self):
        """The student latents tapped since :meth:`clear`."""
        return self.student_tap.features

    def clear(self):
        """Forgets the student latents; call before the student's pass."""
        self.student_tap.clear()

    def teacher_latents(self, noisy, lengths=None, feats=None):
        """The frozen teacher's latents for the student's input.

        Arguments
        ---------
        noisy : torch.Tensor
            The noisy waveforms ``[batch, time]``.
        lengths : torch.Tensor, optional
            Relative lengths.
        feats : torch.Tensor, optional
            The student's input, reused when the teacher shares the
            student's front-end.

        Returns
        -------
        dict
            Layer path to latent.
        """
        if feats is None or self.teacher_front_end is not self.front_end:
            feats = self.teacher_front_end.model_input(noisy)
        self.teacher.eval()
        with torch.no_grad(), self.autocast():
            return dict(
                self.teacher_tap.run(call_model, self.teacher, feats, lengths)
            )

    def loss(self, feats, teacher_latents, denoise, epoch, lengths=None):
        """The training loss: the KD term combined with the denoising one.

        Arguments
        ---------
        feats : torch.Tensor
            The input features.
        teacher_latents : dict
            From :meth:`teacher_latents`.
        denoise : torch.Tensor
            The denoising loss.
        epoch : int
            The epoch, for the schedule.
        lengths : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        tuple
            ``(loss, kd)``: the total and the KD term alone (for the log).
        """
        with self.autocast():
            kd = self.method(
                self.student_latents(), teacher_latents, lengths, feats=feats
            ).float()
        return self.schedule.loss(kd, denoise, epoch), kd
