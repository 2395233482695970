"""A SpeechBrain ``Checkpointer`` that survives a crash while saving.

SpeechBrain writes a checkpoint's ``CKPT.yaml`` before its parameter
files, so a process killed while saving leaves a checkpoint that looks
complete but cannot be loaded, and the next run fails to resume. This
checkpointer records in the metadata that it wrote the checkpoint
(``MARKER``) and marks it complete (a ``COMPLETE`` file) only after every
file is written. It skips its own incomplete checkpoints and reads every
other checkpoint, such as the ``save/`` folder of a stock SpeechBrain
recipe, as SpeechBrain does.

Authors
 * speechbrain-kd contributors 2026
"""

import logging
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
