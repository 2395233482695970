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
from tqdm import tqdm

from speechbrain_kd import metrics
from speechbrain_kd.atomic import atomic_write
from speechbrain_kd.checkpoints import share_checkpoint_folder
from speechbrain_kd.curves import CURVES_FILE, plot_training_curves
from speechbrain_kd.data.audio import write_audio
from speechbrain_kd.distill.layout import PROBE_SECONDS
from speechbrain_kd.distill.losses import kd_term
from speechbrain_kd.distill.taps import FeatureTap
from speechbrain_kd.features import call_model, front_end_of, front_ends_of
from speechbrain_kd.precision import resolve_precision, warn_if_emulated
from speechbrain_kd.teacher import training_config_differences
from speechbrain_kd.training import (
    ScoringPool,
    TrainingBudget,
    epochs_for,
    initialize_weights,
)

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

    Loss = denoising loss + ``kd_weight`` x KD loss, where the KD loss is
    computed by ``modules.kd_method`` (a ``KDMethod``) on latents captured
    by forward hooks. The teacher (``hparams.teacher_model``, loaded before
    by a ``Pretrainer``) lives outside ``modules``: it is not optimised,
    not wrapped in DDP, not checkpointed; it is frozen, kept in ``eval()``
    and run under ``torch.no_grad()``. The time axis of every tapped latent
    is found, and the method's adapter sized, from two probe passes of both
    models (``set_up_method``).

    Schedule (from the hparams): the first ``kd_warmup_epochs`` epochs
    train on the KD loss alone; then ``kd_after_warmup`` is ``joint``
    (denoising + KD) or ``supervised`` (denoising only, the teacher idle).
    The schedule follows the recovered epoch counter, so a resumed run
    continues it. ``train_log.txt`` records the ``denoise`` and ``kd``
    terms separately.

    ``kd_precision`` (optional, default ``fp32``) may be ``bf16``: the
    teacher's forward pass and the KD term then run under bfloat16
    autocast, about half their cost on CPUs with AVX512-BF16 or AMX and on
    GPUs, several times their cost on other CPUs; ``auto`` (the recipes'
    default) picks ``bf16`` only where it is native
    (:mod:`speechbrain_kd.precision`). The student's own forward pass and
    denoising loss follow SpeechBrain's ``precision``.

    Example
    -------
    >>> from speechbrain.nnet.losses import mse_loss
    >>> from speechbrain_kd.distill import CosineLIB
    >>> from speechbrain_kd.features import load_features_file
    >>> from speechbrain_kd.models import MaskUNet
    >>> hparams = {
    ...     **load_features_file("stft_32ms"),
    ...     "compute_cost": mse_loss,
    ...     "teacher_model": MaskUNet(depth=2, base_channels=8),
    ... }
    >>> brain = DistillBrain(
    ...     modules={
    ...         "model": MaskUNet(depth=2, base_channels=2),
    ...         "kd_method": CosineLIB(),
    ...     },
    ...     hparams=hparams,
    ...     run_opts={"device": "cpu"},
    ... )
    >>> brain.modules.kd_method.adapter  # sized by the probe: 4 x 65 -> 16 x 65
    LinearInvertedBottleneck(
      (linear): Linear(in_features=260, out_features=1040, bias=True)
    )
    >>> teacher = set(map(id, brain.teacher.parameters()))
    >>> teacher & set(map(id, brain.modules.parameters()))  # never trained
    set()
    """

    def __init__(
        self,
        modules=None,
        opt_class=None,
        hparams=None,
        run_opts=None,
        checkpointer=None,
    ):
        self.set_up_method(modules, hparams)
        super().__init__(modules, opt_class, hparams, run_opts, checkpointer)
        self.teacher = self.hparams.teacher_model
        self.teacher_front_end = front_ends_of(vars(self.hparams))[1]
        self.teacher_front_end.check_model(self.teacher, "teacher_features")
        self.freeze_teacher()
        self.kd_precision = resolve_precision(
            getattr(self.hparams, "kd_precision", "fp32"),
            self.device,
            "kd_precision",
        )
        logger.info("Teacher pass and KD term in %s", self.kd_precision)

    def set_up_method(self, modules, hparams):
        """Taps both models, finds their latents' time axes, sizes adapters.

        Runs before ``Brain.__init__``, on the models as the YAML built
        them, so that SpeechBrain counts the adapter among the trainable
        parameters and moves it to the device with the student.

        Arguments
        ---------
        modules : dict
            ``model`` (the student) and ``kd_method``.
        hparams : dict
            With ``teacher_model`` and the feature settings.
        """
        student, teacher = modules["model"], hparams["teacher_model"]
        method = modules["kd_method"]
        method.resolve_layers(student, teacher)
        self.student_tap = FeatureTap(student, method.student_layers)
        self.teacher_tap = FeatureTap(
            teacher, method.teacher_layers, stop_when_complete=True
        )
        short, long = (
            self.probe(student, teacher, hparams, seconds)
            for seconds in PROBE_SECONDS
        )
        method.find_time_dims(short, long, student, teacher)
        method.setup(*short)

    def probe(self, student, teacher, hparams, seconds):
        """Both models' latents for ``seconds`` of silence.

        Returns
        -------
        tuple of dict
            Student and teacher latents (path to tensor).
        """
        front_end, teacher_front_end = front_ends_of(hparams)
        wav = torch.zeros(1, int(seconds * front_end.sample_rate))
        feats = front_end.model_input(wav)
        teacher_feats = teacher_front_end.model_input(wav)
        was_training = student.training
        student.eval()
        teacher.eval()
        with torch.no_grad():
            self.student_tap.clear()
            call_model(student, feats)
            teacher_latents = dict(
                self.teacher_tap.run(call_model, teacher, teacher_feats)
            )
        student.train(was_training)
        return dict(self.student_tap.features), teacher_latents

    @main_process_only
    def check_teacher(self, valid_set, loader_kwargs):
        """Scores the teacher and the noisy input on the validation set.

        Logs both mean PESQ and STOI and warns if the teacher is no better
        than the noisy input: a sign of a wrong teacher model file or
        checkpoint. Also warns if the teacher's run folder recorded a
        model that differs from ``teacher_model``. The scores are kept in
        ``teacher_check.json`` of the output folder (a resumed run reads
        them back).

        Arguments
        ---------
        valid_set : Dataset
            The validation set.
        loader_kwargs : dict
            Its dataloader options.

        Returns
        -------
        dict
            ``{"teacher": {metric: mean}, "noisy": {metric: mean}}``.
        """
        path = os.path.join(self.hparams.output_folder, "teacher_check.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fin:
                scores = json.load(fin)
        else:
            scores = self._score_teacher(valid_set, loader_kwargs)
            with atomic_write(path) as fout:
                json.dump(scores, fout, indent=2)
        teacher, noisy = scores["teacher"], scores["noisy"]
        logger.info(
            "Teacher on the validation set: PESQ %.2f, STOI %.3f (noisy "
            "input: PESQ %.2f, STOI %.3f)",
            teacher["pesq"],
            teacher["stoi"],
            noisy["pesq"],
            noisy["stoi"],
        )
        differences = training_config_differences(
            self.hparams.teacher,
            os.path.join(self.hparams.output_folder, "hyperparams.yaml"),
        )
        if differences:
            logger.warning(
                "teacher_model differs from the model the teacher was "
                "trained as: %s",
                "; ".join(differences),
            )
        if not teacher["pesq"] > noisy["pesq"]:
            logger.warning(
                "THE TEACHER IS NO BETTER THAN THE NOISY INPUT on the "
                "validation set (PESQ %.2f vs %.2f): is teacher_model the "
                "architecture it was trained with (e.g. causal), and "
                "--teacher its trained checkpoint? Distilling from it "
                "teaches the student nothing useful.",
                teacher["pesq"],
                noisy["pesq"],
            )
        return scores

    def _score_teacher(self, valid_set, loader_kwargs):
        """Mean PESQ and STOI of the teacher's output and the noisy input."""
        self.freeze_teacher()
        loader = self.make_dataloader(
            valid_set, sb.Stage.VALID, ckpt_prefix=None, **loader_kwargs
        )
        self.rows, kinds = [], []
        with torch.no_grad(), self.teacher_tap.disabled():
            for batch in tqdm(loader, desc="teacher check", unit="batch"):
                batch = batch.to(self.device)
                noisy, lens = batch.noisy_sig
                clean, _ = batch.clean_sig
                front_end = self.teacher_front_end
                feats = front_end.model_input(noisy)
                output = call_model(self.teacher, feats, lens)
                enhanced = front_end.waveform(
                    front_end.estimate(output, feats), noisy
                )
                for name, wavs in (("teacher", enhanced), ("noisy", noisy)):
                    self.score_batch(
                        batch.id, wavs, clean, lens, sb.Stage.VALID
                    )
                    kinds += [name] * len(batch.id)
        scores = self.scoring.collect()
        self.rows = []
        return {
            name: {
                k: v["mean"]
                for k, v in metrics.summarize(
                    [s for s, kind in zip(scores, kinds) if kind == name]
                ).items()
            }
            for name in ("teacher", "noisy")
        }

    def freeze_teacher(self):
        """Moves the teacher to the device, freezes it, sets ``eval()``."""
        self.teacher.to(self.device).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)

    def on_fit_start(self):
        """Freezes the teacher again, then the usual DDP/optimizer/resume."""
        self.freeze_teacher()
        super().on_fit_start()

    def kd_phase(self):
        """``kd_only``, ``joint`` or ``supervised`` for the current epoch."""
        epoch = self.hparams.epoch_counter.current
        if epoch <= self.hparams.kd_warmup_epochs:
            return "kd_only"
        kd_epochs = getattr(self.hparams, "kd_epochs", None)
        if kd_epochs is not None and epoch > kd_epochs:
            return "supervised"
        return self.hparams.kd_after_warmup

    def kd_autocast(self):
        """The autocast context of the teacher pass and the KD term."""
        return torch.autocast(
            torch.device(self.device).type,
            dtype=torch.bfloat16,
            enabled=self.kd_precision == "bf16",
        )

    def compute_forward(self, batch, stage):
        """Student forward (latents tapped), then the teacher's if needed."""
        self.student_tap.clear()
        predictions = super().compute_forward(batch, stage)
        predictions["student_latents"] = self.student_tap.features
        if stage == sb.Stage.TRAIN and self.kd_phase() != "supervised":
            _, lens = batch.noisy_sig
            self.teacher.eval()
            with torch.no_grad(), self.kd_autocast():
                noisy, _ = batch.noisy_sig
                feats = self.teacher_front_end.model_input(noisy)
                predictions["teacher_latents"] = dict(
                    self.teacher_tap.run(call_model, self.teacher, feats, lens)
                )
        return predictions

    def compute_objectives(self, predictions, batch, stage):
        """Denoising loss, plus the weighted KD loss in training."""
        denoise = super().compute_objectives(predictions, batch, stage)
        if "teacher_latents" not in predictions:
            return denoise
        _, lens = batch.noisy_sig
        with self.kd_autocast():
            kd = self.modules.kd_method(
                predictions["student_latents"],
                predictions["teacher_latents"],
                lens,
                feats=predictions["feats"],
            ).float()
        self.record_term("kd", kd)
        if self.kd_phase() == "kd_only":
            # 0 x denoise keeps every student parameter in the graph (DDP)
            return kd + 0.0 * denoise
        return denoise + kd_term(
            kd,
            denoise,
            self.hparams.kd_weight,
            getattr(self.hparams, "kd_balance", None),
        )
