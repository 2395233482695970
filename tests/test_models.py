"""MaskUNet: shapes, mask range, causality, options and size helpers."""

import pytest
import torch

from speechbrain_kd.features import load_front_end
from speechbrain_kd.models import MaskUNet, count_parameters, macs_per_second


@pytest.mark.parametrize("time_downsample", [0, 1, 2])
@pytest.mark.parametrize("n_frames", [1, 7, 63, 100])
def test_shapes_for_odd_lengths(time_downsample, n_frames):
    model = MaskUNet(depth=3, base_channels=4, time_downsample=time_downsample)
    mask = model(torch.rand(2, n_frames, 257))
    assert mask.shape == (2, n_frames, 257)


def test_mask_range_and_padding():
    model = MaskUNet(depth=2, base_channels=4)
    with torch.no_grad():
        # Large inputs push the sigmoid to its limits; it must stay in [0, 1]
        mask = model(50 * torch.randn(3, 40, 129), torch.tensor([1, 0.5, 0.25]))
    assert mask.min() >= 0 and mask.max() <= 1
    assert torch.all(mask[1, 20:] == 0) and torch.all(mask[2, 10:] == 0)
    assert mask[0, 30:].abs().sum() > 0


@pytest.mark.parametrize("time_downsample", [0, 1, 2])
def test_causal_model_ignores_future_frames(time_downsample):
    torch.manual_seed(0)
    model = MaskUNet(
        depth=3,
        base_channels=4,
        kernel_size=5,
        time_downsample=time_downsample,
        causal=True,
    ).eval()
    x = torch.rand(1, 50, 257)
    changed = x.clone()
    changed[:, 23:] = torch.rand(1, 27, 257)
    with torch.no_grad():
        before, after = model(x), model(changed)
    assert torch.equal(before[:, :23], after[:, :23])
    assert not torch.allclose(before[:, 23:], after[:, 23:])


def test_non_causal_model_looks_ahead():
    torch.manual_seed(0)
    model = MaskUNet(depth=3, base_channels=4).eval()
    x = torch.rand(1, 50, 257)
    changed = x.clone()
    changed[:, 23:] += 1
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, :23], model(changed)[:, :23])


def test_bottleneck_is_a_named_submodule():
    model = MaskUNet(depth=4, base_channels=8, time_downsample=1)
    latents = {}
    model.bottleneck.register_forward_hook(
        lambda m, i, o: latents.update(latent=o)
    )
    model(torch.rand(2, 100, 257))
    assert latents["latent"].shape == (2, 64, 50, 17)
    assert model.latent_shape(257) == (64, 17)


@pytest.mark.parametrize(
    "options, setting",
    [
        ({"depth": 0}, "depth"),
        ({"base_channels": 0}, "base_channels"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"time_downsample": 5, "depth": 4}, "time_downsample"),
        ({"dropout": 1.5}, "dropout"),
        ({"growth": -1.0}, "growth"),
    ],
)
def test_bad_options_name_the_setting(options, setting):
    with pytest.raises(ValueError, match=setting):
        MaskUNet(**options)


def test_unknown_option_is_rejected():
    with pytest.raises(TypeError, match="widht"):
        MaskUNet(widht=3)


def test_wrong_feature_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\[batch, time, freq\]"):
        MaskUNet(depth=2, base_channels=2)(torch.rand(100, 257))


def test_size_helpers_scale_with_width():
    teacher = MaskUNet(depth=4, base_channels=16, time_downsample=1)
    student = MaskUNet(depth=4, base_channels=4, time_downsample=1)
    ratio = count_parameters(student) / count_parameters(teacher)
    assert 1 / 20 < ratio < 1 / 12  # about 1/16
    # Halving time in the first level roughly halves the compute
    full = MaskUNet(depth=4, base_channels=16, time_downsample=0)
    front_end = load_front_end()
    teacher_macs, full_macs = (
        macs_per_second(model, front_end=front_end) for model in (teacher, full)
    )
    assert teacher_macs < 0.6 * full_macs
