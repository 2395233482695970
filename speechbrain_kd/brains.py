"""SpeechBrain ``Brain`` classes for spectral-mask speech enhancement.

``EnhanceBrain`` trains a teacher, or a student on its own, the way
SpeechBrain's VoiceBank ``spectral_mask`` recipe does: log1p STFT
magnitudes in, a mask out, the mask times the features as the estimate,
resynthesis with the noisy phase. This is exactly what
``speechbrain.inference.enhancement.SpectralMaskEnhancement`` computes, so
a trained model loads there unchanged. Validation reports PESQ and STOI
and the checkpointer keeps the best PESQ; the test stage writes enhanced
wavs and a per-utterance metrics CSV.

Authors
 * speechbrain-kd contributors 2026
"""

import csv
import json
import logging
import math
import os
from collections import defaultdict

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process, main_process_only
from torch.nn.parallel import DistributedDataParallel

from speechbrain_kd import metrics
from speechbrain_kd.atomic import atomic_write
from speechbrain_kd.checkpoints import share_checkpoint_folder
from speechbrain_kd.curves import CURVES_FILE, plot_training_curves
from speechbrain_kd.data.audio import write_audio
from speechbrain_kd.features import call_model, front_end_of
from speechbrain_kd.precision import warn_if_emulated
from speechbrain_kd.teacher import teacher_front_end
from speechbrain_kd.training import (
    ScoringPool,
    TrainingBudget,
    epochs_for,
    initialize_weights,
)
from speechbrain_kd.warm_start import start_from

logger = logging.getLogger(__name__)


class EnhanceBrain(sb.Brain):
    """Trains and evaluates a spectral enhancement model.

    Expects in ``modules`` a ``model`` and in ``hparams`` its
    ``front_end`` (a :class:`speechbrain_kd.features.SpectralFrontEnd` of a
    file of ``hparams/features``: it computes the model's input, turns its
    output into the clean-spectrum estimate and resynthesises; without
    it, the STFT settings ``sample_rate``, ``n_fft``, ``win_length`` and
    ``hop_length`` give today's log1p-magnitude mask front-end),
    ``compute_cost`` (a loss ``(estimate, target, length)`` in the
    front-end's domain, at top level or in a ``loss``
    mapping, see :meth:`loss_setting`),
    ``epoch_counter``, ``train_logger`` and, for the test stage,
    ``enhanced_folder``.

    Optional hparams: ``budget`` (a :class:`TrainingBudget`: stop after
    ``max_steps`` or ``max_minutes`` with a fitted learning-rate schedule,
    peaking at ``learning_rate``), ``steps_per_epoch`` (with a training set
    that has ``set_epoch``, such as dynamic mixing, which is told each
    epoch's number) and ``scoring_workers`` (processes that compute PESQ
    and the other metrics while the model runs; 0 for none). SpeechBrain's
    own ``precision`` (``bf16`` autocast) and ``max_grad_norm`` (gradient
    clipping) apply as usual.

    Example
    -------
    >>> from speechbrain.nnet.losses import mse_loss
    >>> from speechbrain_kd.features import load_features_file
    >>> from speechbrain_kd.models import MaskUNet
    >>> hparams = {**load_features_file("stft_16ms"), "compute_cost": mse_loss}
    >>> brain = EnhanceBrain(
    ...     modules={"model": MaskUNet(depth=1, base_channels=2)},
    ...     hparams=hparams,
    ...     run_opts={"device": "cpu"},
    ... )
    >>> brain.compute_feats(torch.zeros(1, 16000)).shape  # 8 ms hops
    torch.Size([1, 126, 129])
    """

    test_set_name = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warn_if_emulated(self.precision, self.device)
        self.front_end = front_end_of(vars(self.hparams))
        self.front_end.check_model(self.modules.model)
        seed = getattr(self.hparams, "seed", None)
        if seed is not None:
            # the same student starts from the same weights in every recipe
            initialize_weights(self.modules.model, seed)
        # or from the pruned weights of a wider trained model (init_from)
        start_from(
            self.modules.model,
            getattr(self.hparams, "init_from", None),
            getattr(self.hparams, "init_model", None),
        )
        if self.debug and self.checkpointer is not None:
            share_checkpoint_folder(self.checkpointer)

    def _wrap_distributed(self):
        """SpeechBrain's DDP wrapping, minus SyncBatchNorm on the CPU.

        ``SyncBatchNorm`` only runs on GPUs, so a CPU run under ``torchrun
        --distributed_backend gloo`` wraps the trainable modules in plain
        DDP (BatchNorm buffers are broadcast from rank 0 at each step).
        """
        if not self.distributed_launch or self.device != "cpu":
            return super()._wrap_distributed()
        for name, module in self.modules.items():
            if any(p.requires_grad for p in module.parameters()):
                self.modules[name] = DistributedDataParallel(
                    module, find_unused_parameters=self.find_unused_parameters
                )

    def compute_feats(self, wavs):
        """Returns the model's input for wavs (see ``front_end``)."""
        return self.front_end.model_input(wavs)

    def compute_forward(self, batch, stage):
        """The model's output and the clean-spectrum estimate."""
        batch = batch.to(self.device)
        noisy, lens = batch.noisy_sig
        feats = self.compute_feats(noisy)
        output = call_model(self.modules.model, feats, lens).float()
        predictions = {
            "feats": feats,
            "output": output,
            "spec": self.front_end.estimate(output, feats),
        }
        if stage != sb.Stage.TRAIN or self.waveform_weight():
            predictions["wav"] = self.front_end.waveform(
                predictions["spec"], noisy
            )
        return predictions

    def compute_objectives(self, predictions, batch, stage):
        """The spectral denoising loss; metrics outside training."""
        clean, lens = batch.clean_sig
        clean_spec = self.front_end.target(clean)
        loss = self.loss_setting("compute_cost")(
            predictions["spec"], clean_spec, length=lens
        )
        weight = self.waveform_weight()
        if weight:
            wav = predictions["wav"][:, : clean.shape[1]]
            waveform_cost = self.loss_setting("waveform_cost")
            waveform = waveform_cost(wav, clean, length=lens)
            self.record_term("waveform", waveform)
            loss = loss + weight * waveform
        self.record_term("denoise", loss)
        if stage != sb.Stage.TRAIN:
            self.score_batch(batch.id, predictions["wav"], clean, lens, stage)
        return loss

    def loss_setting(self, name, default=None):
        """A setting of the denoising loss, from ``loss`` or top level.

        Arguments
        ---------
        name : str
            ``compute_cost``, ``waveform_cost`` or ``waveform_weight``.
        default : object
            Returned when neither place has it.

        Returns
        -------
        object
            ``hparams.loss[name]`` (a file of ``hparams/losses/``) if the
            hparams have a ``loss`` mapping, else ``hparams.<name>``.
        """
        loss = getattr(self.hparams, "loss", None)
        if isinstance(loss, dict) and name in loss:
            return loss[name]
        return getattr(self.hparams, name, default)

    def waveform_weight(self):
        """Weight of the optional waveform loss (``waveform_cost``)."""
        return self.loss_setting("waveform_weight", 0.0)

    def record_term(self, name, value):
        """Accumulates a loss term, averaged over the stage in the logs.

        Arguments
        ---------
        name : str
            Name of the term in ``train_log.txt``.
        value : torch.Tensor
            Its value for the current batch.
        """
        self.terms[name] += float(value.detach())
        self.term_counts[name] += 1

    def score_batch(self, ids, wavs, clean, lens, stage):
        """Scores each utterance of a batch; writes wavs in the test stage.

        Arguments
        ---------
        ids : list of str
            Utterance ids.
        wavs : torch.Tensor
            Enhanced waveforms ``[batch, time]``.
        clean : torch.Tensor
            Clean references ``[batch, time]``.
        lens : torch.Tensor
            Relative lengths.
        stage : sb.Stage
            VALID computes PESQ and STOI; TEST all metrics and writes wavs.
        """
        wavs, clean = wavs.detach().float().cpu(), clean.detach().cpu()
        sample_rate = self.hparams.sample_rate
        for i, uid in enumerate(ids):
            n = int(torch.round(lens[i] * clean.shape[1]))
            enhanced, reference = wavs[i, :n].numpy(), clean[i, :n].numpy()
            if stage == sb.Stage.TEST:
                self.scoring.submit(
                    metrics.score, enhanced, reference, sample_rate, uid
                )
                if if_main_process():
                    write_audio(
                        os.path.join(self.enhanced_folder(), f"{uid}.wav"),
                        torch.from_numpy(enhanced),
                        sample_rate,
                    )
            else:
                self.scoring.submit(
                    metrics.quick_score, enhanced, reference, sample_rate, uid
                )
            self.rows.append({"id": uid})

    def enhanced_folder(self):
        """Where the test stage writes the enhanced wavs of the test set."""
        if self.test_set_name is None:
            return self.hparams.enhanced_folder
        return os.path.join(self.hparams.enhanced_folder, self.test_set_name)

    @property
    def scoring(self):
        """The process pool that scores utterances (made on first use)."""
        if getattr(self, "_scoring", None) is None:
            workers = getattr(self.hparams, "scoring_workers", 0)
            self._scoring = ScoringPool(workers)
        return self._scoring

    @property
    def budget(self):
        """The run's :class:`TrainingBudget` (an inactive one if unset)."""
        if getattr(self, "_budget", None) is None:
            self._budget = getattr(self.hparams, "budget", TrainingBudget())
        return self._budget

    def fit(self, epoch_counter, train_set, *args, **kwargs):
        """SpeechBrain's ``fit``; keeps a dynamic training set to steer it.

        A training set with ``set_epoch`` (see
        :class:`speechbrain_kd.data.dynamic_mixing.DynamicMixer`) is told
        the epoch, and the number of items the budget leaves, before each
        epoch.
        """
        self.epoch_set = train_set if hasattr(train_set, "set_epoch") else None
        return super().fit(epoch_counter, train_set, *args, **kwargs)

    def on_fit_start(self):
        """Recovers the checkpoint, then fits the epoch limit to the budget."""
        super().on_fit_start()
        counter = self.hparams.epoch_counter
        if self.budget.active:
            counter.limit = (
                counter.current
                if self.budget.exhausted()
                else epochs_for(
                    self.budget, self.dynamic_steps_per_epoch(), counter.limit
                )
            )
            self.budget.set_lr(self.optimizer, self.hparams.learning_rate)

    def dynamic_steps_per_epoch(self):
        """``steps_per_epoch`` with a dynamic training set, else None.

        A static corpus has as many steps per epoch as its batches, so its
        step budget ends training, not an epoch limit.
        """
        if getattr(self, "epoch_set", None) is None:
            return None
        return getattr(self.hparams, "steps_per_epoch", None)

    def fit_batch(self, batch):
        """A training step, skipped (NaN loss, not averaged) past budget."""
        if self.budget.exhausted():
            return torch.tensor(float("nan"))
        return super().fit_batch(batch)

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Counts the step in the budget and schedules the learning rate."""
        if should_step and self.budget.active:
            self.budget.step(self.optimizer, self.hparams.learning_rate)

    def on_stage_start(self, stage, epoch=None):
        """Resets the loss terms and the metric rows of the stage."""
        self.terms = defaultdict(float)
        self.term_counts = defaultdict(int)
        self.rows = []
        if stage == sb.Stage.TRAIN:
            self.budget.start_clock()
            if getattr(self, "epoch_set", None) is not None:
                remaining = self.budget.remaining_steps()
                items = None
                if remaining is not None:
                    steps = min(remaining, self.hparams.steps_per_epoch)
                    items = max(1, steps) * self.hparams.batch_size
                self.epoch_set.set_epoch(epoch, items)

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs the stage, checkpoints on the best validation PESQ."""
        stats = {"loss": stage_loss}
        stats.update(
            {k: v / self.term_counts[k] for k, v in self.terms.items()}
        )
        if stage == sb.Stage.TRAIN:
            self.budget.stop_clock()
            if self.budget.active:
                stats["steps"] = self.budget.steps
                stats["train_minutes"] = round(self.budget.minutes(), 2)
            self.train_stats = stats
            return
        self.rows = [
            {**row, **scores}
            for row, scores in zip(self.rows, self.scoring.collect())
        ]
        summary = metrics.summarize(self.rows)
        stats.update({k: v["mean"] for k, v in summary.items()})
        if stage == sb.Stage.VALID:
            lr = self.optimizer.param_groups[0]["lr"]
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, "lr": lr},
                train_stats=self.train_stats,
                valid_stats=stats,
            )
            self.write_training_curves()
            if math.isnan(stats["pesq"]):
                raise RuntimeError(
                    "Validation PESQ is NaN for every utterance: is the "
                    "validation set silent?"
                )
            self.checkpointer.save_and_keep_only(
                meta={"pesq": stats["pesq"], "stoi": stats["stoi"]},
                max_keys=["pesq"],
            )
            if self.budget.exhausted():
                self.hparams.epoch_counter.limit = epoch
        else:
            meta = {"Epoch loaded": self.hparams.epoch_counter.current}
            if self.test_set_name is not None:
                meta["test set"] = self.test_set_name
            self.hparams.train_logger.log_stats(
                stats_meta=meta, test_stats=stats
            )
            self.write_test_results(summary)

    @main_process_only
    def write_training_curves(self):
        """Redraws ``training_curves.png`` of the run from its train log."""
        log = getattr(self.hparams.train_logger, "save_file", None)
        if log is not None and os.path.isfile(log):
            plot_training_curves(
                log, os.path.join(self.hparams.output_folder, CURVES_FILE)
            )

    @main_process_only
    def write_test_results(self, summary):
        """Writes ``test_metrics.csv`` and ``test_summary.json``.

        On the main process only, each file atomically (written beside,
        then renamed), so that a reader never sees half a file.

        Arguments
        ---------
        summary : dict
            ``{metric: {"mean", "std", "n"}}`` over the test utterances.
        """
        folder = self.hparams.output_folder
        prefix = (
            "test"
            if self.test_set_name is None
            else f"test_{self.test_set_name}"
        )
        with atomic_write(os.path.join(folder, f"{prefix}_metrics.csv")) as f:
            writer = csv.DictWriter(f, fieldnames=["id", *metrics.METRICS])
            writer.writeheader()
            writer.writerows(self.rows)
        with atomic_write(os.path.join(folder, f"{prefix}_summary.json")) as f:
            json.dump(summary, f, indent=2)


class DistillBrain(EnhanceBrain):
    """Distils a frozen teacher into the student ``modules.model``.

    Loss = denoising loss + the KD term of ``hparams.distillation`` (a
    :class:`~speechbrain_kd.distill.Distillation`: the method of
    ``modules.kd_method``, its schedule, the teacher and the KD
    precision), which attaches the method to both models before
    ``Brain.__init__``, so that the method's adapters are trained and
    checkpointed with the student. The teacher runs on its own front-end
    (:func:`~speechbrain_kd.teacher.teacher_front_end`: that of
    ``teacher_features``, or the one its run folder recorded). It
    lives outside ``modules``: it is not optimised, not wrapped in DDP,
    not checkpointed; it is frozen, kept in ``eval()`` and run under
    ``torch.no_grad()``. The
    schedule follows the recovered epoch counter, so a resumed run
    continues it. ``train_log.txt`` records the ``denoise`` and ``kd``
    terms separately.

    Example
    -------
    >>> from speechbrain.nnet.losses import mse_loss
    >>> from speechbrain_kd.distill import CosineLIB, Distillation
    >>> from speechbrain_kd.features import load_features_file
    >>> from speechbrain_kd.models import MaskUNet
    >>> method = CosineLIB()
    >>> teacher = MaskUNet(depth=2, base_channels=8)
    >>> brain = DistillBrain(
    ...     modules={"model": MaskUNet(depth=2, base_channels=2),
    ...              "kd_method": method},
    ...     hparams={**load_features_file("stft_32ms"),
    ...              "compute_cost": mse_loss,
    ...              "distillation": Distillation(method, teacher)},
    ...     run_opts={"device": "cpu"},
    ... )
    >>> method.adapter  # sized by the probe: 4 x 65 -> 16 x 65
    LinearInvertedBottleneck(
      (linear): Linear(in_features=260, out_features=1040, bias=True)
    )
    >>> set(map(id, teacher.parameters())) & set(
    ...     map(id, brain.modules.parameters()))  # never trained
    set()
    """

    def __init__(self, modules=None, opt_class=None, hparams=None, **kwargs):
        hparams["distillation"].attach(
            modules["model"], front_end_of(hparams), teacher_front_end(hparams)
        )
        super().__init__(modules, opt_class, hparams, **kwargs)
        self.distillation = self.hparams.distillation.to(self.device)
        logger.info(
            "Teacher pass and KD term in %s", self.distillation.precision
        )

    @property
    def teacher(self):
        """The frozen teacher."""
        return self.distillation.teacher

    def on_fit_start(self):
        """Freezes the teacher again, then the usual DDP/optimizer/resume."""
        self.distillation.to(self.device)
        super().on_fit_start()

    def compute_forward(self, batch, stage):
        """Student forward (latents tapped), then the teacher's if needed."""
        self.distillation.clear()
        predictions = super().compute_forward(batch, stage)
        predictions["student_latents"] = self.distillation.student_latents()
        epoch = self.hparams.epoch_counter.current
        if stage == sb.Stage.TRAIN and self.distillation.active(epoch):
            noisy, lens = batch.noisy_sig
            predictions["teacher_latents"] = self.distillation.teacher_latents(
                noisy, lens, predictions["feats"]
            )
        return predictions

    def compute_objectives(self, predictions, batch, stage):
        """Denoising loss, combined with the KD term in training."""
        denoise = super().compute_objectives(predictions, batch, stage)
        if "teacher_latents" not in predictions:
            return denoise
        loss, kd = self.distillation.loss(
            predictions["feats"],
            predictions["teacher_latents"],
            denoise,
            self.hparams.epoch_counter.current,
            batch.noisy_sig[1],
        )
        self.record_term("kd", kd)
        return loss
