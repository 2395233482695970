"""Structured pruning of the published UL-UNAS into its narrower members,
on the official weights and real audio."""

import copy

import pytest
import torch
from conftest import REPO, training_brain
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.features import load_front_end
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.published import load_published
from speechbrain_kd.models.ulunas import (
    ULUNAS,
    _ScaledPReLU,
    _TimeFreqAttention,
)
from speechbrain_kd.models.ulunas_pruning import (
    main_channel_scores,
    pruned_state,
    shuffle_safe_order,
    shuffled,
)
from speechbrain_kd.training import initialize_weights
from speechbrain_kd.warm_start import start_from

CHECKPOINT = (
    REPO.parent / "shared" / "models" / "ul_unas" / "model_trained_on_dns3.tar"
)
MEMBERS = ("ulunas_half", "ulunas_quarter")


def member(name):
    """A member of the family, from its model file."""
    path = REPO / "hparams" / "models" / f"{name}.yaml"
    return load_hyperpyyaml(f"model: !include:{path}\n")["model"].eval()


@pytest.fixture(scope="module")
def teacher():
    return load_published(ULUNAS(), CHECKPOINT).eval()


@pytest.fixture(scope="module")
def spec(shared_data):
    """The first 4 s of a real noisy DNS test file, as UL-UNAS takes it."""
    noisy = shared_data / "dns_test_noreverb" / "noisy"
    wav = read_audio(noisy / "no_reverb_fileid_0.flac")[:64000]
    return load_front_end("complex_hann_32ms").model_input(wav[None])


def test_pruning_into_the_published_size_changes_nothing(teacher, spec):
    same = ULUNAS().eval()
    same.load_state_dict(pruned_state(teacher, same))
    for key, value in teacher.state_dict().items():
        assert torch.equal(same.state_dict()[key], value), key
    with torch.no_grad():
        assert torch.equal(same(spec), teacher(spec))


@pytest.mark.parametrize("name", MEMBERS)
def test_pruned_members_load_strictly_and_run(teacher, spec, name):
    student = member(name)
    student.load_state_dict(pruned_state(teacher, student), strict=True)
    with torch.no_grad():
        out = student(spec)
    assert out.shape == spec.shape and torch.isfinite(out).all()


def _kept(teacher_values, student_values):
    """The teacher units whose (copied) values each student unit holds."""
    teacher_values = teacher_values.flatten(1)
    student_values = student_values.flatten(1)
    same = (teacher_values[None] == student_values[:, None]).all(dim=-1)
    assert (same.sum(dim=1) == 1).all(), "values that do not tell units apart"
    return same.float().argmax(dim=1)


def _dropped(size, kept):
    dropped = torch.ones(size, dtype=torch.bool)
    dropped[kept] = False
    return dropped


@torch.no_grad()
def _silenced(teacher, student):
    """The teacher with every unit the student dropped held at zero.

    The kept units are found by the values the student holds (those of
    the official weights tell every unit apart): a dropped channel's
    BatchNorm, activation shift, layer norm shift and projection row are
    zeroed, and so are a dropped GRU unit's gate rows (its state then
    stays zero).
    """
    silenced = copy.deepcopy(teacher)
    modules = dict(student.named_modules())
    for name, module in silenced.named_modules():
        other = modules[name]
        if isinstance(module, torch.nn.BatchNorm2d):
            kept = _kept(
                module.running_mean[:, None], other.running_mean[:, None]
            )
            dropped = _dropped(module.num_features, kept)
            module.weight[dropped] = 0
            module.bias[dropped] = 0
        elif isinstance(module, _ScaledPReLU):
            dropped = _dropped(
                len(module.slope), _kept(module.scale, other.scale)
            )
            module.shift[dropped] = 0
        elif isinstance(module, torch.nn.LayerNorm):
            kept = _kept(module.weight.T, other.weight.T)
            module.bias[:, _dropped(module.weight.shape[1], kept)] = 0
        elif name.endswith(("band_proj", "frame_proj")):
            kept = _kept(module.bias[:, None], other.bias[:, None])
            dropped = _dropped(module.out_features, kept)
            module.weight[dropped] = 0
            module.bias[dropped] = 0
        elif isinstance(module, torch.nn.GRU):
            for suffix in ("", "_reverse")[: 1 + module.bidirectional]:
                biases = [
                    getattr(gru, f"bias_ih_l0{suffix}").view(3, -1).T
                    for gru in (module, other)
                ]
                dropped = _dropped(module.hidden_size, _kept(*biases))
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(module, f"{kind}_l0{suffix}")[dropped.repeat(3)] = 0
    return silenced


@pytest.mark.parametrize("name", MEMBERS)
def test_the_teacher_with_dropped_units_silenced_is_the_student(
    teacher, spec, name, monkeypatch
):
    """Every layer of the student reads the teacher channels it read: the
    teacher whose dropped units are held at zero computes exactly what
    the student computes, through skip connections, grouped convolutions,
    channel shuffles and grouped GRUs. In float64, where round-off stays
    far below any misplaced weight, and with the two operations that
    average over channels (the frequency attention's energy and the layer
    norms) bypassed: they see the zeros."""
    student = member(name)
    student.load_state_dict(pruned_state(teacher, student))
    silenced = _silenced(teacher, student).double()
    monkeypatch.setattr(_TimeFreqAttention, "_freq_gate", lambda self, x: 1)
    monkeypatch.setattr(
        torch.nn.LayerNorm,
        "forward",
        lambda self, x: x * self.weight + self.bias,
    )
    with torch.no_grad():
        ours = student.double()(spec.double())
        theirs = silenced(spec.double())
    assert (ours - theirs).abs().max() <= 1e-9 * spec.abs().max()


def _time_centred_correlation(a, b):
    a = a - a.mean(dim=2, keepdim=True)
    b = b - b.mean(dim=2, keepdim=True)
    return float((a * b).sum() / (a.norm() * b.norm()))


def _latent(model, spec):
    latents = []
    hook = model.bottleneck.register_forward_hook(
        lambda module, inputs, output: latents.append(output)
    )
    with torch.no_grad():
        model(spec)
    hook.remove()
    return latents[0]


def test_the_pruned_half_latent_follows_the_teacher(teacher, spec):
    """The latent of the pruned half-size member (the bottleneck's output,
    which feature distillation matches) follows the teacher's latent at
    the channels it kept: correlation over time 0.32 on these 4 s (0.24
    to 0.33 on four DNS files), against at most 0.02 for ten random
    initialisations. Its mask does not: before training, the pruned
    member's enhanced spectrum is further from the teacher's than a
    random member's (mean squared error 0.29 against 0.14 here), and the
    pruned quarter-size member's latent correlates no better than a
    random one's (0.06 against 0.04)."""
    student = member("ulunas_half")
    student.load_state_dict(pruned_state(teacher, student))
    channels = teacher.channels[-1]
    kept = student.channels[-1]
    order = shuffle_safe_order(main_channel_scores(teacher)[-1], kept)
    target = _latent(teacher, spec)[:, shuffled(order, channels)]
    pruned = _time_centred_correlation(_latent(student, spec), target)
    for seed in range(3):
        random = member("ulunas_half")
        initialize_weights(random, seed)
        chance = _time_centred_correlation(_latent(random, spec), target)
        assert pruned > chance + 0.2, (pruned, chance)


def test_start_from_prunes_the_official_checkpoint(teacher):
    student = member("ulunas_half")
    start_from(student, str(CHECKPOINT), ULUNAS())
    expected = pruned_state(teacher, member("ulunas_half"))
    for key, value in expected.items():
        assert torch.equal(student.state_dict()[key], value), key


def test_the_recipe_brain_keeps_the_pruned_start(tiny_corpus, tmp_path):
    """``--init_from`` with the official checkpoint through the training
    recipe's YAML and Brain, for the half-size UL-UNAS."""
    brain = training_brain(
        f"--data_folder={tiny_corpus}",
        f"--output_folder={tmp_path}",
        "--model=!include:models/ulunas_half.yaml",
        "--features=!include:features/complex_hann_32ms.yaml",
        "--loss=!include:losses/compressed_complex.yaml",
        f"--init_from={CHECKPOINT}",
        "--init_model=!include:models/ulunas.yaml",
    )
    teacher = load_published(ULUNAS(), CHECKPOINT).eval()
    expected = pruned_state(teacher, member("ulunas_half"))
    trained = brain.modules.model.state_dict()
    for key, value in expected.items():
        assert torch.equal(trained[key], value), key


def test_a_wider_model_of_another_class_is_refused():
    with pytest.raises(ValueError, match="init_model"):
        start_from(member("ulunas_half"), str(CHECKPOINT), GTCRN())


def test_members_whose_mobile_stages_add_residuals_are_refused(teacher):
    """At ``channel_scale`` 0.21 the third and fourth stages both have 6
    channels: the mobile stages between them add their input."""
    with pytest.raises(ValueError, match="residuals"):
        pruned_state(teacher, ULUNAS(channel_scale=0.21))
