"""The sound to match, in every form the rankers need, and how candidates are scored against it.

A user hands ``inverse predict`` (or ``search``) a spectrogram PNG, a ``.npy`` or a WAV. Ranking compares
*sounds* (:func:`synth.perceptual.match_distance`: multi-scale log-mel + spectral shape), so a target also
needs audio: a WAV's own samples, or, for a spectrogram, a Griffin-Lim reconstruction
(:func:`synth.spectrogram.audio_from_spectrogram`) whose magnitudes are the target's. Candidates are then
judged against the same reference whatever the input, and ``distance_db`` (mean |dB| over the 512x512
spectrogram) is reported beside the perceptual numbers.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import torch

from inverse.dc_offset import remove_offset
from inverse.hum import Hum, find_hum, without_hum
from inverse.level import SILENT_PEAK, level_gain, level_note
from inverse.melody import HeldNote, held_notes, melody_note
from inverse.modulation import Swing, estimate_tremolo, estimate_vibrato
from inverse.noise_floor import QUIET_DB as NOISE_QUIET_DB
from inverse.noise_floor import remove_floor
from inverse.onset import clicks, lead_in
from inverse.parts import Part, parts_note, sounding_parts
from synth.audio_io import read_wav
from synth.errors import InputError
from synth.inputs import AUDIO_SUFFIXES, load_audio, load_target
from synth.paths import check_input_file
from synth.perceptual import Features, features, match_distance, mss_distance
from synth.pitch import PitchEstimate, estimate_pitch, pitch_track
from synth.spectrogram import DEFAULT_CONFIG, audio_from_spectrogram, distance_db, normalized_to_db, spectrogram
from synth.voice import render

RECONSTRUCTION_ITERATIONS = 16  # Griffin-Lim: 16 iterations leave a reconstruction ~5x closer than another sound
#: Seconds of an audio file, from its start, searched for its noise floor where the file is longer than the window.
RECORDING_S = 30.0


@dataclass
class Target:
    """One sound to match: ``spectrogram`` normalised ``Tensor[512, 512]``, ``audio`` ``Tensor[65408]`` at
    16 kHz (``reconstructed``: rebuilt from the spectrogram), a description of the source and conversion
    notes. ``features`` of the audio are computed once, on first use."""

    spectrogram: torch.Tensor
    audio: torch.Tensor
    reconstructed: bool
    source: str = "tensor"
    notes: list[str] = field(default_factory=list)
    start_s: float = 0.0  # where in its audio file the 4.088 s begin (seconds; 0 for a spectrogram or a tensor)
    length_s: float | None = None  # seconds of the file kept from start_s, silence after (--length); None: all
    # the held notes its pitch steps through, where it does (inverse.melody; read when loaded from a file), else []
    melody: list[HeldNote] = field(default_factory=list)
    # its sounding parts with silence between them, where there are two or more and no melody (inverse.parts; read
    # when loaded from an audio file), else []
    parts: list[Part] = field(default_factory=list)
    _features: Features | None = field(default=None, repr=False)
    _pitch: PitchEstimate | None = field(default=None, repr=False)
    _track: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)
    _swings: tuple[Swing | None, Swing | None] | None = field(default=None, repr=False)

    @classmethod
    def from_spectrogram(cls, spec: torch.Tensor, source: str = "tensor", notes: list[str] | None = None) -> Target:
        if spec.shape != (DEFAULT_CONFIG.bins, DEFAULT_CONFIG.frames):
            raise InputError(f"expected a target spectrogram of shape (512, 512), got {tuple(spec.shape)}")
        spec = spec.float()
        with torch.no_grad():
            audio = audio_from_spectrogram(spec, iterations=RECONSTRUCTION_ITERATIONS)
        return cls(spec, audio, True, source, list(notes or []))

    @classmethod
    def from_audio(cls, audio: torch.Tensor, source: str = "tensor", notes: list[str] | None = None) -> Target:
        if audio.shape != (DEFAULT_CONFIG.num_samples,):
            raise InputError(f"expected target audio of shape ({DEFAULT_CONFIG.num_samples},), "
                             f"got {tuple(audio.shape)}")
        audio = audio.float()
        with torch.no_grad():
            spec = spectrogram(audio[None])[0]
        return cls(spec, audio, False, source, list(notes or []))

    @property
    def features(self) -> Features:
        if self._features is None:
            with torch.no_grad():
                self._features = features(self.audio[None])
        return self._features

    @property
    def pitch(self) -> PitchEstimate:
        """The audio's dominant pitch by CREPE (:func:`synth.pitch.estimate_pitch`, one sound), on first use."""
        if self._pitch is None:
            self._pitch = estimate_pitch(self.audio[None])
        return self._pitch

    @property
    def pitch_track(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The audio's pitch over time (:func:`synth.pitch.pitch_track`: times in seconds and Hz of its loud periodic
        frames), on first use: the glide's and the vibrato's fits read the same track."""
        if self._track is None:
            self._track = pitch_track(self.audio)
        return self._track

    @property
    def swings(self) -> tuple[Swing | None, Swing | None]:
        """The audio's vibrato and tremolo (:func:`inverse.modulation.estimate_vibrato`, :func:`~inverse.modulation.
        estimate_tremolo`; None where it has none), on first use."""
        if self._swings is None:
            self._swings = (estimate_vibrato(self.audio, track=self.pitch_track), estimate_tremolo(self.audio))
        return self._swings

    @property
    def pitch_hz(self) -> float:
        """The target's pitch in Hz where it is clear, else NaN: what the ranking's sub-octave term needs."""
        return float(self.pitch.f0_hz[0]) if bool(self.pitch.clear[0]) else float("nan")


def as_target(target: Target | torch.Tensor) -> Target:
    """A :class:`Target`, or a normalised spectrogram ``Tensor[512, 512]`` made into one."""
    return target if isinstance(target, Target) else Target.from_spectrogram(target)


def load_any_target(target: Target | torch.Tensor | str | os.PathLike, *, convert: bool = False,
                    downmix: bool = True, start: float = 0.0, align: bool = True,
                    gate_noise: bool = True, length: float | None = None) -> Target:
    """A :class:`Target` from a spectrogram tensor or a path (PNG, WAV, ``.npy``); anything else is an
    :class:`InputError`, and so is a file whose sound is silent (:func:`check_audible`). An audio file (WAV, FLAC,
    Ogg, MP3, ...) keeps its own audio (a multichannel file's channels averaged with ``downmix``, the default, else
    refused), read from ``start`` seconds on and, with ``align``, from where its sound
    rises out of a lead-in of silence or steady noise (:func:`inverse.onset.lead_in`: the synth's notes start at
    0 s), the target's ``start_s`` saying where that was, without a DC offset (:func:`inverse.dc_offset.
    remove_offset`) and, with ``gate_noise``, without mains hum (:mod:`inverse.hum`), its level brought into the range
    patches play (:func:`inverse.level.level_gain`: scaled down
    where float samples exceed full scale, raised where it peaks below -40 dBFS), and with ``gate_noise`` without a
    steady noise floor (:func:`inverse.noise_floor.remove_floor`: hiss or room tone that no patch can make), and
    with ``length`` (seconds) only that much of it kept, the rest silent (:func:`keep_length`: one note of a melody,
    one hit of a loop); a spectrogram gets a reconstruction (``start`` must be 0 and ``length`` None: it is 4.088 s
    already).
    A target whose pitch steps through several held notes (:mod:`inverse.melody`) gets a note saying so, and an audio
    target whose sound comes in several parts with silence between them (:mod:`inverse.parts`: a drum loop,
    staccato notes) another."""
    if isinstance(target, Target):
        return target
    if isinstance(target, torch.Tensor):
        return Target.from_spectrogram(target)
    name = os.fspath(target)
    if name.lower().endswith(AUDIO_SUFFIXES):
        check_input_file(name)
        gain = 1.0  # not 1 where the window's peak is out of the range patches play (inverse.level)
        hum: Hum | None = None  # mains hum found in the recording (with gate_noise), taken out of every window read
        hum_from = 0.0  # where in the file (seconds) the audio the hum was read from begins

        def read(at_s: float) -> tuple[torch.Tensor, list[str], float | None]:
            nonlocal gain
            audio, notes = load_audio(name, downmix=downmix, start=at_s)
            audio, offset = remove_offset(audio)
            audio = audio if hum is None else without_hum(audio, hum, round((at_s - hum_from) * rate))
            gain *= level_gain(audio * gain)
            return (audio * gain if gain != 1.0 else audio), notes, offset

        def around(at_s: float) -> torch.Tensor | None:
            """The recording around the window, at the window's gain."""
            return _around(whole * gain if whole is not None and gain != 1.0 else whole, at_s)

        rate = DEFAULT_CONFIG.sample_rate
        audio, notes, offset = read(start)
        start_s = round(start * rate) / rate
        whole = recording(name, downmix) if gate_noise else None
        whole = None if whole is None else remove_offset(whole)[0]
        if gate_noise:  # read in the recording, or where it cannot be read in the window (before its gain)
            hum, hum_from = (find_hum(audio / gain), start) if whole is None else (find_hum(whole), 0.0)
        if hum is not None:  # the window read again without it, and the recording searched without it
            whole = None if whole is None else without_hum(whole, hum)
            gain = 1.0
            audio, notes, offset = read(start)
        searched = None  # the recording searched past a silent window, where no sound was found in it
        if align and float(audio.abs().max()) < SILENT_PEAK:  # a silent window: read from the file's first sound
            searched = whole if gate_noise else recording(name, downmix)
            heard = first_sound(searched, start_s)
            if heard is not None:
                searched = None
                silent_s, start_s = heard - start_s, heard
                audio, notes, offset = read(start_s)
                notes.append(f"{name}: skipped {silent_s:.3f} s of silence before the sound (the first 4.088 s read "
                             "were silent)")
        skip, gated = lead_in(audio) if align else 0, None
        if align and not skip and gate_noise:
            gated = remove_floor(audio, around(start_s))  # this window gated: kept unless a lead-in is found
            if gated[1] is not None:  # a lead-in of the recording's steady floor, or a rise out of it once gated out
                skip = lead_in(audio, quiet_db=NOISE_QUIET_DB) or lead_in(gated[0])
        if skip:  # read again from where the sound rises: the window still holds 4.088 s of the file
            clicked = [f"{start_s + at:.3f}" for at in clicks(audio, skip)]
            said = f", {'a click' if len(clicked) == 1 else 'clicks'} at {', '.join(clicked)} s in it" * bool(clicked)
            start_s += skip / rate
            audio, notes, offset = read(start_s)  # (a louder part may have come into the window: gain lowered)
            notes.append(f"{name}: skipped {skip / rate:.3f} s of lead-in (silence or steady noise{said}) before the "
                         "sound")
            gated = None
        if offset is not None:
            notes.append(f"{name}: removed a DC offset of {offset:+.3f} (a constant no patch makes; "
                         f"{20 * math.log10(abs(offset)):.0f} dBFS)")
        if hum is not None:
            notes.append(f"{name}: took out {hum.describe()} (a steady tone no patch holds; --keep-noise matches it "
                         "as it is)")
        if gain != 1.0:
            notes.append(level_note(name, gain))
        window = "first 4.088 s" if not start else f"4.088 s from {start:.3f} s"
        if searched is not None and searched.numel() >= round(RECORDING_S * rate) and \
                float(audio.abs().max()) < SILENT_PEAK:  # a longer file, silent as far as it was searched
            raise InputError(f"{name}: the {window} are silent (peak below -80 dBFS), and so is the rest of its first "
                             f"{RECORDING_S:.0f} s: --start SECONDS reads from later in the file")
        check_audible(audio, name, window)
        if gate_noise:
            audio, floor = gated or remove_floor(audio, around(start_s))
            if floor is not None:  # said at the file's level (the window's is the file's at the gain)
                floor -= 20 * math.log10(gain)
                notes.append(f"{name}: gated out a steady noise floor at {floor:.0f} dBFS (hiss or room tone no patch "
                             "can make; --keep-noise matches it as it is)")
        kept = audio if length is None else keep_length(audio, length)
        if kept is not audio:
            audio = kept
            check_audible(audio, name, f"{length:.3f} s from {start_s:.3f} s (--length)")
            notes.append(f"{name}: kept {length:.3f} s from {start_s:.3f} s, silence after it (--length)")
        loaded = Target.from_audio(audio, name, notes)
        loaded.start_s, loaded.length_s = start_s, length
        loaded = _with_melody_note(loaded, suggest=length is None)
        if not loaded.melody:  # several parts with silence between them: said, with one's options (--each-note's)
            parts = sounding_parts(loaded.audio)
            loaded.parts = parts if len(parts) > 1 else []
            note = parts_note(name, parts, start_s) if length is None else None  # (with --length: one was chosen)
            if note:
                loaded.notes.append(note)
        return loaded
    if start:
        raise InputError(f"{name}: a start time applies to audio files; a spectrogram is its 4.088 s already")
    if length is not None:
        raise InputError(f"{name}: --length applies to audio files; a spectrogram is its 4.088 s already")
    spec, notes = load_target(name, convert=convert, downmix=downmix)
    loaded = Target.from_spectrogram(spec, name, notes)
    check_audible(loaded.audio, name, "spectrogram's 4.088 s")
    return _with_melody_note(loaded, suggest=False)


#: Seconds over which :func:`keep_length` fades the kept part out (no click at the cut).
LENGTH_FADE_S = 0.01


def keep_length(audio: torch.Tensor, length: float) -> torch.Tensor:
    """``audio`` ``Tensor[N]`` (16 kHz) with only its first ``length`` seconds kept (the last
    :data:`LENGTH_FADE_S` of them faded out linearly) and silence after: ``Tensor[N]`` (``audio`` itself where it
    is no longer). :class:`InputError` for a length that is not positive and finite."""
    if not (isinstance(length, int | float) and math.isfinite(length) and length > 0):
        raise InputError(f"--length must be a positive number of seconds, got {length!r}")
    rate = DEFAULT_CONFIG.sample_rate
    keep = round(length * rate)
    if keep >= audio.shape[0]:
        return audio
    fade = min(round(LENGTH_FADE_S * rate), keep)
    gain = torch.zeros_like(audio)
    gain[:keep] = 1.0
    gain[keep - fade:keep] = torch.linspace(1.0, 0.0, fade + 1, dtype=audio.dtype)[1:]
    return audio * gain


def _with_melody_note(target: Target, suggest: bool) -> Target:
    """``target`` with :func:`inverse.melody.melody_note`'s note where its pitch is not clear and steps through held
    notes (``suggest``: with the ``--start`` / ``--length`` that keep one of them)."""
    if math.isnan(target.pitch_hz):
        notes = held_notes(target.audio)
        note = melody_note(notes, target.source, target.start_s if suggest else None)
        if note:
            target.notes.append(note)
            target.melody = notes
    return target


def recording(name: str, downmix: bool) -> torch.Tensor | None:
    """The first :data:`RECORDING_S` seconds of the audio file ``name`` at the synth's rate, ``Tensor[M]``: where the
    floor of a window of it is found (:func:`inverse.noise_floor.remove_floor`), lead-in and tail included. None
    where they cannot be read (non-finite samples after the window, say): the window is judged alone."""
    rate = DEFAULT_CONFIG.sample_rate
    try:
        return read_wav(name, rate, downmix=downmix, max_samples=round(RECORDING_S * rate))[0]
    except InputError:
        return None


#: Seconds a window read past a silent one (:func:`first_sound`) begins before the first sample that is not silent.
SOUND_PREROLL_S = 0.016


def first_sound(whole: torch.Tensor | None, after_s: float) -> float | None:
    """Where (seconds into the file, a whole sample) to read from so that the window starts :data:`SOUND_PREROLL_S`
    before the first sample of ``whole`` (:func:`recording`) after ``after_s`` that is not silent (at least
    :data:`~inverse.level.SILENT_PEAK`); None where there is none in it."""
    if whole is None:
        return None
    rate = DEFAULT_CONFIG.sample_rate
    begin = round(after_s * rate)
    heard = (whole[begin:].abs() >= SILENT_PEAK).nonzero()
    if not heard.numel():
        return None
    return max(begin, begin + int(heard[0]) - round(SOUND_PREROLL_S * rate)) / rate


def _around(whole: torch.Tensor | None, start_s: float) -> torch.Tensor | None:
    """``whole`` where it holds more than the window read from ``start_s`` (a lead-in before it, a tail after it),
    else None: a window that holds all of its file finds the floor in itself, zero padding and all."""
    if whole is None or (start_s <= 0 and whole.numel() <= DEFAULT_CONFIG.num_samples):
        return None
    return whole


def check_audible(audio: torch.Tensor, name: str, what: str = "first 4.088 s") -> None:
    """An :class:`InputError` when ``audio`` (any shape) peaks below :data:`SILENT_PEAK` (-80 dBFS): every silent
    patch would match such a target perfectly, so a file of silence (a wrong channel, a muted export) is refused
    instead of answered with ten silent patches."""
    peak = float(audio.abs().max()) if audio.numel() else 0.0
    if peak < SILENT_PEAK:
        raise InputError(f"{name}: the {what} are silent (peak below -80 dBFS): there is nothing to match")


@dataclass
class Scores:
    """Rendered candidates against a target, per row: ``match`` (the ranking distance) and ``mss`` (multi-scale
    log-mel distance), each ``Tensor[P]``; ``audio`` ``Tensor[P, 65408]`` and ``shape``, the long-term average
    spectrum ``Tensor[P, 4097]`` (:class:`~synth.perceptual.Features`' ``shape``: what :mod:`inverse.transpose`
    aligns); ``reference``, the :class:`Target` they were scored against (not a row). The normalised
    :attr:`spectrogram` and :attr:`distance_db` are computed on first use: only the returned candidates' are
    reported, not the whole pool's (~300 rows, a megabyte of spectrogram and ~3 ms each)."""

    match: torch.Tensor
    mss: torch.Tensor
    audio: torch.Tensor
    shape: torch.Tensor
    reference: Target | None = field(default=None, repr=False, compare=False)

    ROWS = ("match", "mss", "audio", "shape")  # the per-row columns (every field but ``reference``)

    @functools.cached_property
    def spectrogram(self) -> torch.Tensor:
        """Normalised spectrograms ``Tensor[P, 512, 512]`` of :attr:`audio`, made when first asked for (the same
        bits as in any batch)."""
        if self.audio.shape[0] == 0:
            return self.audio.new_zeros(0, DEFAULT_CONFIG.bins, DEFAULT_CONFIG.frames)
        return spectrogram(self.audio)

    @functools.cached_property
    def distance_db(self) -> torch.Tensor:
        """Mean |dB| between each row's spectrogram and the reference's, ``Tensor[P]``
        (:func:`synth.spectrogram.distance_db`), made when first asked for (the same bits as in any batch)."""
        if self.reference is None:
            raise ValueError("distance_db needs the target these scores were made against (Scores.reference)")
        if self.audio.shape[0] == 0:
            return self.audio.new_zeros(0)
        return distance_db(normalized_to_db(self.spectrogram), normalized_to_db(self.reference.spectrogram)[None])

    def _with_rows(self, columns) -> Scores:
        return Scores(*columns, reference=self.reference)

    def select(self, index: torch.Tensor | list[int]) -> Scores:
        index = torch.as_tensor(index, dtype=torch.long)
        return self._with_rows(getattr(self, name)[index] for name in self.ROWS)

    def clone(self) -> Scores:
        """A copy of every column (the caller's rows stay as they are)."""
        return self._with_rows(getattr(self, name).clone() for name in self.ROWS)

    def assign(self, index: torch.Tensor, rows: Scores) -> None:
        """Rows ``index`` (``Tensor[R]`` long) replaced by ``rows``' (R rows, in that order), in place; what was
        made on use (:attr:`spectrogram`, :attr:`distance_db`) is made again when next asked for."""
        for name in self.ROWS:
            getattr(self, name)[index] = getattr(rows, name)
        for made in ("spectrogram", "distance_db"):
            self.__dict__.pop(made, None)

    def replaced(self, index: torch.Tensor, rows: Scores) -> Scores:
        """A copy with rows ``index`` (``Tensor[R]`` long) replaced by ``rows``' (R rows, in that order)."""
        copy = self.clone()
        copy.assign(index, rows)
        return copy

    @staticmethod
    def cat(parts: list[Scores]) -> Scores:
        """The rows of ``parts`` (scored against one target) in order."""
        reference = next((p.reference for p in parts if p.reference is not None), None)
        return Scores(*(torch.cat([getattr(p, name) for p in parts]) for name in Scores.ROWS), reference=reference)


@torch.no_grad()
def score(params: torch.Tensor, target: Target | torch.Tensor, batch: int = 64,
          render_path: str = "auto") -> Scores:
    """Render ``params`` ``Tensor[P, 100]`` and score every row against ``target``.

    ``render_path``: :func:`synth.voice.render`'s path; ``"auto"`` takes the fast (ahead-of-time compiled)
    render when it is built on this machine.
    """
    target = as_target(target)
    if params.shape[0] == 0:  # no rows (e.g. a search that found nothing): nothing rendered
        n = DEFAULT_CONFIG.num_samples
        return Scores(*(torch.zeros(0, *size) for size in ((), (), (n,), target.features.shape.shape[1:])),
                      reference=target)
    parts = []
    for chunk in params.float().split(batch):
        audio = render(chunk, path=render_path)
        candidate = features(audio)
        match = match_distance(candidate, target.features, target.pitch_hz)
        parts.append(Scores(match, mss_distance(candidate, target.features), audio, candidate.shape, target))
    return Scores.cat(parts)


def rendered_match(params: torch.Tensor, target: Target, render_path: str = "auto") -> torch.Tensor:
    """Differentiable :func:`~synth.perceptual.match_distance` of ``render(params, render_path)`` to ``target``:
    ``Tensor[P]`` (what gradient refinement descends)."""
    audio = render(params.float(), path=render_path)
    return match_distance(features(audio), target.features, target.pitch_hz)
