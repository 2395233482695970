"""A SpeechBrain ``Checkpointer`` that survives a crash while saving.

SpeechBrain writes a checkpoint's ``CKPT.yaml`` before its parameter
files, so a process killed while saving leaves a checkpoint that looks
complete but cannot be loaded, and the next run fails to resume. This
checkpointer records in the metadata that it wrote the checkpoint
(``MARKER``) and marks it complete (a ``COMPLETE`` file) only after every
file is written. It skips its own incomplete checkpoints and reads every
other checkpoint, such as the ``save/`` folder of a stock SpeechBrain
recipe, as SpeechBrain does.

``find_model_checkpoint`` finds the file holding a model's weights in any
of the places a SpeechBrain user keeps them (a run folder, a ``save/`` or
``CKPT+...`` folder, a ``.ckpt`` file, a model-hub folder), for a teacher,
a student or an export alike.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
import os
import pathlib

from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.distributed import (
    ddp_barrier,
    ddp_broadcast,
    if_main_process,
)

logger = logging.getLogger(__name__)

COMPLETE = "COMPLETE"
MARKER = "speechbrain_kd_crash_safe"


class CrashSafeCheckpointer(Checkpointer):
    """``Checkpointer`` that ignores checkpoints left incomplete by a crash.

    Arguments are those of ``speechbrain.utils.checkpoints.Checkpointer``.

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> model = torch.nn.Linear(2, 2)
    >>> folder = tempfile.mkdtemp()
    >>> checkpointer = CrashSafeCheckpointer(folder, {"model": model})
    >>> checkpoint = checkpointer.save_checkpoint()
    >>> (checkpoint.path / "COMPLETE").exists()
    True
    >>> (checkpoint.path / "COMPLETE").unlink()  # as if killed while saving
    >>> checkpointer.list_checkpoints()
    []
    >>> stock = Checkpointer(folder, {"model": model}).save_checkpoint()
    >>> [c.path for c in checkpointer.list_checkpoints()] == [stock.path]
    True
    """

    def save_checkpoint(
        self, meta=None, end_of_epoch=True, name=None, verbosity=logging.INFO
    ):
        """Saves as SpeechBrain does, then marks the checkpoint complete.

        Every process waits until the main one has marked it, so that no
        process lists the checkpoint as incomplete.
        """
        checkpoint = super().save_checkpoint(
            meta={**(meta or {}), MARKER: True},
            end_of_epoch=end_of_epoch,
            name=name,
            verbosity=verbosity,
        )
        if if_main_process():
            (checkpoint.path / COMPLETE).touch()
        ddp_barrier()
        return checkpoint

    def list_checkpoints(self):
        """Lists the checkpoints, less ours that a crash left incomplete."""
        complete = []
        for checkpoint in super().list_checkpoints():
            if checkpoint.meta.get(MARKER) and not (
                (checkpoint.path / COMPLETE).exists()
            ):
                logger.warning(
                    "Ignoring checkpoint %s: it was not completely saved "
                    "(the run was interrupted while saving)",
                    checkpoint.path,
                )
            else:
                complete.append(checkpoint)
        return complete

    def load_checkpoint(self, checkpoint):
        """Loads a checkpoint; names the folder if it does not fit.

        Raises
        ------
        RuntimeError
            If the checkpoint was saved for other models (e.g. another
            student written to the same experiment folder).
        """
        try:
            super().load_checkpoint(checkpoint)
        except RuntimeError as error:
            raise RuntimeError(
                f"Cannot resume from {checkpoint.path}: it does not fit the "
                "models of this run (see the error above). Was it written by "
                "another model? Give each model its own --experiment or "
                "--output_folder."
            ) from error


def share_checkpoint_folder(checkpointer):
    """Makes every process use the main process's checkpoint folder.

    SpeechBrain's ``--debug`` gives each process its own temporary
    checkpoint folder; under DDP the processes then disagree on which
    checkpoints exist and end up waiting for each other forever.

    Arguments
    ---------
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        The checkpointer of every process (its folder is replaced by the
        main process's).

    Example
    -------
    >>> import tempfile
    >>> checkpointer = CrashSafeCheckpointer(tempfile.mkdtemp())
    >>> folder = checkpointer.checkpoints_dir
    >>> share_checkpoint_folder(checkpointer)  # not distributed: unchanged
    >>> checkpointer.checkpoints_dir == folder
    True
    """
    folder = ddp_broadcast(str(checkpointer.checkpoints_dir), src=0)
    checkpointer.checkpoints_dir = pathlib.Path(folder)


HUB_FILE = "enhance_model.ckpt"
MODEL_KEY = "model"


def find_model_checkpoint(path):
    """Finds the file holding a model's state dict: a teacher's, a
    student's, the one to export.

    Arguments
    ---------
    path : str
        One of: a ``.ckpt`` file; a SpeechBrain model-hub folder (with
        ``enhance_model.ckpt``); a checkpoint folder (``CKPT+...`` with
        ``model.ckpt``); a ``save`` folder of checkpoints, ours or a stock
        SpeechBrain recipe's, or the run folder holding it, where the
        checkpoint of best validation ``pesq`` is taken (the latest one if
        none recorded it).

    Returns
    -------
    str
        Path of the file holding the model's state dict.

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> save = tempfile.mkdtemp()
    >>> model = torch.nn.Linear(2, 2)
    >>> stock = Checkpointer(save, {"model": model})  # not ours
    >>> _ = stock.save_checkpoint(meta={"pesq": 2.1})
    >>> best = stock.save_checkpoint(meta={"pesq": 2.5})
    >>> find_model_checkpoint(save) == str(best.paramfiles["model"])
    True
    """
    path = os.path.abspath(path)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Model checkpoint {path} does not exist")
    for name in (HUB_FILE, f"{MODEL_KEY}.ckpt"):
        if os.path.isfile(os.path.join(path, name)):
            return os.path.join(path, name)
    for folder in (path, os.path.join(path, "save")):
        if os.path.isdir(folder):
            checkpoint = _best_checkpoint(folder)
            if checkpoint is not None:
                return _model_file(checkpoint)
    raise FileNotFoundError(
        f"No model weights in {path}: expected a .ckpt file, a model-hub "
        f"folder with {HUB_FILE}, a checkpoint folder with {MODEL_KEY}.ckpt, "
        "or a folder of checkpoints (save/CKPT+*)"
    )


def _best_checkpoint(folder):
    """The best-PESQ checkpoint of a folder, else its latest one."""
    checkpointer = CrashSafeCheckpointer(folder)
    best = checkpointer.find_checkpoint(max_key="pesq")
    if best is None:
        best = checkpointer.find_checkpoint()
        if best is not None:
            logger.info(
                "No checkpoint of %s recorded 'pesq'; the model is its "
                "latest one, %s",
                folder,
                best.path,
            )
    return best


def _model_file(checkpoint):
    """The model's parameter file of a checkpoint."""
    if MODEL_KEY not in checkpoint.paramfiles:
        raise FileNotFoundError(
            f"Checkpoint {checkpoint.path} has no {MODEL_KEY}.ckpt (it holds "
            f"{sorted(checkpoint.paramfiles)}); pass the model's file "
            f"itself, e.g. {checkpoint.path}/<name>.ckpt"
        )
    return str(checkpoint.paramfiles[MODEL_KEY])
