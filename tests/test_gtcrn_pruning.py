"""Structured pruning of the published GTCRN into its narrower members,
on the official weights and real audio."""

import pytest
import torch
from conftest import REPO, training_brain

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.features import load_front_end
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.gtcrn_pruning import (
    main_channel_order,
    main_channel_scores,
    pruned_state,
)
from speechbrain_kd.models.published import load_published
from speechbrain_kd.warm_start import start_from

CHECKPOINT = (
    REPO.parent / "shared" / "models" / "gtcrn" / ("model_trained_on_vctk.tar")
)
MEMBERS = {"half": (12, 4, 8), "quarter": (8, 2, 4)}


@pytest.fixture(scope="module")
def teacher():
    return load_published(GTCRN(), CHECKPOINT).eval()


@pytest.fixture(scope="module")
def spec(voicebank):
    wav = read_audio(voicebank / "noisy_testset_wav_16k" / "p232_003.wav")
    return load_front_end("complex_32ms").model_input(wav[None])


def test_pruning_into_the_published_size_changes_nothing(teacher, spec):
    same = GTCRN().eval()
    same.load_state_dict(pruned_state(teacher, same))
    for key, value in teacher.state_dict().items():
        assert torch.equal(same.state_dict()[key], value), key
    with torch.no_grad():
        assert torch.equal(same(spec), teacher(spec))


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_main_channels_survive_every_channel_shuffle(teacher, member):
    """A grouped temporal block sends input ``half + i`` to output
    ``2i + 1`` and its new channel ``i`` to ``2i``: the student's channel
    ``j`` must stand for the same teacher channel before and after."""
    channels = MEMBERS[member][0]
    order = main_channel_order(main_channel_scores(teacher), channels)
    assert len(set(order.tolist())) == channels
    half, kept_half = 8, channels // 2
    assert all(order[:kept_half] < half) and all(order[kept_half:] >= half)
    after = [None] * channels
    for i in range(kept_half):
        after[2 * i] = int(order[2 * i])  # the new channel it keeps
        after[2 * i + 1] = 2 * (int(order[kept_half + i]) - half) + 1
    assert after == order.tolist()
    assert all(order[0::2] % 2 == 0)


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_the_first_layer_is_the_teacher_restricted(teacher, spec, member):
    """Its input is whole, so the student's first encoder layer computes
    exactly the teacher's kept channels, on real speech."""
    student = GTCRN(*MEMBERS[member]).eval()
    start_from(student, str(CHECKPOINT), GTCRN())
    order = main_channel_order(main_channel_scores(teacher), student.channels)
    with torch.no_grad():
        feats = teacher.features(spec)
        ours = student.encoder[0](student.features(spec))
        theirs = teacher.encoder[0](feats)[:, order]
    assert torch.allclose(ours, theirs, atol=1e-6)
    with torch.no_grad():
        out = student(spec)
    assert out.shape == spec.shape and torch.isfinite(out).all()


def test_the_recipe_brain_keeps_the_pruned_start(tiny_corpus, tmp_path):
    """``--init_from`` through the training recipe's YAML and Brain: the
    student the Brain trains holds the pruned weights, after the Brain's
    own seeded initialisation (which once reset them)."""
    brain = training_brain(
        f"--data_folder={tiny_corpus}",
        f"--output_folder={tmp_path}",
        "--model=!include:models/gtcrn_quarter.yaml",
        "--features=!include:features/complex_32ms.yaml",
        "--loss=!include:losses/compressed_complex.yaml",
        f"--init_from={CHECKPOINT}",
        "--init_model=!include:models/gtcrn.yaml",
    )
    teacher = load_published(GTCRN(), CHECKPOINT).eval()
    expected = pruned_state(teacher, GTCRN(*MEMBERS["quarter"]))
    trained = brain.modules.model.state_dict()
    for key, value in expected.items():
        assert torch.equal(trained[key], value), key


def test_a_wider_model_of_another_class_is_refused():
    with pytest.raises(ValueError, match="init_model"):
        start_from(GTCRN(8, 2, 4), str(CHECKPOINT), torch.nn.Linear(2, 2))


def test_weights_that_do_not_fit_init_model_are_named(tmp_path):
    """A state dict of a narrower GTCRN given as init_from for the
    published size: the error names the file, init_model and the keys."""
    path = tmp_path / "quarter.ckpt"
    torch.save(GTCRN(*MEMBERS["quarter"]).state_dict(), path)
    with pytest.raises(ValueError) as error:
        start_from(GTCRN(*MEMBERS["half"]), str(path), GTCRN())
    message = str(error.value)
    assert message.startswith(f"Starting weights {path} do not fit")
    assert "the init_model model file (GTCRN)" in message
    assert "shape mismatch: " in message
