"""What a run folder holds for the model card: test metrics and teacher.

A recipe leaves in its run folder ``test_summary.json`` (the test metrics
of the checkpoint of best validation PESQ), its ``hyperparams.yaml`` (the
data and, for a distillation, the ``teacher`` folder) and, for a
distillation, ``teacher_check.json`` (the teacher and the noisy input
scored on the validation set). The export reads them, so that the card of
a run states its results without being told.

Authors
 * speechbrain-kd contributors 2026
"""

import json

from speechbrain_kd.run_record import find_run_record, recorded_node

TEST_SUMMARY_FILE = "test_summary.json"
TEACHER_CHECK_FILE = "teacher_check.json"


def run_results(checkpoint):
    """The test metrics and card facts of the run that holds a checkpoint.

    Arguments
    ---------
    checkpoint : str or pathlib.Path
        The exported weights: a run folder, or a folder or file in it.

    Returns
    -------
    metrics : dict or None
        The run's ``test_summary.json``, None without one.
    info : dict
        Card entries the run records: ``training_data`` and ``test_data``
        (its data folders) and ``teacher`` (its teacher folder and
        validation scores).

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> run = Path(tempfile.mkdtemp())
    >>> _ = (run / "hyperparams.yaml").write_text(
    ...     "data_folder: data/corpus\\ntest_folder: null\\n"
    ...     "teacher: results/train/teacher_cpu/1234\\n"
    ... )
    >>> _ = (run / TEST_SUMMARY_FILE).write_text(
    ...     '{"pesq": {"mean": 2.1, "std": 0.8, "n": 30}}'
    ... )
    >>> metrics, info = run_results(run / "save")
    >>> metrics["pesq"]["n"], info["teacher"]
    (30, 'results/train/teacher_cpu/1234')
    >>> info["test_data"]
    'the test set of data/corpus'
    >>> run_results(run.parent / "elsewhere.ckpt")
    (None, {})
    """
    record = find_run_record(checkpoint)
    if record is None:
        return None, {}
    folder = record.parent
    metrics = _read_json(folder / TEST_SUMMARY_FILE)
    info = {}
    data_folder = recorded_node(record, "data_folder")
    if data_folder:
        info["training_data"] = f"{data_folder} ({_train_data(record)})"
        info["test_data"] = str(
            recorded_node(record, "test_folder")
            or f"the test set of {data_folder}"
        )
    teacher = recorded_node(record, "teacher")
    if teacher:
        info["teacher"] = str(teacher) + _teacher_scores(
            _read_json(folder / TEACHER_CHECK_FILE)
        )
    return metrics, info


def _train_data(record):
    """How the run drew its training data."""
    if recorded_node(record, "train_data") == "dynamic":
        return "dynamic mixing of its training speech and noise"
    return "its training mixtures"


def _teacher_scores(check):
    """The teacher check's scores as text (empty without a check)."""
    if not check:
        return ""
    teacher, noisy = check["teacher"], check["noisy"]
    return (
        f"; on the validation set PESQ {teacher['pesq']:.2f}, STOI "
        f"{teacher['stoi']:.3f} (noisy input PESQ {noisy['pesq']:.2f}, "
        f"STOI {noisy['stoi']:.3f})"
    )


def _read_json(path):
    """The content of a JSON file, None if it does not exist."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)
