"""Upload of an export folder to the Hugging Face Hub, after checks.

Authors
 * speechbrain-kd contributors 2026
"""

from speechbrain_kd.export.hub import enhance_standalone, validate_hub_folder


def publish(folder, repo_id, dry_run=False, token=None, private=False):
    """Validates a hub folder and uploads it to the Hugging Face Hub.

    The folder must pass :func:`validate_hub_folder` and load with
    ``foreign_class`` in a fresh interpreter (empty ``PYTHONPATH``,
    another directory, no ``speechbrain_kd``) and enhance its example;
    otherwise nothing is uploaded, dry run or not.

    Arguments
    ---------
    folder : str or pathlib.Path
        The folder made by ``export_student``.
    repo_id : str
        The model repository, ``user/name``.
    dry_run : bool
        Only check and print the files that would be uploaded.
    token : str, optional
        Hugging Face token (the cached login when None).
    private : bool
        Create the repository as private.

    Returns
    -------
    list of str
        The files uploaded (or that would be).

    Example
    -------
    >>> import tempfile
    >>> publish(tempfile.mkdtemp(), "user/name", dry_run=True)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: missing hyperparams.yaml
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import validate_repo_id

    validate_repo_id(repo_id)
    if repo_id.count("/") != 1:
        raise ValueError(f"repo_id must be 'user/name', got {repo_id!r}")
    files = validate_hub_folder(folder)
    enhance_standalone(folder)
    if dry_run:
        print(
            f"Dry run: {folder} loads in a fresh interpreter; would upload "
            f"to https://huggingface.co/{repo_id}"
        )
        for name in files:
            print(f"  {name}")
        return files
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        commit_message="Upload speechbrain-kd student",
    )
    return files
