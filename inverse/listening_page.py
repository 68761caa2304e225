"""``index.html`` in an answer's folder: the target and every candidate on one page, to listen to side by side.

``inverse predict --out DIR`` writes each candidate as ``rankNN.wav``, ``.png`` and ``.patch.json``; this page puts
them in one table under the target as the match heard it (``target.wav``, ``target.png``), each with a player,
its spectrogram, its distances and pitch, how it differs from the best, and its patch, with the command that plays
it as an instrument. A static file with relative links and no scripts: it opens from the folder in any browser,
and the folder can be moved or shared as a whole.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from synth.spectrogram import DEFAULT_CONFIG

if TYPE_CHECKING:
    from inverse.predict import Prediction

PAGE = "index.html"
TARGET_WAV, TARGET_PNG = "target.wav", "target.png"
FIGURE = "comparison.png"  # inverse.figures.comparison_figure's, where the answer has one

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222 }
table { border-collapse: collapse; margin: 1em 0 }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: middle }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap }
tr.target { background: #f3f6fb }
img.spec { width: 192px; height: 96px; image-rendering: pixelated; border: 1px solid #ccc; filter: brightness(1.8) }
img.figure { max-width: 100%; margin: 1em 0 }
.off { color: #b00020 }
code { background: #f4f4f4; padding: 1px 4px }
p.notes { color: #555; font-size: 0.92em }
"""


def target_label(prediction: Prediction) -> str:
    """What ``target.wav`` holds, in words."""
    target = prediction.target
    if target.reconstructed:
        return "rebuilt from the target spectrogram (its phase estimated): what the candidates were matched against"
    where = f" from {target.start_s:.2f} s of the file" if target.start_s else ""
    kept = f", {target.length_s:g} s of it kept" if target.length_s is not None else ""
    return (f"the {DEFAULT_CONFIG.duration_s:.3f} s the match heard{where}{kept} (any lead-in skipped, steady noise "
            f"and hum taken out)")


def listening_page(prediction: Prediction, figure: bool = True) -> str:
    """The page's HTML (its files named as :meth:`inverse.predict.Prediction.write` names them); ``figure``: show
    :data:`FIGURE` under the table."""
    c = prediction.candidates
    check = c.pitch
    pitched = check is not None and check.checked
    count = c.params.shape[0]
    title = f"inverse predict: {prediction.source}"
    rows = [f'<tr class="target"><td>target</td><td><audio controls preload="none" src="{TARGET_WAV}">'
            f'</audio></td><td><img class="spec" src="{TARGET_PNG}" alt="the target\'s spectrogram"></td>'
            f'<td class="num"></td><td class="num"></td><td class="num"></td>'
            f'<td class="num">{f"{check.target_hz:.0f} Hz" if pitched else "-"}</td>'
            f'<td>{escape(target_label(prediction))}</td><td></td></tr>']
    for k in range(count):
        stem = f"rank{k + 1:02d}"
        hz = check.candidate(k) if pitched else None
        pitch = "-" if hz is None else (f"{hz:.0f} Hz" if bool(check.agrees[k]) else
                                        f'<span class="off" title="another pitch than the target\'s">{hz:.0f} Hz!'
                                        f"</span>")
        rows.append(f'<tr><td>#{k + 1}</td><td><audio controls preload="none" src="{stem}.wav"></audio></td>'
                    f'<td><img class="spec" src="{stem}.png" alt="candidate {k + 1}\'s spectrogram"></td>'
                    f'<td class="num">{float(c.match[k]):.3f}</td><td class="num">{float(c.mss[k]):.3f}</td>'
                    f'<td class="num">{float(c.distance_db[k]):.2f}</td><td class="num">{pitch}</td>'
                    f"<td>{escape(prediction.differences(k))}</td>"
                    f'<td><a href="{stem}.patch.json">{stem}.patch.json</a></td></tr>')
    # the text table's explanations (what the columns mean, the pitch, swings, budget and notes), as it prints them
    notes = prediction.table().splitlines()[1 + count:]
    melody = prediction.melody_phrase
    play = "C3 E3 G3:2" if not melody else melody
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{count} candidate patches for {escape(prediction.source)}</h1>",
        "<p>Each row is a parameter set for the synth; the best match first, then the closest ones that differ from "
        "it. Play the target and a candidate one after the other.</p>",
        "<table><tr><th></th><th>listen</th><th>spectrogram</th><th>match</th><th>MSS</th><th>dB</th><th>pitch</th>"
        "<th>differs from #1 in (normalised)</th><th>patch</th></tr>",
        *rows, "</table>",
        *(f'<p class="notes">{escape(line)}</p>' for line in notes),
        *([f'<img class="figure" src="{FIGURE}" alt="the target and every candidate\'s spectrogram, side by side">']
          if figure else []),
        "<h2>Use a candidate</h2>",
        f"<p><code>python -m synth play rank01.patch.json --notes '{escape(play)}' -o phrase.wav</code> plays it "
        "as an instrument (each note at the pitch written); <code>python -m synth soundfont rank01.patch.json -o "
        "rank01.sf2</code> writes it for a sampler or DAW; <code>candidates.json</code> holds every number on this "
        "page and each patch's parameters in their units.</p>",
        "</body></html>", ""]
    return "\n".join(parts)


def answers_page(answers: list[tuple[str, dict]], melodies: list[str]) -> str:
    """The page of an ``--out`` folder that holds several answers (several targets, or ``--each-note``): per answer,
    ``(its folder, its JSON)`` (:meth:`~inverse.predict.Prediction.to_json`, or ``{"source", "error"}`` for one
    that failed), its target and best candidate to play and a link to its own page; ``melodies``: the files of
    melodies played back by each note's best candidate (``STEM_melody.wav``)."""
    rows = []
    for folder, answer in answers:
        source = escape(answer["source"] if "error" in answer else answer["target"]["source"])
        if "error" in answer:
            rows.append(f'<tr><td>{source}</td><td colspan="6" class="off">{escape(answer["error"])}</td></tr>')
            continue
        best, link = answer["candidates"][0], escape(quote(folder))  # "take #2" is a folder, not "take " and a fragment
        target_hz, best_hz = answer["target"].get("pitch_hz"), best.get("pitch_hz")
        pitch = "-" if target_hz is None else f"{target_hz:.0f} Hz / " + (
            "-" if best_hz is None else f"{best_hz:.0f} Hz" if best["pitch_agrees"] else
            f'<span class="off">{best_hz:.0f} Hz!</span>')
        rows.append(f'<tr><td><a href="{link}/{PAGE}">{source}</a></td>'
                    f'<td><audio controls preload="none" src="{link}/{TARGET_WAV}"></audio></td>'
                    f'<td><audio controls preload="none" src="{link}/rank01.wav"></audio></td>'
                    f'<td class="num">{best["match"]:.3f}</td><td class="num">{best["mss"]:.3f}</td>'
                    f'<td class="num">{pitch}</td><td><a href="{link}/rank01.patch.json">rank01.patch.json</a></td>'
                    "</tr>")
    played = [f'<p>{escape(name)}: <audio controls preload="none" src="{escape(quote(name))}"></audio> (each note '
              "played by its answer's best candidate)</p>" for name in melodies]
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>inverse predict: {len(answers)} answers</title><style>{_STYLE}</style></head><body>",
        f"<h1>{len(answers)} answers</h1>",
        "<p>Each target as the match heard it and its best candidate; its name opens its answer's page with all of "
        "its candidates.</p>",
        "<table><tr><th>answer</th><th>target (as the match heard it)</th><th>best candidate</th><th>match</th>"
        "<th>MSS</th>"
        "<th>pitch (target / best)</th><th>patch</th></tr>", *rows, "</table>", *played, "</body></html>", ""])


def write_listening_page(prediction: Prediction, out: Path, figure: bool = True) -> Path:
    """Write :func:`listening_page` to ``out/index.html``; returns its path."""
    page = out / PAGE
    page.write_text(listening_page(prediction, figure), encoding="utf-8")
    return page
