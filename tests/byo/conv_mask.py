"""A user's own enhancement model, defined outside the package.

A two-layer Conv1d mask estimator over ``[batch, time, freq]`` log1p
magnitudes; its latent (``latent``) is ``[batch, channels, time]``, as is
normal for ``Conv1d``. The "Bring your own model" tests and the README
walk-through use it as a student (and a teacher).
"""

import torch
from torch import nn


class ConvMask(nn.Module):
    """Conv1d mask estimator: ``[batch, time, freq]`` to a mask in (0, 1).

    Arguments
    ---------
    n_freq : int
        Frequency bins of the input.
    channels : int
        Channels of the latent.
    kernel_size : int
        Kernel size of both convolutions (odd).

    Example
    -------
    >>> model = ConvMask(n_freq=257, channels=16)
    >>> model(torch.rand(2, 63, 257)).shape
    torch.Size([2, 63, 257])
    """

    def __init__(self, n_freq=257, channels=16, kernel_size=3):
        super().__init__()
        pad = kernel_size // 2
        self.encoder = nn.Conv1d(n_freq, channels, kernel_size, padding=pad)
        self.latent = nn.PReLU(channels)
        self.decoder = nn.Conv1d(channels, n_freq, kernel_size, padding=pad)

    def forward(self, feats):
        """Returns the mask for ``feats`` ``[batch, time, freq]``."""
        hidden = self.latent(self.encoder(feats.transpose(1, 2)))
        return torch.sigmoid(self.decoder(hidden)).transpose(1, 2)
