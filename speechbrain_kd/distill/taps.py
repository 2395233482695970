"""Capture the outputs of named submodules with forward hooks.

A tap reads any module of any model by its dotted path (as listed by
``model.named_modules()``), so a user's own enhancement model can act as a
teacher or a student without edits (the idea behind torchdistill's
``ForwardHookManager``).

Authors
 * speechbrain-kd contributors 2026
"""

import contextlib


class FeatureTap:
    """Records the outputs of submodules of ``model`` named by path.

    The empty path ``""`` names the model itself (its output). A module
    returning a tuple or list is recorded by its first element (e.g. the
    ``(output, attention)`` of a SpeechBrain transformer encoder).

    Arguments
    ---------
    model : torch.nn.Module
        The model to tap; it is not modified apart from the hooks.
    paths : list of str
        Dotted module paths, e.g. ``["bottleneck", "encoder.0"]``.
    stop_when_complete : bool
        If True, ``run`` stops the forward pass as soon as every path has
        been recorded: a teacher whose decoder is not distilled from costs
        only its encoder.

    Raises
    ------
    ValueError
        At construction, if a path names no module; the message lists the
        available module names.

    Example
    -------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    >>> tap = FeatureTap(net, ["0"])
    >>> _ = net(torch.ones(2, 4))
    >>> tap["0"].shape
    torch.Size([2, 3])
    >>> FeatureTap(net, ["bottleneck"])
    Traceback (most recent call last):
      ...
    ValueError: No module 'bottleneck' in Sequential; available: ...(ReLU)
    >>> tap.remove()
    """

    def __init__(self, model, paths, stop_when_complete=False):
        self.paths = list(paths)
        self.stop_when_complete = stop_when_complete
        self.features = {}
        self.handles = []
        self.enabled = True
        for path in self.paths:
            module = find_module(model, path)
            self.handles.append(
                module.register_forward_hook(self._hook_for(path))
            )

    def _hook_for(self, path):
        def hook(module, inputs, output):
            if not self.enabled:
                return
            if isinstance(output, tuple | list):
                output = output[0]
            self.features[path] = output
            if self.stop_when_complete and len(self.features) == len(
                self.paths
            ):
                raise _TapsComplete

        return hook

    def run(self, model, *args, **kwargs):
        """Clears the record, runs ``model`` and returns the features.

        Arguments
        ---------
        model : torch.nn.Module
            The tapped model (or a wrapper calling it).
        *args, **kwargs
            Its inputs.

        Returns
        -------
        dict
            Path to recorded output.

        Example
        -------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> tap = FeatureTap(net, ["0"], stop_when_complete=True)
        >>> tap.run(net, torch.ones(2, 4))["0"].shape
        torch.Size([2, 3])
        """
        self.clear()
        try:
            model(*args, **kwargs)
        except _TapsComplete:
            pass
        return self.features

    @contextlib.contextmanager
    def disabled(self):
        """Lets the model run whole, recording nothing.

        Example
        -------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> tap = FeatureTap(net, ["0"], stop_when_complete=True)
        >>> with tap.disabled():
        ...     net(torch.ones(1, 4)).shape
        torch.Size([1, 3])
        >>> tap.features
        {}
        """
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True

    def __getitem__(self, path):
        if path not in self.features:
            raise KeyError(
                f"Module {path!r} has not run since the last clear(); "
                "did the forward pass reach it?"
            )
        return self.features[path]

    def clear(self):
        """Forgets the recorded outputs (keeps the hooks)."""
        self.features = {}

    def remove(self):
        """Removes the hooks from the model."""
        for handle in self.handles:
            handle.remove()
        self.handles = []


class _TapsComplete(Exception):
    """Raised by a hook to end a forward pass once all taps are recorded."""


def find_module(model, path):
    """Returns the submodule of ``model`` at the dotted ``path``.

    Arguments
    ---------
    model : torch.nn.Module
        The model to search.
    path : str
        A dotted path as in ``model.named_modules()``; ``""`` is the model.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> find_module(net, "0")
    Linear(in_features=4, out_features=3, bias=True)
    """
    modules = dict(model.named_modules())
    if path not in modules:
        available = ", ".join(
            f"{name!r} ({type(module).__name__})"
            for name, module in modules.items()
        )
        raise ValueError(
            f"No module {path!r} in {type(model).__name__}; "
            f"available: {available}"
        )
    return modules[path]
