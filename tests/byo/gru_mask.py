"""A user's own recurrent enhancement model, defined outside the package.

A GRU over the frames of ``[batch, time, freq]`` log1p magnitudes and a
linear layer to the mask; ``bidirectional=True`` makes it non-causal (every
output frame sees the whole file). The tests and the README's recurrent
example train and export it.
"""

import torch
from torch import nn


class GRUMask(nn.Module):
    """GRU mask estimator: ``[batch, time, freq]`` to a mask in (0, 1).

    Arguments
    ---------
    n_freq : int
        Frequency bins of the input.
    hidden : int
        Hidden units of the GRU (per direction).
    bidirectional : bool
        Whether the GRU also runs backwards in time (non-causal).

    Example
    -------
    >>> model = GRUMask(n_freq=257, hidden=8, bidirectional=True)
    >>> model(torch.rand(2, 63, 257)).shape
    torch.Size([2, 63, 257])
    """

    def __init__(self, n_freq=257, hidden=32, bidirectional=False):
        super().__init__()
        self.gru = nn.GRU(
            n_freq, hidden, batch_first=True, bidirectional=bidirectional
        )
        directions = 2 if bidirectional else 1
        self.decoder = nn.Linear(directions * hidden, n_freq)

    def forward(self, feats):
        """Returns the mask for ``feats`` ``[batch, time, freq]``."""
        hidden, _ = self.gru(feats)
        return torch.sigmoid(self.decoder(hidden))
