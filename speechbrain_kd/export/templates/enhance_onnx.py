#!/usr/bin/env python3
"""Enhances a wav file with the exported ONNX network, without PyTorch.

Reference pipeline of an exported speechbrain-kd model. A magnitude-mask
model (metadata contract "magnitude") as SpeechBrain's
SpectralMaskEnhancement: STFT (periodic Hamming window, centred frames,
zero padding), log1p magnitudes, mask from ONNX Runtime, enhanced
magnitude expm1(mask * log1p|X|) with the noisy phase. A complex-spectrum
model (contract "complex"): STFT (periodic Hann or square-root Hann
window, centred frames, reflection padding, as torch.stft), the spectrum
[1, freq, time, 2] in, the enhanced spectrum (or a complex ratio mask
times the noisy one) out. Both: inverse STFT by window-weighted
overlap-add (as torch.istft). The settings are read from the model's
metadata.

By default the whole file is enhanced at once (enhance_model.onnx). With
--stream, a causal student's streaming graph (enhance_model.stream.onnx,
its convolution caches as inputs and outputs) enhances the file hop by
hop, with a streaming STFT and overlap-add: the output equals the offline
one, delayed by nothing but the window.

Usage: python enhance_onnx.py noisy.wav enhanced.wav [--stream] [--model F]

Needs numpy, soundfile and onnxruntime.
"""

import argparse
from pathlib import Path

import numpy as np
import onnxruntime as ort
import soundfile as sf

EPS = 1e-14  # added to |X|^2 by speechbrain's spectral_magnitude
OFFLINE_MODEL = "enhance_model.onnx"
STREAM_MODEL = "enhance_model.stream.onnx"


class Settings:
    """STFT settings in samples, from an ONNX model's metadata."""

    def __init__(self, session):
        meta = session.get_modelmeta().custom_metadata_map
        try:
            self.sample_rate = int(meta["sample_rate"])
            self.n_fft = int(meta["n_fft"])
            self.win_length = int(meta["win_length"])
            self.hop_length = int(meta["hop_length"])
        except KeyError as error:
            raise SystemExit(
                f"The ONNX model lacks the STFT setting {error} in its "
                "metadata: export it with speechbrain_kd"
            ) from error
        self.contract = meta.get("contract", "magnitude")
        self.output = meta.get("output", "spectrum")
        self.padding = "reflect" if self.contract == "complex" else "constant"
        n = np.arange(self.win_length)
        cosine = np.cos(2 * np.pi * n / self.win_length)
        win = {
            "hamming": 0.54 - 0.46 * cosine,
            "hann": 0.5 - 0.5 * cosine,
            "sqrt_hann": np.sqrt(0.5 - 0.5 * cosine),
        }[meta.get("window", "hamming")]
        self.left = (self.n_fft - self.win_length) // 2
        right = self.n_fft - self.win_length - self.left
        self.window = np.pad(win, (self.left, right))


def features(frames, settings):
    """Complex spectra and log1p magnitudes of windowed frames."""
    spec = np.fft.rfft(frames * settings.window, axis=-1)
    feats = np.log1p(np.sqrt(np.abs(spec) ** 2 + EPS)).astype(np.float32)
    return spec, feats


def resynthesis(spec, feats, mask, settings):
    """Windowed time frames of the enhanced spectra (noisy phase)."""
    magnitude = np.expm1(mask * feats).astype(np.float64)
    enhanced = magnitude * np.exp(1j * np.angle(spec))
    frames = np.fft.irfft(enhanced, n=settings.n_fft, axis=-1)
    return frames * settings.window


def complex_resynthesis(spec, session, settings):
    """Windowed time frames of a complex-spectrum model's estimate."""
    pairs = np.stack([spec.real, spec.imag], axis=-1).astype(np.float32)
    inputs = {session.get_inputs()[0].name: pairs.transpose(1, 0, 2)[None]}
    output = session.run(None, inputs)[0][0].transpose(1, 0, 2)
    estimate = output[..., 0] + 1j * output[..., 1]
    if settings.output == "mask":
        estimate = estimate * spec
    frames = np.fft.irfft(estimate, n=settings.n_fft, axis=-1)
    return frames * settings.window


def enhance(signal, session):
    """Enhances a whole 1-D float signal with the offline ONNX model."""
    settings = Settings(session)
    n_fft, hop = settings.n_fft, settings.hop_length
    signal64 = np.asarray(signal, dtype=np.float64)
    padded = np.pad(signal64, n_fft // 2, mode=settings.padding)
    n_frames = 1 + (len(padded) - n_fft) // hop
    starts = hop * np.arange(n_frames)[:, None]
    spec, feats = features(padded[starts + np.arange(n_fft)], settings)
    if settings.contract == "complex":
        frames = complex_resynthesis(spec, session, settings)
    else:
        mask = session.run(["mask"], {"feats": feats[None]})[0][0]
        frames = resynthesis(spec, feats, mask, settings)
    size = n_fft + hop * (n_frames - 1)
    output, envelope = np.zeros(size), np.zeros(size)
    for t, frame in enumerate(frames):
        output[t * hop : t * hop + n_fft] += frame
        envelope[t * hop : t * hop + n_fft] += settings.window**2
    start, end = n_fft // 2, n_fft // 2 + len(signal)
    return output[start:end] / envelope[start:end]


class StreamEnhancer:
    """Enhances a signal pushed hop by hop with the streaming ONNX model.

    Positions count samples of the signal with its centring zeros
    (``n_fft // 2`` before it). Frame t covers ``[t * hop, t * hop +
    n_fft)`` and is computed as soon as the last sample of its (non-zero)
    window has arrived; an output sample is returned once no later window
    covers it. ``push`` then ``finish`` return, concatenated, what
    ``enhance`` returns for the whole signal.
    """

    def __init__(self, session):
        self.session = session
        self.settings = Settings(session)
        self.caches = {
            i.name: np.zeros(i.shape, dtype=np.float32)
            for i in session.get_inputs()
            if i.name != "frame"
        }
        self.centre = self.settings.n_fft // 2
        self.input = np.zeros(self.centre)  # the centring zeros
        self.input_start = 0  # position of self.input[0]
        self.output = np.zeros(0)  # overlap-add from output_start on
        self.envelope = np.zeros(0)
        self.output_start = 0
        self.frames = 0  # frames computed
        self.received = 0  # signal samples received

    def _compute_frames(self, available):
        """Computes every frame whose window ends before ``available``."""
        s = self.settings
        hop, n_fft = s.hop_length, s.n_fft
        while self.frames * hop + s.left + s.win_length <= available:
            start = self.frames * hop
            chunk = self.input[start - self.input_start :][:n_fft]
            chunk = np.pad(chunk, (0, n_fft - len(chunk)))
            spec, feats = features(chunk, s)
            outputs = self.session.run(
                None, {"frame": feats[None, None], **self.caches}
            )
            self.caches = dict(zip(self.caches, outputs[1:]))
            frame = resynthesis(spec, feats, outputs[0][0, 0], s)
            begin = start - self.output_start
            grow = begin + n_fft - len(self.output)
            if grow > 0:
                self.output = np.pad(self.output, (0, grow))
                self.envelope = np.pad(self.envelope, (0, grow))
            self.output[begin : begin + n_fft] += frame
            self.envelope[begin : begin + n_fft] += s.window**2
            self.frames += 1
        drop = self.frames * hop - self.input_start
        self.input = self.input[drop:]
        self.input_start += drop

    def _emit(self, final):
        """Returns the output samples of the signal before ``final``."""
        count = max(0, final - self.output_start)
        done = self.output[:count] / self.envelope[:count]
        self.output = self.output[count:]
        self.envelope = self.envelope[count:]
        skip = max(0, self.centre - self.output_start)
        self.output_start += count
        return done[skip:]

    def push(self, samples):
        """Adds signal samples; returns the output samples now final."""
        self.input = np.concatenate([self.input, samples])
        self.received += len(samples)
        self._compute_frames(self.centre + self.received)
        s = self.settings
        final = self.frames * s.hop_length + s.left
        return self._emit(min(final, self.centre + self.received))

    def finish(self):
        """Computes the last frames (zero padding); returns the rest."""
        s = self.settings
        n_frames = 1 + self.received // s.hop_length
        self.input = np.concatenate([self.input, np.zeros(s.n_fft)])
        end = (n_frames - 1) * s.hop_length + s.left + s.win_length
        self._compute_frames(end)
        return self._emit(self.centre + self.received)


def enhance_stream(signal, session, hop_samples=None):
    """Enhances a 1-D signal hop by hop with the streaming ONNX model."""
    streamer = StreamEnhancer(session)
    hop = hop_samples or streamer.settings.hop_length
    pieces = [
        streamer.push(np.asarray(signal[i : i + hop], dtype=np.float64))
        for i in range(0, len(signal), hop)
    ]
    pieces.append(streamer.finish())
    return np.concatenate(pieces)


def read_wav(path, sample_rate):
    """Reads a mono wav at the model's rate; exits with a clear error."""
    if not Path(path).is_file():
        raise SystemExit(f"{path}: no such file (the input wav must exist)")
    try:
        signal, rate = sf.read(path, dtype="float32")
    except (RuntimeError, sf.LibsndfileError) as error:
        raise SystemExit(f"{path}: cannot read audio: {error}") from error
    if signal.ndim != 1:
        raise SystemExit(
            f"{path}: expected mono audio, got {signal.shape[1]} channels"
        )
    if rate != sample_rate:
        raise SystemExit(
            f"{path}: expected {sample_rate} Hz audio (the model's rate), "
            f"got {rate} Hz; resample it first"
        )
    if len(signal) == 0:
        raise SystemExit(f"{path}: the file holds no samples")
    return signal


def main(argv=None):
    """Command line: noisy.wav enhanced.wav [--stream] [--model FILE]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "noisy", help="input wav, mono, at the model's sample rate"
    )
    parser.add_argument("enhanced", help="output wav (16-bit PCM)")
    parser.add_argument(
        "--stream",
        action="store_true",
        help=f"process hop by hop with {STREAM_MODEL} (causal students)",
    )
    parser.add_argument(
        "--model",
        help=f"ONNX model (default: {OFFLINE_MODEL}, or {STREAM_MODEL} "
        "with --stream, beside this script)",
    )
    args = parser.parse_args(argv)
    default = STREAM_MODEL if args.stream else OFFLINE_MODEL
    model = Path(args.model or Path(__file__).with_name(default))
    if not model.is_file():
        reason = " (only causal students have one)" if args.stream else ""
        raise SystemExit(f"No ONNX model at {model}{reason}")
    session = ort.InferenceSession(
        str(model), providers=["CPUExecutionProvider"]
    )
    settings = Settings(session)
    if args.stream and settings.contract == "complex":
        raise SystemExit(
            f"{model}: --stream serves magnitude-mask models; enhance a "
            "complex-spectrum model's file whole (without --stream)"
        )
    signal = read_wav(args.noisy, settings.sample_rate)
    run = enhance_stream if args.stream else enhance
    enhanced = run(signal, session)
    sf.write(
        args.enhanced,
        np.clip(enhanced, -1, 1),
        settings.sample_rate,
        "PCM_16",
    )


if __name__ == "__main__":
    main()
