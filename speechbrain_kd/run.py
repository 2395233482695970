"""What every recipe of ours does around its ``Brain``.

Parse the command line the SpeechBrain way, load the HyperPyYAML, set up
(possibly distributed) experiment folders, prepare the manifests once on
the main process, then fit and test.

Authors
 * speechbrain-kd contributors 2026
"""

import os

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.batch import PaddedBatch

from speechbrain_kd.data.datasets import prepare_dataset
from speechbrain_kd.data.dynamic_mixing import (
    DynamicMixer,
    load_pool,
    training_pools,
)
from speechbrain_kd.data.pairs import prepare_pairs_folder
from speechbrain_kd.data.pipeline import make_datasets
from speechbrain_kd.options import check_options
from speechbrain_kd.paths import hparams_folder
from speechbrain_kd.recipe_help import print_recipe_help
from speechbrain_kd.user_code import absolute_code_path

TRAIN_DATA = ("static", "dynamic")


def load_experiment(argv, default_hparams="train.yaml"):
    """Parses recipe arguments and loads the hyperparameters.

    ``--help`` prints SpeechBrain's run options and the keys of the YAML
    (the one given, else ``default_hparams``), then exits.

    Arguments
    ---------
    argv : list of str
        ``hparams.yaml`` followed by SpeechBrain run options and YAML
        overrides (``--key=value``).
    default_hparams : str
        The recipe's YAML, in ``hparams/``, for ``--help``.

    Returns
    -------
    tuple
        ``(hparams, run_opts)``.
    """
    print_recipe_help(argv, os.path.join(hparams_folder(), default_hparams))
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    overrides = absolute_code_path(overrides)
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml_with_user_code(fin, overrides)
    check_options(hparams)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    return hparams, run_opts


def load_hyperpyyaml_with_user_code(stream, overrides):
    """``load_hyperpyyaml``, with a hint when a class is not importable.

    Arguments
    ---------
    stream : file
        The YAML.
    overrides : str
        Command-line overrides.

    Returns
    -------
    dict
        The hyperparameters.
    """
    try:
        return load_hyperpyyaml(stream, overrides)
    except ImportError as error:
        raise ImportError(
            f"{error}. If the class is in your own file, point the recipe at "
            "it: --code_path=path/to/your_model.py (then "
            "!new:your_model.YourClass), or at the folder of its package."
        ) from error


def prepare_data(hparams):
    """Writes the manifests (main process only) and builds the datasets.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters with ``data_folder``, ``manifest_folder``,
        ``valid_speakers``, ``sample_rate``, ``segment_seconds`` and
        ``skip_prep``.

    Optional: ``dataset_format`` (``auto``, ``voicebank``, ``mixed`` or
    ``pairs``, see :func:`~speechbrain_kd.data.datasets.prepare_dataset`)
    and ``test_folder`` (a folder of ``clean/`` and ``noisy/`` pairs that
    replaces the dataset's test set).

    Optional: ``train_data`` (``static``, the corpus' training mixtures,
    or ``dynamic``: fresh mixtures of its training speech and noise each
    epoch, see :func:`dynamic_training_set`) and ``extra_test_sets``
    (name to a folder of ``clean/`` and ``noisy/`` pairs; each becomes a
    ``test_<name>`` dataset).

    Returns
    -------
    dict
        Split name to dataset.
    """
    train_data = hparams.get("train_data", "static")
    if train_data not in TRAIN_DATA:
        raise ValueError(
            f"train_data must be one of {TRAIN_DATA}, got {train_data!r}"
        )
    sb.utils.distributed.run_on_main(
        prepare_dataset,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_folder": hparams["manifest_folder"],
            "dataset_format": hparams.get("dataset_format", "auto"),
            "valid_speakers": hparams["valid_speakers"],
            "test_folder": hparams.get("test_folder"),
            "sample_rate": hparams["sample_rate"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    manifests = {
        split: os.path.join(hparams["manifest_folder"], f"{split}.json")
        for split in ("train", "valid", "test")
    }
    for name, folder in (hparams.get("extra_test_sets") or {}).items():
        manifests[f"test_{name}"] = os.path.join(
            hparams["manifest_folder"], f"test_{name}.json"
        )
        sb.utils.distributed.run_on_main(
            prepare_pairs_folder,
            args=[folder, manifests[f"test_{name}"], hparams["sample_rate"]],
        )
    if train_data == "dynamic":
        # mixed afresh from the speech and noise pools: the corpus' static
        # training mixtures need not exist (a bundle of data.bundle has none)
        del manifests["train"]
    datasets = make_datasets(
        manifests,
        hparams["data_folder"],
        sample_rate=hparams["sample_rate"],
        segment_seconds=hparams["segment_seconds"],
    )
    if train_data == "dynamic":
        datasets["train"] = dynamic_training_set(hparams)
    return datasets


def dynamic_training_set(hparams):
    """Dynamic mixing over the training speech and noise of the corpus.

    Arguments
    ---------
    hparams : dict
        With ``data_folder`` (a corpus of
        :mod:`speechbrain_kd.data.mixing`), ``extra_train_noise`` (more
        noise folders, training only), ``segment_seconds``,
        ``steps_per_epoch``, ``batch_size``, ``snr_range``,
        ``level_range``, ``sample_rate`` and ``seed``.

    Returns
    -------
    DynamicMixer
        The training set.
    """
    speech, noise = training_pools(
        hparams["data_folder"], hparams.get("extra_train_noise") or ()
    )
    rate = hparams["sample_rate"]
    return DynamicMixer(
        load_pool(speech, rate, kind="speech"),
        load_pool(noise, rate, kind="noise"),
        segment_seconds=hparams["segment_seconds"],
        items_per_epoch=hparams["steps_per_epoch"] * hparams["batch_size"],
        snr_range=hparams["snr_range"],
        level_range=hparams["level_range"],
        seed=hparams["seed"],
    )


def train_loader_kwargs(hparams, train_set):
    """The training loader options of the hparams, fitted to the set.

    Arguments
    ---------
    hparams : dict
        With ``train_dataloader_opts``.
    train_set : Dataset
        The training set.

    Returns
    -------
    dict
        The options; a :class:`DynamicMixer` is not shuffled (its items
        are drawn at random already) and is batched with ``PaddedBatch``
        (its items are plain dicts).
    """
    options = dict(hparams["train_dataloader_opts"])
    if isinstance(train_set, DynamicMixer):
        options.update(shuffle=False, collate_fn=PaddedBatch)
    return options


def fit_and_test(brain, hparams, datasets):
    """Trains with validation, then tests the best-PESQ checkpoint.

    Arguments
    ---------
    brain : EnhanceBrain
        The brain to train (its checkpointer resumes an interrupted run).
    hparams : dict
        Loaded hyperparameters with the dataloader options.
    datasets : dict
        ``train``, ``valid`` and ``test`` datasets.
    """
    brain.fit(
        brain.hparams.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=train_loader_kwargs(hparams, datasets["train"]),
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    for split in sorted(datasets, key=lambda name: name != "test"):
        if not split.startswith("test"):
            continue
        brain.test_set_name = None if split == "test" else split[5:]
        brain.evaluate(
            datasets[split],
            max_key="pesq",
            test_loader_kwargs=hparams["valid_dataloader_opts"],
        )
    brain.test_set_name = None
