"""Make a user's own model code importable from a recipe's YAML.

A YAML names classes by import path (``!new:conv_mask.ConvMask``). The
top-level ``code_path`` option of every recipe (a ``.py`` file or a
folder, e.g. ``--code_path=my_models/conv_mask.py``) puts the folder of
that code on the import path before the models are built, so the class is
found without setting ``PYTHONPATH``.

Authors
 * speechbrain-kd contributors 2026
"""

import os
import sys


def add_code_path(code_path):
    """Puts the folder of ``code_path`` first on the import path.

    Arguments
    ---------
    code_path : str or None
        A ``.py`` file (its module is then named by the file's stem, e.g.
        ``conv_mask`` for ``my_models/conv_mask.py``) or a folder (its
        modules and packages are importable). None does nothing.

    Returns
    -------
    str or None
        The folder added to ``sys.path``.

    Raises
    ------
    FileNotFoundError
        If ``code_path`` does not exist, or is a file that is not ``.py``.

    Example
    -------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "my_net.py").write_text("class Net:\\n    pass\\n")
    >>> add_code_path(str(folder / "my_net.py")) == str(folder)
    True
    >>> import my_net
    >>> add_code_path("no/such/file.py")
    Traceback (most recent call last):
      ...
    FileNotFoundError: code_path ...no/such/file.py does not exist ...
    """
    if code_path is None:
        return None
    path = os.path.abspath(os.path.expanduser(str(code_path)))
    if os.path.isfile(path) and path.endswith(".py"):
        folder = os.path.dirname(path)
    elif os.path.isdir(path):
        folder = path
    else:
        raise FileNotFoundError(
            f"code_path {path} does not exist or is not a .py file or a "
            "folder; give the file defining your model (--code_path=my/"
            "model.py, then !new:model.MyNet in the YAML) or its folder"
        )
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return folder
