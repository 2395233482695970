"""A step budget on a static corpus trains exactly its steps (real audio)."""

from conftest import FAST, read_log, run_recipe


def test_max_steps_on_static_data_trains_every_step(tiny_corpus, tmp_path):
    # the tiny corpus trains 15 utterances: 4 batches of 4 per epoch, so
    # 10 steps span 3 epochs, whatever steps_per_epoch (dynamic data only)
    out = tmp_path / "run"
    run_recipe(
        "train.py",
        "hparams/train.yaml",
        f"--data_folder={tiny_corpus}",
        f"--output_folder={out}",
        "--model=!include:models/student_w64.yaml",
        "--train_data=static",
        "--steps_per_epoch=100",
        "--max_steps=10",
        "--scoring_workers=0",
        *FAST,
    )
    epochs = [entry for entry in read_log(out) if "epoch" in entry]
    assert [int(float(e["train steps"])) for e in epochs] == [4, 8, 10]
    # the schedule decays to zero at the budget's end
    assert float(epochs[-1]["lr"]) == 0.0
