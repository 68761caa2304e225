"""The page: three gradio tabs (Match, Enhance, Synth) wired to :mod:`webapp.matching`,
:mod:`webapp.enhancing` and :mod:`webapp.editor`.

Event handlers never raise for bad input: an :class:`~synth.errors.InputError` becomes an error line in the
tab's status box (it stays on the page, unlike a toast), and the server logs anything unexpected while the
page shows gradio's generic error, never a stack trace. Each kind of event has its own queue
(``concurrency_limit``), so one user's long match never blocks another user's synth renders or enhancements.
"""

from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from inverse.predict import Predictor
from inverse.quick import QUICK_BELOW_S
from inverse.refine import RefineConfig
from specmask.checkpoint import classes as mask_classes
from specmask.config import ANY
from specmask.enhance import MODES
from synth.errors import InputError
from webapp import editor
from webapp.enhancing import run_enhance
from webapp.matching import (
    MAX_CANDIDATES,
    REFINEMENTS,
    AnswerNow,
    MatchSettings,
    download_link,
    match_status,
    result_page,
    run_match,
)
from webapp.media import spectrogram_image
from webapp.uploads import user_message

log = logging.getLogger("webapp")

CSS = """
.match-candidates { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 12px; }
.candidate { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px; }
.candidate .card-title { margin: 0 0 6px 0; font-weight: 600; font-size: 0.9em; }
.candidate audio { width: 100%; margin: 6px 0; }
.spectrogram { width: 256px; height: 256px; image-rendering: auto; border-radius: 4px; }
.differs { font-size: 0.85em; margin: 4px 0; padding-left: 1.2em; }
.match-target { margin-bottom: 12px; }
.status-error { color: var(--error-text-color, #c00); font-weight: 600; }
"""


@dataclass
class Services:
    """What the handlers share: the loaded sound-matching model, the mask models' checkpoints by the names the Enhance
    tab offers (the first is chosen at the start: the shipped ones, ``default`` first, or the one ``--mask-model``
    names), the app's temporary directory (everything the app writes goes below it) and the upload limit in MB."""

    predictor: Predictor
    mask_models: dict[str, Path]
    workdir: Path
    max_mb: float


def _error(message: str) -> str:
    return f'<p class="status-error" id="error-message">error: {html.escape(message)}</p>'


def build(services: Services) -> gr.Blocks:
    """The Blocks app (not launched)."""
    with gr.Blocks(title="inverse-synth: sound matching", analytics_enabled=False,
                   delete_cache=(600, 3600)) as app:
        gr.Markdown("# inverse-synth\nDrop a sound (or a 512x512 spectrogram PNG) to get synth patches that "
                    "sound like it; clean a recording with the mask model; tweak a patch and hear it.")
        params_state = gr.State(None)  # the last match's candidates, normalised [K][100]
        answer_now = gr.State(AnswerNow())  # the "Answer now" button's flag (a copy per session)
        patch_state = gr.State(None)  # the Synth tab's patch, normalised [100]
        with gr.Tabs(selected="match") as tabs:
            with gr.Tab("Match", id="match"):
                match_inputs, match_outputs, match_button, now_button, open_rank, open_button = _match_tab()
            with gr.Tab("Enhance", id="enhance"):
                enhance_inputs, enhance_outputs, enhance_button = _enhance_tab(
                    mask_classes(next(iter(services.mask_models.values()))), list(services.mask_models))
            with gr.Tab("Synth", id="synth"):
                patch_file, sliders, synth_outputs, (phrase_inputs, play_button, phrase_audio), (
                    font_button, font_file) = _synth_tab()

        def match(upload, recording, samples, refine, seed, start, seconds, gate_noise, length, now: AnswerNow,
                  progress=gr.Progress()):  # noqa: B008 (gradio)
            path = upload or recording
            now.running, now.pressed = True, False
            try:
                settings = MatchSettings.from_form(samples, refine, seed, start, seconds, gate_noise, length)
                result = run_match(services.predictor, path, settings, services.max_mb,
                                   progress=lambda fraction, stage: progress(fraction, desc=stage),
                                   stop=now.requested)
                progress(0.95, desc="building the page")
                params = result.prediction.candidates.params
                return (result_page(result), download_link(result), match_status(result), params.tolist())
            except (InputError, FileNotFoundError) as error:
                return "", "", _error(user_message(error, path)), None
            finally:
                now.running = False

        match_button.click(match, [*match_inputs, answer_now], [*match_outputs, params_state], concurrency_limit=2,
                           concurrency_id="match")
        now_button.click(AnswerNow.press, [answer_now], None, queue=False)  # at once, beside the running match

        def enhance(upload, recording, model, mode, strength, floor, exponent, allow_clipped, keep):
            path = upload or recording
            try:
                if model not in services.mask_models:
                    raise InputError(f"model: expected one of {', '.join(services.mask_models)}, got {model!r}")
                result = run_enhance(services.mask_models[model], path, services.workdir, mode, strength, floor,
                                     allow_clipped, services.max_mb, keep, exponent)
                return str(result.audio), str(result.figure), str(result.mask), result.summary
            except (InputError, FileNotFoundError) as error:
                return None, None, None, _error(user_message(error, path))

        enhance_button.click(enhance, enhance_inputs, enhance_outputs, concurrency_limit=2, concurrency_id="enhance")

        def show_patch(params: torch.Tensor, note: str):
            audio, spec = editor.render_patch(params)
            audio = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)  # what the player expects
            path = editor.write_patch(params, _request_dir(services.workdir))
            return ((editor.SAMPLE_RATE, audio), spectrogram_image(spec), str(path), note, params.tolist())

        def load(path):
            try:
                params = editor.read_patch(path) if path else editor.default_patch()
            except (InputError, FileNotFoundError) as error:
                return [gr.skip()] * (len(sliders) + 3) + [_error(user_message(error, path)), gr.skip()]
            note = f"loaded {Path(path).name}" if path else "the shipped example patch"
            return [*editor.slider_values(params), *show_patch(params, note)]

        def edit(base, *values):
            try:
                params = editor.apply_sliders(torch.tensor(base) if base else editor.default_patch(), list(values))
            except InputError as error:
                return gr.skip(), gr.skip(), gr.skip(), _error(str(error)), gr.skip()
            return show_patch(params, "rendered the edited patch")

        def open_candidate(candidates, rank):
            problem = ("match a sound first" if not candidates else None if rank is not None and
                       1 <= int(rank) <= len(candidates) else f"candidate: expected 1 to {len(candidates)}")
            if problem:
                return [gr.skip()] * (len(sliders) + 3) + [_error(problem), gr.skip(), gr.skip()]
            params = torch.tensor(candidates[int(rank) - 1])
            return [*editor.slider_values(params), *show_patch(params, f"candidate #{int(rank)} of the last match"),
                    gr.Tabs(selected="synth")]

        def play_phrase(base, text, bpm, midi):
            try:
                audio, note = editor.play_phrase(torch.tensor(base) if base else editor.default_patch(), text, bpm,
                                                 midi)
            except InputError as error:
                return None, _error(str(error))
            return (editor.SAMPLE_RATE, audio), f"<p>{html.escape(note)}</p>"

        play_button.click(play_phrase, [patch_state, *phrase_inputs], [phrase_audio, synth_outputs[-1]],
                          concurrency_id="synth", concurrency_limit=2)

        def soundfont(base):
            try:
                path, note = editor.write_soundfont(torch.tensor(base) if base else editor.default_patch(),
                                                    _request_dir(services.workdir))
            except InputError as error:  # a silent patch
                return None, _error(str(error))
            return str(path), f"<p>{html.escape(note)}</p>"

        font_button.click(soundfont, [patch_state], [font_file, synth_outputs[-1]], concurrency_id="synth",
                          concurrency_limit=2)
        synth_targets = [*synth_outputs, patch_state]
        patch_file.upload(load, patch_file, [*sliders, *synth_targets], concurrency_id="synth")
        for slider in sliders:
            slider.release(edit, [patch_state, *sliders], synth_targets, concurrency_id="synth",
                           concurrency_limit=2)
        open_button.click(open_candidate, [params_state, open_rank], [*sliders, *synth_targets, tabs],
                          concurrency_id="synth")
        app.load(lambda: load(None), None, [*sliders, *synth_targets], concurrency_id="synth")
    return app


def _sound_inputs(tab: str, label: str):
    """A file upload (``#<tab>-upload``) and a microphone recording (``#<tab>-record``) of one sound."""
    upload = gr.File(label=label, elem_id=f"{tab}-upload")
    recording = gr.Audio(sources=["microphone"], type="filepath", label="... or record one", elem_id=f"{tab}-record")
    return upload, recording


def _match_tab():
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            upload, recording = _sound_inputs("match", "Sound (WAV, FLAC, OGG, MP3, ...) or 512x512 spectrogram PNG")
            samples = gr.Slider(1, MAX_CANDIDATES, value=10, step=1, label="candidates", elem_id="match-samples")
            refine = gr.Radio(list(REFINEMENTS), value=RefineConfig.method, label="refinement (gradient: ~15 s, "
                              "cmaes: tens of seconds; quick: ~1 s, a smaller pool and none)", elem_id="match-refine")
            seed = gr.Number(0, precision=0, minimum=0, label="seed (same seed, same candidates)",
                             elem_id="match-seed")
            start = gr.Number(0, minimum=0, label="start (s): where in the sound to match from (a lead-in of "
                              "silence after it is skipped)", elem_id="match-start")
            seconds = gr.Number(0, minimum=0, label="time budget (s; 0: none): gradient refinement takes the steps "
                                f"that fit, fewer steps a farther answer; under {QUICK_BELOW_S:g} s as quick",
                                elem_id="match-seconds")
            gate_noise = gr.Checkbox(True, label="take a recording's steady noise floor (hiss, room tone) and mains "
                                     "hum out first: no patch holds either after its note ends",
                                     elem_id="match-gate-noise")
            length = gr.Number(0, minimum=0, label="length (s; 0: all): keep only this much from the start, silence "
                               "after it (one note of a melody: a patch plays one note)", elem_id="match-length")
            with gr.Row():
                button = gr.Button("Match", variant="primary", elem_id="match-button")
                now_button = gr.Button("Answer now", elem_id="match-now", min_width=80)
            gr.Markdown("*Answer now*: the running match ends its refinement's steps and answers from them.")
            with gr.Row():
                rank = gr.Number(1, precision=0, minimum=1, label="candidate", elem_id="open-rank", min_width=80)
                open_button = gr.Button("Open in the Synth tab", elem_id="open-button")
        with gr.Column(scale=3):
            status = gr.HTML(elem_id="match-status")
            download = gr.HTML(elem_id="match-download")
            results = gr.HTML(elem_id="match-results")
    inputs = [upload, recording, samples, refine, seed, start, seconds, gate_noise, length]
    return inputs, [results, download, status], button, now_button, rank, open_button


def _enhance_tab(classes: tuple[str, ...], models: list[str]):
    """The Enhance tab's inputs, outputs and button; ``classes``: what the mask model can be told to keep; ``models``:
    the mask models' names (a choice where there are several)."""
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            upload, recording = _sound_inputs("enhance", "Noisy recording (WAV, FLAC, OGG, MP3, ...; up to 10 min)")
            model = gr.Radio(models, value=models[0], label="model (default: any sound, voices "
                             "included; speech: fine-tuned on voices in steady noise)",
                             visible=len(models) > 1, elem_id="enhance-model")
            mode = gr.Radio(list(MODES), value="denoise", label="mode", elem_id="enhance-mode")
            strength = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="strength (0 = bypass)",
                                 elem_id="enhance-strength")
            floor = gr.Slider(0.0, 1.0, value=0.0, step=0.01, label="floor (least gain of any bin)",
                              elem_id="enhance-floor")
            exponent = gr.Slider(0.25, 4.0, value=1.0, step=0.05, label="exponent (above 1: deeper cuts where the "
                                 "mask half suppresses; 1.5 for speech)", elem_id="enhance-exponent")
            allow_clipped = gr.Checkbox(False, label="process clipped input", elem_id="enhance-clipped")
            keep = gr.Radio([ANY, *classes], value=ANY, label="keep (other sounds count as noise)",
                            visible=bool(classes), elem_id="enhance-keep")
            button = gr.Button("Enhance", variant="primary", elem_id="enhance-button")
        with gr.Column(scale=3):
            status = gr.HTML(elem_id="enhance-status")
            output = gr.Audio(type="filepath", label="result (download with the player's button)",
                              interactive=False, elem_id="enhance-output")
            figure = gr.Image(type="filepath", label="before / after / removed (first 4 s)", interactive=False,
                              elem_id="enhance-figure")
            mask = gr.Image(type="filepath", label="mask of the first window (white = keep)", interactive=False,
                            elem_id="enhance-mask", height=256)
    return ([upload, recording, model, mode, strength, floor, exponent, allow_clipped, keep],
            [output, figure, mask, status], button)


def _synth_tab():
    with gr.Row():
        with gr.Column(scale=2):
            patch_file = gr.File(label="Patch JSON (from a match or `python -m synth random`)", file_types=[".json"],
                                 elem_id="synth-patch")
            sliders = []
            with gr.Row():
                for slider in editor.SLIDERS:
                    sliders.append(gr.Slider(slider.spec.low, slider.spec.high, step=slider.step, label=slider.label,
                                             info=slider.spec.description, min_width=220,
                                             elem_id=f"synth-{slider.spec.name}"))
        with gr.Column(scale=1):
            status = gr.HTML(elem_id="synth-status")
            audio = gr.Audio(type="numpy", label="render", interactive=False, elem_id="synth-audio")
            image = gr.Image(type="pil", label="spectrogram", interactive=False, elem_id="synth-spectrogram",
                             height=256)
            download = gr.File(label="edited patch JSON", interactive=False, elem_id="synth-download")
            phrase = gr.Textbox(editor.DEFAULT_PHRASE, label="phrase: NOTE[:BEATS] ... (C4 = middle C; chords "
                                "C3+E3+G3, rests -): each note where the patch is heard at that pitch",
                                elem_id="synth-phrase")
            midi = gr.File(label="... or a MIDI file (.mid: its notes and tempo instead)", file_types=[".mid", ".midi"],
                           elem_id="synth-midi", height=90)
            with gr.Row():
                bpm = gr.Number(120, minimum=1, label="bpm", elem_id="synth-bpm", min_width=80)
                play_button = gr.Button("Play as a phrase", elem_id="synth-play")
            phrase_audio = gr.Audio(type="numpy", label="phrase", interactive=False, elem_id="synth-phrase-audio")
            font_button = gr.Button("SoundFont for a sampler or DAW (.sf2)", elem_id="synth-soundfont-button")
            font_file = gr.File(label="the patch as a sampled instrument (a note every 3 semitones)",
                                interactive=False, elem_id="synth-soundfont")
    return patch_file, sliders, [audio, image, download, status], ([phrase, bpm, midi], play_button, phrase_audio), (
        font_button, font_file)


def _request_dir(workdir: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix="synth-", dir=workdir))
