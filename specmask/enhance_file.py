"""``specmask enhance``: a WAV file (or raw PCM on stdin) in, an enhanced WAV file out.

Offline (:func:`enhance_file`) and streaming (:func:`stream_file`) read the input in blocks, resample to
16 kHz piece by piece (:class:`~specmask.resample.StreamResampler`), run the overlap-add or streaming
engine (:mod:`specmask.enhance`), resample back to the input's rate and write as they go: memory stays
constant whatever the length. The output has the input's sample rate, length and channel count (one
channel with ``--channels downmix``); it is written under a temporary name and renamed when complete.

Input checks, each one line (:class:`InputError`): not audio, empty, NaN or infinite samples, silent,
clipped (more than 0.1 % of samples at full scale; ``allow_clipped`` overrides), a sample rate outside
8-192 kHz, a checkpoint without a mask head. The output never contains NaN.

Mask PNGs (``--save-mask``, ``--mask``): 512x512 grayscale in the spectrogram layout (highest bin in
row 0), gain ``u8 / 127``: 127 leaves a bin unchanged, 0 silences it, 254 boosts it 6 dB.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch

from specmask import checkpoint
from specmask.enhance import WINDOW, MaskControls, OverlapAdd, Streaming, WindowEnhancer, model_mask_fn
from specmask.resample import StreamResampler
from synth.errors import InputError
from synth.image_io import read_png, write_png
from synth.spectrogram import DEFAULT_CONFIG

RATE = DEFAULT_CONFIG.sample_rate
RATE_RANGE = (8000, 192000)
MASK_UNIT = 127  # PNG value of gain 1
CLIPPED_SHARE = 1e-3  # share of full-scale samples above which an input counts as clipped
_READ_BLOCK = 1 << 16


@dataclass(frozen=True)
class EnhanceOptions:
    mode: str = "denoise"  # denoise | separate | enhance (see specmask.enhance.MODES)
    strength: float = 1.0
    floor: float = 0.0
    invert: bool = False
    channels: str = "each"  # each (enhance every channel) | downmix (their mean)
    save_mask: str | None = None  # PNG of the mask (offline: the first window; streaming: the last)
    mask: str | None = None  # PNG of a mask to apply instead of the model's
    rest: str | None = None  # --mode separate: also write input minus output
    allow_clipped: bool = False

    def controls(self) -> MaskControls:
        try:
            return MaskControls.for_mode(self.mode, strength=self.strength, floor=self.floor, invert=self.invert)
        except ValueError as error:
            raise InputError(str(error)) from None


def mask_to_png(mask: torch.Tensor) -> np.ndarray:
    """Mask ``Tensor[512, 512]`` (gain) -> uint8 image array (bin 0 first), ``round(gain * 127)`` capped at 255."""
    return np.rint(mask.clamp(0, 255 / MASK_UNIT).numpy() * MASK_UNIT).astype(np.uint8)


def read_mask_png(path: str) -> torch.Tensor:
    """An edited mask PNG -> gain ``Tensor[512, 512]`` (``u8 / 127``)."""
    return torch.from_numpy(read_png(path).astype(np.float32) / MASK_UNIT)


def _mask_fn(model: str, options: EnhanceOptions):
    """The model's mask function (or None when a fixed mask replaces it) and notes."""
    if options.mask:
        return (lambda spec: torch.ones_like(spec)), read_mask_png(options.mask), [f"applying {options.mask}"]
    generator, info = checkpoint.load(model)
    notes = []
    if options.mode == "enhance" and generator.config.mask_max <= 1.0:
        notes.append(f"{model}: masks of this model never exceed 1 (mask_max 1), so --mode enhance cannot "
                     "boost; train with --mask-max 2 for that")
    return model_mask_fn(generator), None, notes


def _check_rate(rate: int, name: str) -> None:
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise InputError(f"{name}: expected a sample rate of {RATE_RANGE[0]}..{RATE_RANGE[1]} Hz, got {rate} Hz")


def _check_block(block: np.ndarray, name: str) -> None:
    if not np.isfinite(block).all():
        raise InputError(f"{name}: expected finite audio samples, found NaN or infinity")


def _scan(path: str, allow_clipped: bool) -> tuple[soundfile.SoundFile, list[str]]:
    """Open a WAV for reading after one pass over its samples (empty / NaN / silent / clipped checks)."""
    if not Path(path).is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", path)
    try:
        handle = soundfile.SoundFile(path)
    except soundfile.LibsndfileError as error:
        reason = str(getattr(error, "error_string", error)).strip().rstrip(".")
        raise InputError(f"{path}: expected an audio file (WAV), could not decode it ({reason})") from None
    with handle:
        if handle.frames == 0:
            raise InputError(f"{path}: expected audio samples, the file is empty (0 samples)")
        _check_rate(handle.samplerate, path)
        peak, full_scale = 0.0, 0
        for block in handle.blocks(_READ_BLOCK, dtype="float32", always_2d=True):
            _check_block(block, path)
            peak = max(peak, float(np.abs(block).max()))
            full_scale += int((np.abs(block) >= 0.999).sum())
    if peak == 0.0:
        raise InputError(f"{path}: the input is silent (every sample is 0); nothing to enhance")
    share = full_scale / (handle.frames * handle.channels)
    notes = []
    if share > CLIPPED_SHARE:
        message = (f"{path}: {100 * share:.2f} % of samples are at full scale (clipped); a mask cannot restore "
                   f"clipped peaks")
        if not allow_clipped:
            raise InputError(message + " (pass --allow-clipped to process it anyway)")
        notes.append(message)
    return soundfile.SoundFile(path), notes


class _Pipeline:
    """Input rate -> 16 kHz -> engine -> input rate, channel handling, output writer; counts compute time."""

    def __init__(self, engine, rate: int, channels_in: int, options: EnhanceOptions, output: str, subtype: str,
                 delay: int):
        self.engine, self.rate, self.options = engine, rate, options
        self.downmix = options.channels == "downmix" and channels_in > 1
        channels = 1 if self.downmix else channels_in
        self.down = StreamResampler(rate, RATE, channels)
        self.up = StreamResampler(RATE, rate, channels)
        self.delay = delay  # 16 kHz samples the engine lags its input (streaming lookahead)
        self.to_skip = delay
        self.received, self.written, self.compute_s = 0, 0, 0.0
        self.outputs = [_Writer(output, rate, channels, subtype)]
        self.dry = StreamDelay(channels) if options.rest else None
        if options.rest:
            self.outputs.append(_Writer(options.rest, rate, channels, subtype))

    def push(self, block: np.ndarray) -> None:
        """``block``: float32 ``(frames, channels)`` at the input rate."""
        x = torch.from_numpy(np.ascontiguousarray(block.T))
        if self.downmix:
            x = x.mean(dim=0, keepdim=True)
        self.received += x.shape[1]
        if self.dry is not None:
            self.dry.push(x)
        started = time.perf_counter()
        y = self.up.push(self._engine(self.down.push(x)))
        self.compute_s += time.perf_counter() - started
        self._write(y)

    def finish(self) -> None:
        started = time.perf_counter()
        tail = self._engine(self.down.flush())
        tail = torch.cat([tail, self._engine_flush()], dim=1)
        y = torch.cat([self.up.push(tail), self.up.flush()], dim=1)
        self.compute_s += time.perf_counter() - started
        self._write(y[:, : max(0, self.received - self.written)])
        for writer in self.outputs:
            writer.close()

    def _engine(self, x: torch.Tensor) -> torch.Tensor:
        return self._skip(self.engine.push(x))

    def _skip(self, y: torch.Tensor) -> torch.Tensor:
        if self.to_skip:
            drop = min(self.to_skip, y.shape[1])
            y, self.to_skip = y[:, drop:], self.to_skip - drop
        return y

    def _engine_flush(self) -> torch.Tensor:
        return self._skip(self.engine.flush())

    def _write(self, y: torch.Tensor) -> None:
        y = torch.nan_to_num(y[:, : max(0, self.received - self.written)], nan=0.0, posinf=0.0, neginf=0.0)
        if y.shape[1] == 0:
            return
        self.outputs[0].write(y)
        if self.dry is not None:
            self.outputs[1].write(self.dry.pop(y.shape[1]) - y)
        self.written += y.shape[1]


class StreamDelay:
    """FIFO of the dry input, to subtract the output from it sample for sample (``--rest``)."""

    def __init__(self, channels: int):
        self.buffer = torch.zeros(channels, 0)

    def push(self, x: torch.Tensor) -> None:
        self.buffer = torch.cat([self.buffer, x], dim=1)

    def pop(self, n: int) -> torch.Tensor:
        out, self.buffer = self.buffer[:, :n], self.buffer[:, n:]
        return out


class _Writer:
    """A WAV written under a temporary name in the same folder, renamed on :meth:`close`."""

    def __init__(self, path: str, rate: int, channels: int, subtype: str):
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent or ".")
        os.close(fd)
        self.tmp = Path(tmp)
        self.handle = soundfile.SoundFile(tmp, "w", samplerate=rate, channels=channels, subtype=subtype,
                                          format="WAV")

    def write(self, y: torch.Tensor) -> None:
        self.handle.write(y.T.numpy())

    def close(self) -> None:
        self.handle.close()
        self.tmp.replace(self.path)

    def discard(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def _subtype(subtype: str) -> str:
    return subtype if subtype in ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "FLOAT"


def _run(pipeline: _Pipeline, blocks: Iterator[np.ndarray], name: str) -> None:
    try:
        for block in blocks:
            _check_block(block, name)
            pipeline.push(block)
        pipeline.finish()
    except BaseException:
        for writer in pipeline.outputs:
            writer.discard()
        raise


def _set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)


def enhance_file(input_path: str, output: str, model: str, options: EnhanceOptions,
                 threads: int | None = None) -> dict:
    """Offline enhancement of a WAV file; returns a report (``summary`` line, ``notes``, timings)."""
    _set_threads(threads)
    handle, notes = _scan(input_path, options.allow_clipped)
    mask_fn, fixed, more = _mask_fn(model, options)
    notes += more
    if handle.channels > 1 and options.channels == "each":
        notes.append(f"{input_path}: {handle.channels} channels enhanced one by one (--channels downmix averages)")
    if handle.samplerate != RATE:
        notes.append(f"{input_path}: resampled {handle.samplerate} Hz -> {RATE} Hz and back")
    enhancer = WindowEnhancer(mask_fn, options.controls(), fixed)
    channels = 1 if options.channels == "downmix" else handle.channels
    engine = OverlapAdd(enhancer, channels)
    pipeline = _Pipeline(engine, handle.samplerate, handle.channels, options, output, _subtype(handle.subtype), 0)
    started = time.perf_counter()
    with handle:
        first_mask = _FirstMask(engine)
        _run(pipeline, first_mask.watch(handle.blocks(_READ_BLOCK, dtype="float32", always_2d=True)), input_path)
    wall = time.perf_counter() - started
    if options.save_mask and first_mask.mask is not None:
        write_png(options.save_mask, mask_to_png(first_mask.mask[0]))
    duration = handle.frames / handle.samplerate
    report = {"input": input_path, "output": output, "mode": options.mode, "duration_s": round(duration, 3),
              "sample_rate": handle.samplerate, "channels": channels, "compute_s": round(pipeline.compute_s, 3),
              "real_time_factor": round(pipeline.compute_s / duration, 4), "notes": notes}
    report["summary"] = (f"wrote {output} ({duration:.2f} s, {channels} channel(s), {handle.samplerate} Hz); "
                         f"real-time factor {report['real_time_factor']:.3f} ({wall:.1f} s)")
    return report


class _FirstMask:
    """Remembers the first window's mask while the blocks go by (for ``--save-mask``)."""

    def __init__(self, engine: OverlapAdd):
        self.engine, self.mask = engine, None

    def watch(self, blocks):
        for block in blocks:
            yield block
            if self.mask is None and self.engine.last_mask is not None:
                self.mask = self.engine.last_mask.clone()


def _stdin_blocks(frames: int) -> Iterator[np.ndarray]:
    """Raw signed 16-bit little-endian mono PCM from stdin, ``frames`` samples at a time."""
    stream = sys.stdin.buffer
    while True:
        data = stream.read(2 * frames)
        if not data:
            return
        usable = len(data) - len(data) % 2
        yield (np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0)[:, None]


def stream_file(input_path: str, output: str, model: str, options: EnhanceOptions, block: int = 4096,
                lookahead: int = 1024, input_rate: int = RATE, threads: int | None = None) -> dict:
    """Streaming enhancement: blocks of ``block`` samples (at 16 kHz) as they arrive from a WAV file or, for
    ``input_path == '-'``, raw 16-bit mono PCM at ``input_rate`` on stdin. The file written is aligned with the
    input (the engine's lookahead delay removed). Returns a report with the real-time factor and latency."""
    _set_threads(threads)
    if not 0 < block <= WINDOW // 2 or not 0 <= lookahead <= WINDOW // 4:
        raise InputError(f"expected 0 < --block <= {WINDOW // 2} and 0 <= --lookahead <= {WINDOW // 4} samples")
    notes: list[str] = []
    if input_path == "-":
        _check_rate(input_rate, "stdin")
        rate, channels_in, subtype = input_rate, 1, "PCM_16"
        frames = max(1, round(block * rate / RATE))
        blocks, handle = _stdin_blocks(frames), None
    else:
        handle, notes = _scan(input_path, options.allow_clipped)
        rate, channels_in, subtype = handle.samplerate, handle.channels, _subtype(handle.subtype)
        frames = max(1, round(block * rate / RATE))
        blocks = handle.blocks(frames, dtype="float32", always_2d=True)
    mask_fn, fixed, more = _mask_fn(model, options)
    notes += more
    channels = 1 if options.channels == "downmix" else channels_in
    engine = Streaming(WindowEnhancer(mask_fn, options.controls(), fixed), channels, block, lookahead)
    pipeline = _Pipeline(engine, rate, channels_in, options, output, subtype, lookahead)
    try:
        _run(pipeline, blocks, input_path)
    finally:
        if handle is not None:
            handle.close()
    if options.save_mask and engine.last_mask is not None:
        write_png(options.save_mask, mask_to_png(engine.last_mask[0]))
    duration = pipeline.received / rate
    resampler_ms = 0.0 if rate == RATE else 1000 * (pipeline.down.context / rate + pipeline.up.context / RATE)
    latency_ms = 1000 * engine.latency / RATE + resampler_ms
    rtf = pipeline.compute_s / max(duration, 1e-9)
    report = {"input": input_path, "output": output, "mode": options.mode, "duration_s": round(duration, 3),
              "sample_rate": rate, "channels": channels, "block": block, "lookahead": lookahead,
              "threads": torch.get_num_threads(), "compute_s": round(pipeline.compute_s, 3),
              "real_time_factor": round(rtf, 4), "latency_ms": round(latency_ms, 1),
              "block_ms": round(1000 * block / RATE, 1), "notes": notes}
    report["summary"] = (f"wrote {output} ({duration:.2f} s); streaming real-time factor {rtf:.3f} on "
                         f"{report['threads']} thread(s), algorithmic latency {latency_ms:.0f} ms (block "
                         f"{1000 * block / RATE:.0f} ms + lookahead {1000 * lookahead / RATE:.0f} ms"
                         + (f" + resampling {resampler_ms:.0f} ms" if resampler_ms else "") + ")")
    return report
