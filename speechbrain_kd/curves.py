"""The training curves of a run: ``train_log.txt`` drawn as one plot.

Every recipe's ``FileTrainLogger`` writes one line per epoch (``epoch: 3,
lr: ... - train loss: ... - valid loss: ..., valid pesq: ...``). After each
validation the ``EnhanceBrain`` redraws ``training_curves.png`` in the run
folder from that file: the training and validation losses (log scale) and
the validation PESQ and STOI per epoch, so that a resumed run draws its
whole history.

Authors
 * speechbrain-kd contributors 2026
"""

import math

from speechbrain_kd.report import new_figure

CURVES_FILE = "training_curves.png"


def read_train_log(path):
    """The epochs of a ``train_log.txt``: ``[{"epoch": 1, ...}, ...]``.

    Lines without an epoch (the test stage) are left out; keys are
    ``"<stage> <name>"`` as logged (``"train loss"``, ``"valid pesq"``).

    Arguments
    ---------
    path : str or pathlib.Path
        The log.

    Returns
    -------
    list of dict
        Each epoch's numbers (the last line of an epoch logged twice).

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train_log.txt")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write(
    ...         "epoch: 1, lr: 1.00e-03 - train loss: 2.00e-01 - "
    ...         "valid loss: 1.50e-01, valid pesq: 1.30\\n"
    ...         "Epoch loaded: 1 - test loss: 1.40e-01\\n"
    ...     )
    >>> read_train_log(path)
    [{'epoch': 1.0, 'lr': 0.001, 'train loss': 0.2, 'valid loss': 0.15, \
'valid pesq': 1.3}]
    """
    epochs = {}
    with open(path, encoding="utf-8") as fin:
        for line in fin:
            entry = {}
            for part in line.strip().replace(" - ", ", ").split(", "):
                key, _, value = part.rpartition(": ")
                try:
                    entry[key.strip()] = float(value)
                except ValueError:
                    continue
            if "epoch" in entry:
                epochs[entry["epoch"]] = entry
    return [epochs[epoch] for epoch in sorted(epochs)]


def plot_training_curves(log_path, png_path):
    """Draws the losses and validation metrics of a train log.

    Arguments
    ---------
    log_path : str or pathlib.Path
        The run's ``train_log.txt``.
    png_path : str or pathlib.Path
        The plot to write.

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> log = os.path.join(folder, "train_log.txt")
    >>> with open(log, "w") as fout:
    ...     for epoch in (1, 2):
    ...         _ = fout.write(
    ...             f"epoch: {epoch}, lr: 1.00e-03 - train loss: "
    ...             f"{0.3 / epoch:.2e} - valid loss: {0.2 / epoch:.2e}, "
    ...             f"valid pesq: {1 + epoch / 10:.2f}, valid stoi: 0.8\\n"
    ...         )
    >>> plot_training_curves(log, os.path.join(folder, CURVES_FILE))
    >>> os.path.getsize(os.path.join(folder, CURVES_FILE)) > 0
    True
    """
    epochs = read_train_log(log_path)
    figure = new_figure(figsize=(9, 3.6))
    loss_axes, pesq_axes = figure.subplots(1, 2)
    numbers = [e["epoch"] for e in epochs]
    for key, style in (("train loss", "o-"), ("valid loss", "s--")):
        values = [e.get(key, math.nan) for e in epochs]
        loss_axes.plot(numbers, values, style, label=key)
    loss_axes.set(xlabel="epoch", ylabel="loss", yscale="log", title="Loss")
    loss_axes.legend()
    pesq_axes.plot(
        numbers,
        [e.get("valid pesq", math.nan) for e in epochs],
        "o-",
        color="C2",
        label="valid PESQ",
    )
    pesq_axes.set(xlabel="epoch", ylabel="PESQ", title="Validation")
    stoi_axes = pesq_axes.twinx()
    stoi_axes.plot(
        numbers,
        [e.get("valid stoi", math.nan) for e in epochs],
        "s--",
        color="C3",
        label="valid STOI",
    )
    stoi_axes.set_ylabel("STOI")
    lines = pesq_axes.get_lines() + stoi_axes.get_lines()
    pesq_axes.legend(lines, [line.get_label() for line in lines])
    for axes in (loss_axes, pesq_axes):
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
