"""A SpeechBrain ``Checkpointer`` that survives a crash while saving.

SpeechBrain writes a checkpoint's ``CKPT.yaml`` before its parameter
files, so a process killed while saving leaves a checkpoint that looks
complete but cannot be loaded, and the next run fails to resume. This
checkpointer marks a checkpoint complete only after every file is
written, and resumes from complete checkpoints only.

Authors
 * speechbrain-kd contributors 2026
"""

import logging

from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.distributed import ddp_barrier, if_main_process

logger = logging.getLogger(__name__)

COMPLETE = "COMPLETE"


class CrashSafeCheckpointer(Checkpointer):
    """``Checkpointer`` that ignores checkpoints left incomplete by a crash.

    Arguments are those of ``speechbrain.utils.checkpoints.Checkpointer``.

    Example
    -------
    >>> import tempfile, torch
    >>> model = torch.nn.Linear(2, 2)
    >>> folder = tempfile.mkdtemp()
    >>> checkpointer = CrashSafeCheckpointer(folder, {"model": model})
    >>> checkpoint = checkpointer.save_checkpoint()
    >>> (checkpoint.path / "COMPLETE").exists()
    True
    >>> (checkpoint.path / "COMPLETE").unlink()  # as if killed while saving
    >>> checkpointer.list_checkpoints()
    []
    """

    def save_checkpoint(self, *args, **kwargs):
        """Saves as SpeechBrain does, then marks the checkpoint complete."""
        checkpoint = super().save_checkpoint(*args, **kwargs)
        ddp_barrier()
        if if_main_process():
            (checkpoint.path / COMPLETE).touch()
        return checkpoint

    def list_checkpoints(self):
        """Lists the complete checkpoints; warns about incomplete ones."""
        complete = []
        for checkpoint in super().list_checkpoints():
            if (checkpoint.path / COMPLETE).exists():
                complete.append(checkpoint)
            else:
                logger.warning(
                    "Ignoring checkpoint %s: it was not completely saved "
                    "(the run was interrupted while saving)",
                    checkpoint.path,
                )
        return complete
