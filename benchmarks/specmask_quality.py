"""Speech-enhancement quality of the spectral-mask model against baselines and oracle masks.

    python benchmarks/specmask_quality.py [--model [NAME=]PATH ...] [--synth-n 40] [--per-source 8]
        [--snrs -5 0 5 10] [--seed 3] [--out benchmarks/results] [--quiet]

Test set (all 16 kHz mono, every byte reproducible from ``--seed``):

- ``synth``: held-out synth sources ``synth.voice.render(synth.prior.draw(seed, i, 1))`` for ``i = 0, 1, ...``
  until ``--synth-n`` audible ones are found (RMS >= -80 dBFS, the training pool's threshold; the skipped
  indices are reported). ``--seed`` defaults to 3, a seed the training runs do not use.
- ``speech``: ``--per-source`` espeak-ng phrases and ``--per-source`` of the recorded alsa-utils WAVs in
  /usr/share/sounds/alsa (48 kHz, resampled; ``Noise.wav`` is noise, not speech, and is left out).
- ``instrument``: ``--per-source`` General MIDI notes rendered by fluidsynth + fluid-soundfont-gm.

Every source keeps its own length, cropped to one spectrogram window (65408 samples, 4.088 s) and
zero-padded to at least 1 s. Each source gets one interferer, its kind cycling white, pink, brown noise and
mains hum (``specmask.mixing.colored_noise`` / ``hum``) over the sources of each tool, drawn from
``specmask.mixing.generator_for(seed, source_number)``; the same noise is mixed at every SNR in ``--snrs``
(``specmask.mixing.mix_at_snr``: SNR over the source's whole length), then mixture and clean are scaled
together so the mixture's peak is 0.99.

Methods, all run on every mixture: ``noisy`` (the mixture itself); ``noisereduce_stationary`` and
``noisereduce_nonstationary`` (``noisereduce.reduce_noise``); the real denoisers ``rnnoise`` and
``deepfilternet3`` (:mod:`benchmarks.denoisers`: their C runtimes at 48 kHz, resampled from and back to 16 kHz;
a skip line where a wheel is missing); every ``--model`` (offline
``specmask.enhance.enhance_audio(..., mode="denoise")``; ``NAME=PATH`` names the row, so ablations sit side
by side; a model trained with the sound classes synth, speech and instrument gives two rows: ``NAME``, told the
source's domain as a user would say it with ``specmask enhance --keep``, and ``NAME_any``, not told); and two
oracles that know the clean source, computed at the project's STFT
(``synth.spectrogram.Spectrogram``: 1024-point periodic Hann, hop 128, 512 bins) and inverted with the
mixture's phase: ``oracle_irm``, the ideal ratio mask in its power form ``sqrt(|S|^2 / (|S|^2 + |N|^2))``,
and ``oracle_psm``, the phase-sensitive mask ``clip(|S| / |Y| cos(theta_S - theta_Y), 0, 1)``. Because no
test signal is longer than one window, an oracle pads the signal to exactly 65408 samples, applies its mask
to that one window and crops back (no overlap-add needed).

Metrics per (source, SNR, method): SI-SDR (``specmask.losses.si_sdr``) and its improvement over the noisy
input, wideband PESQ (NaN where PESQ finds no utterance; counted), STOI, and the method's real-time factor
(seconds of compute per second of audio, after one untimed warm-up call) on this machine. Results:
``specmask_quality.{json,md,png}`` in ``--out``: per-mixture rows, means per (domain, SNR, method), and the
targets: the share of the noisy -> oracle IRM SI-SDR gap each model closes on synth sources; whether each
model beats the better noisereduce variant, and RNNoise, on every metric at every SNR in every domain; whether
it beats DeepFilterNet3 likewise on synth and instrument sources; and its PESQ against DeepFilterNet3's on
speech (target: within 0.2).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from benchmarks.external_sounds import SOUNDFONT, espeak_phrases, fluidsynth_notes  # noqa: E402
from benchmarks.noise_bank import NoiseBank  # noqa: E402
from specmask.enhance import MaskControls, enhance_audio  # noqa: E402
from specmask.losses import si_sdr  # noqa: E402
from specmask.mixing import colored_noise, generator_for, hum, mix_at_snr  # noqa: E402
from synth.audio_io import fit_length, read_wav  # noqa: E402
from synth.errors import InputError  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG, Spectrogram  # noqa: E402
from synth.voice import render  # noqa: E402

SAMPLE_RATE = DEFAULT_CONFIG.sample_rate
WINDOW = DEFAULT_CONFIG.num_samples  # 65408 samples: one spectrogram, the longest test signal
MIN_SAMPLES = SAMPLE_RATE  # shorter sources are zero-padded to 1 s
SILENT_RMS = 1e-4  # -80 dBFS: a synth draw quieter than this is skipped (the training pool does the same)
NON_STATIONARY_STREAM = 100_000  # generator index offset of the non-stationary interferers' draws
PEAK = 0.99  # every mixture's peak after scaling (the clean source is scaled by the same factor)
DEFAULT_SEED = 3  # held out: the training runs draw their synth sources and mixtures from other seeds
DEFAULT_MODEL = str(REPO / "specmask" / "pretrained" / "default")
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")
ALSA_NOT_SPEECH = ("Noise.wav",)

INTERFERERS = ("white", "pink", "brown", "hum")  # stationary; the non-stationary ones: benchmarks.noise_bank
DOMAINS = ("synth", "speech", "instrument")
NOISE_CLASSES = ("stationary", "non-stationary")
GROUPS = tuple(f"{domain}, {noise}" for domain in DOMAINS for noise in NOISE_CLASSES)  # the report's tables
TOOL_DOMAIN = {"synth": "synth", "espeak-ng": "speech", "alsa": "speech", "fluidsynth": "instrument"}
BASELINES = ("noisy", "noisereduce_stationary", "noisereduce_nonstationary")
NOISEREDUCE = BASELINES[1:]
ORACLES = ("oracle_irm", "oracle_psm")
METRICS = ("si_sdr", "si_sdr_i", "pesq", "stoi")
CHECKED_METRICS = ("si_sdr", "pesq", "stoi")  # si_sdr_i ranks methods exactly as si_sdr (same noisy input)
METRIC_TITLES = {"si_sdr": "SI-SDR (dB)", "si_sdr_i": "SI-SDR improvement (dB)", "pesq": "PESQ (wideband)",
                 "stoi": "STOI", "rtf": "real-time factor"}

Method = Callable[[np.ndarray], np.ndarray]  # noisy float32 (n,) -> enhanced (n,), 16 kHz
OracleMethod = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (noisy, clean) -> enhanced, all (n,)


@dataclass(frozen=True)
class Source:
    tool: str  # synth, espeak-ng, alsa or fluidsynth
    name: str
    audio: torch.Tensor  # float32 Tensor[n], MIN_SAMPLES <= n <= WINDOW

    @property
    def domain(self) -> str:
        return TOOL_DOMAIN[self.tool]


@dataclass(frozen=True)
class TestMixture:
    source_number: int  # position of the source in the test set (also its noise stream's index)
    tool: str
    name: str
    interferer: str
    snr_db: float
    mixture: torch.Tensor  # float32 Tensor[n], peak PEAK
    clean: torch.Tensor  # float32 Tensor[n], scaled with the mixture

    @property
    def domain(self) -> str:
        return TOOL_DOMAIN[self.tool]

    @property
    def noise(self) -> str:
        return "stationary" if self.interferer in INTERFERERS else "non-stationary"


def group_of(row: Mapping) -> str:
    """A row's table: its domain and noise class, e.g. ``"speech, non-stationary"``."""
    return f"{row['domain']}, {row['noise']}"


def domain_of(group: str) -> str:
    return group.split(", ")[0]


# --- the test set -------------------------------------------------------------------------------------------


def fit_source(audio: torch.Tensor) -> torch.Tensor:
    """Crop ``Tensor[n]`` to at most one window (its start) and zero-pad it to at least 1 s."""
    return fit_length(audio, min(max(audio.shape[-1], MIN_SAMPLES), WINDOW)).float().contiguous()


def synth_sources(count: int, seed: int = DEFAULT_SEED, batch: int = 16) -> tuple[list[Source], list[int]]:
    """The first ``count`` audible prior draws of ``seed`` as sources; also the skipped (silent) indices."""
    sources, skipped, start = [], [], 0
    while len(sources) < count:
        rows = min(batch, count - len(sources))
        audio = render(draw(seed, start, rows))  # row i depends only on (seed, i), whatever the batch
        for offset, row in enumerate(audio):
            if float(row.square().mean().sqrt()) < SILENT_RMS:
                skipped.append(start + offset)
            else:
                sources.append(Source("synth", f"seed{seed}_row{start + offset}", fit_source(row)))
        start += rows
    return sources, skipped


def alsa_speech(count: int, folder: Path = ALSA_SOUNDS) -> list[Source]:
    """Up to ``count`` recorded speech WAVs of alsa-utils (sorted by name), resampled to 16 kHz."""
    paths = [p for p in sorted(folder.glob("*.wav")) if p.name not in ALSA_NOT_SPEECH][:count]
    return [Source("alsa", p.stem, fit_source(read_wav(p, SAMPLE_RATE, downmix=True)[0])) for p in paths]


def missing_external_tools() -> list[str]:
    """Which of espeak-ng, fluidsynth (+ its GM soundfont) and the alsa-utils WAVs are absent."""
    missing = [tool for tool in ("espeak-ng", "fluidsynth") if shutil.which(tool) is None]
    if "fluidsynth" not in missing and not SOUNDFONT.is_file():
        missing.append(f"fluid-soundfont-gm ({SOUNDFONT})")
    if not any(p.name not in ALSA_NOT_SPEECH for p in ALSA_SOUNDS.glob("*.wav")):
        missing.append(f"alsa-utils ({ALSA_SOUNDS}/*.wav)")
    return missing


def external_sources(folder: Path, per_source: int) -> tuple[list[Source], list[str]]:
    """``per_source`` sources from each available tool (espeak-ng, alsa, fluidsynth); also what is missing."""
    missing = missing_external_tools()
    sources: list[Source] = []
    if per_source <= 0:
        return sources, missing
    if shutil.which("espeak-ng"):
        for name, path in espeak_phrases(folder / "espeak-ng", per_source):
            sources.append(Source("espeak-ng", name, fit_source(read_wav(path, SAMPLE_RATE, downmix=True)[0])))
    if not any(m.startswith("alsa") for m in missing):
        sources += alsa_speech(per_source)
    if shutil.which("fluidsynth") and SOUNDFONT.is_file():
        for name, path in fluidsynth_notes(folder / "fluidsynth", per_source):
            sources.append(Source("fluidsynth", name, fit_source(read_wav(path, SAMPLE_RATE, downmix=True)[0])))
    return sources, missing


def interferer(kind: str, n: int, g: torch.Generator) -> torch.Tensor:
    """Unit-RMS ``Tensor[n]`` of one of :data:`INTERFERERS`."""
    return hum(n, g) if kind == "hum" else colored_noise(kind, n, g)


def mix(clean: torch.Tensor, noise: torch.Tensor, snr_db: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mixture, clean)`` at ``snr_db``, both scaled so that the mixture's peak is :data:`PEAK`."""
    mixture = mix_at_snr(clean, noise, snr_db)
    scale = PEAK / float(mixture.abs().max().clamp(min=1e-12))
    return mixture * scale, clean * scale


def build_mixtures(sources: Sequence[Source], snrs: Iterable[float], seed: int, bank: NoiseBank | None = None
                   ) -> list[TestMixture]:
    """Every source at every SNR with a stationary interferer (white, pink, brown, hum, cycling over the sources
    of each tool) and, given a ``bank``, again with a non-stationary one (babble, music, recorded, cycling)."""
    snrs = list(snrs)
    per_tool: dict[str, int] = {}
    mixtures = []
    for number, source in enumerate(sources):
        k = per_tool[source.tool] = per_tool.get(source.tool, -1) + 1
        n = source.audio.shape[-1]
        kinds = [(INTERFERERS[k % len(INTERFERERS)], interferer(INTERFERERS[k % len(INTERFERERS)], n,
                                                                 generator_for(seed, number)))]
        if bank is not None and bank.kinds:
            kind = bank.kinds[k % len(bank.kinds)]
            kinds.append((kind, bank.draw(kind, n, generator_for(seed, NON_STATIONARY_STREAM + number), source.name)))
        for kind, noise in kinds:
            for snr in snrs:
                mixture, clean = mix(source.audio, noise, snr)
                mixtures.append(TestMixture(number, source.tool, source.name, kind, float(snr), mixture, clean))
    return mixtures


def measured_snr_db(mixture: torch.Tensor, clean: torch.Tensor) -> float:
    """``10 log10(P_clean / P_(mixture - clean))`` in float64."""
    clean64 = clean.double()
    return 10 * math.log10(float(clean64.square().sum()) / float((mixture.double() - clean64).square().sum()))


# --- methods ------------------------------------------------------------------------------------------------

_SPECTROGRAM = Spectrogram(DEFAULT_CONFIG)


@torch.no_grad()
def oracle_masks(mixture: torch.Tensor, clean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ideal ratio (power form) and clipped phase-sensitive masks of one window: two ``Tensor[512, 512]``.

    ``mixture`` and ``clean`` are ``Tensor[65408]``; the noise is their difference.
    """
    spec_mix, spec_clean = _SPECTROGRAM.stft(torch.stack([mixture, clean]).float())
    spec_noise = spec_mix - spec_clean
    power_clean, power_noise = spec_clean.abs().square(), spec_noise.abs().square()
    irm = torch.sqrt(power_clean / (power_clean + power_noise).clamp(min=1e-20))
    # |S| / |Y| cos(theta_S - theta_Y) = Re(S conj(Y)) / |Y|^2
    psm = ((spec_clean * spec_mix.conj()).real / spec_mix.abs().square().clamp(min=1e-20)).clamp(0.0, 1.0)
    return irm, psm


@torch.no_grad()
def apply_oracle(mixture: np.ndarray | torch.Tensor, clean: np.ndarray | torch.Tensor, kind: str) -> np.ndarray:
    """``kind`` ``"irm"`` or ``"psm"`` applied to a signal of at most one window: padded to 65408 samples,
    masked (mixture magnitude x mask, mixture phase), inverted and cropped back to ``(n,)``."""
    mixture, clean = torch.as_tensor(mixture, dtype=torch.float32), torch.as_tensor(clean, dtype=torch.float32)
    n = mixture.shape[-1]
    if n > WINDOW or clean.shape != mixture.shape:
        raise ValueError(f"expected mixture and clean of the same length <= {WINDOW}, got "
                         f"{tuple(mixture.shape)} and {tuple(clean.shape)}")
    padded = fit_length(mixture, WINDOW)
    irm, psm = oracle_masks(padded, fit_length(clean, WINDOW))
    spec = _SPECTROGRAM.stft(padded)
    enhanced = _SPECTROGRAM.istft(spec.abs() * {"irm": irm, "psm": psm}[kind], spec.angle())
    return enhanced[:n].numpy()


def oracle_irm(mixture: np.ndarray, clean: np.ndarray) -> np.ndarray:
    return apply_oracle(mixture, clean, "irm")


def oracle_psm(mixture: np.ndarray, clean: np.ndarray) -> np.ndarray:
    return apply_oracle(mixture, clean, "psm")


ORACLE_METHODS: dict[str, OracleMethod] = {"oracle_irm": oracle_irm, "oracle_psm": oracle_psm}


def noisereduce_method(stationary: bool) -> Method:
    """``noisereduce.reduce_noise`` with its defaults, stationary or non-stationary."""
    import noisereduce

    def enhance(noisy: np.ndarray) -> np.ndarray:
        return noisereduce.reduce_noise(y=noisy, sr=SAMPLE_RATE, stationary=stationary).astype(np.float32)

    return enhance


def baseline_methods() -> dict[str, Method]:
    return {"noisy": lambda noisy: noisy, "noisereduce_stationary": noisereduce_method(True),
            "noisereduce_nonstationary": noisereduce_method(False)}


def anchor_methods() -> tuple[dict[str, Method], list[str]]:
    """RNNoise and DeepFilterNet3 as methods at 16 kHz (:mod:`benchmarks.denoisers`), and a skip line for each
    one that cannot run here."""
    from benchmarks.denoisers import available

    loaded, missing = available()
    return {name: (lambda noisy, tool=tool: tool(noisy, SAMPLE_RATE)) for name, tool in loaded.items()}, \
        list(missing.values())


class CuedMethod:
    """A method told which sound to keep: ``method(noisy, domain)``, the source's domain (``synth``, ``speech``
    or ``instrument``) as a user would name it with ``specmask enhance --keep``."""

    def __init__(self, enhance: Callable[[np.ndarray, str], np.ndarray]):
        self.enhance = enhance

    def __call__(self, noisy: np.ndarray, domain: str) -> np.ndarray:
        return self.enhance(noisy, domain)


def call_method(method: Method | CuedMethod, noisy: np.ndarray, domain: str) -> np.ndarray:
    """Run a method on one mixture (a :class:`CuedMethod` is told the source's domain)."""
    return method(noisy, domain) if isinstance(method, CuedMethod) else method(noisy)


def model_method(generator: torch.nn.Module | Callable[[torch.Tensor], torch.Tensor], cued: bool = False,
                 controls: MaskControls | None = None) -> Method | CuedMethod:
    """A mask generator (or any mask function) as a method: offline ``enhance_audio`` in ``denoise`` mode (or with
    ``controls``, :class:`specmask.enhance.MaskControls`); ``cued``: told to keep the source's domain (a generator
    trained with those classes)."""

    def enhance(noisy: np.ndarray, keep: str | None = None) -> np.ndarray:
        audio = torch.as_tensor(noisy, dtype=torch.float32)[None]
        return enhance_audio(generator, audio, mode="denoise", controls=controls, keep=keep)[0].numpy()

    return CuedMethod(enhance) if cued else enhance


def load_model_methods(name: str, path: str) -> tuple[dict[str, Method | CuedMethod], dict]:
    """Load a mask-model checkpoint (``specmask.checkpoint.load``) as methods, and its metadata: ``name``;
    for a model trained with sound classes covering the test domains, ``name`` told the source's domain
    (``--keep``) and ``name_any`` not told."""
    from specmask.checkpoint import load as load_mask_model

    generator, info = load_mask_model(path)
    if not set(DOMAINS) <= set(generator.config.classes):
        return {name: model_method(generator)}, info
    return {name: model_method(generator, cued=True), f"{name}_any": model_method(generator)}, info


def parse_model_specs(specs: Sequence[str]) -> dict[str, str]:
    """``["PATH" | "NAME=PATH", ...]`` -> ``{name: path}``. A single unnamed model is ``specmask``; several
    unnamed ones are named by their paths. Names must be unique and differ from the built-in methods."""
    unnamed = sum(1 for spec in specs if not _split_spec(spec)[0])
    models: dict[str, str] = {}
    for spec in specs:
        name, path = _split_spec(spec)
        name = name or ("specmask" if unnamed == 1 else path)
        if name in models or name in BASELINES or name in ORACLES:
            raise ValueError(f"model name {name!r} is used twice or names a built-in method; "
                             f"give each --model its own NAME=PATH")
        models[name] = path
    return models


def _split_spec(spec: str) -> tuple[str, str]:
    name, sep, path = spec.partition("=")
    if sep and name and path and "/" not in name:
        return name, path
    return "", spec


# --- metrics ------------------------------------------------------------------------------------------------


def si_sdr_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    """SI-SDR in dB of one signal (``specmask.losses.si_sdr`` in float64)."""
    estimate_t = torch.as_tensor(np.asarray(estimate), dtype=torch.float64)[None]
    reference_t = torch.as_tensor(np.asarray(reference), dtype=torch.float64)[None]
    return float(si_sdr(estimate_t, reference_t)[0])


def pesq_wb(reference: np.ndarray, degraded: np.ndarray) -> float:
    """Wideband PESQ (P.862.2, MOS-LQO); NaN where PESQ cannot score the pair (no utterance found,
    too short, silent)."""
    from pesq import PesqError, pesq

    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # pesq divides by the peak: 0 / 0 for silence
            return float(pesq(SAMPLE_RATE, np.asarray(reference, np.float64), np.asarray(degraded, np.float64),
                              "wb"))
    except (PesqError, ValueError, ZeroDivisionError):
        return math.nan


def stoi(reference: np.ndarray, degraded: np.ndarray) -> float:
    """Short-time objective intelligibility (classic, not extended), in [0, 1] roughly."""
    from pystoi import stoi as pystoi_stoi

    return float(pystoi_stoi(np.asarray(reference, np.float64), np.asarray(degraded, np.float64), SAMPLE_RATE,
                             extended=False))


def quality(clean: np.ndarray, enhanced: np.ndarray, noisy_si_sdr: float) -> dict[str, float]:
    """SI-SDR, its improvement over the noisy input's ``noisy_si_sdr``, PESQ and STOI of one output."""
    if enhanced.shape != clean.shape or not np.isfinite(enhanced).all():
        raise ValueError(f"a method returned {enhanced.shape} (finite: {np.isfinite(enhanced).all()}), "
                         f"expected finite {clean.shape}")
    value = si_sdr_db(enhanced, clean)
    return {"si_sdr": value, "si_sdr_i": value - noisy_si_sdr, "pesq": pesq_wb(clean, enhanced),
            "stoi": stoi(clean, enhanced)}


def evaluate_mixture(mixture: TestMixture, methods: Mapping[str, Method],
                     oracles: Mapping[str, OracleMethod] = ORACLE_METHODS) -> list[dict]:
    """One row per method: identity of the mixture, the metrics, compute seconds and real-time factor."""
    noisy, clean = mixture.mixture.numpy(), mixture.clean.numpy()
    noisy_si_sdr = si_sdr_db(noisy, clean)
    seconds_of_audio = noisy.shape[-1] / SAMPLE_RATE
    rows = []
    calls = [(name, lambda fn=fn: call_method(fn, noisy.copy(), mixture.domain)) for name, fn in methods.items()]
    calls += [(name, lambda fn=fn: fn(noisy.copy(), clean.copy())) for name, fn in oracles.items()]
    for name, call in calls:
        started = time.perf_counter()
        enhanced = np.asarray(call(), dtype=np.float32)
        elapsed = time.perf_counter() - started
        rows.append({"domain": mixture.domain, "noise": mixture.noise, "tool": mixture.tool, "source": mixture.name,
                     "source_number": mixture.source_number, "interferer": mixture.interferer,
                     "snr_db": mixture.snr_db, "samples": int(noisy.shape[-1]), "method": name,
                     **quality(clean, enhanced, noisy_si_sdr), "time_s": elapsed, "rtf": elapsed / seconds_of_audio})
    return rows


# --- aggregation and targets --------------------------------------------------------------------------------


def snr_key(snr_db: float) -> str:
    return f"{snr_db:g}"


def aggregate(rows: Iterable[dict]) -> dict:
    """``{group: {snr: {method: {metric: mean, "pesq_nan": count, "n": count, "rtf": mean}}}}``; a group is a
    domain and a noise class (:func:`group_of`).

    PESQ's mean skips NaN (it is NaN only when every PESQ of the cell is); ``pesq_nan`` counts them.
    """
    cells: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        cells.setdefault((group_of(row), snr_key(row["snr_db"]), row["method"]), []).append(row)
    table: dict = {}
    for (domain, snr, method), chosen in cells.items():
        pesq_values = np.array([_nan(r["pesq"]) for r in chosen], dtype=np.float64)
        finite = pesq_values[np.isfinite(pesq_values)]
        cell = {metric: float(np.mean([r[metric] for r in chosen])) for metric in ("si_sdr", "si_sdr_i", "stoi", "rtf")}
        cell["pesq"] = float(finite.mean()) if finite.size else math.nan
        cell["pesq_nan"] = int(pesq_values.size - finite.size)
        cell["n"] = len(chosen)
        table.setdefault(domain, {}).setdefault(snr, {})[method] = cell
    return table


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def gap_closed(aggregates: Mapping, model: str, domain: str = "synth, stationary") -> dict | None:
    """Share of the SI-SDR gap between the noisy input and the oracle IRM that ``model`` closes, in %:
    ``100 (SI-SDR_model - SI-SDR_noisy) / (SI-SDR_IRM - SI-SDR_noisy)`` per SNR (means over the domain's
    mixtures), and its mean over SNRs. ``None`` when the domain was not measured."""
    per_snr = {}
    for snr, methods in aggregates.get(domain, {}).items():
        if model not in methods or "oracle_irm" not in methods or "noisy" not in methods:
            continue
        gap = methods["oracle_irm"]["si_sdr"] - methods["noisy"]["si_sdr"]
        per_snr[snr] = 100 * (methods[model]["si_sdr"] - methods["noisy"]["si_sdr"]) / gap if gap else math.nan
    if not per_snr:
        return None
    return {"per_snr": per_snr, "mean": float(np.mean(list(per_snr.values())))}


def beats(aggregates: Mapping, model: str, rivals: Sequence[str] = NOISEREDUCE,
          domains: Sequence[str] = DOMAINS) -> tuple[bool | None, list[str]]:
    """Whether ``model``'s mean beats the best of ``rivals`` on SI-SDR, PESQ and STOI in every (domain, SNR)
    cell of ``domains``; the failures as readable lines (None: no rival was measured). A metric NaN for the
    model but not the rival is a failure; NaN for both is skipped."""
    failures, compared = [], False
    for domain in _ordered([g for g in aggregates if domain_of(g) in domains], GROUPS):
        for snr in sorted(aggregates[domain], key=float):
            methods = aggregates[domain][snr]
            if model not in methods:
                continue
            for metric in CHECKED_METRICS:
                baselines = [(methods[b][metric], b) for b in rivals
                             if b in methods and math.isfinite(methods[b][metric])]
                if not baselines:
                    continue
                compared = True
                best, best_name = max(baselines)
                value = methods[model][metric]
                if not (math.isfinite(value) and value > best):
                    failures.append(f"{domain} {snr} dB {metric}: {value:.3f} vs {best:.3f} ({best_name})")
    return (not failures) if compared else None, failures


def beats_noisereduce(aggregates: Mapping, model: str) -> tuple[bool, list[str]]:
    return beats(aggregates, model, NOISEREDUCE)


def speech_pesq_gap(aggregates: Mapping, model: str, rival: str = "deepfilternet3") -> dict | None:
    """``model``'s speech PESQ minus ``rival``'s, per (noise class, SNR), and the worst; None when either was
    not measured."""
    per_snr = {f"{group.split(', ')[1]} {snr}": methods[model]["pesq"] - methods[rival]["pesq"]
               for group in aggregates if domain_of(group) == "speech"
               for snr, methods in aggregates[group].items() if model in methods and rival in methods}
    finite = [v for v in per_snr.values() if math.isfinite(v)]
    return {"per_snr": per_snr, "worst": min(finite)} if finite else None


def targets(aggregates: Mapping, models: Iterable[str]) -> dict:
    out = {}
    for model in models:
        ok, failures = beats_noisereduce(aggregates, model)
        rnnoise_ok, rnnoise_failures = beats(aggregates, model, ("rnnoise",))
        dfn_ok, dfn_failures = beats(aggregates, model, ("deepfilternet3",), ("synth", "instrument"))
        out[model] = {"synth_gap_closed_percent": gap_closed(aggregates, model),
                      "synth_gap_closed_percent_non_stationary": gap_closed(aggregates, model,
                                                                            "synth, non-stationary"),
                      "beats_noisereduce": ok,
                      "failures": failures, "beats_rnnoise": rnnoise_ok, "rnnoise_failures": rnnoise_failures,
                      "beats_deepfilternet3_synth_instrument": dfn_ok, "deepfilternet3_failures": dfn_failures,
                      "speech_pesq_minus_deepfilternet3": speech_pesq_gap(aggregates, model)}
    return out


def target_lines(results: Mapping) -> list[str]:
    """The two headline lines per model for the Markdown report."""
    lines = []
    for model, target in results["targets"].items():
        gap = target["synth_gap_closed_percent"]
        if gap is None:
            lines.append(f"- `{model}`: synth sources not measured (gap to the oracle IRM unknown).")
        else:
            per_snr = ", ".join(f"{snr} dB {_percent(value)}" for snr, value in sorted(gap["per_snr"].items(),
                                                                                      key=lambda kv: float(kv[0])))
            lines.append(f"- On synth sources in stationary noise `{model}` closes {gap['mean']:.1f} % of the SI-SDR "
                         f"gap between noisy and oracle IRM (mean over SNRs; {per_snr}).")
        other = target.get("synth_gap_closed_percent_non_stationary")
        if other is not None:
            lines.append(f"- In non-stationary noise (babble, music, recordings) it closes {other['mean']:.1f} %.")
        for rival, key, failures, where in (
                ("noisereduce (best of the two)", "beats_noisereduce", "failures", "at every SNR in every domain"),
                ("RNNoise", "beats_rnnoise", "rnnoise_failures", "at every SNR in every domain"),
                ("DeepFilterNet3", "beats_deepfilternet3_synth_instrument", "deepfilternet3_failures",
                 "at every SNR on synth and instrument sources")):
            if target.get(key) is None:
                lines.append(f"- `{model}` vs {rival}: not measured (see the skip lines).")
                continue
            line = (f"- `{model}` beats {rival} on every metric ({', '.join(CHECKED_METRICS)}) {where}: "
                    f"**{'yes' if target[key] else 'no'}**")
            if target[failures]:
                shown, total = target[failures][:12], len(target[failures])
                line += " (failing: " + "; ".join(shown) + (f"; ... {total} cells in all" if total > 12 else "") + ")"
            lines.append(line + ".")
        gap = target.get("speech_pesq_minus_deepfilternet3")
        if gap is not None:
            per_snr = ", ".join(f"{key} dB {value:+.2f}" for key, value in gap["per_snr"].items())
            verdict = "yes" if gap["worst"] >= -0.2 else "no"
            lines.append(f"- `{model}` on speech within 0.2 PESQ of DeepFilterNet3 or better at every SNR: "
                         f"**{verdict}** ({per_snr}).")
    return lines


# --- reports ------------------------------------------------------------------------------------------------


def _ordered(keys: Iterable[str], order: Sequence[str]) -> list[str]:
    keys = list(keys)
    return [k for k in order if k in keys] + [k for k in keys if k not in order]


def _percent(value: float) -> str:
    return f"{round(value)} %" if math.isfinite(value) else "n/a"


def _format(value: float, metric: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if metric in ("stoi", "rtf") else f"{value:.2f}"


def markdown(results: Mapping) -> str:
    aggregates, methods = results["aggregates"], results["methods"]
    test_set = results["test_set"]
    counts = ", ".join(f"{domain} {n}" for domain, n in test_set["sources_per_domain"].items())
    models = "; ".join(f"`{name}` = `{spec['path']}`" for name, spec in results["models"].items())
    lines = ["# Spectral-mask enhancement quality", "", f"Command: `{results['command']}`", "",
             f"Models: {models}.", "",
             f"Test set: {test_set['mixtures']} mixtures = sources ({counts}) x SNRs "
             f"{', '.join(snr_key(s) for s in results['config']['snrs'])} dB x interferers: stationary (white, "
             f"pink, brown noise, mains hum) and non-stationary ("
             f"{', '.join(results['config'].get('non_stationary', [])) or 'none'}), each cycled over each tool's "
             f"sources; seed {results['config']['seed']} (synth "
             f"rows skipped as silent: {test_set['synth_skipped'] or 'none'}). Every signal is 1 to 4.088 s; the "
             "oracle masks (IRM power form sqrt(S^2/(S^2+N^2)), clipped PSM) use the project's STFT on one "
             "65408-sample window.", ""]
    if test_set["missing_tools"]:
        lines += [f"Not run (missing): {', '.join(test_set['missing_tools'])}.", ""]
    for line in test_set.get("skipped_anchors", []):
        lines += [f"Not run: {line}.", ""]
    lines += ["## Targets", "", *target_lines(results), ""]
    nan_counts = {m: n for m, n in results["pesq_nan"].items() if n}
    lines += [f"PESQ could not score {sum(nan_counts.values())} of {len(results['rows'])} outputs"
              + (f" ({', '.join(f'{m}: {n}' for m, n in nan_counts.items())}); means skip them." if nan_counts
                 else "."), ""]
    for domain in _ordered(aggregates, GROUPS):
        snrs = sorted(aggregates[domain], key=float)
        sources = test_set["sources_per_domain"].get(domain_of(domain), 0)
        lines += [f"## {domain} ({sources} sources)", ""]
        for metric in METRICS:
            lines += [f"{METRIC_TITLES[metric]}, mean over sources (higher is better):", "",
                      "| method | " + " | ".join(f"{s} dB" for s in snrs) + " | mean |",
                      "|---|" + "---|" * (len(snrs) + 1)]
            for method in methods:
                values = [aggregates[domain][s].get(method, {}).get(metric, math.nan) for s in snrs]
                finite = [v for v in values if math.isfinite(v)]
                mean = float(np.mean(finite)) if finite else math.nan
                lines.append(f"| {method} | " + " | ".join(_format(v, metric) for v in values)
                             + f" | {_format(mean, metric)} |")
            lines.append("")
    lines += ["## Speed", "", "Real-time factor (seconds of compute per second of audio, median over mixtures; "
              f"{results['machine']['cpus']} CPUs, {results['machine']['torch_threads']} torch threads):", "",
              "| method | real-time factor |", "|---|---|"]
    lines += [f"| {m} | {_format(results['rtf_median'][m], 'rtf')} |" for m in methods]
    lines += ["", f"Machine: {results['machine']['cpu_model']}, torch {results['machine']['torch']}; load average "
              f"at the end {results['load_average']} (other work slows the timings); wall time "
              f"{results['wall_s'] / 60:.1f} min.", ""]
    return "\n".join(lines)


def figure(results: Mapping, path: Path) -> Path:
    """SI-SDR improvement vs input SNR, one line per method, one panel per domain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    aggregates = results["aggregates"]
    domains = _ordered(aggregates, GROUPS)
    columns = min(3, max(1, len(domains)))
    rows = -(-max(1, len(domains)) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.8 * rows), squeeze=False)
    for ax, domain in zip(axes.flat, domains):
        snrs = sorted(aggregates[domain], key=float)
        for method in results["methods"]:
            values = [aggregates[domain][s].get(method, {}).get("si_sdr_i", math.nan) for s in snrs]
            style = (":" if method.startswith("oracle") else "--" if method in BASELINES else
                     "-." if method in ("rnnoise", "deepfilternet3") else "-")
            ax.plot([float(s) for s in snrs], values, style, marker="o", markersize=3, label=method)
        ax.set_title(f"{domain} ({results['test_set']['sources_per_domain'].get(domain_of(domain), 0)} sources)",
                     fontsize=9)
        ax.set_xlabel("input SNR (dB)")
        ax.set_ylabel("SI-SDR improvement (dB)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(domains):]:
        ax.axis("off")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _jsonable(value):
    """NaN -> None (strict JSON), tuples -> lists, anything else unknown -> its string."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


# --- driver -------------------------------------------------------------------------------------------------


def evaluate(mixtures: Sequence[TestMixture], methods: Mapping[str, Method],
             oracles: Mapping[str, OracleMethod] = ORACLE_METHODS, progress: bool = True) -> list[dict]:
    """All methods on all mixtures (each method warmed up once, untimed, on the first mixture)."""
    if mixtures:
        for fn in methods.values():
            call_method(fn, mixtures[0].mixture.numpy().copy(), mixtures[0].domain)
    rows = []
    for mixture in tqdm(mixtures, desc="mixtures", unit="mixture", disable=not progress):
        rows += evaluate_mixture(mixture, methods, oracles)
    return rows


# The stored run's rows a sweep shows beside its own (name shown -> name stored): the shipped model and the anchors.
STORED_ANCHORS = {"specmask (stored run)": "specmask", "DeepFilterNet3 (stored run)": "deepfilternet3",
                  "RNNoise (stored run)": "rnnoise"}


def domain_sweep(methods: Mapping[str, Method], domain: str, stored: Mapping[str, str] = STORED_ANCHORS,
                 stored_path: Path = RESULTS / "specmask_quality.json") -> list[dict]:
    """``methods`` on the default run's mixtures of one ``domain`` (its sources, SNRs, interferers and seed), no
    oracles, with the rows of the stored run (``stored_path``) of its methods ``stored`` (name shown -> name stored)
    on the same mixtures: what a sweep of settings or models measures beside the stored anchors."""
    sources = synth_sources(40, DEFAULT_SEED)[0]  # first, so that every source keeps its number (noise stream)
    with tempfile.TemporaryDirectory() as folder:
        external, missing = external_sources(Path(folder), 8)
        bank = NoiseBank(Path(folder) / "noise")
    if missing:
        raise SystemExit(f"missing: {missing}")
    mixtures = [m for m in build_mixtures(sources + external, [-5.0, 0.0, 5.0, 10.0], DEFAULT_SEED, bank)
                if m.domain == domain]
    rows = evaluate(mixtures, methods, {}, progress=False)
    key = lambda r: (r["source"], r["interferer"], r["snr_db"])  # noqa: E731
    keys = {key(r) for r in rows}
    for r in json.loads(stored_path.read_text())["rows"]:
        rows += [{**r, "method": name} for name, stored_name in stored.items()
                 if r["method"] == stored_name and key(r) in keys]
    return rows


def sweep_table(rows: Sequence[dict], names: Sequence[str], title: str) -> str:
    """Markdown: a row per method of ``names``, a cell per noise kind (stationary, non-stationary) and SNR with the
    mean SI-SDR improvement / PESQ / STOI of ``rows`` (:func:`domain_sweep`'s); ``title`` heads the first column."""
    snrs = (-5.0, 0.0, 5.0, 10.0)
    lines = [f"| {title} | " + " | ".join(f"{noise}, {snr:g} dB" for noise in ("stationary", "non-stationary")
                                        for snr in snrs) + " |", "|---|" + "---:|" * 8]
    for name in names:
        cells = []
        for noise in ("stationary", "non-stationary"):
            for snr in snrs:
                chosen = [r for r in rows if r["method"] == name and r["noise"] == noise and r["snr_db"] == snr]
                cells.append(" / ".join(f"{np.nanmean([r[m] for r in chosen]):.{1 if m == 'si_sdr_i' else 2}f}"
                                        for m in ("si_sdr_i", "pesq", "stoi")))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interferer_table(rows: Sequence[dict], names: Sequence[str], title: str) -> str:
    """Markdown: a row per method of ``names``, a cell per interferer kind (stationary ones first) with the mean PESQ
    of ``rows`` (:func:`domain_sweep`'s) at -5 / 0 / 5 / 10 dB and the number of sources; ``title`` heads the first
    column."""
    kinds = sorted({r["interferer"] for r in rows}, key=lambda k: (k not in INTERFERERS, k))
    lines = [f"| {title} | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for name in names:
        cells = []
        for kind in kinds:
            chosen = [[r["pesq"] for r in rows
                       if r["method"] == name and r["interferer"] == kind and r["snr_db"] == snr]
                      for snr in (-5.0, 0.0, 5.0, 10.0)]
            cells.append(" / ".join(f"{np.nanmean(c):.2f}" for c in chosen) + f" ({len(chosen[0])})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarize(rows: list[dict], models: Iterable[str], methods: Sequence[str]) -> dict:
    """Aggregates, PESQ NaN counts, median real-time factors and the targets of a list of rows."""
    aggregates = aggregate(rows)
    pesq_nan = {m: sum(1 for r in rows if r["method"] == m and not math.isfinite(_nan(r["pesq"]))) for m in methods}
    rtf = {m: float(np.median([r["rtf"] for r in rows if r["method"] == m] or [math.nan])) for m in methods}
    return {"aggregates": aggregates, "pesq_nan": pesq_nan, "rtf_median": rtf,
            "targets": targets(aggregates, models)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", metavar="[NAME=]PATH",
                        help="mask-model checkpoint; repeat for several rows, NAME=PATH names a row "
                             f"(default: {DEFAULT_MODEL})")
    parser.add_argument("--synth-n", type=int, default=40, help="held-out synth sources (default 40)")
    parser.add_argument("--per-source", type=int, default=8,
                        help="sources from each of espeak-ng, alsa and fluidsynth (default 8)")
    parser.add_argument("--snrs", type=float, nargs="+", default=[-5.0, 0.0, 5.0, 10.0], help="input SNRs in dB")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="synth sources and noise (default 3, not used by training)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--stationary-only", dest="stationary_only", action="store_true",
                        help="only the stationary interferers (no babble, music or recordings)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.synth_n < 0 or args.per_source < 0:
        parser.error("--synth-n and --per-source must be >= 0")
    try:
        args.models = parse_model_specs(args.model or [DEFAULT_MODEL])
    except ValueError as e:
        parser.error(str(e))
    return args


def main(argv: list[str] | None = None, models: Mapping[str, Method] | None = None) -> int:
    """Run the benchmark. ``models`` (name -> method) replaces loading ``--model`` checkpoints (tests)."""
    args = parse_args(argv)
    wall = time.perf_counter()
    progress = not args.quiet
    if models is None:
        try:
            loaded = {name: load_model_methods(name, path) for name, path in args.models.items()}
        except (InputError, OSError) as error:
            raise SystemExit(f"error: cannot load a --model checkpoint: {error}") from None
        models = {row: method for rows, _ in loaded.values() for row, method in rows.items()}
        model_specs = {row: {"path": args.models[name], "info": info, "told_domain": isinstance(method, CuedMethod)}
                       for name, (rows, info) in loaded.items() for row, method in rows.items()}
    else:
        model_specs = {name: {"path": "(injected)", "info": None} for name in models}
    anchors, skipped_anchors = anchor_methods()
    for line in skipped_anchors:
        print(line, file=sys.stderr)
    methods = {**baseline_methods(), **anchors, **models}
    method_names = [*methods, *ORACLE_METHODS]

    sources, skipped = synth_sources(args.synth_n, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        external, missing = external_sources(Path(folder), args.per_source)
        bank = None if args.stationary_only else NoiseBank(Path(folder) / "noise")
    sources += external
    if bank is not None:
        missing += [f"non-stationary interferer {kind}" for kind in bank.missing]
    if missing:
        print(f"skipped (missing): {', '.join(missing)}", file=sys.stderr)
    mixtures = build_mixtures(sources, args.snrs, args.seed, bank)
    rows = evaluate(mixtures, methods, ORACLE_METHODS, progress)

    per_domain = {d: sum(1 for s in sources if s.domain == d) for d in DOMAINS}
    results = {"command": command_line(), "machine": machine_info(),
               "config": {"synth_n": args.synth_n, "per_source": args.per_source, "snrs": args.snrs,
                          "seed": args.seed, "peak": PEAK, "interferers": INTERFERERS,
                          "non_stationary": list(bank.kinds) if bank is not None else []},
               "models": model_specs, "methods": method_names,
               "test_set": {"mixtures": len(mixtures), "sources_per_domain": per_domain,
                            "synth_skipped": skipped, "missing_tools": missing, "skipped_anchors": skipped_anchors,
                            "sources": [{"domain": s.domain, "tool": s.tool, "name": s.name,
                                         "samples": int(s.audio.shape[-1])} for s in sources]},
               **summarize(rows, models, method_names), "rows": rows}
    results["load_average"] = load_average()
    results["wall_s"] = time.perf_counter() - wall
    json_path, md_path = write_results(args.out, "specmask_quality", _jsonable(results), markdown(results))
    png = figure(results, args.out / "specmask_quality.png")
    if progress:
        print(md_path.read_text())
    print(f"wrote {json_path}, {md_path} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
