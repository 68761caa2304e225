"""``Predictor``: a trained model -> ranked, different candidate patches for a target sound.

>>> predictor = Predictor.from_checkpoint("runs/inverse/best")
>>> prediction = predictor.predict("target.png", samples=10)      # or a WAV, .npy, or Tensor[512, 512]
>>> prediction.table()                                            # ranked text table
>>> prediction.write("out/")                     # JSON, patches, WAVs, PNGs, figure, listening page
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from inverse import checkpoint
from inverse.differences import form_sources, heard_changes
from inverse.flow import FlowNet, load_flow
from inverse.listening_page import FIGURE, TARGET_PNG, TARGET_WAV, write_listening_page
from inverse.melody import melody_phrase as phrase_of
from inverse.model import InverseModel
from inverse.modulation import LOUD_DB, Swing, tremolo_amount
from inverse.quick import QUICK_BELOW_S, quick_budget
from inverse.refine import RefineConfig, refine_candidates, refinement_fits
from inverse.retrieval import DEFAULT_INDEX, RetrievalIndex
from inverse.sampling import Candidates, SamplingConfig, checks_pitch, scored_pool
from inverse.target import Target, load_any_target
from synth import perceptual
from synth.audio_io import write_wav
from synth.errors import InputError
from synth.fast_render import RENDER_PATHS
from synth.fast_render import resolve as resolve_render_path
from synth.image_io import write_png
from synth.params import PARAM_NAMES, physical_dict
from synth.patch import save_patch
from synth.pitch import CENTS_TOLERANCE
from synth.spectrogram import DEFAULT_CONFIG, quantize

DEFAULT_MODEL = checkpoint.DEFAULT_MODEL
DEFAULT_FLOW = checkpoint.DEFAULT_FLOW
RANK_FILE = re.compile(r"rank(\d+)\.(?:patch\.json|wav|png)")  # what Prediction.write names a candidate's files


def _is_file(path: Path, source: str) -> bool:
    """Whether ``path`` is the file ``source`` names (a target's source may also be a description, not a path)."""
    try:
        return path.exists() and Path(source).exists() and path.samefile(source)
    except OSError:
        return False


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class Prediction:
    target: Target
    candidates: Candidates
    render: dict[str, str] | None = None  # synth.render path per stage ({"ranking": "fast", "refinement": ...})
    # how the candidates were refined: {"method", "steps" (gradient steps taken, else None)}, with a time budget also
    # {"seconds", "planned_steps", "pitch_rounds", "asked"} (predict's seconds, refine.steps, the rounds the pitch check
    # ran where the budget stopped it, else None, and the method asked for); stopped early by Ctrl-C (predict's stop)
    # also {"stopped": True, "planned_steps"} (CMA-ES: {"stopped": True})
    refinement: dict | None = None
    # the target's vibrato and tremolo (inverse.modulation; None where it has none) where predict looked for them
    # (SamplingConfig.modulation), else None
    swings: tuple[Swing | None, Swing | None] | None = None
    # one note cut from a melody (--each-note): the whole melody as phrase text (inverse.melody.melody_phrase)
    file_melody: str | None = None

    @property
    def melody_phrase(self) -> str | None:
        """The melody the target steps through as phrase text (a candidate plays it with ``python -m synth play``),
        or for one note cut from a melody, the whole melody's; None: no melody."""
        if self.file_melody:
            return self.file_melody
        return phrase_of(self.target.melody) if self.target.melody else None

    @property
    def source(self) -> str:
        return self.target.source

    @property
    def notes(self) -> list[str]:
        return self.target.notes

    @functools.cached_property
    def mss_weight(self) -> float:
        """How much the match weighs the MSS against this target (above 1 for a short one:
        :func:`synth.perceptual.mss_weight`)."""
        return float(perceptual.mss_weight(self.target.features)[0])

    @functools.cached_property
    def form_of(self) -> list[int | None]:
        """Per candidate, the earlier candidate (0-based) whose sound it writes in another form, or None
        (:func:`inverse.differences.form_sources`)."""
        return form_sources(self.candidates.params)

    def differences(self, rank: int, top: int = 3) -> str:
        """How candidate ``rank`` (0-based) differs from the best: its largest normalised changes that can be
        heard, its slots in the order closest to the best's (:func:`inverse.differences.heard_changes`), or
        which earlier candidate's sound it writes in another form."""
        if rank == 0:
            return "(best)"
        source = self.form_of[rank]
        if source is not None:
            return f"= #{source + 1} in another form (slot order, octave/semitone offsets, inaudible settings)"
        row, order = heard_changes(self.candidates.params, rank)
        best = self.candidates.params[0]
        return ", ".join(f"{PARAM_NAMES[i]} {float(row[i] - best[i]):+.2f}" for i in order[:top])

    def table(self) -> str:
        c = self.candidates
        check = c.pitch
        pitched = check is not None and check.checked
        lines = [f"{'rank':>4}  {'match':>6}  {'MSS':>6}  {'dB':>5}  {'pitch':>7}  differs from #1 in (normalised)"]
        for k in range(c.params.shape[0]):
            hz = check.candidate(k) if pitched else None
            pitch = "-" if hz is None else f"{hz:.0f}Hz{'' if bool(check.agrees[k]) else '!'}"
            lines.append(f"{k + 1:>4}  {float(c.match[k]):>6.3f}  {float(c.mss[k]):>6.3f}  "
                         f"{float(c.distance_db[k]):>5.2f}  {pitch:>7}  {self.differences(k)}")
        against = "a reconstruction of the target spectrogram" if self.target.reconstructed else "the target audio"
        weighed = ("MSS" if self.mss_weight == 1 else
                   f"MSS x {self.mss_weight:.1f}, per sounding frame of a target that sounds in "
                   f"{100 * perceptual.SOUNDING_SHARE / self.mss_weight:.0f} % of the window,")
        lines.append(f"match: the ranking distance ({weighed} + spectral shape), MSS: multi-scale log-mel distance, "
                     f"both against {against}; dB: mean |dB difference| of the 512x512 spectrograms")
        if pitched:
            lines.append(f"pitch: {self.pitch_line()} ('!': another pitch, '-': none found)")
        elif check is not None:
            lines.append("pitch: the target has no clear pitch; candidates in match order")
        if self.swings is not None and any(swing is not None for swing in self.swings):
            lines.append(f"swing: {self.swing_line()} (--modulation 0: none)")
        if (self.refinement or {}).get("seconds") is not None:
            lines.append(self.budget_line())
        if (self.refinement or {}).get("stopped"):
            done = self.refinement
            lines.append("refinement: stopped by Ctrl-C (CMA-ES: the candidates it had not reached left unrefined)"
                         if done["steps"] is None else
                         f"refinement: stopped by Ctrl-C after {done['steps']} of {done['planned_steps']} gradient "
                         f"steps (--steps {done['steps']} gives this answer again)")
        if not self.candidates.diverse:
            lines.append("note: the pool had too few candidates both close to the target (within --within x the best "
                         "one's MSS) and different from each other (--min-distance); the last ones are the closest "
                         "remaining (raise --pool or --retrieved)")
        return "\n".join(lines)

    def pitch_line(self) -> str:
        """The target's pitch and how many candidates have it (which come first), where the target has a clear one."""
        check = self.candidates.pitch
        agree, count, within = int(check.agrees.sum()), len(check.agrees), f"within {CENTS_TOLERANCE:.0f} cents of it"
        said = (f"none of the candidates is {within} (the closest sounds are off it)" if agree == 0 else
                f"all {count} candidates are {within}" if agree == count else
                f"the {agree} candidate{'s' * (agree > 1)} {within} come{'s' * (agree == 1)} first")
        return f"the target's pitch is {check.target_hz:.1f} Hz; {said}"

    def swing_line(self) -> str:
        """The swings of pitch (vibrato) and level (tremolo) read off the target, where it has either, and what was
        done with them."""
        vibrato, tremolo = self.swings
        read = []
        if vibrato is not None:
            read.append(f"pitch swings at {vibrato.rate_hz:.1f} Hz, {vibrato.depth:.0f} cents deep (a vibrato)")
        if tremolo is not None and 2 * tremolo.depth >= LOUD_DB:  # its troughs reach the level track's floor
            read.append(f"level swings at {tremolo.rate_hz:.1f} Hz by more than {LOUD_DB:.0f} dB, the sound coming and "
                        f"going (like a gate, or a tremolo at full depth)")
        elif tremolo is not None:
            read.append(f"level swings at {tremolo.rate_hz:.1f} Hz, {2 * tremolo.depth:.1f} dB from peak to trough "
                        f"(a tremolo)")
        return (f"the target's {' and its '.join(read)}; copies of candidates with the synth's LFOs in step with it "
                f"were tried")

    def budget_line(self) -> str:
        """What a time budget (``predict(seconds=...)``) left of the refinement, and the options that repeat it (in
        place of ``--seconds``). A budget under :data:`~inverse.quick.QUICK_BELOW_S` answers as ``--quick`` does
        (:func:`inverse.cli.parse_args`, :func:`webapp.matching.run_match`), so its options start with ``--quick``."""
        done, seconds = self.refinement, self.refinement["seconds"]
        rounds = done.get("pitch_rounds")
        checked = "" if rounds is None else f", the pitch check stopped after {rounds} of its rounds"
        again = "" if rounds is None else f" --pitch-rounds {rounds}"
        quick = quick_budget(seconds)
        if done["method"] == "none" and done.get("asked", "gradient") == "none" and quick:
            return (f"refinement: none, a --seconds budget under {QUICK_BELOW_S:g} s answers as --quick does{checked} "
                    f"(--quick{again} gives this answer again)")
        if done["method"] == "none" and done.get("asked", "gradient") == "none":
            return (f"refinement: none, as asked{checked}" + (f" (--pitch-rounds {rounds} gives this answer again)"
                                                              if again else ""))
        if done["method"] == "none":
            return (f"refinement: none, the pool left too little of the --seconds {seconds:g} budget{checked} "
                    + (f"(--quick{again} gives this answer again)" if quick else
                       f"(--refine none{again} gives this answer again; --quick answers in about a second)"))
        chosen = f"--quick --refine gradient --refine-rows {done['rows']} --retune {done['retune']} " if quick else ""
        steps = f"{chosen}--steps {done['steps']}{again}"
        return (f"refinement: {done['steps']} of up to {done['planned_steps']} gradient steps fitted the --seconds "
                f"{seconds:g} budget{checked} ({steps} gives this answer again)")

    def to_json(self) -> dict:
        c = self.candidates
        check = c.pitch
        pitch = {} if check is None else {"pitch_hz": round(check.target_hz, 2) if check.checked else None}
        return {
            "target": {"source": self.source, "start_s": round(self.target.start_s, 6),
                       "length_s": self.target.length_s,
                       "melody": [{"note": round(n.note, 2), "name": n.name, "start_s": round(n.start_s, 3),
                                   "end_s": round(n.end_s, 3)} for n in self.target.melody],
                       **({"melody_phrase": self.melody_phrase} if self.melody_phrase else {}),
                       "notes": self.notes,
                       "audio_reconstructed": self.target.reconstructed,
                       "mss_weight": round(self.mss_weight, 4), **pitch, **self._swings_json()},
            "diverse": c.diverse,
            **({"render": self.render} if self.render else {}),
            **({"refinement": self.refinement} if self.refinement else {}),
            "candidates": [
                {"rank": k + 1, "match": round(float(c.match[k]), 4), "mss": round(float(c.mss[k]), 4),
                 "distance_db": round(float(c.distance_db[k]), 4),
                 "form_of": None if self.form_of[k] is None else self.form_of[k] + 1,
                 **({"pitch_hz": _rounded(check.candidate(k)), "pitch_agrees": bool(check.agrees[k])}
                    if check is not None and check.checked else {}),
                 "params": physical_dict(c.params[k]), "normalized": [round(float(x), 6) for x in c.params[k]]}
                for k in range(c.params.shape[0])
            ],
        }

    def _swings_json(self) -> dict:
        """``{"vibrato": {"rate_hz", "depth_cents"}, "tremolo": {"rate_hz", "depth_db", "lfo2_tremolo"}}`` for the
        swings read off the target (each None where it has none); empty where predict did not look."""
        if self.swings is None:
            return {}
        vibrato, tremolo = self.swings
        return {"vibrato": None if vibrato is None else {"rate_hz": round(vibrato.rate_hz, 3),
                                                         "depth_cents": round(vibrato.depth, 1)},
                "tremolo": None if tremolo is None else {"rate_hz": round(tremolo.rate_hz, 3),
                                                         "depth_db": round(tremolo.depth, 2),
                                                         "lfo2_tremolo": round(tremolo_amount(tremolo.depth), 3)}}

    def melody_midi(self) -> bytes | None:
        """The melody (:attr:`melody_phrase`) as a Standard MIDI File at 120 bpm, or None."""
        if not self.melody_phrase:
            return None
        from synth.midi_file import MidiNote, midi_bytes  # only for a melody: not on predict's start-up
        from synth.phrase import parse_phrase, timed

        return midi_bytes([MidiNote(n.onset_s, n.length_s, round(n.note), 100, 0)
                           for n in timed(parse_phrase(self.melody_phrase), 60.0)])

    def write(self, out_dir: str | Path, figure: bool = True) -> list[Path]:
        """candidates.json, and per candidate ``rankNN.patch.json|.wav|.png``, plus comparison.png (not with
        ``figure`` False: the one file that needs matplotlib, ~0.7 s), the target as the
        match heard it (``target.wav``, ``target.png``: not where either would replace the target's own file), the
        page that plays them all (``index.html``, :mod:`inverse.listening_page`), and melody.mid
        where the target steps through a melody (:attr:`melody_phrase` as a MIDI file). The rank files of an earlier
        answer in the same folder beyond this one's count are removed, and its melody.mid (a folder holds one answer;
        other files are left alone). ``candidates.json`` is removed first and written last, so a folder that holds it
        holds a whole answer (an interrupted write leaves none)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        count = self.candidates.params.shape[0]
        summary = out / "candidates.json"
        summary.unlink(missing_ok=True)
        for old in out.glob("rank*"):
            earlier = RANK_FILE.fullmatch(old.name)
            if earlier and int(earlier[1]) > count and old.is_file():
                old.unlink()
        written = []
        for k in range(count):
            stem = out / f"rank{k + 1:02d}"
            save_patch(stem.with_suffix(".patch.json"), self.candidates.params[k])
            write_wav(stem.with_suffix(".wav"), self.candidates.audio[k], DEFAULT_CONFIG.sample_rate)
            write_png(stem.with_suffix(".png"), quantize(self.candidates.spectrogram[k]).numpy())
            written += [stem.with_suffix(s) for s in (".patch.json", ".wav", ".png")]
        figure_path = out / FIGURE
        figure_path.unlink(missing_ok=True)
        if figure:
            from inverse.figures import comparison_figure  # matplotlib: ~0.4 s to import, only for a figure

            written.append(comparison_figure(self.target.spectrogram, self.candidates.spectrogram,
                                             self.candidates.match, figure_path, title=f"target: {self.source}",
                                             form_of=self.form_of))
        for name, write in ((TARGET_WAV, lambda path: write_wav(path, self.target.audio, DEFAULT_CONFIG.sample_rate)),
                            (TARGET_PNG, lambda path: write_png(path, quantize(self.target.spectrogram).numpy()))):
            if not _is_file(out / name, self.source):  # `predict out/target.wav --out out` keeps its input
                write(out / name)
                written.append(out / name)
        written.append(write_listening_page(self, out, figure=figure))
        melody, midi = out / "melody.mid", self.melody_midi()
        melody.unlink(missing_ok=True)
        if midi is not None:
            melody.write_bytes(midi)
            written.append(melody)
        summary.write_text(json.dumps(self.to_json(), indent=2))
        return [summary, *written]


class Predictor:
    """Wraps a trained :class:`InverseModel` and, optionally, a flow sampler trained on its latents
    (:mod:`inverse.flow`) and a retrieval index over a training set (:mod:`inverse.retrieval`), whose nearest
    patches join the model's pool; ``predict`` returns a :class:`Prediction`."""

    def __init__(self, model: InverseModel, flow: FlowNet | None = None, index: RetrievalIndex | None = None):
        self.model = model.eval()
        self.flow = flow
        self.index = index

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, device: str = "cpu",
                        flow: str | Path | None = "auto", index: str | Path | None = "auto") -> Predictor:
        """``flow``: a flow checkpoint, ``None`` (latent sampling), or ``"auto"``: the shipped flow when the
        shipped model is used and a flow is shipped for it. ``index``: a retrieval index (``inverse index``),
        ``None`` (the model's candidates only), or ``"auto"``: the shipped index where one is shipped (it
        depends on the synth, not on the model)."""
        path = Path(path) if path is not None else DEFAULT_MODEL
        if path == DEFAULT_MODEL and not DEFAULT_MODEL.with_suffix(".json").exists():
            raise InputError("no default model is shipped with this installation; train one (`inverse train "
                             "--train data/train.h5 --out runs/NAME`) and pass --model runs/NAME/best")
        if flow == "auto":
            flow = DEFAULT_FLOW if path == DEFAULT_MODEL and DEFAULT_FLOW.with_suffix(".json").exists() else None
        sampler = None if flow is None else load_flow(flow, checkpoint.paths(path)[0])[0].to(device)
        if index == "auto":
            index = DEFAULT_INDEX if DEFAULT_INDEX.with_suffix(".json").exists() else None
        found = None if index is None else RetrievalIndex.load(index)
        return cls(checkpoint.load(path, device)[0], sampler, found)

    def predict(self, target: Target | torch.Tensor | str | Path, samples: int = 10, *, pool: int = SamplingConfig.pool,
                retrieved: int = SamplingConfig.retrieved, sigma: float = SamplingConfig.sigma,
                min_distance: float = SamplingConfig.min_distance, within: float = SamplingConfig.within,
                match_within: float = SamplingConfig.match_within,
                expand: int = SamplingConfig.expand, spread: int = SamplingConfig.spread,
                plain: int = SamplingConfig.plain, refit: int = SamplingConfig.refit,
                chords: int = SamplingConfig.chords, glides: int = SamplingConfig.glides,
                modulation: int = SamplingConfig.modulation,
                harmonics: int = SamplingConfig.harmonics, seed: int = 0,
                convert: bool = False, downmix: bool = True, start: float = 0.0, align: bool = True,
                gate_noise: bool = True, length: float | None = None,
                refine: RefineConfig | None = None, pitch_check: bool = True,
                pitch_rounds: int = SamplingConfig.pitch_rounds, pitch_fill: bool = SamplingConfig.pitch_fill,
                render: str = "auto", seconds: float | None = None,
                progress: Callable[[float, str], None] | None = None,
                stop: Callable[[], bool] | None = None) -> Prediction:
        """target: a :class:`~inverse.target.Target`, a normalised ``Tensor[512, 512]`` or a path to a
        spectrogram PNG, an audio file or a ``.npy``; ``convert``, ``downmix``, ``start`` (seconds into an audio
        file), ``align`` (skip its lead-in of silence or steady noise), ``gate_noise`` (gate out a steady noise
        floor and take out mains hum; ``--keep-noise`` turns it off) and ``length`` (seconds of it kept, silence
        after; None: all) as
        :func:`~inverse.target.load_any_target`;
        ``retrieved``: nearest training patches added to the pool (with an index);
        ``refine``: optional refinement of the sampled candidates (:mod:`inverse.refine`);
        ``within``: every returned candidate's MSS at most ``within`` x the best one's
        (:func:`~inverse.sampling.select_spread`); ``match_within``: those whose match distance is above this x the
        best one's replaced by other forms of the others (0: none; :func:`~inverse.fill.fill_misses`);
        ``spread``: draws of inaudible parameters when the returned are written in their most mutually
        different forms (:mod:`inverse.spread`; 0: as chosen);
        ``plain``: pool rows whose loudness settings make plain candidates at a clear target pitch
        (:mod:`inverse.plain`; 0: none);
        ``refit``: best pool rows given a copy with the amplifier envelope fitted to the target (0: none);
        ``chords``: sets of the notes a target holds at once played as plain patches (:mod:`inverse.chord`; 0: none);
        ``glides``: pool rows whose loudness settings make plain patches bent by the target's pitch glide, where it
        has one (:mod:`inverse.glide`; 0: none);
        ``modulation``: best pool rows copied with their LFOs swinging in step with the target's vibrato and tremolo,
        where it has one (:mod:`inverse.modulation`; 0: none);
        ``harmonics``: fits of a clearly pitched target's partial balance by the oscillators at multiples of its note
        played as plain patches (:mod:`inverse.harmonics`; 0: none);
        ``pitch_check``: where the target has a clear pitch, candidates off it moved onto it where they stay as
        close, and those with its pitch first (:mod:`inverse.pitch_check`), in at most ``pitch_rounds`` rounds;
        ``pitch_fill``: after the check, those still off the pitch replaced by other forms of those on it
        (:mod:`inverse.fill`);
        ``render``: how candidates are rendered (:func:`synth.render`): ``auto`` takes the fast render when it
        is built on this machine (``python -m synth fast-render build``; with gradient refinement, its gradient
        library too), ``fast`` builds what is missing first;
        ``seconds``: a time budget for this call: gradient refinement takes as many of ``refine.steps`` as fit
        (:func:`~inverse.refine.refine_candidates`' ``finish_by``), none when the pool left too little of it
        (:func:`~inverse.refine.refinement_fits`), and the pitch check's rounds stop where one would not fit; the
        pool always runs, so a budget shorter than it is overrun. The result's ``refinement`` says what ran
        (``refine.steps`` set to the steps taken, or ``refine.method`` ``none``, and ``pitch_rounds`` to the rounds
        where the check stopped early, give the same answer again);
        ``progress(fraction, stage)``: called as each stage starts (fraction of the work done, in [0, 1));
        ``stop()``: true ends the gradient steps after the current one and the answer is finished from there (Ctrl-C in
        the command line, :mod:`inverse.finish_early`); the result's ``refinement`` then has ``stopped`` and
        ``planned_steps``."""
        started = time.perf_counter()
        report = progress or (lambda fraction, stage: None)
        config = SamplingConfig(pool=pool, retrieved=retrieved, samples=samples, sigma=sigma,
                                min_distance=min_distance, within=within, match_within=match_within,
                                expand=expand, spread=spread, plain=plain, refit=refit, chords=chords, glides=glides,
                                modulation=modulation,
                                harmonics=harmonics, seed=seed,
                                pitch_check=pitch_check, pitch_rounds=pitch_rounds, pitch_fill=pitch_fill)
        refine = refine or RefineConfig()
        try:
            config.validate()
            refine.validate()
        except ValueError as error:
            raise InputError(str(error)) from None
        if seconds is not None and not seconds > 0:
            raise InputError(f"--seconds must be positive, got {seconds}")
        if seconds is not None and refine.method == "cmaes":
            raise InputError("--seconds plans gradient steps (--refine gradient); --refine cmaes has --budget")
        if render not in RENDER_PATHS:
            raise InputError(f"unknown render path {render!r}; expected one of {', '.join(RENDER_PATHS)}")
        report(0.0, "reading the target")
        gradients = refine.method == "gradient"
        if render == "fast":  # build what is missing now
            render = resolve_render_path(render, log=lambda line: report(0.0, line), gradients=gradients)
        # auto: the fast path where what it needs is built (ranking needs the voice, gradient steps its gradient too)
        paths = {"ranking": resolve_render_path(render),
                 "refinement": resolve_render_path(render, gradients=gradients) if refine.method != "none" else "-"}
        target = load_any_target(target, convert=convert, downmix=downmix, start=start, align=align,
                                 gate_noise=gate_noise, length=length)
        size = pool + (min(retrieved, len(self.index)) if self.index is not None else 0)
        report(0.02, f"sampling, rendering and ranking {size} candidates")
        pool_started = time.perf_counter()
        scored = scored_pool(self.model, target, config, paths["ranking"], self.flow, self.index)
        final = paths["refinement"] if refine.method != "none" else paths["ranking"]  # also the pitch check's
        finish_by = None if seconds is None else started + seconds
        planned, asked = refine.steps, refine.method
        now = time.perf_counter()
        if finish_by is not None and refine.method == "gradient" and not refinement_fits(
                refine, now - pool_started, finish_by - now, checks_pitch(config, target), config):
            refine = replace(refine, method="none")  # the pool left too little of the budget: choose from it
        # the pool took about a quarter of the time on the demo target (6.1 of 26 s), refinement and choice the rest
        start = 0.25 if refine.method != "none" else 0.6
        candidates = refine_candidates(*scored, target, refine, config, final,
                                       progress=lambda fraction, stage: report(start + (1 - start) * fraction, stage),
                                       finish_by=finish_by, pool_seconds=now - pool_started, stop=stop)
        refinement = {"method": refine.method, "steps": candidates.refined_steps}
        if stop is not None and stop() and refine.method == "gradient" and candidates.refined_steps < planned:
            refinement.update(stopped=True, planned_steps=planned)
        elif stop is not None and stop() and refine.method == "cmaes":
            refinement.update(stopped=True)
        if seconds is not None:
            check = candidates.pitch
            rounds = None if check is None else check.stopped_after
            refinement.update(seconds=seconds, planned_steps=planned, pitch_rounds=rounds, asked=asked,
                              rows=refine.rows, retune=refine.retune)
        return Prediction(target, candidates, paths, refinement, target.swings if config.modulation else None)
