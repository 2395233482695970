"""Data: audio I/O, any paired dataset (VoiceBank-DEMAND, pairs, mixed).

The names are imported lazily, on first use, so that reading a dataset
never imports the corpus-building tool (:mod:`~speechbrain_kd.data.mixing`).
"""

import importlib

_MODULES = {
    "AudioError": "audio",
    "read_audio": "audio",
    "write_audio": "audio",
    "build_sample_corpus": "mixing",
    "mix_corpus": "mixing",
    "prepare_voicebank": "voicebank",
    "detect_format": "datasets",
    "prepare_dataset": "datasets",
}

__all__ = sorted(_MODULES)


def __getattr__(name):
    """Imports the re-exported names on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    return getattr(module, name)


def __dir__():
    """Lists the re-exported names with the module's own."""
    return sorted(set(globals()) | set(__all__))
