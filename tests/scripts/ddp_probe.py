"""recipes/distill.py under torchrun, recording what each rank did.

Each rank writes ``<output_folder>/rank<r>.json``: how many batches and
utterances it trained on, and whether the student, the adapter and the
teacher are wrapped in DistributedDataParallel.
"""

import json
import os
import runpy
import sys

import speechbrain as sb
import torch
from torch.nn.parallel import DistributedDataParallel

from speechbrain_kd.brains import DistillBrain

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


class ProbeBrain(DistillBrain):
    """DistillBrain that counts its batches and writes them per rank."""

    batches = 0
    utterances = 0

    def fit_batch(self, batch):
        self.batches += 1
        self.utterances += len(batch.id)
        return super().fit_batch(batch)

    def on_stage_end(self, stage, stage_loss, epoch=None):
        if stage == sb.Stage.TRAIN:
            rank = torch.distributed.get_rank()
            record = {
                "rank": rank,
                "world_size": torch.distributed.get_world_size(),
                "batches": self.batches,
                "utterances": self.utterances,
                "student_ddp": isinstance(
                    self.modules.model, DistributedDataParallel
                ),
                "kd_method_ddp": isinstance(
                    self.modules.kd_method, DistributedDataParallel
                ),
                "teacher_ddp": isinstance(
                    self.teacher, DistributedDataParallel
                ),
                "teacher_trainable": any(
                    p.requires_grad for p in self.teacher.parameters()
                ),
            }
            path = os.path.join(self.hparams.output_folder, f"rank{rank}.json")
            with open(path, "w") as fout:
                json.dump(record, fout)
        return super().on_stage_end(stage, stage_loss, epoch)


if __name__ == "__main__":
    recipe = runpy.run_path(os.path.join(REPO, "recipes", "distill.py"))
    recipe["main"](sys.argv[1:], brain_class=ProbeBrain)
