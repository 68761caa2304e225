"""The quick answer (``inverse predict --quick``): predict's pool cut down to what renders in about a second on 2 CPU
cores, and no refinement (under a ``--seconds`` budget, its best row refined in what the pool leaves:
:data:`BUDGET_REFINE`).

The default answer takes ~15-20 s on 2 cores, half of it the 20 gradient steps; issue 13 asked for one within 2 s of
``import torch``. Without refinement the default pool (64 flow samples, 64 retrieved training patches and their
additions: plain patches at the target's pitch, chords, glides, LFO copies, refitted envelopes, pitch-aligned copies,
symmetry expansion, the pitch check) still takes ~3-4 s. Rendering goes in the fast render's 16-row chunks, so
every stage that renders a few rows costs a chunk (~0.05 s); :data:`QUICK` keeps one chunk of each of the model's
and the index's rows and one or two rows of each addition that follows the target (its pitch, chord, glide, vibrato
or tremolo, level contour), and leaves out the symmetry expansion and the spread of the returned candidates into
other forms: they change which parameters are written, not how close the best one sounds, so the quick answer is a
little less diverse than the default's and a few of its candidates fall outside the 1.5x bound.

Measured (``benchmarks/results/predict_quick/``, its README has the commands; 2-core AMD EPYC): 0.9-1.7 s more than
``import torch`` on 7 targets; on issue 13's 500 held-out targets best-of-10 MSS 10 % below retrieval's (the default:
34 %), 37 % above the default's, the first candidate on a clear target pitch for 95 % (the README's "The quick
answer").
"""

from __future__ import annotations

from inverse.refine import RefineConfig

#: ``Predictor.predict``'s keyword arguments (and the command line's options of the same names) of the quick answer.
QUICK: dict[str, int] = {"pool": 16, "retrieved": 16, "expand": 0, "spread": 0, "refit": 2, "plain": 2, "chords": 1,
                         "glides": 1, "modulation": 1, "pitch_rounds": 1}
#: ... and its refinement method (``RefineConfig.method``).
QUICK_REFINE = "none"
#: Under a time budget (``--seconds`` below :data:`QUICK_BELOW_S`) the quick answer spends what its pool leaves of the
#: budget on gradient steps of its best row alone (on the eager synth, ~0.065 s a step on 2 cores:
#: ``inverse.refine.gradient_path``), as many of ``RefineConfig.steps`` as fit, no retune: the command line's options
#: of these names. 10 such steps on 40 held-out targets and 8 sounds each of sox, fluidsynth and espeak-ng (8
#: December, ``benchmarks/results/refine_rows/``): best-of-10 MSS -14 % in-domain, -18 / -20 / -5 % out of domain,
#: diversity -8 %, ~0.65 s more. Under budgets on 40 of them (``benchmarks/results/predict_budget_refined/``), against
#: the quick answer without steps: 2 s -6.3 %, 3 s -17.5 %, 3.5 s -21.2 %, every budget from 2 s up kept.
BUDGET_REFINE: dict[str, int | str] = {"refine": "gradient", "refine_rows": 1, "retune": 0}
#: A time budget (``predict --seconds``, the web app's) below this many seconds answers as ``--quick`` does. On 40
#: held-out targets on 2 CPU cores (``benchmarks/results/predict_budget_quick/``) the default pool, which always runs,
#: overran a 3 s budget on 10 of them (up to 3.5 s) and kept a 4 s one (up to 4.0 s, no gradient step); the quick
#: answer took 0.5-1.6 s (median 1.1 s), its best-of-10 MSS 7 % farther (paired) than the overrun answer's.
QUICK_BELOW_S = 4.0


def quick_defaults(budget: bool = False) -> dict[str, int | str]:
    """The command line's defaults under ``--quick``: :data:`QUICK` and ``refine`` :data:`QUICK_REFINE`; with a time
    budget (``budget``) :data:`BUDGET_REFINE` instead."""
    return {**QUICK, **(BUDGET_REFINE if budget else {"refine": QUICK_REFINE})}


def quick_refine(budget: bool, seed: int = 0) -> RefineConfig:
    """The quick answer's :class:`~inverse.refine.RefineConfig`: none, or under a time budget (``budget``)
    :data:`BUDGET_REFINE`'s."""
    if not budget:
        return RefineConfig(method=QUICK_REFINE, seed=seed)
    return RefineConfig(method=str(BUDGET_REFINE["refine"]), rows=int(BUDGET_REFINE["refine_rows"]),
                        retune=int(BUDGET_REFINE["retune"]), seed=seed)


def quick_budget(seconds: float | None) -> bool:
    """Whether a time budget of ``seconds`` (None: none) is too short for the default pool: :data:`QUICK_BELOW_S`."""
    return seconds is not None and seconds < QUICK_BELOW_S


def quick_options(samples: int) -> dict[str, int]:
    """:data:`QUICK` for an answer of ``samples`` candidates: its pool at least that many."""
    return {**QUICK, "pool": max(QUICK["pool"], samples)}
