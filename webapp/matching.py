"""The Match tab's work: an uploaded sound or spectrogram -> ranked candidate patches as a page and a zip.

:func:`run_match` checks the upload (:mod:`webapp.uploads`), loads it as a :class:`~inverse.target.Target`
(only the first 4.088 s of a long file are decoded), refuses silence, and calls
:meth:`inverse.predict.Predictor.predict`. :func:`result_page` renders the answer as HTML: the target's
spectrogram, then per candidate its spectrogram, an audio player, the distances, the parameters that differ
most from the best, and a download of its patch JSON; :func:`result_zip` packs the answer's folder as
``inverse predict --out`` writes it (patches, WAVs, spectrograms, ``candidates.json``, the listening page).
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from inverse.differences import heard_changes
from inverse.predict import Prediction, Predictor
from inverse.quick import quick_budget, quick_options, quick_refine
from inverse.refine import REFINE_METHODS, RefineConfig
from inverse.sampling import SamplingConfig
from inverse.target import load_any_target
from synth.errors import InputError
from synth.params import PARAM_SPECS
from synth.patch import patch_to_dict
from webapp.media import data_uri, spectrogram_png, wav_bytes
from webapp.uploads import MAX_UPLOAD_MB, display_name, upload_kind, user_message

MAX_CANDIDATES = 20
MAX_SEED = 2**31 - 1
#: The form's refinement choices: ``predict``'s methods and "quick", ``inverse predict --quick`` (:mod:`inverse.quick`)
REFINEMENTS = (*REFINE_METHODS, "quick")


@dataclass(frozen=True)
class MatchSettings:
    """What the user chose: candidates returned, refinement (``none``/``gradient``/``cmaes``, or ``quick``: a smaller
    pool and none, as ``inverse predict --quick``), seed, where in
    an uploaded sound the 4.088 s to match begin (``start``, seconds; a lead-in after it is skipped all the same), and
    a time budget for the answer (``seconds``; 0: none; gradient refinement takes the steps that fit; under
    :data:`~inverse.quick.QUICK_BELOW_S` the answer is quick's), whether an
    uploaded sound's steady noise floor and mains hum are taken out first (``gate_noise``, the default,
    :mod:`inverse.noise_floor`, :mod:`inverse.hum`),
    and how much of the sound to keep from where the match begins (``length``, seconds, silence after; 0: all of the
    4.088 s: one note of a melody, :func:`inverse.target.keep_length`)."""

    samples: int = 10
    refine: str = RefineConfig.method
    seed: int = 0
    start: float = 0.0
    seconds: float = 0.0
    gate_noise: bool = True
    length: float = 0.0

    def validate(self) -> None:
        if not isinstance(self.samples, int) or not 1 <= self.samples <= MAX_CANDIDATES:
            raise InputError(f"candidates: expected a whole number from 1 to {MAX_CANDIDATES}, got {self.samples!r}")
        if self.refine not in REFINEMENTS:
            raise InputError(f"refinement: expected one of {', '.join(REFINEMENTS)}, got {self.refine!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise InputError(f"seed: expected a whole number from 0 to {MAX_SEED}, got {self.seed!r}")
        if isinstance(self.start, bool) or not isinstance(self.start, int | float) or not math.isfinite(self.start) \
                or self.start < 0:
            raise InputError(f"start: expected a number of seconds of at least 0, got {self.start!r}")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int | float) \
                or not math.isfinite(self.seconds) or self.seconds < 0:
            raise InputError(f"time budget: expected a number of seconds of at least 0 (0: none), got {self.seconds!r}")
        if isinstance(self.length, bool) or not isinstance(self.length, int | float) \
                or not math.isfinite(self.length) or self.length < 0:
            raise InputError(f"length: expected a number of seconds of at least 0 (0: all), got {self.length!r}")
        if self.seconds and self.refine == "cmaes":
            raise InputError("time budget: it plans gradient refinement's steps; set it to 0 for cmaes")

    @classmethod
    def from_form(cls, samples: float | int | None, refine: str | None, seed: float | int | None,
                  start: float | int | None = 0.0, seconds: float | int | None = 0.0,
                  gate_noise: bool | None = True, length: float | int | None = 0.0) -> MatchSettings:
        """The form's values (gradio numbers arrive as floats; an emptied box as ``None``), validated."""
        def whole(value, name):
            if value is None or (isinstance(value, float) and not value.is_integer()):
                raise InputError(f"{name}: expected a whole number, got {value!r}")
            return int(value)

        settings = cls(whole(samples, "candidates"), refine or RefineConfig.method, whole(seed, "seed"),
                       0.0 if start is None else start, 0.0 if seconds is None else seconds,
                       gate_noise is not False, 0.0 if length is None else length)
        settings.validate()
        return settings


@dataclass
class MatchResult:
    prediction: Prediction
    name: str  # the upload's file name
    seconds: float  # wall time of the prediction


class AnswerNow:
    """The Match tab's "Answer now" button, one per browser session (a ``gr.State``): pressed while a match runs, its
    gradient steps end after the one under way and it answers from them (``Predictor.predict``'s ``stop``, as Ctrl-C
    does for ``inverse predict``; pass :meth:`requested`). A press while no match runs is ignored. Not callable:
    gradio would take a callable state's value for a function that makes it."""

    def __init__(self) -> None:
        self.running = False
        self.pressed = False

    def requested(self) -> bool:
        return self.pressed

    def press(self) -> None:
        self.pressed = self.running


def run_match(predictor: Predictor, path: str, settings: MatchSettings, max_mb: float = MAX_UPLOAD_MB,
              progress: Callable[[float, str], None] | None = None, stop: Callable[[], bool] | None = None
              ) -> MatchResult:
    """Check and load the upload at ``path``, then predict ``settings.samples`` candidates (``stop()`` true: the
    gradient steps end there, see :class:`AnswerNow`)."""
    settings.validate()
    upload_kind(path, max_mb)
    name = display_name(path)
    started = time.perf_counter()
    try:
        # a silent sound is refused here, before predicting
        target = load_any_target(path, start=settings.start, gate_noise=settings.gate_noise,
                                 length=settings.length or None)
    except InputError as error:
        raise InputError(user_message(error, path)) from None
    target.source = name
    target.notes = [web_note(note.replace(path, name)) for note in target.notes]
    quick = settings.refine == "quick" or quick_budget(settings.seconds or None)  # a budget too short for the pool
    refine = quick_refine(bool(settings.seconds), settings.seed) if quick else RefineConfig(method=settings.refine,
                                                                                           seed=settings.seed)
    prediction = predictor.predict(target, settings.samples, seed=settings.seed, refine=refine,
                                   seconds=settings.seconds or None, progress=progress, stop=stop,
                                   **(quick_options(settings.samples) if quick else {}))
    return MatchResult(prediction, name, time.perf_counter() - started)


def match_status(result: MatchResult) -> str:
    """The line over a match's results: how many candidates, for what, in how long, and where "Answer now" ended the
    refinement, after how many of its steps."""
    line = f"{result.prediction.candidates.params.shape[0]} candidates for {result.name} in {result.seconds:.1f} s"
    done = result.prediction.refinement or {}
    if done.get("stopped"):
        line += f"; answered now, after {done['steps']} of {done['planned_steps']} refinement steps"
    return line


def web_note(note: str) -> str:
    """A note of :func:`~inverse.target.load_any_target` in the form's words: ``--start X --length Y`` (a melody's
    first note, :mod:`inverse.melody`) becomes "start X s and length Y s", ``(--length)`` "(length)", and the
    command line's ``--each-note`` goes."""
    note = re.sub(r"--start ([0-9.]+) --length ([0-9.]+)", r"start \1 s and length \2 s", note)
    return note.replace("(--length)", "(length)").replace(" (--each-note answers each)", "")


def differences(params: torch.Tensor, rank: int, top: int = 3) -> list[tuple[str, str, str]]:
    """The ``top`` audible parameters in which candidate ``rank`` (0-based) differs most from the best (largest
    normalised change, its slots in the order closest to the best's; a parameter that neither can be heard in is
    skipped: :func:`inverse.differences.heard_changes`),
    as ``(name, best's value, this one's value)`` in the units people use."""
    if rank == 0:
        return []
    row, order = heard_changes(params, rank)
    shown = [(PARAM_SPECS[i].name, PARAM_SPECS[i].format(float(params[0, i])), PARAM_SPECS[i].format(float(row[i])))
             for i in order]
    return [item for item in shown if item[1] != item[2]][:top]


def result_page(result: MatchResult) -> str:
    """The result as HTML: a target panel, then one card per candidate (best first)."""
    prediction = result.prediction
    c = prediction.candidates
    target = prediction.target
    against = "a reconstruction of the spectrogram" if target.reconstructed else "the uploaded sound"
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in target.notes)
    if not c.diverse:
        notes += ("<li>the pool had too few candidates both close to the target (within "
                  f"{SamplingConfig.within:g}x the best one's MSS) and different from each other; the last ones are "
                  "the closest remaining</li>")
    if (prediction.refinement or {}).get("seconds") is not None:
        notes += f"<li>{html.escape(prediction.budget_line())}</li>"
    if c.pitch is not None and c.pitch.checked:
        notes += f"<li>{html.escape(prediction.pitch_line())}</li>"
    if prediction.swings is not None and any(swing is not None for swing in prediction.swings):
        notes += f"<li>{html.escape(prediction.swing_line())}</li>"
    parts = [
        '<div class="match-result">',
        '<div class="match-target"><h3>Target</h3>',
        f'<img class="spectrogram target-spectrogram" alt="target spectrogram" '
        f'src="{data_uri("image/png", spectrogram_png(target.spectrogram))}">',
        f'<p>{html.escape(result.name)}: {c.params.shape[0]} candidates in {result.seconds:.1f} s. '
        f'Distances are to {against}: <b>match</b> ranks (multi-scale log-mel + spectral shape; lower is closer), '
        f'<b>MSS</b> is the multi-scale log-mel distance alone, <b>dB</b> the mean |dB| difference of the '
        f'spectrograms.</p>',
        f"<ul class=\"match-notes\">{notes}</ul>" if notes else "",
        "</div>",
        '<div class="match-candidates">',
    ]
    for k in range(c.params.shape[0]):
        parts.append(_card(c, k, prediction.form_of[k]))
    parts += ["</div>", "</div>"]
    return "\n".join(parts)


def _pitch_note(c, k: int) -> str:
    """Candidate ``k``'s pitch where the pitch check ran on a pitched target (``inverse.pitch_check``)."""
    if c.pitch is None or not c.pitch.checked:
        return ""
    hz = c.pitch.candidate(k)
    if hz is None:
        return " &middot; no pitch found"
    return f" &middot; {hz:.0f} Hz" + ("" if bool(c.pitch.agrees[k]) else " (not the target's pitch)")


def _card(c, k: int, form_of: int | None = None) -> str:
    """Candidate ``k``'s card; ``form_of``: the earlier candidate whose sound it writes in another form, if any."""
    name = f"rank{k + 1:02d}"
    patch = json.dumps(patch_to_dict(c.params[k]), indent=2).encode()
    changed = differences(c.params, k) if form_of is None else []
    if form_of is not None:
        diff = (f'<p class="differs">the sound of #{form_of + 1} in another form (slot order, octave/semitone '
                'offsets, inaudible settings)</p>')
    elif changed:
        rows = "".join(f"<li><code>{html.escape(n)}</code> {html.escape(a)} &rarr; {html.escape(b)}</li>"
                       for n, a, b in changed)
        diff = f'<ul class="differs">{rows}</ul>'
    else:
        diff = '<p class="differs">the best match</p>'
    return (
        f'<div class="candidate" data-rank="{k + 1}">'
        f'<div class="card-title">#{k + 1} &middot; match {float(c.match[k]):.3f} &middot; '
        f'MSS {float(c.mss[k]):.3f} &middot; '
        f'{float(c.distance_db[k]):.2f} dB{_pitch_note(c, k)}</div>'
        f'<img class="spectrogram candidate-spectrogram" alt="spectrogram of candidate {k + 1}" '
        f'src="{data_uri("image/png", spectrogram_png(c.spectrogram[k]))}">'
        f'<audio controls preload="metadata" src="{data_uri("audio/wav", wav_bytes(c.audio[k]))}"></audio>'
        f"{diff}"
        f'<a class="download-patch" download="{name}.patch.json" '
        f'href="{data_uri("application/json", patch)}">patch JSON</a>'
        "</div>"
    )


def result_zip(result: MatchResult) -> bytes:
    """The answer's folder as ``inverse predict --out`` writes it (:meth:`Prediction.write`: ``candidates.json``,
    ``rankNN.patch.json|.wav|.png`` per candidate, ``target.wav|.png``, the listening page ``index.html`` and
    ``melody.mid`` where the target steps through a melody), without the comparison figure (matplotlib, ~0.7 s
    more on every answer), zipped; the target named as uploaded."""
    prediction = result.prediction
    prediction = replace(prediction, target=replace(prediction.target, source=result.name))
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="match-zip-") as folder, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(prediction.write(folder, figure=False)):
            archive.write(path, path.name)
    return buffer.getvalue()


def download_link(result: MatchResult) -> str:
    """An HTML link that downloads :func:`result_zip` (no file on the server)."""
    stem = result.name.rsplit(".", 1)[0] or "target"
    return (f'<a class="download-all" download="{html.escape(stem)}-candidates.zip" '
            f'href="{data_uri("application/zip", result_zip(result))}">all candidates (zip: patches, WAVs, '
            f'spectrograms, candidates.json{", the melody as MIDI" if result.prediction.melody_phrase else ""} and '
            f'index.html, a page to listen to the target and each candidate)</a>')
