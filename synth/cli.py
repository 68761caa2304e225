"""``python -m synth``: the parameter table, random patches, rendering, spectrogram images and a demo.

Each subcommand is a typed function here that can be imported and called; :func:`main` only parses the
arguments, calls it and turns bad input into ``error: <one line>`` on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from synth.audio_io import write_wav
from synth.errors import InputError, non_negative_int, note, positive_float, run_command
from synth.image_io import write_png
from synth.inputs import load_audio
from synth.params import PARAM_SPECS, ParamSpec, canonicalize, spec_json
from synth.patch import load_patch, save_patch
from synth.paths import check_outputs
from synth.prior import PRIOR_VERSIONS, SAMPLERS, draw
from synth.spectrogram import DEFAULT_CONFIG, quantize, spectrogram

TABLE_FORMATS = ("markdown", "json")


def param_table(fmt: str = "markdown") -> str:
    """The parameter table generated from ``PARAM_SPECS``, as a Markdown table or JSON text."""
    if fmt == "json":
        return json.dumps(spec_json(), indent=2)
    if fmt != "markdown":
        raise ValueError(f"unknown table format {fmt!r}; expected one of {', '.join(TABLE_FORMATS)}")
    rows = ["| # | name | group | range | scale | unit | choices | description |",
            "|---|---|---|---|---|---|---|---|"]
    for i, spec in enumerate(PARAM_SPECS):
        cells = [str(i), f"`{spec.name}`", spec.group, f"{spec.low:g} .. {spec.high:g}",
                 "discrete" if spec.is_discrete else spec.scale, spec.unit, _choices_cell(spec), spec.description]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


def _choices_cell(spec: ParamSpec) -> str:
    if spec.choices is None:
        return ""
    values = [f"{spec.value_of_index(k):g}" for k in range(spec.choices)]
    if spec.labels:
        values = [f"{v} {label}" for v, label in zip(values, spec.labels, strict=True)]
    return ", ".join(values)


def random_patch(seed: int, sampler: str = "uniform", prior: str = "1") -> Tensor:
    """Row 0 of the shipped prior for ``seed`` (:func:`synth.prior.draw`), canonicalised: ``Tensor[100]``."""
    return canonicalize(draw(seed, 0, 1, sampler, prior))[0]


@dataclass(frozen=True)
class RenderSummary:
    """What a render produced: length in seconds, peak level in dBFS, samples clipped when writing."""

    duration_s: float
    peak_dbfs: float
    clipped_samples: int

    def describe(self) -> str:
        clipped = f", {self.clipped_samples} samples clipped" if self.clipped_samples else ""
        return f"{self.duration_s:.3f} s at {DEFAULT_CONFIG.sample_rate} Hz, peak {self.peak_dbfs:.1f} dBFS{clipped}"


def render_patch(normalized: Tensor, out_wav: str | os.PathLike, png: str | os.PathLike | None = None) -> RenderSummary:
    """Render normalised ``Tensor[100]`` to a 16-bit WAV file and, if ``png`` is given, its spectrogram PNG."""
    from synth import render  # the voice; imported here so the other commands work without loading it

    with torch.no_grad():
        audio = render(normalized.reshape(1, -1).to(torch.float32))
        if png is not None:
            write_png(png, quantize(spectrogram(audio, DEFAULT_CONFIG))[0])
    clipped = write_wav(out_wav, audio[0], DEFAULT_CONFIG.sample_rate)
    peak = float(audio.abs().max())
    return RenderSummary(duration_s=audio.shape[-1] / DEFAULT_CONFIG.sample_rate,
                         peak_dbfs=20.0 * math.log10(peak) if peak > 0 else -math.inf, clipped_samples=clipped)


def audio_to_png(in_path: str | os.PathLike, out_png: str | os.PathLike, *, downmix: bool = True) -> list[str]:
    """Write the spectrogram PNG of an audio file (resampled, padded or truncated to the synth's length).

    Returns notes describing the conversions made.
    """
    audio, notes = load_audio(in_path, DEFAULT_CONFIG, downmix=downmix)
    with torch.no_grad():
        write_png(out_png, quantize(spectrogram(audio[None], DEFAULT_CONFIG))[0])
    return notes


@dataclass(frozen=True)
class DemoResult:
    """Where :func:`demo` wrote its files, and what the audio is like."""

    patch: Path
    audio: Path
    spectrogram: Path
    summary: RenderSummary


def demo(out_dir: str | os.PathLike, seed: int = 0) -> DemoResult:
    """Random patch for ``seed`` -> ``out_dir``/patch.json, audio.wav and spectrogram.png (dir created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    patch_path, audio_path, png_path = out / "patch.json", out / "audio.wav", out / "spectrogram.png"
    patch = random_patch(seed)
    save_patch(patch_path, patch)
    summary = render_patch(patch, audio_path, png_path)
    return DemoResult(patch_path, audio_path, png_path, summary)


README_MARKERS = ("<!-- params:start -->", "<!-- params:end -->")


def update_readme_table(path: str | os.PathLike) -> None:
    """Replace the Markdown table between ``README_MARKERS`` in ``path`` with the generated one."""
    text = Path(path).read_text()
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise InputError(f"{path}: expected the markers {start} and {end} around the parameter table")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    Path(path).write_text(f"{head}{start}\n{param_table('markdown')}\n{end}{tail}")


def _cmd_params(args: argparse.Namespace) -> int:
    if args.readme:
        update_readme_table(args.readme)
        print(f"updated the parameter table in {args.readme}")
    else:
        print(param_table(args.format))
    return 0


def _cmd_random(args: argparse.Namespace) -> int:
    save_patch(args.output, random_patch(args.seed, args.sampler, args.prior))
    print(f"patch: {args.output}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    summary = render_patch(load_patch(args.patch), args.output, args.png)
    print(f"audio: {args.output}")
    if args.png:
        print(f"spectrogram: {args.png}")
    print(summary.describe())
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    from synth.phrase import midi_notes, parse_phrase, play_notes, timed

    if args.midi_velocity and not args.midi:
        raise InputError("--midi-velocity takes the velocities of --midi FILE's notes; --notes has none")
    check_outputs({"-o": args.output}, {"the patch": args.patch, "the MIDI file": args.midi})  # before any render
    if args.midi:
        notes = midi_notes(args.midi, args.midi_velocity)
        ends = max((n.onset_s + n.length_s for n in notes), default=None)
        note(f"{args.midi}: {len(notes)} notes" + (f" over {ends:.1f} s (the file's own tempo; --bpm is not used)"
                                                   if notes else ""))
    else:
        notes = timed(parse_phrase(args.notes), args.bpm)  # (bad notes refused before anything is rendered)
    phrase = play_notes(load_patch(args.patch), notes, read_pitch=not args.as_note_pitch)
    for message in phrase.messages:
        note(message)
    clipped = write_wav(args.output, phrase.audio, DEFAULT_CONFIG.sample_rate)
    if args.json:
        print(json.dumps({"output": os.fspath(args.output), "duration_s": round(phrase.duration_s, 6),
                          "sample_rate": DEFAULT_CONFIG.sample_rate, "bpm": None if args.midi else args.bpm,
                          "offset_semitones": round(phrase.offset, 4), "placed_by": phrase.placed_by,
                          "gain_db": round(phrase.gain_db, 3), "clipped_samples": clipped,
                          "notes": [n.to_json() for n in phrase.notes]}, indent=2))
    else:
        tempo = "" if args.midi else f" at {args.bpm:g} bpm"
        print(f"wrote {args.output} ({phrase.duration_s:.2f} s at {DEFAULT_CONFIG.sample_rate} Hz, "
              f"{len(phrase.notes)} note(s){tempo})")
    return 0


def _cmd_soundfont(args: argparse.Namespace) -> int:
    from synth.instrument import sampled_instrument
    from synth.notes import parse_note

    check_outputs({"-o": args.output}, {"the patch": args.patch})  # before any render
    low, high = (None if key is None else parse_note(key) for key in (args.low, args.high))
    patch = load_patch(args.patch)
    instrument = sampled_instrument(patch, args.every, args.layers, low, high, rate=args.rate,
                                    loop=not args.no_loop, read_pitch=not args.as_note_pitch)
    for message in instrument.messages:
        note(message)
    name = args.name or Path(args.patch).name.removesuffix(".json").removesuffix(".patch")
    size = instrument.write(args.output, name)
    if args.json:
        print(json.dumps({"output": os.fspath(args.output), "name": name[:19], "bytes": size,
                          "sample_rate": args.rate, "release_s": round(instrument.release_s, 6),
                          "velocity_layers": args.layers, "offset_semitones": round(instrument.offset, 4),
                          "placed_by": instrument.placed_by, "zones": instrument.to_json()}, indent=2))
    else:
        first, last = instrument.zones[0], instrument.zones[-1]
        print(f"wrote {args.output} ({size / 1e6:.1f} MB: {len(instrument.zones)} samples at {args.rate} Hz, keys "
              f"{first.keys[0]}-{last.keys[1]}; preset {name[:19]!r}, bank 0, program 0)")
    return 0


def _cmd_spectrogram(args: argparse.Namespace) -> int:
    for message in audio_to_png(args.input, args.output, downmix=args.downmix):
        note(message)
    print(f"spectrogram: {args.output}")
    return 0


def _cmd_fast_render(args: argparse.Namespace) -> int:
    from synth import fast_render

    if args.others and args.action != "clear":
        raise InputError("--others goes with clear (remove only the builds this installation does not use)")
    if args.action == "clear":
        summary = {"removed": fast_render.clear(others_only=args.others), "cache": str(fast_render.cache_root())}
    else:
        pinning = hasattr(os, "sched_setaffinity")  # dataset_gen's workers (one per CPU) need it
        if args.action == "build":
            for kind in fast_render.KINDS:
                fast_render.build(kind, force=args.force, log=note)
            if pinning:
                fast_render.build_one_cpu(force=args.force, log=note)
        others = fast_render.other_entries()
        libraries = {kind: (kind, None) for kind in fast_render.KINDS}
        if pinning:
            libraries["voice_one_cpu"] = ("voice", 1)
        summary = {**{name: {"state": fast_render.state(kind, threads),
                             "entry": str(fast_render.entry_dir(kind, threads))}
                      for name, (kind, threads) in libraries.items()}, **fast_render.cache_key(),
                   "other_builds": {"entries": len(others), "mib": round(fast_render.entries_mib(others), 1)}}
        summary.pop("kind")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        others = summary.pop("other_builds", None)
        print("\n".join(f"{k}: {v['state']} ({v['entry']})" if isinstance(v, dict) else f"{k}: {v}"
                        for k, v in summary.items()))
        if others and others["entries"]:
            print(f"other builds in the cache: {others['entries']} ({others['mib']} MiB; never loaded here: "
                  "`python -m synth fast-render clear --others` removes them)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    result = demo(args.out, args.seed)
    print(f"patch: {result.patch}")
    print(f"audio: {result.audio}")
    print(f"spectrogram: {result.spectrogram}")
    print(f"seed {args.seed}: {result.summary.describe()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m synth",
        description="The 100-parameter synthesizer: parameter table, random patches, rendering and "
                    f"spectrograms ({DEFAULT_CONFIG.bins}x{DEFAULT_CONFIG.frames}, {DEFAULT_CONFIG.sample_rate} Hz, "
                    f"{DEFAULT_CONFIG.duration_s:.3f} s).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("params", help="print the parameter table",
                            description="Print the table of the synth's 100 parameters (name, group, range, "
                                        "scale, unit, discrete choices, description).")
    p.add_argument("--format", choices=TABLE_FORMATS, default="markdown", help="output format (default markdown)")
    p.add_argument("--readme", metavar="FILE", help="instead of printing, rewrite the Markdown table between "
                                                    f"{README_MARKERS[0]} and {README_MARKERS[1]} in FILE")
    p.set_defaults(func=_cmd_params)

    p = commands.add_parser("random", help="write a random patch from the prior",
                            description="Draw row 0 of the shipped patch prior for a seed and save it as a "
                                        "patch JSON file (physical units).")
    p.add_argument("--seed", type=non_negative_int, required=True, help="prior seed (non-negative integer)")
    p.add_argument("-o", "--output", required=True, help="patch JSON file to write")
    p.add_argument("--sampler", choices=SAMPLERS, default="uniform", help="unit-cube design (default uniform)")
    p.add_argument("--prior", choices=PRIOR_VERSIONS, default="1",
                   help="prior version: 1 random patches (default; the documented examples), 2 random + musical")
    p.set_defaults(func=_cmd_random)

    p = commands.add_parser("render", help="render a patch to WAV (and a spectrogram PNG)",
                            description="Render a patch JSON file to a 16-bit mono WAV at "
                                        f"{DEFAULT_CONFIG.sample_rate} Hz, optionally with its spectrogram PNG.")
    p.add_argument("patch", help="patch JSON file (see `python -m synth random`)")
    p.add_argument("-o", "--output", required=True, help="WAV file to write")
    p.add_argument("--png", help="also write the spectrogram as a 512x512 grayscale PNG here")
    p.set_defaults(func=_cmd_render)

    p = commands.add_parser(
        "play", help="play a patch as a phrase of notes and chords -> WAV",
        description="Play a patch (e.g. a candidate of `inverse predict`, rankNN.patch.json) as a phrase: each note "
                    "rendered with note_pitch moved so that it sounds at the pitch written (the patch's own pitch "
                    "read by CREPE first; a patch without one clear pitch, a chord or a drum, is placed by its lowest "
                    "oscillator) and note_gate set to its length, the renders mixed at their onsets with their release "
                    "tails (scaled down to full scale where they overlap above it), written as a 16-bit mono WAV at "
                    f"{DEFAULT_CONFIG.sample_rate} Hz.",
        epilog="example: python -m synth play demo_out/rank01.patch.json --notes 'C3 E3 G3 C4:2 - C3+E3+G3:4' "
               "-o phrase.wav")
    p.add_argument("patch", help="patch JSON file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--notes", metavar="PHRASE",
                      help="space-separated events NOTE[:BEATS]: a note name (C4 = 60, F#3, Bb2) or MIDI number, "
                           "a chord C4+E4+G4, a rest -; BEATS a number or fraction (default 1)")
    what.add_argument("--midi", metavar="FILE", help="play the notes of a Standard MIDI File (.mid, format 0 or 1; "
                                                     "every channel, its own tempo; the patch's velocity kept)")
    p.add_argument("--midi-velocity", action="store_true",
                   help="with --midi: each note's velocity from the file (velocity / 127 as note_velocity) instead "
                        "of the patch's (part of the matched sound)")
    p.add_argument("--bpm", type=positive_float, default=120.0,
                   help="--notes' tempo in beats per minute (default 120)")
    p.add_argument("--as-note-pitch", action="store_true",
                   help="set note_pitch to each note as written, without reading the patch's own pitch")
    p.add_argument("-o", "--output", required=True, help="WAV file to write")
    p.add_argument("--json", action="store_true", help="print what was played as JSON (each note's onset, "
                                                       "note_pitch and gate)")
    p.set_defaults(func=_cmd_play)

    p = commands.add_parser(
        "soundfont", help="write a patch as a sampled instrument (SoundFont 2, .sf2) for samplers and DAWs",
        description="Render a patch (e.g. a candidate of `inverse predict`) every few semitones, each note placed "
                    "to sound at its key as `play` places notes, held for note_gate's longest (3.5 s) and released, "
                    "and write the notes as a SoundFont 2 instrument (one preset, bank 0, program 0): each key plays "
                    "the nearest note, shifted by at most half the spacing, while held (a note whose sound has settled "
                    "loops its sustain: a held key sustains as long as it is held), with the patch's amplifier "
                    "release after the key is let go. Samplers, DAWs and fluidsynth load it.",
        epilog="example: python -m synth soundfont demo_out/rank01.patch.json -o rank01.sf2 && "
               "fluidsynth -ni rank01.sf2 song.mid -F song.wav")
    p.add_argument("patch", help="patch JSON file")
    p.add_argument("-o", "--output", required=True, help="SoundFont 2 file to write (.sf2)")
    p.add_argument("--every", type=int, default=3,
                   help="semitones between sampled notes (default 3: no key shifted by more than a semitone; 1: "
                        "every key its own note, ~3x the size)")
    p.add_argument("--layers", type=int, default=1,
                   help="velocity layers (default 1: the patch's own velocity, scaled by the sampler's usual "
                        "velocity response; 2-8: each range of velocities rendered at its own, so that the synth's "
                        "velocity-to-loudness and to-cutoff are heard, the sampler's own response off)")
    p.add_argument("--low", metavar="NOTE", help="lowest sampled note (C1, 24, ...; default: the lowest key the "
                                                 "patch can play)")
    p.add_argument("--high", metavar="NOTE", help="highest sampled note (default: the highest it can play)")
    p.add_argument("--rate", type=int, default=48000, choices=(16000, 44100, 48000),
                   help="the samples' rate in Hz (default 48000: a sampler at a DAW's rate plays them without audible "
                        "interpolation; 16000, the synth's own, is a third of the size but a sampler's interpolation "
                        "dulls its top octave); the synth's band ends at 8 kHz either way")
    p.add_argument("--no-loop", action="store_true",
                   help="play every note once (its 3.5 s held, then its release), without sustain loops")
    p.add_argument("--name", help="preset name (at most 19 characters kept; default: the patch file's name)")
    p.add_argument("--as-note-pitch", action="store_true",
                   help="set note_pitch to each key as written, without reading the patch's own pitch")
    p.add_argument("--json", action="store_true", help="print the samples (root, keys, velocities, length, peak) "
                                                       "as JSON")
    p.set_defaults(func=_cmd_soundfont)

    p = commands.add_parser("spectrogram", help="audio file -> spectrogram PNG",
                            description="Write the spectrogram PNG of an audio file: resampled to "
                                        f"{DEFAULT_CONFIG.sample_rate} Hz, zero-padded or truncated to "
                                        f"{DEFAULT_CONFIG.duration_s:.3f} s; high frequencies at the top.")
    p.add_argument("input", help="audio file (WAV, FLAC, OGG, MP3, ...; a multichannel file's channels averaged)")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--downmix", action=argparse.BooleanOptionalAction, default=True,
                   help="average the channels of a multichannel file (its loudest channel where they cancel, out of "
                        "phase), noted on stderr (the default; --no-downmix refuses such a file)")
    p.set_defaults(func=_cmd_spectrogram)

    p = commands.add_parser("demo", help="random patch -> patch.json, audio.wav, spectrogram.png",
                            description="Draw a random patch, render it and write DIR/patch.json, "
                                        "DIR/audio.wav and DIR/spectrogram.png.")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="prior seed (default 0)")
    p.set_defaults(func=_cmd_demo)

    p = commands.add_parser("fast-render", help="build, check or clear the fast (compiled) render for this machine",
                            description="The fast render is the synth compiled ahead of time (AOTInductor) for this "
                                        "machine, torch version and synth version (and code), kept in a cache folder "
                                        "($SYNTH_CACHE_DIR, else ~/.cache/inverse-synth): the voice (1-2 minutes on 2 "
                                        "cores) and its gradient (3-6 minutes), and the voice for one CPU that "
                                        "`python -m dataset_gen`'s render workers load (under a minute). Once "
                                        "built, `inverse predict`, `inverse search` and `python -m dataset_gen` "
                                        "render with it; a stale build (other torch, synth or CPU) is never used.")
    p.add_argument("action", choices=("status", "build", "clear"),
                   help="status: ready, stale or missing (each library), and how many other builds the cache "
                        "holds; build: build what is not ready; clear: remove every build (--others: only those "
                        "not used here)")
    p.add_argument("--force", action="store_true", help="build: rebuild even when ready")
    p.add_argument("--others", action="store_true",
                   help="clear: remove only the builds this installation does not use (made for an earlier torch, "
                        "synth code or thread count, or by another installation sharing the cache folder)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_fast_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m synth``; returns the exit status (2 for bad input)."""
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.func(args))
