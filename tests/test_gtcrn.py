"""GTCRN: official weights load strictly and reproduce the official graph.

The independent references are the official checkpoints and the official
streaming graph ``gtcrn_stream.onnx`` of ``../shared/models`` (run frame
by frame in ONNX Runtime), and the sizes stated in the GTCRN paper.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO

from speechbrain_kd.data.audio import read_audio
from speechbrain_kd.features import load_front_end
from speechbrain_kd.metrics import pesq_wb
from speechbrain_kd.models.complexity import parameter_counts
from speechbrain_kd.models.erb import ERBBands
from speechbrain_kd.models.gtcrn import GTCRN
from speechbrain_kd.models.gtcrn_streaming import (
    GTCRNStreaming,
    export_streaming_onnx,
    official_stream_state,
    onnx_session,
    run_onnx_stream,
    stream_spectrum,
)
from speechbrain_kd.models.published import (
    PublishedCheckpointError,
    load_published,
)

SHARED_MODELS = Path(
    os.environ.get("SBKD_SHARED_MODELS", REPO.parent / "shared" / "models")
)
FILES = ("p232_003.wav", "p232_013.wav", "p257_011.wav")
FRONT_END = load_front_end("complex_32ms")


@pytest.fixture(scope="module")
def gtcrn_files():
    """The official GTCRN files of ``../shared/models/gtcrn``."""
    folder = SHARED_MODELS / "gtcrn"
    if not (folder / "gtcrn_stream.onnx").is_file():
        pytest.fail(f"Official GTCRN files not found in {folder}")
    return folder


@pytest.fixture(scope="module")
def noisy_specs(voicebank):
    """Spectra of three real noisy VoiceBank-DEMAND test files."""
    folder = voicebank / "noisy_testset_wav_16k"
    return [
        FRONT_END.model_input(read_audio(folder / name)[None]) for name in FILES
    ]


@pytest.fixture(scope="module")
def graph_model(gtcrn_files):
    """Our GTCRN holding the weights of the official streaming graph."""
    model = GTCRN()
    state = official_stream_state(model, gtcrn_files / "gtcrn_stream.onnx")
    model.load_state_dict(state, strict=True)
    return model.eval()


@pytest.fixture(scope="module")
def official_outputs(gtcrn_files, noisy_specs):
    """The official graph's output on ``noisy_specs``, frame by frame."""
    official = onnx_session(gtcrn_files / "gtcrn_stream.onnx")
    return [run_onnx_stream(official, spec.numpy()) for spec in noisy_specs]


@pytest.mark.parametrize("weights", ["vctk", "dns3"])
def test_official_checkpoints_load_strictly(gtcrn_files, weights):
    model = load_published(
        GTCRN(), gtcrn_files / f"model_trained_on_{weights}.tar"
    )
    official = torch.load(
        gtcrn_files / f"model_trained_on_{weights}.tar", map_location="cpu"
    )["model"]
    ours = model.state_dict()
    for key, ours_key in GTCRN.official_key_map(official).items():
        assert torch.equal(ours[ours_key], official[key]), key
    # The paper: 23.67 k learnable parameters, 48.2 k with the ERB matrices
    assert parameter_counts(model) == {"learnable": 23669, "fixed": 24576}


def test_checkpoint_of_another_width_names_file_and_keys(gtcrn_files):
    path = gtcrn_files / "model_trained_on_vctk.tar"
    with pytest.raises(PublishedCheckpointError) as error:
        load_published(GTCRN(channels=12, hidden_channels=4), path)
    message = str(error.value)
    assert str(path) in message
    assert "encoder.en_convs.0.conv.weight" in message
    assert "dpgrnn1.inter_ln.weight" in message


def test_missing_and_unexpected_keys_are_named(gtcrn_files, tmp_path):
    content = torch.load(
        gtcrn_files / "model_trained_on_vctk.tar", map_location="cpu"
    )
    state = content["model"]
    del state["dpgrnn2.intra_fc.bias"]
    state["decoder.extra.weight"] = torch.zeros(1)
    path = tmp_path / "edited.tar"
    torch.save({"model": state}, path)
    model = GTCRN()
    before = model.encoder[0].conv.weight.clone()
    with pytest.raises(PublishedCheckpointError) as error:
        load_published(model, path)
    message = str(error.value)
    assert "missing: bottleneck.1.band_proj.bias" in message
    assert "unexpected: decoder.extra.weight" in message
    assert str(path) in message
    assert torch.equal(model.encoder[0].conv.weight, before)  # no partial


def test_erb_matrices_equal_the_official_ones(gtcrn_files):
    official = torch.load(
        gtcrn_files / "model_trained_on_vctk.tar", map_location="cpu"
    )["model"]
    bands = ERBBands(kept_bins=65, n_bands=64, n_fft=512, sample_rate=16000)
    merge = official["erb.erb_fc.weight"]
    split = official["erb.ierb_fc.weight"]
    assert torch.allclose(bands.merge.weight, merge, rtol=0, atol=1e-6)
    assert torch.allclose(bands.split.weight, split, rtol=0, atol=1e-6)
    assert not bands.merge.weight.requires_grad


def test_our_model_reproduces_the_official_graph(
    graph_model, noisy_specs, official_outputs
):
    """Our whole-file model vs the official graph run frame by frame."""
    for spec, reference in zip(noisy_specs, official_outputs):
        with torch.no_grad():
            ours = graph_model(spec).numpy()
        assert np.abs(ours - reference).max() <= 1e-4


def test_pesq_matches_the_official_graph(
    graph_model, voicebank, official_outputs
):
    """Same PESQ as the official graph's output on three real files."""
    for name, reference in zip(FILES, official_outputs):
        noisy = read_audio(voicebank / "noisy_testset_wav_16k" / name)
        clean = read_audio(voicebank / "clean_testset_wav_16k" / name)
        spec = FRONT_END.model_input(noisy[None])
        with torch.no_grad():
            ours = FRONT_END.waveform(graph_model(spec), noisy[None])[0]
        theirs = FRONT_END.waveform(torch.from_numpy(reference), noisy[None])[0]
        ours_pesq = pesq_wb(ours, clean, name=name)
        assert abs(ours_pesq - pesq_wb(theirs, clean, name=name)) < 0.01
        assert ours_pesq > pesq_wb(noisy, clean, name=name)


def test_streaming_equals_whole_file(gtcrn_files, noisy_specs):
    model = load_published(GTCRN(), gtcrn_files / "model_trained_on_vctk.tar")
    spec = noisy_specs[0][:, :, :20]
    with torch.no_grad():
        whole = model(spec)
    frames = stream_spectrum(GTCRNStreaming(model), spec)
    assert (frames - whole).abs().max() <= 1e-4


def test_our_streaming_onnx_matches_the_official_graph(
    graph_model, noisy_specs, official_outputs, tmp_path
):
    path = tmp_path / "gtcrn_stream.onnx"
    export_streaming_onnx(GTCRNStreaming(graph_model), path)
    ours = onnx_session(path)
    for spec, reference in zip(noisy_specs, official_outputs):
        enhanced = run_onnx_stream(ours, spec.numpy())
        assert np.abs(enhanced - reference).max() <= 1e-4


def test_model_is_causal():
    model = GTCRN().eval()
    torch.manual_seed(0)
    spec = torch.randn(1, 257, 30, 2)
    changed = spec.clone()
    changed[:, :, 20:] = torch.randn(1, 257, 10, 2)
    with torch.no_grad():
        a, b = model(spec), model(changed)
    assert torch.allclose(a[:, :, :20], b[:, :, :20], atol=1e-6)
    assert not torch.allclose(a[:, :, 20:], b[:, :, 20:])


@pytest.mark.parametrize(
    "name, low, high",
    [("gtcrn_half", 0.4, 0.6), ("gtcrn_quarter", 0.2, 0.3)],
)
def test_family_sizes(name, low, high):
    from hyperpyyaml import load_hyperpyyaml

    path = REPO / "hparams" / "models" / f"{name}.yaml"
    student = load_hyperpyyaml(f"model: !include:{path}\n")["model"]
    published = GTCRN().complexity(seconds=0.5)
    sizes = student.complexity(seconds=0.5)
    ratio = sizes["learnable"] / published["learnable"]
    assert low <= ratio <= high
    assert sizes["macs_per_second"] < published["macs_per_second"]
    latents = []
    student.bottleneck.register_forward_hook(
        lambda module, inputs, output: latents.append(output)
    )
    student.eval()(torch.randn(1, 257, 5, 2))
    assert latents[0].shape == (1, student.channels, 5, 33)
