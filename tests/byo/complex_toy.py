"""A toy model of the complex contract, for the tests: the noisy spectrum
``[batch, freq, time, 2]`` in, the enhanced spectrum out (a bounded complex
ratio mask applied inside), a named ``bottleneck``, causal (no kernel spans
time)."""

import torch
from torch import nn


class ComplexToy(nn.Module):
    """Three frequency-only convolutions around a strided bottleneck.

    Arguments
    ---------
    channels : int
        Channels of the hidden layers.

    Example
    -------
    >>> spec = torch.rand(2, 257, 10, 2)
    >>> ComplexToy()(spec).shape
    torch.Size([2, 257, 10, 2])
    """

    def __init__(self, channels=8):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, channels, (1, 5), padding=(0, 2)), nn.PReLU()
        )
        self.bottleneck = nn.Sequential(
            nn.Conv2d(
                channels, channels, (1, 5), stride=(1, 4), padding=(0, 2)
            ),
            nn.PReLU(),
        )
        self.decoder = nn.Conv2d(2 * channels, 2, (1, 5), padding=(0, 2))

    def forward(self, spec):
        """Enhanced spectrum ``[batch, freq, time, 2]``."""
        x = spec.permute(0, 3, 2, 1)  # [batch, 2, time, freq]
        magnitude = torch.log1p(x.pow(2).sum(1, keepdim=True).sqrt())
        h = self.encoder(torch.cat([x, magnitude], dim=1))
        latent = self.bottleneck(h)
        up = nn.functional.interpolate(latent, size=h.shape[2:])
        mask = torch.tanh(self.decoder(torch.cat([h, up], dim=1)))
        real = mask[:, 0] * x[:, 0] - mask[:, 1] * x[:, 1]
        imag = mask[:, 0] * x[:, 1] + mask[:, 1] * x[:, 0]
        return torch.stack([real, imag], dim=1).permute(0, 3, 2, 1)
