"""Export of a trained student for deployment, as a set of targets.

``export_student`` (:mod:`~speechbrain_kd.export.pipeline`) loops over
a list of targets (the ``targets`` of ``hparams/export.yaml``, each with
its options), one module each: the SpeechBrain hub folder
(:mod:`~speechbrain_kd.export.hub`), TorchScript
(:mod:`~speechbrain_kd.export.torchscript`), ONNX for whole utterances
and the torch-free ``enhance_onnx.py``
(:mod:`~speechbrain_kd.export.onnx_offline`), streaming ONNX for causal
students (:mod:`~speechbrain_kd.export.onnx_streaming`) and int8
(:mod:`~speechbrain_kd.export.int8`). Each target checks its files against
the PyTorch student on real speech; the folder is written only if every
check passes. Only the student's weights are exported: the distillation
adapter and the teacher never are. ``publish`` uploads a folder after
loading it in a fresh interpreter. The model card, the hyperparameter
files and the reference script are files of ``templates/``.

Authors
 * speechbrain-kd contributors 2026
"""

from speechbrain_kd.export.common import (
    CKPT_FILE,
    CUSTOM_CODE_FILE,
    CUSTOM_HPARAMS_FILE,
    EXAMPLE_FILE,
    HPARAMS_FILE,
    INT8_FILE,
    ONNX_FILE,
    ONNX_OPSET,
    SCRIPT_FILE,
    STREAM_ONNX_FILE,
    TORCHSCRIPT_FILE,
    ExportContext,
    ExportError,
    ExportTarget,
    check_parity,
    file_sizes,
    onnx_session,
    real_time_factor,
    run_mask,
)
from speechbrain_kd.export.hub import (
    enhance_standalone,
    validate_hub_folder,
)
from speechbrain_kd.export.onnx_offline import export_onnx, stft_metadata
from speechbrain_kd.export.onnx_streaming import (
    export_streaming_onnx,
    stream_onnx_masks,
)
from speechbrain_kd.export.pipeline import (
    default_targets,
    export_student,
    select_targets,
)
from speechbrain_kd.export.publish import publish
from speechbrain_kd.export.run_results import run_results
from speechbrain_kd.export.student import (
    describe_student,
    export_settings,
    load_model,
    load_student,
    lookahead_frames,
)
from speechbrain_kd.export.torchscript import (
    export_torchscript,
    load_torchscript,
)

__all__ = [
    "CKPT_FILE",
    "CUSTOM_CODE_FILE",
    "CUSTOM_HPARAMS_FILE",
    "EXAMPLE_FILE",
    "HPARAMS_FILE",
    "INT8_FILE",
    "ONNX_FILE",
    "ONNX_OPSET",
    "SCRIPT_FILE",
    "STREAM_ONNX_FILE",
    "TORCHSCRIPT_FILE",
    "ExportContext",
    "ExportError",
    "ExportTarget",
    "check_parity",
    "default_targets",
    "describe_student",
    "enhance_standalone",
    "export_onnx",
    "export_settings",
    "export_streaming_onnx",
    "export_student",
    "export_torchscript",
    "file_sizes",
    "load_model",
    "load_student",
    "load_torchscript",
    "lookahead_frames",
    "onnx_session",
    "publish",
    "run_results",
    "real_time_factor",
    "run_mask",
    "select_targets",
    "stft_metadata",
    "stream_onnx_masks",
    "validate_hub_folder",
]
