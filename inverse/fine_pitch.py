"""Fine pitch: a candidate's note tuned in cents, searched on a grid.

The pool's pitched candidates sit where CREPE's pitch put them (a weighted argmax over 20-cent bins: a few cents
off), and gradient refinement does not tune them: Adam's steps on ``note_pitch`` are ~0.01 of its 72-semitone range,
tens of cents, and the match distance of a bright steady tone has a narrow V around the target's tuning (a sox
sawtooth on A1: 0.29 at 5 cents flat, 0.82 at the candidate's CREPE tuning, flat beyond ~6 cents either side), too
narrow for a gradient to find from a few cents away. :func:`fine_pitch` renders each candidate with its note moved
by every step of a coarse grid of cents, then a fine grid around the best of those, and keeps the best where it
lowers the match distance. :func:`inverse.refine.refine_candidates` tunes the best refined candidates after their
retune.
"""

from __future__ import annotations

import torch

from inverse.target import Scores, Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS, physical_dict
from synth.symmetry import SLOT_NAMES

_NOTE = PARAM_INDEX["note_pitch"]
#: Cents per normalised unit of ``note_pitch`` (its range, 24 .. 96 MIDI: 7,200 cents).
CENTS_PER_UNIT = 100.0 * (PARAM_SPECS[_NOTE].high - PARAM_SPECS[_NOTE].low)
#: The coarse grid: every COARSE_STEP cents from -COARSE_CENTS to +COARSE_CENTS (25 renders), then the fine grid: every
#: FINE_STEP cents within one coarse step of the coarse grid's best (8 more). The V is ~10 cents wide at its base.
COARSE_CENTS, COARSE_STEP = 30.0, 2.5
FINE_STEP = 0.5


def moved_notes(patch: torch.Tensor, cents: torch.Tensor) -> torch.Tensor:
    """``patch`` ``Tensor[100]`` (normalised) with its ``note_pitch`` moved by each of ``cents`` ``Tensor[V]``:
    ``Tensor[V, 100]`` (the note held inside its range)."""
    return _moved(patch.repeat(cents.shape[0], 1), cents)


def _moved(rows: torch.Tensor, cents: torch.Tensor) -> torch.Tensor:
    """``rows`` ``Tensor[V, 100]`` with each one's note moved by its ``cents`` ``Tensor[V]`` (in place; returned)."""
    rows[:, _NOTE] = (rows[:, _NOTE] + cents.to(rows.dtype) / CENTS_PER_UNIT).clamp(0.0, 1.0)
    return rows


def tuning(patch: torch.Tensor) -> float:
    """Where ``patch`` ``Tensor[100]`` (normalised) sits between two semitones of equal temperament: its loudest
    oscillator's pitch (note + octave + semitone offsets + fine tuning; the note alone where no oscillator has a
    level) less the nearest whole semitone, in cents, -50 .. 50."""
    v = physical_dict(patch)
    semitones = v["note_pitch"]
    loudest = max(SLOT_NAMES, key=lambda slot: v[f"{slot}_level"])
    if v[f"{loudest}_level"] > 0.0:
        semitones += 12 * v[f"{loudest}_octave"] + v[f"{loudest}_semitone"] + v[f"{loudest}_fine"] / 100
    return 100.0 * (semitones - round(semitones))


def aligned(params: torch.Tensor, reference: torch.Tensor, least_cents: float = FINE_STEP / 2
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of ``params`` ``Tensor[K, 100]`` whose :func:`tuning` is more than ``least_cents`` and at most
    :data:`COARSE_CENTS` from ``reference``'s (``Tensor[100]``, a tuned candidate), each with its note moved onto
    that tuning: ``(Tensor[R, 100], their indices Tensor[R])``. A tuning found for one candidate is the target's, so
    every candidate on the target's pitch (or a whole number of semitones from it) takes it in one render."""
    goal = tuning(reference)
    moves = torch.tensor([(goal - tuning(row) + 50.0) % 100.0 - 50.0 for row in params], dtype=torch.float64)
    keep = torch.nonzero((moves.abs() > least_cents) & (moves.abs() <= COARSE_CENTS)).flatten()
    return _moved(params[keep].clone(), moves[keep]), keep


def _grid(half_width: float, step: float, centre: float = 0.0) -> torch.Tensor:
    """Cents ``centre - half_width .. centre + half_width`` every ``step``, without ``centre`` itself (scored
    already): ``Tensor[V]``."""
    count = round(half_width / step)
    offsets = torch.arange(-count, count + 1, dtype=torch.float64) * step
    return offsets[offsets != 0] + centre


def tune(patch: torch.Tensor, match: float, target: Target, render_path: str = "auto"
         ) -> tuple[torch.Tensor, Scores] | None:
    """``patch`` ``Tensor[100]`` with its note at the best tuning of the coarse and fine grids and its
    :class:`~inverse.target.Scores` (one row); None where no tuning lowers ``match`` (its match distance as it is)."""
    coarse = _grid(COARSE_CENTS, COARSE_STEP)
    rows = moved_notes(patch, coarse)
    scores = score(rows, target, render_path=render_path)
    fine_rows = moved_notes(patch, _grid(COARSE_STEP - FINE_STEP, FINE_STEP, float(coarse[int(scores.match.argmin())])))
    rows, scores = torch.cat([rows, fine_rows]), Scores.cat([scores, score(fine_rows, target, render_path=render_path)])
    best = int(torch.argmin(scores.match))
    if float(scores.match[best]) >= match:
        return None
    return rows[best], scores.select([best])


def fine_pitch(params: torch.Tensor, match: torch.Tensor, target: Target, render_path: str = "auto"
               ) -> tuple[torch.Tensor, Scores]:
    """For each row of ``params`` ``Tensor[K, 100]`` (normalised; ``match`` ``Tensor[K]`` its match distances), its
    note at the tuning (within :data:`COARSE_CENTS`) that matches ``target`` best, where that is closer
    (:func:`tune`; ~33 renders a row on ``render_path``). Returns those rows ``Tensor[R, 100]`` (R <= K, in the
    order of their sources) and their :class:`~inverse.target.Scores`."""
    found, judged = [], []
    for k in range(params.shape[0]):
        tuned = tune(params[k], float(match[k]), target, render_path)
        if tuned is not None:
            found.append(tuned[0])
            judged.append(tuned[1])
    if not found:
        return params[:0].clone(), score(params[:0], target)
    return torch.stack(found), Scores.cat(judged)


def tune_all(params: torch.Tensor, match: torch.Tensor, target: Target, count: int, render_path: str = "auto"
             ) -> tuple[torch.Tensor, Scores]:
    """The best ``count`` rows of ``params`` ``Tensor[K, 100]`` (by ``match`` ``Tensor[K]``) tuned on the grids
    (:func:`fine_pitch`), then every other row moved onto the closest tuned one's tuning (:func:`aligned`, one
    render each). Returns the rows that came closer than their sources ``Tensor[R, 100]`` and their
    :class:`~inverse.target.Scores`."""
    best = torch.argsort(match, stable=True)[:count]
    found, judged = fine_pitch(params[best], match[best], target, render_path)
    if found.shape[0] == 0:
        return found, judged
    others = torch.ones(params.shape[0], dtype=torch.bool)
    others[best] = False
    others = torch.nonzero(others).flatten()
    moved, keep = aligned(params[others], found[int(torch.argmin(judged.match))])
    moved_scores = score(moved, target, render_path=render_path)
    closer = torch.nonzero(moved_scores.match < match[others][keep]).flatten()
    return torch.cat([found, moved[closer]]), Scores.cat([judged, moved_scores.select(closer)])
