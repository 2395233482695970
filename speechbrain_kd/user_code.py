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
import re
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


def absolute_code_path(overrides):
    """Makes a relative ``code_path`` of command-line overrides absolute.

    The run folder's ``hyperparams.yaml`` then names the user's code
    wherever it is read from (e.g. by an export).

    Arguments
    ---------
    overrides : str
        Overrides as ``speechbrain.parse_arguments`` returns them (one
        ``key: value`` per line).

    Returns
    -------
    str
        The same overrides, ``code_path`` absolute.

    Example
    -------
    >>> import os
    >>> out = absolute_code_path("code_path: my/net.py\\nseed: 3")
    >>> out == f"code_path: {os.path.abspath('my/net.py')}\\nseed: 3"
    True
    >>> absolute_code_path("code_path: null")
    'code_path: null'
    """

    def absolute(match):
        value = match.group(1).strip()
        if value in ("null", "~", "None") or os.path.isabs(value):
            return match.group(0)
        return f"code_path: {os.path.abspath(os.path.expanduser(value))}"

    return re.sub(r"^code_path: *(.+)$", absolute, overrides, flags=re.M)
