"""Files that appear complete or not at all.

Authors
 * speechbrain-kd contributors 2026
"""

import contextlib
import os


@contextlib.contextmanager
def atomic_write(path):
    """Opens a text file to write that appears at ``path`` only complete.

    Arguments
    ---------
    path : str
        Destination.

    Yields
    ------
    file
        The open temporary file beside ``path``.

    Example
    -------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
    >>> with atomic_write(path) as f:
    ...     _ = f.write("{}")
    ...     path.exists()
    False
    >>> path.read_text()
    '{}'
    """
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
