"""UL-UNAS: strict loading of the official weights, parity with the
official streaming ONNX graph on real audio, our streaming form, sizes."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.models.ulunas import (
    ULUNAS,
    count_ulunas_parameters,
    enhance,
    load_ulunas_checkpoint,
    official_state_names,
)
from speechbrain_kd.models.ulunas_erb import erb_filterbank
from speechbrain_kd.models.ulunas_streaming import (
    ULUNASStreaming,
    export_ulunas_streaming,
    run_onnx_stream,
)

REPO_HPARAMS = Path(__file__).resolve().parents[1] / "hparams" / "models"
# Float32 round-off between a whole-utterance run and a frame-by-frame
# one (GRUs, log, sums in another order), relative to the largest bin of
# the spectrum; a wrong weight or operation makes errors of 1e-2 or more.
RELATIVE_ROUND_OFF = 2e-5


@pytest.fixture(scope="module")
def official(shared_data):
    """The official checkpoint and streaming graph."""
    folder = shared_data.parent / "models" / "ul_unas"
    return {
        "checkpoint": folder / "model_trained_on_dns3.tar",
        "onnx": folder / "ulunas_stream.onnx",
    }


@pytest.fixture(scope="module")
def model(official):
    """Our ULUNAS with the official DNS3 weights."""
    torch.set_num_threads(1)
    return load_ulunas_checkpoint(ULUNAS().eval(), official["checkpoint"])


@pytest.fixture(scope="module")
def noisy_spec(voicebank):
    """The spectrum of a real noisy VoiceBank-DEMAND test file."""
    wav = read_audio(voicebank / "noisy_testset_wav_16k" / "p232_003.wav")
    spec = torch.stft(
        wav, 512, 256, window=torch.hann_window(512), return_complex=True
    )
    return torch.view_as_real(spec).unsqueeze(0)


def one_thread_session(path):
    """An ONNX Runtime CPU session on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


def test_official_weights_load_strictly(model, official):
    """Every official key maps to one of ours, and the fixed ERB matrices
    of the file are those our filterbank computes from the ERB formula."""
    state = torch.load(
        official["checkpoint"], map_location="cpu", weights_only=True
    )["model"]
    names = official_state_names(model)
    assert sorted(names.values()) == sorted(state)
    filters = erb_filterbank(65, 64)
    assert torch.allclose(model.bands.to_bands, filters, atol=1e-6)
    assert torch.allclose(model.bands.from_bands, filters.T, atol=1e-6)
    ours = model.state_dict()
    for key, official_key in names.items():
        assert torch.equal(ours[key], state[official_key]), key


def test_wrong_width_or_missing_key_raises(official, tmp_path):
    """A checkpoint that does not fit raises naming the file and keys,
    and leaves the model untouched."""
    half = ULUNAS(channel_scale=0.65)
    before = {k: v.clone() for k, v in half.state_dict().items()}
    with pytest.raises(ValueError) as error:
        load_ulunas_checkpoint(half, official["checkpoint"])
    message = str(error.value)
    assert "model_trained_on_dns3.tar" in message
    assert "encoder.en_convs.0.ops.1.weight (file (12, 1, 3, 3)" in message
    after = half.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)

    checkpoint = torch.load(
        official["checkpoint"], map_location="cpu", weights_only=True
    )
    state = checkpoint["model"]
    state["extra.weight"] = state.pop("dpgrnn.1.inter_fc.bias")
    broken = tmp_path / "broken.tar"
    torch.save({"model": state}, broken)
    with pytest.raises(ValueError, match="broken.tar") as error:
        load_ulunas_checkpoint(ULUNAS(), broken)
    assert "1 missing keys: dpgrnn.1.inter_fc.bias" in str(error.value)
    assert "1 unexpected keys: extra.weight" in str(error.value)


def test_matches_official_streaming_graph(model, official, noisy_spec):
    """Our whole-utterance model equals the official ONNX graph run
    frame by frame with its own caches, on real noisy speech."""
    session = one_thread_session(official["onnx"])
    theirs = run_onnx_stream(session, noisy_spec.numpy())
    with torch.no_grad():
        ours = model(noisy_spec).numpy()
    peak = np.abs(noisy_spec.numpy()).max()
    assert np.abs(ours - theirs).max() <= RELATIVE_ROUND_OFF * peak
    # The mask does something: the output is not the input
    assert np.abs(ours - noisy_spec.numpy()).max() > 0.1 * peak


def test_streaming_equals_whole_and_exports(
    model, official, shared_data, tmp_path
):
    """Frame by frame with caches equals the whole utterance (PyTorch),
    and our exported graph matches the official one on real audio."""
    dns = shared_data / "dns_test_noreverb" / "noisy"
    wav = read_audio(dns / "no_reverb_fileid_0.flac")[:16000]
    spec = torch.view_as_real(
        torch.stft(
            wav, 512, 256, window=torch.hann_window(512), return_complex=True
        )
    ).unsqueeze(0)
    stream = ULUNASStreaming(model).eval()
    assert stream.cache_sizes() == (5358, 402, 1056)  # the official sizes
    caches = stream.initial_caches()
    frames = []
    with torch.no_grad():
        whole = model(spec)
        for t in range(spec.shape[2]):
            frame, *caches = stream(spec[:, :, t : t + 1], *caches)
            frames.append(frame)
    streamed = torch.cat(frames, dim=2)
    peak = spec.abs().max()
    assert (streamed - whole).abs().max() <= RELATIVE_ROUND_OFF * peak

    path = tmp_path / "ulunas_stream.onnx"
    export_ulunas_streaming(stream, path)
    ours = run_onnx_stream(one_thread_session(path), spec.numpy())
    theirs = run_onnx_stream(one_thread_session(official["onnx"]), spec.numpy())
    assert np.abs(ours - theirs).max() <= RELATIVE_ROUND_OFF * peak.item()


def test_causal_and_bottleneck_hook(model, noisy_spec):
    """Future frames do not change past outputs; the bottleneck gives
    the latent [batch, 16, frames, 33]."""
    latents = []
    handle = model.bottleneck.register_forward_hook(
        lambda module, inputs, output: latents.append(output)
    )
    changed = noisy_spec.clone()
    changed[:, :, 200:] = torch.randn_like(changed[:, :, 200:])
    try:
        with torch.no_grad():
            first, second = model(noisy_spec), model(changed)
    finally:
        handle.remove()
    assert torch.allclose(first[:, :, :200], second[:, :, :200], atol=1e-6)
    assert not torch.allclose(first[:, :, 200:], second[:, :, 200:])
    assert latents[0].shape == (1, 16, noisy_spec.shape[2], 33)


def test_family_sizes_and_files():
    """The model files give the published size, about 1/2 and about 1/4
    of its learnable parameters; every member enhances audio."""
    counts = {}
    for name in ("ulunas", "ulunas_half", "ulunas_quarter"):
        model = load_hyperpyyaml(f"m: !include:{REPO_HPARAMS}/{name}.yaml\n")[
            "m"
        ]
        counts[name] = count_ulunas_parameters(model)
        assert counts[name]["fixed"] == 64 * 192 * 2
        out = enhance(model.eval(), torch.randn(4000))
        assert out.shape == (4000,) and torch.isfinite(out).all()
    # The paper's figures: 171,328 parameters with the ERB matrices
    full = counts["ulunas"]["learnable"]
    assert full + counts["ulunas"]["fixed"] == 171328
    assert 0.45 <= counts["ulunas_half"]["learnable"] / full <= 0.55
    assert 0.2 <= counts["ulunas_quarter"]["learnable"] / full <= 0.3


def test_silent_bins_have_finite_gradients():
    """Training through digital silence (zero bins) stays finite."""
    model = ULUNAS(channel_scale=0.4)
    spec = torch.randn(1, 257, 6, 2)
    spec[:, :, :3] = 0.0
    model(spec).pow(2).sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(torch.isfinite(g).all() for g in grads if g is not None)
