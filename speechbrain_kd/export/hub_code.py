"""Code that every exported hub folder carries in its ``custom.py``.

This module imports nothing but torch and SpeechBrain: ``export`` copies
its source, after the model's own module, into the folder's ``custom.py``,
so that ``foreign_class(source, hparams_file="custom.yaml",
pymodule_file="custom.py", classname="SpectralMaskEnhancement")`` loads
the folder where neither ``speechbrain_kd`` nor the model's module is
installed.

Authors
 * speechbrain-kd contributors 2026
"""

import torch
from speechbrain.inference.enhancement import (  # noqa: F401 (foreign_class)
    SpectralMaskEnhancement,
)


class WithoutLengths(torch.nn.Module):
    """Lets a mask network whose ``forward`` takes no ``lengths`` serve
    ``SpectralMaskEnhancement``, which passes them.

    Arguments
    ---------
    model : torch.nn.Module
        A network ``forward(feats) -> mask``.

    Example
    -------
    >>> wrapped = WithoutLengths(torch.nn.Sigmoid())
    >>> wrapped(torch.zeros(1, 2, 3), lengths=torch.ones(1)).sum().item()
    3.0
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, feats, lengths=None):
        """The mask of ``feats``; ``lengths`` are ignored (whole
        utterances)."""
        return self.model(feats)
