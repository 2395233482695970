"""KD losses and methods on hand-computed values and invariances."""

import math

import pytest
import torch

from speechbrain_kd.distill import (
    CosineLIB,
    FeatureMSE,
    FeatureTap,
    LinearInvertedBottleneck,
    OutputKD,
    SimilarityPreserving,
    align_time,
    cosine_distance,
    masked_mse,
    similarity_preserving_loss,
    to_frames,
)
from speechbrain_kd.models import MaskUNet


def test_cosine_distance_hand_computed():
    s = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]]])
    t = torch.tensor([[[1.0, 1.0], [-1.0, -1.0], [3.0, 0.0]]])
    # frames: 1 - 1/sqrt(2), 1 - (-1) = 2, 1 - 1 = 0
    expected = (1 - 1 / math.sqrt(2) + 2 + 0) / 3
    assert cosine_distance(s, t).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("reduction", ["frame", "utterance", "channel"])
def test_cosine_distance_zero_for_identical_and_scale_invariant(reduction):
    torch.manual_seed(0)
    x = torch.randn(3, 20, 64)
    y = torch.randn(3, 20, 64)
    lens = torch.tensor([1.0, 0.7, 0.4])
    kw = {"reduction": reduction, "channels": 8}
    assert cosine_distance(x, x, lens, **kw).item() == pytest.approx(
        0, abs=1e-6
    )
    base = cosine_distance(x, y, lens, **kw)
    assert cosine_distance(5.0 * x, y, lens, **kw) == pytest.approx(
        base.item(), abs=1e-6
    )
    assert cosine_distance(x, 0.01 * y, lens, **kw) == pytest.approx(
        base.item(), abs=1e-6
    )


@pytest.mark.parametrize("reduction", ["frame", "utterance", "channel"])
def test_padded_frames_do_not_affect_cosine_distance(reduction):
    torch.manual_seed(0)
    x, y = torch.randn(2, 10, 16), torch.randn(2, 10, 16)
    lens = torch.tensor([1.0, 0.5])
    base = cosine_distance(x, y, lens, reduction, channels=4)
    x2, y2 = x.clone(), y.clone()
    x2[1, 5:], y2[1, 5:] = 100 * torch.randn(5, 16), torch.randn(5, 16)
    assert cosine_distance(x2, y2, lens, reduction, channels=4) == (
        pytest.approx(base.item(), abs=1e-6)
    )


def test_cosine_distance_rejects_bad_reduction():
    x = torch.randn(1, 3, 4)
    with pytest.raises(ValueError, match="reduction"):
        cosine_distance(x, x, reduction="batch")
    with pytest.raises(ValueError, match="channels"):
        cosine_distance(x, x, reduction="channel", channels=3)


def test_similarity_preserving_hand_computed_and_size_free():
    s = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    t = torch.tensor([[[1.0], [1.0]]])
    # student gram rows [1, 0], [0, 1]; teacher rows [.7071, .7071] each
    expected = (2 * (1 - 1 / math.sqrt(2)) ** 2 + 2 * 0.5) / 4
    assert similarity_preserving_loss(s, t).item() == pytest.approx(
        expected, abs=1e-6
    )
    torch.manual_seed(0)
    x = torch.randn(2, 12, 8)
    lens = torch.tensor([1.0, 0.5])
    # same similarity structure in a rotated, wider space: zero loss
    rotated = x @ torch.linalg.qr(torch.randn(8, 8))[0]
    wide = torch.cat([rotated, torch.zeros(2, 12, 24)], dim=-1)
    assert similarity_preserving_loss(x, wide, lens).item() == pytest.approx(
        0, abs=1e-6
    )


def test_masked_mse_ignores_padding():
    s, t = torch.zeros(2, 4, 3), torch.ones(2, 4, 3)
    t[1, 2:] = 50.0
    assert masked_mse(s, t, torch.tensor([1.0, 0.5])).item() == 1.0


def test_align_time_pools_finer_grid():
    fine = torch.arange(8.0).view(1, 8, 1)
    coarse = torch.zeros(1, 4, 2)
    s, t = align_time(fine, coarse)
    assert s.flatten().tolist() == [0.5, 2.5, 4.5, 6.5]
    assert t.shape == (1, 4, 2)


def test_to_frames_layouts():
    x = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)
    frames = to_frames(x, time_dim=2)
    assert frames.shape == (2, 4, 15)
    assert torch.equal(frames[1, 2], x[1, :, 2, :].flatten())
    channels_first = torch.arange(2 * 3 * 4.0).view(2, 3, 4)  # [B, D, T]
    frames = to_frames(channels_first, time_dim=2)
    assert torch.equal(frames[1, 3], channels_first[1, :, 3])


def _unet_latents(model, feats):
    tap = FeatureTap(model, ["bottleneck", "encoder.0", "encoder.1", ""])
    model(feats)
    tap.remove()
    return tap.features


def test_cosine_lib_sizes_its_adapter_from_the_models():
    teacher = MaskUNet(depth=4, base_channels=16, time_downsample=1)
    student = MaskUNet(depth=3, base_channels=4, time_downsample=2)
    feats, longer = torch.rand(2, 40, 257), torch.rand(2, 80, 257)
    s, t = _unet_latents(student, feats), _unet_latents(teacher, feats)
    long = _unet_latents(student, longer), _unet_latents(teacher, longer)
    method = CosineLIB()
    method.find_time_dims((s, t), long, student, teacher)
    assert method.time_dims["student"]["bottleneck"] == 2
    method.setup(s, t)
    # student 16 ch x 33 bins -> teacher 128 ch x 17 bins
    assert isinstance(method.adapter, LinearInvertedBottleneck)
    assert method.adapter.linear.in_features == 16 * 33
    assert method.adapter.linear.out_features == 128 * 17
    loss = method(s, t, torch.tensor([1.0, 0.5]))
    loss.backward()
    assert method.adapter.linear.weight.grad.abs().sum() > 0
    mse = FeatureMSE()
    mse.find_time_dims((s, t), long, student, teacher)
    mse.setup(s, t)
    assert mse(s, t).item() > 0


def test_cosine_lib_is_zero_when_adapter_maps_exactly():
    torch.manual_seed(0)
    s = {"bottleneck": torch.randn(2, 4, 10, 3)}
    method = CosineLIB(student_time_dim=2, teacher_time_dim=2)
    method.setup(s, {"bottleneck": torch.randn(2, 8, 10, 3)})
    teacher = {"bottleneck": None}
    with torch.no_grad():
        frames = method.adapter(to_frames(s["bottleneck"], 2))
        teacher["bottleneck"] = 3.0 * frames.view(2, 10, 8, 3).movedim(1, 2)
    assert method(s, teacher).item() == pytest.approx(0, abs=1e-6)


def test_methods_report_layer_mismatch_and_bad_paths():
    with pytest.raises(ValueError, match="pairwise"):
        SimilarityPreserving(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="available"):
        FeatureTap(MaskUNet(depth=2, base_channels=2), ["bottle_neck"])
    with pytest.raises(ValueError, match="target"):
        OutputKD(target="phase")


def test_output_kd_on_masks_and_magnitudes():
    s = {"": torch.full((1, 4, 3), 0.5)}
    t = {"": torch.full((1, 4, 3), 1.0)}
    feats = torch.full((1, 4, 3), 2.0)
    assert OutputKD()(s, t).item() == pytest.approx(0.25)
    assert OutputKD("magnitude")(s, t, feats=feats).item() == pytest.approx(1)
