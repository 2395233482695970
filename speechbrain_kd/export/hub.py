"""The SpeechBrain model-hub target: a folder that loads offline.

The folder holds ``hyperparams.yaml`` (the model by its import path, for
``SpectralMaskEnhancement.from_hparams`` where the model's package is
installed), ``custom.yaml`` and ``custom.py`` (the model's own code, for
``foreign_class`` where it is not), the student's state dict
``enhance_model.ckpt`` and a real noisy ``example.wav``. Both routes are
checked against the PyTorch student: ``from_hparams`` in this process,
``foreign_class`` in a fresh interpreter started in another directory
with an empty ``PYTHONPATH`` and ``speechbrain_kd`` made unimportable.

Authors
 * speechbrain-kd contributors 2026
"""

import ast
import inspect
import os
import shutil
import string
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.callchains import lengths_arg_exists

from speechbrain_kd import inference
from speechbrain_kd.export import hub_code
from speechbrain_kd.export.common import (
    CKPT_FILE,
    CUSTOM_CODE_FILE,
    CUSTOM_HPARAMS_FILE,
    EXAMPLE_FILE,
    HPARAMS_FILE,
    ExportTarget,
    check_parity,
    file_sizes,
    template,
)
from speechbrain_kd.export.student import check_no_kd_weights, model_yaml

# The interface of each model contract, and the entries its
# hyperparams.yaml must define
INTERFACES = {
    "magnitude": "SpectralMaskEnhancement",
    "complex": "ComplexSpectrumEnhancement",
}
REQUIRED_HPARAMS = {
    "SpectralMaskEnhancement": (
        "compute_stft",
        "spectral_magnitude",
        "resynth",
        "enhance_model",
        "modules",
        "pretrainer",
    ),
    "ComplexSpectrumEnhancement": (
        "compute_stft",
        "compute_istft",
        "output",
        "enhance_model",
        "modules",
        "pretrainer",
    ),
}
# Packages that any loader of the folder has installed anyway.
HOST_PACKAGES = ("torch", "speechbrain")
WRAPPER = f"{hub_code.__name__}.{hub_code.WithoutLengths.__name__}"


def hub_model(model):
    """The module saved in the hub folder: the model, wrapped in
    ``WithoutLengths`` if its ``forward`` takes no ``lengths``.

    Arguments
    ---------
    model : torch.nn.Module
        The student.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> type(hub_model(torch.nn.Sigmoid())).__name__
    'WithoutLengths'
    """
    if lengths_arg_exists(model.forward):
        return model
    return hub_code.WithoutLengths(model)


def model_entries(model, model_file, contract="magnitude"):
    """The ``enhance_model`` entries of ``hyperparams.yaml`` and of
    ``custom.yaml``, and the code of ``custom.py``.

    The model file's root class is renamed ``custom.<Class>`` in
    ``custom.yaml`` unless it comes from torch or SpeechBrain; then
    ``custom.py`` holds the source of the module defining it, followed by
    that of :mod:`speechbrain_kd.export.hub_code`.

    Arguments
    ---------
    model : torch.nn.Module
        The student.
    model_file : str or pathlib.Path
        Its architecture file (root ``--- !new:<class>``).
    contract : str
        Its front-end's contract; ``complex`` adds the source of
        :mod:`speechbrain_kd.inference` (the interface) to ``custom.py``.

    Returns
    -------
    entry : str
        For ``hyperparams.yaml``.
    custom_entry : str
        For ``custom.yaml``.
    code : str
        The text of ``custom.py``.

    Example
    -------
    >>> path = os.path.join(tempfile.mkdtemp(), "m.yaml")
    >>> with open(path, "w") as f:
    ...     _ = f.write("--- !new:speechbrain_kd.models.MaskUNet\\n"
    ...                 "depth: 2\\n")
    >>> from speechbrain_kd.models import MaskUNet
    >>> entry, custom, code = model_entries(MaskUNet(depth=2), path)
    >>> print(custom)
    enhance_model: !new:custom.MaskUNet
        depth: 2
    <BLANKLINE>
    >>> "class MaskUNet" in code and "class WithoutLengths" in code
    True
    """
    entry = model_yaml(model_file)
    tag = entry.splitlines()[0].split("!new:", 1)[1].strip()
    module = sys.modules[type(model).__module__]
    sources = []
    custom_entry = entry
    if module.__name__.split(".")[0] not in HOST_PACKAGES:
        custom_entry = entry.replace(
            f"!new:{tag}", f"!new:custom.{tag.rsplit('.', 1)[1]}", 1
        )
        sources += bundled_sources(module)
    if contract == "complex":
        sources.append((inference.__name__, inspect.getsource(inference)))
    sources.append((hub_code.__name__, inspect.getsource(hub_code)))
    if not lengths_arg_exists(model.forward):
        entry, custom_entry = (
            _wrap(e, path)
            for e, path in ((entry, WRAPPER), (custom_entry, "custom"))
        )
    header = string.Template(template("custom_header.py")).substitute(
        classname=INTERFACES[contract]
    )
    code = header + "".join(
        f"\n\n# ---- {name} ----\n\n{source}" for name, source in sources
    )
    return entry, custom_entry, code


def bundled_sources(module):
    """The source of a module and of the package modules it needs.

    The modules of ``speechbrain_kd`` that ``module`` imports from (and
    those they import from, in turn) come first, each once; their
    ``from speechbrain_kd... import`` statements are removed, since the
    names they import are then defined in the same file (``custom.py``).

    Arguments
    ---------
    module : module
        The model's module.

    Returns
    -------
    list of (str, str)
        ``(module name, source)`` in dependency order.

    Example
    -------
    >>> from speechbrain_kd.export import card
    >>> [name for name, _ in bundled_sources(card)][-1]
    'speechbrain_kd.export.card'
    """
    package = __name__.split(".")[0]
    done, order = set(), []

    def visit(name):
        if name in done:
            return
        done.add(name)
        source = inspect.getsource(sys.modules[name])
        lines = source.splitlines(keepends=True)
        for node in reversed(ast.parse(source).body):
            if isinstance(node, ast.ImportFrom) and (
                node.module or ""
            ).startswith(package):
                visit(node.module)
                aliases = "".join(
                    f"{a.asname} = {a.name}\n" for a in node.names if a.asname
                )
                lines[node.lineno - 1 : node.end_lineno] = [aliases]
        order.append((name, "".join(lines)))

    visit(module.__name__)
    return order


def _wrap(entry, module):
    """Nests an ``enhance_model`` entry under ``WithoutLengths``."""
    if module == "custom":
        module = "custom.WithoutLengths"
    lines = entry.splitlines()
    tag = lines[0].split(": ", 1)[1]
    body = "".join(f"    {line}\n" if line else "\n" for line in lines[1:])
    return f"enhance_model: !new:{module}\n    model: {tag}\n{body}"


def write_hparams(path, model_entry, front_end, loading, code=None):
    """Writes the ``hyperparams.yaml`` of a hub folder.

    Arguments
    ---------
    path : str or pathlib.Path
        The file to write.
    model_entry : str
        The ``enhance_model`` entry (see :func:`model_entries`).
    front_end : speechbrain_kd.features.SpectralFrontEnd
        The model's front-end: ``SpectralMaskEnhancement`` serves the
        magnitude contract, ``ComplexSpectrumEnhancement`` the complex one.
    loading : str
        A comment line saying how the file is loaded.
    code : str, optional
        The module of the complex transforms: ``custom`` in
        ``custom.yaml``; :mod:`speechbrain_kd.inference` when None.

    Example
    -------
    >>> from speechbrain_kd.features import load_front_end
    >>> path = os.path.join(tempfile.mkdtemp(), "hyperparams.yaml")
    >>> entry = "enhance_model: !new:speechbrain_kd.models.MaskUNet\\n"
    >>> write_hparams(path, entry + "    depth: 2\\n",
    ...               load_front_end("stft_32ms"), "Loads.")
    >>> with open(path) as f:
    ...     hparams = load_hyperpyyaml(f)
    >>> hparams["enhance_model"].depth, sorted(hparams["modules"])
    (2, ['enhance_model'])
    """
    options = dict(model_entry=model_entry, loading=loading)
    options.update(front_end.settings)
    if front_end.contract == "complex":
        name = "hyperparams_complex.yaml"
        options.update(
            window=front_end.window_name,
            output=front_end.output,
            code=code or inference.__name__,
        )
    else:
        name = "hyperparams.yaml"
    text = string.Template(template(name)).substitute(**options)
    Path(path).write_text(text, encoding="utf-8")


class HubTarget(ExportTarget):
    """The SpeechBrain hub folder, checked through both loaders.

    Arguments
    ---------
    atol : float
        Largest difference of either loader's enhanced example from the
        PyTorch student's.

    Example
    -------
    >>> HubTarget(atol=1e-3).atol
    0.001
    """

    name = "hub"
    files = (
        HPARAMS_FILE,
        CUSTOM_HPARAMS_FILE,
        CUSTOM_CODE_FILE,
        CKPT_FILE,
        EXAMPLE_FILE,
    )

    def __init__(self, atol=1e-4):
        self.atol = atol

    def write(self, ctx):
        """Writes the YAML files, custom.py, the weights and the example."""
        contract = ctx.front_end.contract
        entry, custom_entry, code = model_entries(
            ctx.model, ctx.model_file, contract
        )
        write_hparams(
            ctx.folder / HPARAMS_FILE,
            entry,
            ctx.front_end,
            "Loads with from_hparams where the model's package is installed",
        )
        write_hparams(
            ctx.folder / CUSTOM_HPARAMS_FILE,
            custom_entry,
            ctx.front_end,
            "Loads with foreign_class(..., pymodule_file='custom.py', "
            f"classname='{INTERFACES[contract]}')",
            code="custom",
        )
        (ctx.folder / CUSTOM_CODE_FILE).write_text(code, encoding="utf-8")
        torch.save(hub_model(ctx.model).state_dict(), ctx.folder / CKPT_FILE)
        shutil.copyfile(ctx.example_wav, ctx.folder / EXAMPLE_FILE)

    def check(self, ctx):
        """Both loaders enhance the example as the PyTorch student does."""
        validate_hub_folder(ctx.folder)
        name = Path(ctx.example_wav).name
        interface = INTERFACES[ctx.front_end.contract]
        ctx.record(
            self.name,
            from_hparams=check_parity(
                f"{interface}.from_hparams on {name}",
                ctx.reference,
                enhance_from_hparams(ctx.folder),
                self.atol,
            ),
            foreign_class=check_parity(
                f"foreign_class (custom.py, fresh interpreter) on {name}",
                ctx.reference,
                enhance_standalone(ctx.folder),
                self.atol,
            ),
        )


def enhance_from_hparams(folder):
    """Enhances the folder's example.wav through the ``from_hparams`` of
    its interface (``SpectralMaskEnhancement``, or
    ``speechbrain_kd.inference.ComplexSpectrumEnhancement``) loaded
    offline from the folder into a fresh savedir.

    Arguments
    ---------
    folder : str or pathlib.Path
        A hub folder.

    Returns
    -------
    torch.Tensor
        The enhanced waveform.
    """
    from speechbrain.inference.enhancement import SpectralMaskEnhancement

    interfaces = {
        "SpectralMaskEnhancement": SpectralMaskEnhancement,
        "ComplexSpectrumEnhancement": inference.ComplexSpectrumEnhancement,
    }
    interface = interfaces[interface_of(folder)]
    with tempfile.TemporaryDirectory() as savedir:
        enhancer = interface.from_hparams(
            source=str(Path(folder).resolve()),
            savedir=savedir,
            run_opts={"device": "cpu"},
        )
        with torch.no_grad():
            return enhancer.enhance_file(str(Path(folder) / EXAMPLE_FILE))


# Run by a fresh interpreter: loads the folder as a user without
# speechbrain_kd or the model's module would, and saves the enhanced example
_STANDALONE = """\
import sys
sys.modules["speechbrain_kd"] = None
import numpy as np
import torch
from speechbrain.inference.interfaces import foreign_class
folder, savedir, output, classname = sys.argv[1:]
enhancer = foreign_class(
    source=folder, hparams_file="custom.yaml", pymodule_file="custom.py",
    classname=classname, savedir=savedir,
)
with torch.no_grad():
    enhanced = enhancer.enhance_file(folder + "/example.wav")
np.save(output, enhanced.numpy())
"""


def enhance_standalone(folder, timeout=300):
    """Enhances the folder's example.wav with ``foreign_class`` in a fresh
    interpreter, started in another directory with an empty
    ``PYTHONPATH`` and ``speechbrain_kd`` unimportable.

    Arguments
    ---------
    folder : str or pathlib.Path
        A hub folder.
    timeout : float
        Seconds before the interpreter is stopped.

    Returns
    -------
    numpy.ndarray
        The enhanced waveform.

    Raises
    ------
    ValueError
        If the folder does not load or enhance there, with the error.
    """
    folder = Path(folder).resolve()
    with tempfile.TemporaryDirectory() as elsewhere:
        output = Path(elsewhere) / "enhanced.npy"
        env = {**os.environ, "PYTHONPATH": ""}
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                _STANDALONE,
                str(folder),
                str(Path(elsewhere) / "savedir"),
                str(output),
                interface_of(folder),
            ],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise ValueError(
                f"{folder} does not load with foreign_class (custom.yaml, "
                "custom.py) in a fresh interpreter without speechbrain_kd "
                f"or the model's module:\n{result.stderr[-2000:]}"
            )
        return np.load(output)


def interface_of(folder):
    """The interface class a hub folder is made for, by name.

    Arguments
    ---------
    folder : str or pathlib.Path
        A hub folder.

    Returns
    -------
    str
        Its ``hyperparams.yaml``'s ``interface`` entry, or
        ``SpectralMaskEnhancement`` where it has none.

    Example
    -------
    >>> folder = tempfile.mkdtemp()
    >>> _ = Path(folder, "hyperparams.yaml").write_text("n_fft: 512\\n")
    >>> interface_of(folder)
    'SpectralMaskEnhancement'
    """
    path = Path(folder) / HPARAMS_FILE
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("interface:"):
            return line.split(":", 1)[1].strip()
    return INTERFACES["magnitude"]


def validate_hub_folder(folder):
    """Checks a hub folder for ``SpectralMaskEnhancement`` before upload.

    ``custom.yaml`` is loaded with the folder's ``custom.py`` importable
    (and removed from ``sys.modules`` afterwards); ``hyperparams.yaml``
    too, unless a class it names cannot be imported here (the case of a
    user's model exported elsewhere: ``custom.yaml`` is the folder's
    self-contained form).

    Arguments
    ---------
    folder : str or pathlib.Path
        The folder made by ``export_student``.

    Returns
    -------
    list of str
        The files to upload, relative to ``folder``.

    Raises
    ------
    ValueError
        Naming the problem: a missing file, a YAML that does not load or
        lacks an entry, a checkpoint that does not match the YAML's model
        or that holds adapter or teacher weights.

    Example
    -------
    >>> validate_hub_folder(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: missing hyperparams.yaml
    """
    folder = Path(folder)
    for name in (
        HPARAMS_FILE,
        CUSTOM_HPARAMS_FILE,
        CUSTOM_CODE_FILE,
        CKPT_FILE,
    ):
        if not (folder / name).is_file():
            raise ValueError(f"Hub folder {folder}: missing {name}")
    state = torch.load(
        folder / CKPT_FILE, map_location="cpu", weights_only=True
    )
    check_no_kd_weights(state, folder / CKPT_FILE)
    for name in (CUSTOM_HPARAMS_FILE, HPARAMS_FILE):
        try:
            hparams = _load_with_custom_code(folder, name)
        except ImportError as error:
            if name == CUSTOM_HPARAMS_FILE:
                raise ValueError(
                    f"{folder / name} does not load with custom.py: {error}"
                ) from error
            continue
        _check_hparams(hparams, state, folder, name)
    return list(file_sizes(folder))


def _load_with_custom_code(folder, name):
    """Loads a YAML file of the folder with its custom.py importable;
    raises ImportError as is, other errors as ValueError."""
    saved = sys.modules.pop("custom", None)
    sys.path.insert(0, str(folder))
    try:
        with open(folder / name, encoding="utf-8") as fin:
            return load_hyperpyyaml(fin)
    except ImportError:
        raise
    except Exception as error:
        raise ValueError(
            f"{folder / name} does not load: {type(error).__name__}: {error}"
        ) from error
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("custom", None)
        if saved is not None:
            sys.modules["custom"] = saved


def _check_hparams(hparams, state, folder, name):
    """Raises a ValueError if loaded hyperparameters do not serve the
    folder's interface with the folder's weights."""
    path = folder / name
    interface = hparams.get("interface", INTERFACES["magnitude"])
    required = REQUIRED_HPARAMS.get(interface)
    if required is None:
        raise ValueError(
            f"{path}: unknown interface {interface!r}; use one of "
            f"{sorted(REQUIRED_HPARAMS)}"
        )
    missing = [key for key in required if key not in hparams]
    if missing:
        raise ValueError(
            f"{path} lacks {', '.join(missing)}, needed by {interface}"
        )
    model = hparams["enhance_model"]
    if hparams["modules"].get("enhance_model") is not model:
        raise ValueError(
            f"{path}: modules.enhance_model must be !ref <enhance_model>"
        )
    if hparams["pretrainer"].loadables.get("enhance_model") is not model:
        raise ValueError(
            f"{path}: pretrainer.loadables.enhance_model must be "
            "!ref <enhance_model>"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{folder / CKPT_FILE} does not match the enhance_model of "
            f"{path}: {error}"
        ) from error
