"""A KD method of one's own, for the test that adds one: the student's
frame energies (of one latent, scaled by a learned factor) pulled towards
the teacher's. It needs no adapter: energies are free of the latents'
sizes."""

import torch

from speechbrain_kd.distill import KDMethod


class FrameEnergyKD(KDMethod):
    """Distance between the frame energies of two latents.

    Arguments
    ---------
    latent : str
        The module path read in both models.
    """

    def __init__(self, latent="bottleneck"):
        super().__init__([latent], [latent])
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, student, teacher, lengths=None, feats=None):
        """Mean absolute difference of the scaled frame energies."""
        ((s, t),) = self.pairs(student, teacher)
        return (self.scale * s.norm(dim=-1) - t.norm(dim=-1)).abs().mean()
