"""``specmask enhance``: a WAV file (or raw PCM on stdin) in, an enhanced WAV file out.

Offline (:func:`enhance_file`) and streaming (:func:`stream_file`) read the input in blocks, resample to
16 kHz piece by piece (:class:`~specmask.resample.StreamResampler`), run the overlap-add or streaming
engine (:mod:`specmask.enhance`), resample back to the input's rate and write as they go: memory stays
constant whatever the length. The output has the input's sample rate, length and channel count (one
channel with ``--channels downmix``).

Every output path (``-o``, ``--rest``, ``--save-mask``, ``--figure``) is checked before the work starts
(:func:`synth.paths.check_outputs`: a writable folder, not a directory, not the input nor another output).
The outputs of a run are written under temporary names beside their destinations and renamed into place
together when all of them are complete (:class:`_Staged`): a run that fails leaves none of them behind.

Input checks, each one line (:class:`InputError`): not audio, empty, NaN or infinite samples, silent,
clipped (more than 0.1 % of samples at full scale; ``allow_clipped`` overrides), a sample rate outside
8-192 kHz, a directory instead of a file, empty stdin, a checkpoint without a mask head. The output never
contains NaN.

Mask PNGs (``--save-mask``, ``--mask``): 512x512 grayscale in the spectrogram layout (highest bin in
row 0), gain ``u8 / 127``: 127 leaves a bin unchanged, 0 silences it, 254 boosts it 6 dB.
"""

from __future__ import annotations

import errno
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile
import torch

from specmask import checkpoint
from specmask.enhance import WINDOW, MaskControls, OverlapAdd, Streaming, WindowEnhancer, model_mask_fn
from specmask.fullband import FullBandEnhancer
from specmask.resample import StreamResampler
from synth.errors import InputError, one_line
from synth.image_io import read_png, write_png
from synth.paths import check_input_file, check_output_dir, check_outputs, distinct_stems, same_file
from synth.spectrogram import DEFAULT_CONFIG
from synth.threads import torch_threads

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
    exponent: float = 1.0  # the mask raised to this power (MaskControls): deeper cuts where it half suppresses
    channels: str = "each"  # each (enhance every channel) | downmix (their mean)
    save_mask: str | None = None  # PNG of the mask (offline: the first window; streaming: the last)
    mask: str | None = None  # PNG of a mask to apply instead of the model's
    rest: str | None = None  # --mode separate: also write input minus output
    figure: str | None = None  # PNG of the input's, the output's and the removed part's spectrograms (first window)
    allow_clipped: bool = False
    band_limited: bool = False  # inputs above 16 kHz: process at 16 kHz only (no output above 8 kHz), as before
    keep: str | None = None  # the sound class to keep (models trained with classes); None: every sound

    def controls(self) -> MaskControls:
        try:
            return MaskControls.for_mode(self.mode, strength=self.strength, floor=self.floor, invert=self.invert,
                                         exponent=self.exponent)
        except ValueError as error:
            raise InputError(str(error)) from None


def mask_to_png(mask: torch.Tensor) -> np.ndarray:
    """Mask ``Tensor[512, 512]`` (gain) -> uint8 image array (bin 0 first), ``round(gain * 127)`` capped at 255."""
    return np.rint(mask.clamp(0, 255 / MASK_UNIT).numpy() * MASK_UNIT).astype(np.uint8)


def read_mask_png(path: str) -> torch.Tensor:
    """An edited mask PNG -> gain ``Tensor[512, 512]`` (``u8 / 127``)."""
    pixels = read_png(path, hint="edit a mask written by --save-mask without resizing it or adding colour")
    return torch.from_numpy(pixels.astype(np.float32) / MASK_UNIT)


def _check_paths(input_path: str, output: str, options: EnhanceOptions) -> None:
    """Before any work: the input and ``--mask`` are files; every output can be written and is neither an input
    nor another output."""
    stdin = input_path == "-"
    if not stdin:
        check_input_file(input_path)
    elif options.figure:
        raise InputError("--figure needs an input file (it reads the input again), not stdin")
    if options.mask:
        check_input_file(options.mask)
    check_outputs({"-o": output, "--rest": options.rest, "--save-mask": options.save_mask, "--figure": options.figure},
                  inputs={"the input": None if stdin else input_path, "--mask": options.mask})


def _mask_fn(model: str, options: EnhanceOptions):
    """The model's mask function (or None when a fixed mask replaces it) and notes."""
    if options.mask:
        return (lambda spec: torch.ones_like(spec)), read_mask_png(options.mask), [f"applying {options.mask}"]
    generator, info = checkpoint.load(model)
    notes = []
    if options.mode == "enhance" and generator.config.mask_max <= 1.0:
        notes.append(f"{model}: masks of this model never exceed 1 (mask_max 1), so --mode enhance cannot "
                     "boost; train with --mask-max 2 for that")
    return model_mask_fn(generator, options.keep), None, notes


def _enhancer(mask_fn, fixed: torch.Tensor | None, rate: int, options: EnhanceOptions, notes: list[str], name: str):
    """The window enhancer for an input at ``rate`` and the rate its engine runs at: above 16 kHz the mask is
    applied at the input's own rate (:mod:`specmask.fullband`) unless ``band_limited``."""
    if rate > RATE and not options.band_limited:
        notes.append(f"{name}: the mask is computed at {RATE} Hz and applied at {rate} Hz (full band: above 8 kHz "
                     f"each frame's 6-8 kHz gain)")
        return FullBandEnhancer(mask_fn, rate, options.controls(), fixed), rate
    if rate != RATE:
        notes.append(f"{name}: resampled {rate} Hz -> {RATE} Hz and back"
                     + (" (--band-limited: nothing above 8 kHz in the output)" if rate > RATE else ""))
    return WindowEnhancer(mask_fn, options.controls(), fixed), RATE


def _check_rate(rate: int, name: str) -> None:
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise InputError(f"{name}: expected a sample rate of {RATE_RANGE[0]}..{RATE_RANGE[1]} Hz, got {rate} Hz")


def _check_block(block: np.ndarray, name: str) -> None:
    if not np.isfinite(block).all():
        raise InputError(f"{name}: expected finite audio samples, found NaN or infinity")


def _scan(path: str, allow_clipped: bool) -> tuple[soundfile.SoundFile, list[str]]:
    """Open a WAV for reading after one pass over its samples (empty / NaN / silent / clipped checks)."""
    check_input_file(path)
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
    """Input rate -> the engine's rate (16 kHz, or the input's own for full band) -> engine -> input rate, channel
    handling, output writer; counts compute time."""

    def __init__(self, engine, rate: int, channels_in: int, options: EnhanceOptions, output: str, subtype: str,
                 delay: int, staged: _Staged, engine_rate: int = RATE):
        self.engine, self.rate, self.options = engine, rate, options
        self.downmix = options.channels == "downmix" and channels_in > 1
        channels = 1 if self.downmix else channels_in
        self.down = StreamResampler(rate, engine_rate, channels)  # pass-through when the engine runs at the input rate
        self.up = StreamResampler(engine_rate, rate, channels)
        self.delay = delay  # samples at engine_rate the engine lags its input (streaming lookahead)
        self.to_skip = delay
        self.received, self.written, self.compute_s = 0, 0, 0.0
        self.outputs = [_Writer(staged, output, rate, channels, subtype)]
        self.dry = StreamDelay(channels) if options.rest else None
        if options.rest:
            self.outputs.append(_Writer(staged, options.rest, rate, channels, subtype))

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


@contextmanager
def _naming(destination: str | os.PathLike) -> Iterator[None]:
    """Errors writing a temporary file become an ``OSError`` that names the user's ``destination``."""
    try:
        yield
    except OSError as error:
        raise OSError(error.errno, error.strerror or one_line(error), os.fspath(destination)) from None
    except soundfile.SoundFileError as error:
        reason = one_line(getattr(error, "error_string", None) or error).rstrip(".")
        raise OSError(errno.EIO, f"could not write the WAV file ({reason})", os.fspath(destination)) from None


class _Staged:
    """The output files of one run, each written under a temporary name beside its destination
    (``.NAME.XXXXXXXX.tmp.SUFFIX``) and renamed into place by :meth:`commit` once all are complete; leaving
    the ``with`` block by an exception removes them, so a failed run leaves no output, half-written or whole.
    Temporary files get the permissions ``open()`` gives (``0o666`` minus the umask; ``mkstemp`` gives 0o600)."""

    def __init__(self):
        self.files: dict[Path, Path] = {}  # destination -> temporary file

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        for temporary in self.files.values():
            temporary.unlink(missing_ok=True)
        self.files.clear()

    def path(self, destination: str | os.PathLike) -> Path:
        """A new, empty temporary file for ``destination``, ending in its suffix (for writers that go by it)."""
        destination = Path(destination)
        with _naming(destination):
            while True:
                temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.tmp"
                                                  f"{destination.suffix}")
                try:
                    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                    break
                except FileExistsError:
                    continue
        self.files[destination] = temporary
        return temporary

    def write(self, destination: str | os.PathLike, write: Callable[[Path], object]) -> Path:
        """``write(temporary)`` for ``destination``; its errors name ``destination``."""
        temporary = self.path(destination)
        with _naming(destination):
            write(temporary)
        return temporary

    def commit(self) -> None:
        """Rename every temporary file into place."""
        for destination, temporary in list(self.files.items()):
            with _naming(destination):
                temporary.replace(destination)
            del self.files[destination]


class _Writer:
    """A WAV output written to its staged temporary file (errors name the user's path)."""

    def __init__(self, staged: _Staged, path: str, rate: int, channels: int, subtype: str):
        self.path = Path(path)
        temporary = staged.path(self.path)
        with _naming(self.path):
            self.handle = soundfile.SoundFile(temporary, "w", samplerate=rate, channels=channels, subtype=subtype,
                                              format="WAV")

    def write(self, y: torch.Tensor) -> None:
        with _naming(self.path):
            try:
                self.handle.write(y.T.numpy())
            except AssertionError:  # soundfile asserts that every frame was written
                raise OSError(errno.EIO, "not every sample could be written (is the disk full?)") from None

    def close(self) -> None:
        with _naming(self.path):
            self.handle.close()

    def abandon(self) -> None:
        """Close after a failure (the staged temporary file is removed by its owner)."""
        try:
            self.handle.close()
        except (OSError, soundfile.SoundFileError):
            pass


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
            writer.abandon()
        raise


def enhance_file(input_path: str, output: str, model: str, options: EnhanceOptions,
                 threads: int | None = None) -> dict:
    """Offline enhancement of a WAV file; returns a report (``summary`` line, ``notes``, timings). ``threads``:
    torch threads for this call (restored after it; default: as they are)."""
    with torch_threads(threads):
        return _enhance_file(input_path, output, model, options)


def enhance_files(inputs: Sequence[str], folder: str, model: str, options: EnhanceOptions,
                  threads: int | None = None, on_report: Callable[[dict], None] | None = None) -> list[dict]:
    """Offline enhancement of several files in one process (start-up and the model once): each input into
    ``folder/NAME`` (its own file name, ``-2``, ``-3`` ... where names repeat: :func:`synth.paths.distinct_stems`);
    where ``options`` names ``rest``, ``save_mask`` or ``figure``, those are folders too (``NAME``, ``STEM.png``).
    The folders are created and every path checked before any work (no output may be an input). A file that
    cannot be enhanced (:class:`InputError`: not audio, silent, clipped, ...) gets the report ``{"input", "error"}``
    and the others go on. Returns a report per input, in order; ``on_report(report)`` is called as each is done."""
    jobs = _planned(inputs, folder, options)
    loaded = _mask_fn(model, options)
    reports = []
    with torch_threads(threads):
        for path, output, per_file in jobs:
            try:
                report = _enhance_file(path, output, model, per_file, loaded)
            except InputError as error:
                message = one_line(error)
                report = {"input": path, "error": message if path in message else f"{path}: {message}"}
            reports.append(report)
            if on_report is not None:
                on_report(report)
    return reports


def _planned(inputs: Sequence[str], folder: str, options: EnhanceOptions) -> list[tuple[str, str, EnhanceOptions]]:
    """:func:`enhance_files`' jobs, ``(input, output, that file's options)``, after every check; the output folders
    exist afterwards (those made here are removed again when a check fails)."""
    if any(path == "-" for path in inputs):
        raise InputError("input '-' (raw PCM on stdin) needs --stream with a single input")
    for path in inputs:
        check_input_file(path)
    folders = {"-o": folder, "--rest": options.rest, "--save-mask": options.save_mask, "--figure": options.figure}
    folders = {option: name for option, name in folders.items() if name is not None}
    for first, second in (("-o", "--rest"), ("--save-mask", "--figure")):  # the same file names in each pair
        if first in folders and second in folders and same_file(folders[first], folders[second]):
            raise InputError(f"{first} and {second} name the same folder, {folders[second]}; with several inputs "
                             "they must differ (their files have the same names)")
    for option, name in folders.items():
        check_output_dir(name, option)
    jobs = []
    for path, stem in zip(inputs, distinct_stems(inputs)):
        name = stem + Path(path).suffix
        per_file = replace(options, rest=options.rest and os.path.join(options.rest, name),
                           save_mask=options.save_mask and os.path.join(options.save_mask, f"{stem}.png"),
                           figure=options.figure and os.path.join(options.figure, f"{stem}.png"))
        jobs.append((path, os.path.join(folder, name), per_file))
    sources = {os.path.realpath(path): path for path in inputs}
    with _folders_kept_if_checked(folders.values()):  # each file's outputs as for one input, and none an input
        for path, output, per_file in jobs:
            _check_paths(path, output, per_file)
            for written in (output, per_file.rest):
                if written is not None and os.path.realpath(written) in sources:
                    raise InputError(f"{written} would overwrite the input {sources[os.path.realpath(written)]}; "
                                     "expected an output folder without the inputs' names in it")
    return jobs


@contextmanager
def _folders_kept_if_checked(names) -> Iterator[None]:
    """Make the folders ``names`` (and their missing parents) for the checks in the ``with`` block, which need them;
    an :class:`InputError` there removes the ones made here again (still empty: nothing was written)."""
    made: list[Path] = []  # in the order they are made
    for name in dict.fromkeys(names):
        missing, chain = Path(name).absolute(), []
        while not missing.exists():
            chain.append(missing)
            missing = missing.parent
        os.makedirs(name, exist_ok=True)
        made += reversed(chain)
    try:
        yield
    except InputError:
        for folder in reversed(made):
            folder.rmdir()
        raise


def _enhance_file(input_path: str, output: str, model: str, options: EnhanceOptions,
                  loaded: tuple | None = None) -> dict:
    """``loaded``: :func:`_mask_fn`'s result for ``model`` and ``options``, where the caller has it already."""
    if input_path == "-":
        raise InputError("input '-' (raw PCM on stdin) needs --stream; offline enhancement reads a WAV file")
    _check_paths(input_path, output, options)
    handle, notes = _scan(input_path, options.allow_clipped)
    mask_fn, fixed, more = loaded or _mask_fn(model, options)
    notes += more
    if handle.channels > 1 and options.channels == "each":
        notes.append(f"{input_path}: {handle.channels} channels enhanced one by one (--channels downmix averages)")
    enhancer, engine_rate = _enhancer(mask_fn, fixed, handle.samplerate, options, notes, input_path)
    channels = 1 if options.channels == "downmix" else handle.channels
    engine = OverlapAdd(enhancer, channels)
    started = time.perf_counter()
    with handle, _Staged() as staged:
        pipeline = _Pipeline(engine, handle.samplerate, handle.channels, options, output, _subtype(handle.subtype), 0,
                             staged, engine_rate)
        first_mask = _FirstMask(engine)
        _run(pipeline, first_mask.watch(handle.blocks(_READ_BLOCK, dtype="float32", always_2d=True)), input_path)
        wall = time.perf_counter() - started
        _finish(staged, input_path, output, options, first_mask.mask)
    duration = handle.frames / handle.samplerate
    report = {"input": input_path, "output": output, "model": None if options.mask else str(model),
              "mode": options.mode, "keep": options.keep or "any", "duration_s": round(duration, 3),
              "sample_rate": handle.samplerate, "channels": channels, "compute_s": round(pipeline.compute_s, 3),
              "real_time_factor": round(pipeline.compute_s / duration, 4), "full_band": engine_rate > RATE,
              "notes": notes}
    if options.figure:
        report["figure"] = options.figure
    report["summary"] = (f"wrote {output} ({duration:.2f} s, {channels} channel(s), {handle.samplerate} Hz); "
                         f"real-time factor {report['real_time_factor']:.3f} ({wall:.1f} s)")
    return report


def _finish(staged: _Staged, input_path: str, output: str, options: EnhanceOptions, mask: torch.Tensor | None
            ) -> None:
    """The outputs written after the audio (``--save-mask``, ``--figure``), then every output renamed into place."""
    if options.save_mask and mask is not None:
        staged.write(options.save_mask, lambda path: write_png(path, mask_to_png(mask[0])))
    if options.figure:
        from specmask.figures import before_after_figure

        audio = staged.files[Path(output)]  # the finished output, still under its temporary name
        staged.write(options.figure, lambda path: before_after_figure(input_path, audio, path,
                                                                      f"specmask --mode {options.mode}"))
    staged.commit()


class _FirstMask:
    """Remembers the first window's mask while the blocks go by (for ``--save-mask``)."""

    def __init__(self, engine: OverlapAdd):
        self.engine, self.seen = engine, None

    def watch(self, blocks):
        for block in blocks:
            yield block
            if self.seen is None and self.engine.last_mask is not None:
                self.seen = self.engine.last_mask.clone()

    @property
    def mask(self) -> torch.Tensor | None:
        """The first window's mask; for an input shorter than a window, the one window made at the end."""
        return self.seen if self.seen is not None else self.engine.last_mask


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
    input (the engine's lookahead delay removed). Returns a report with the real-time factor and latency.
    ``threads``: torch threads for this call (restored after it; default: as they are)."""
    with torch_threads(threads):
        return _stream_file(input_path, output, model, options, block, lookahead, input_rate)


def _stream_file(input_path: str, output: str, model: str, options: EnhanceOptions, block: int, lookahead: int,
                 input_rate: int) -> dict:
    if not 0 < block <= WINDOW // 2 or not 0 <= lookahead <= WINDOW // 4:
        raise InputError(f"expected 0 < --block <= {WINDOW // 2} and 0 <= --lookahead <= {WINDOW // 4} samples")
    _check_paths(input_path, output, options)
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
    name = "stdin" if input_path == "-" else input_path
    enhancer, engine_rate = _enhancer(mask_fn, fixed, rate, options, notes, name)
    scale = engine_rate / RATE  # --block and --lookahead are given at 16 kHz; the window is ~4.088 s at any rate
    engine = Streaming(enhancer, channels, min(round(block * scale), enhancer.window // 2),
                       min(round(lookahead * scale), enhancer.window // 4))
    try:
        with _Staged() as staged:
            pipeline = _Pipeline(engine, rate, channels_in, options, output, subtype, engine.lookahead, staged,
                                 engine_rate)
            _run(pipeline, blocks, input_path)
            if pipeline.received == 0:  # only stdin can be empty here: _scan refuses empty files
                raise InputError("stdin: expected raw signed 16-bit PCM samples, got none (the input was empty)")
            _finish(staged, input_path, output, options, engine.last_mask)
    finally:
        if handle is not None:
            handle.close()
    duration = pipeline.received / rate
    resampler_ms = 0.0 if rate == engine_rate else 1000 * (pipeline.down.context / rate + pipeline.up.context / RATE)
    latency_ms = 1000 * engine.latency / engine_rate + resampler_ms
    rtf = pipeline.compute_s / max(duration, 1e-9)
    report = {"input": input_path, "output": output, "model": None if options.mask else str(model),
              "mode": options.mode, "keep": options.keep or "any", "duration_s": round(duration, 3),
              "sample_rate": rate, "channels": channels, "block": block, "lookahead": lookahead,
              "threads": torch.get_num_threads(), "compute_s": round(pipeline.compute_s, 3),
              "real_time_factor": round(rtf, 4), "latency_ms": round(latency_ms, 1), "full_band": engine_rate > RATE,
              "block_ms": round(1000 * block / RATE, 1), "notes": notes}
    if options.figure:
        report["figure"] = options.figure
    report["summary"] = (f"wrote {output} ({duration:.2f} s); streaming real-time factor {rtf:.3f} on "
                         f"{report['threads']} thread(s), algorithmic latency {latency_ms:.0f} ms (block "
                         f"{1000 * block / RATE:.0f} ms + lookahead {1000 * lookahead / RATE:.0f} ms"
                         + (f" + resampling {resampler_ms:.0f} ms" if resampler_ms else "") + ")")
    return report
