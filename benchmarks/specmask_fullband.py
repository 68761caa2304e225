"""Full-band enhancement at 48 kHz: does specmask keep the highs, and how does it stand against the denoisers
that work at 48 kHz natively?

    python benchmarks/specmask_fullband.py [--per-source 8] [--snrs -5 0 5 10] [--seed 3] [--out benchmarks/results]
        [--model CHECKPOINT] [--every-interferer] [--methods noisy specmask ...]

Sources with real content above 8 kHz, at most 4.088 s each: ``instrument``, fluidsynth General MIDI notes
rendered at 48 kHz; ``speech``, the recorded alsa-utils WAVs (48 kHz) and espeak-ng phrases (22.05 kHz,
resampled: speech up to 11 kHz). Interferers at 48 kHz, cycled over each tool's sources: white noise, pink
noise (both full band) and the alsa-utils noise recording (``Noise.wav``, 48 kHz), at every ``--snrs``; with
``--every-interferer`` each source under each of them (three times the mixtures: with 8 sources a domain, cycling
puts each interferer on two or three sources only, so a source's difficulty and the noise's are confounded).

Methods: ``noisy``; ``specmask`` (the shipped model, full band: :mod:`specmask.fullband`);
``specmask_band_limited`` (``--band-limited``, the 16 kHz path users had before: resampled to 16 kHz and back,
nothing above 8 kHz); ``rnnoise`` and ``deepfilternet3`` (:mod:`benchmarks.denoisers`, native 48 kHz);
``noisereduce_nonstationary`` at 48 kHz; ``oracle_irm`` (the ideal ratio mask on the full-band STFT grid).

Metrics: SI-SDR at 48 kHz and its improvement; ``lsd_hi``, the log-spectral distance above 8 kHz (dB, lower is
better: the RMS difference of clean and enhanced log power over the 8-24 kHz time-frequency bins where the clean
source is within 50 dB of its loudest bin there; :func:`lsd_high`); wideband PESQ and STOI on 16 kHz versions
of both signals.
Results: ``specmask_fullband.{json,md}``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as AF
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from benchmarks.denoisers import available  # noqa: E402
from benchmarks.external_sounds import SOUNDFONT, espeak_phrases, fluidsynth_notes  # noqa: E402
from benchmarks.specmask_quality import DEFAULT_MODEL, mix, pesq_wb, si_sdr_db, snr_key, stoi  # noqa: E402
from specmask import checkpoint  # noqa: E402
from specmask.enhance import MaskControls, OverlapAdd, enhance_audio, model_mask_fn  # noqa: E402
from specmask.fullband import FullBandEnhancer, grid  # noqa: E402
from specmask.mixing import colored_noise, generator_for  # noqa: E402
from synth.audio_io import fit_length, read_wav  # noqa: E402

RATE = 48000
NARROW = 16000
MAX_SAMPLES = round(4.088 * RATE)
ALSA = Path("/usr/share/sounds/alsa")
INTERFERERS = ("white", "pink", "recorded")
DOMAINS = ("speech", "instrument")
METRICS = ("si_sdr_i", "lsd_hi", "pesq", "stoi")
TITLES = {"si_sdr_i": "SI-SDR improvement (dB, higher is better)", "lsd_hi": "log-spectral distance above 8 kHz "
          "where the source has sound (dB, lower is better)", "pesq": "PESQ (wideband, on 16 kHz versions)",
          "stoi": "STOI (16 kHz versions)"}


def sources(folder: Path, per_source: int) -> tuple[list[tuple[str, str, torch.Tensor]], list[str]]:
    """``[(domain, name, Tensor[n] at 48 kHz)]`` and what is missing."""
    found, missing = [], []
    if shutil.which("fluidsynth") and SOUNDFONT.is_file():
        for name, path in fluidsynth_notes(folder / "fluidsynth", per_source, rate=RATE):
            found.append(("instrument", name, read_wav(path, RATE, downmix=True)[0]))
    else:
        missing.append("fluidsynth + fluid-soundfont-gm")
    recordings = [p for p in sorted(ALSA.glob("*.wav")) if p.name != "Noise.wav"][:per_source]
    found += [("speech", p.stem, read_wav(p, RATE, downmix=True)[0]) for p in recordings]
    if not recordings:
        missing.append("alsa-utils recordings")
    if shutil.which("espeak-ng"):
        for name, path in espeak_phrases(folder / "espeak-ng", per_source):
            found.append(("speech", name, read_wav(path, RATE)[0]))
    else:
        missing.append("espeak-ng")
    return [(d, n, fit_length(a, min(a.shape[0], MAX_SAMPLES))) for d, n, a in found], missing


def interferer(kind: str, n: int, g: torch.Generator) -> torch.Tensor:
    if kind != "recorded":
        return colored_noise(kind, n, g)
    noise = read_wav(ALSA / "Noise.wav", RATE, downmix=True)[0]
    looped = noise.repeat(-(-(n + noise.shape[0]) // noise.shape[0]))
    start = int(torch.randint(noise.shape[0], (1,), generator=g))
    piece = looped[start:start + n]
    return piece / piece.square().mean().sqrt().clamp(min=1e-8)


def lsd_high(clean: np.ndarray, enhanced: np.ndarray, low_hz: float = 8000.0, active_db: float = 50.0) -> float:
    """Log-spectral distance above ``low_hz`` in dB where the clean source has sound: the RMS difference of clean
    and enhanced log power over the time-frequency bins (2048-point Hann frames, hop 512) in which the clean
    source is within ``active_db`` of its loudest bin above ``low_hz``. Lost highs count, bins the source leaves
    empty do not (residual noise there shows in SI-SDR and PESQ). NaN when the source has no such bin."""
    window = torch.hann_window(2048)
    spectra = torch.stft(torch.from_numpy(np.stack([clean, enhanced]).astype(np.float32)), 2048, 512, window=window,
                         return_complex=True).abs().square()
    band = torch.fft.rfftfreq(2048, 1 / RATE) >= low_hz
    level = 10 * torch.log10(spectra[:, band].clamp(min=1e-10))  # floor -100 dB
    active = level[0] >= level[0].max() - active_db
    if not bool(active.any()):
        return math.nan
    return float((level[0] - level[1])[active].square().mean().sqrt())


def oracle_irm(noisy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    hop, n_fft, _ = grid(RATE)
    window = torch.hann_window(n_fft)
    both = torch.stft(torch.from_numpy(np.stack([noisy, clean]).astype(np.float32)), n_fft, hop, window=window,
                      return_complex=True)
    power_clean, power_noise = both[1].abs().square(), (both[0] - both[1]).abs().square()
    mask = torch.sqrt(power_clean / (power_clean + power_noise).clamp(min=1e-20))
    return torch.istft(both[0] * mask, n_fft, hop, window=window, length=noisy.shape[0]).numpy()


def methods(model: str) -> tuple[dict, list[str]]:
    import noisereduce

    generator, _ = checkpoint.load(model)
    mask_fn = model_mask_fn(generator)

    def full_band(noisy: np.ndarray) -> np.ndarray:
        engine = OverlapAdd(FullBandEnhancer(mask_fn, RATE, MaskControls.for_mode("denoise")), 1)
        x = torch.from_numpy(noisy)[None]
        return torch.cat([engine.push(x), engine.flush()], dim=1)[0].numpy()

    def band_limited(noisy: np.ndarray) -> np.ndarray:
        narrow = AF.resample(torch.from_numpy(noisy), RATE, NARROW)[None]
        out = enhance_audio(mask_fn, narrow, mode="denoise")[0]
        return fit_length(AF.resample(out, NARROW, RATE), noisy.shape[0]).numpy()

    anchors, skipped = available()
    table = {"noisy": lambda x: x, "noisereduce_nonstationary":
             lambda x: noisereduce.reduce_noise(y=x, sr=RATE, stationary=False).astype(np.float32)}
    table.update({name: (lambda x, tool=tool: tool(x, RATE)) for name, tool in anchors.items()})
    table.update({"specmask_band_limited": band_limited, "specmask": full_band})
    return table, list(skipped.values())


def measure(clean: np.ndarray, enhanced: np.ndarray, noisy_si_sdr: float) -> dict:
    narrow_clean = AF.resample(torch.from_numpy(clean), RATE, NARROW).numpy()
    narrow = AF.resample(torch.from_numpy(np.ascontiguousarray(enhanced, dtype=np.float32)), RATE, NARROW).numpy()
    value = si_sdr_db(enhanced, clean)
    return {"si_sdr": value, "si_sdr_i": value - noisy_si_sdr, "lsd_hi": lsd_high(clean, enhanced),
            "pesq": pesq_wb(narrow_clean, narrow), "stoi": stoi(narrow_clean, narrow)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--per-source", type=int, default=8, help="sources per tool (default 8)")
    parser.add_argument("--snrs", type=float, nargs="+", default=[-5.0, 0.0, 5.0, 10.0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--every-interferer", action="store_true",
                        help="each source under every interferer (default: interferers cycled over the sources)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help="run only these (of noisy, noisereduce_nonstationary, rnnoise, deepfilternet3, "
                             "specmask_band_limited, specmask, oracle_irm; default all)")
    args = parser.parse_args(argv)
    wall = time.perf_counter()
    table, skipped = methods(args.model)
    for line in skipped:
        print(line, file=sys.stderr)
    names = [*table, "oracle_irm"]
    if args.methods:
        unknown = sorted(set(args.methods) - set(names))
        if unknown:
            parser.error(f"--methods: unknown {', '.join(unknown)}; choose from {', '.join(names)}")
        names = [name for name in names if name in args.methods]
    with tempfile.TemporaryDirectory() as folder:
        found, missing = sources(Path(folder), args.per_source)
    rows, per_tool = [], {}
    for number, (domain, name, audio) in enumerate(tqdm(found, desc="sources", unit="source")):
        k = per_tool[domain] = per_tool.get(domain, -1) + 1
        for kind in INTERFERERS if args.every_interferer else (INTERFERERS[k % len(INTERFERERS)],):
            noise = interferer(kind, audio.shape[0], generator_for(args.seed, number))
            for snr in args.snrs:
                mixture, clean = mix(audio, noise, snr)
                noisy, reference = mixture.numpy(), clean.numpy()
                noisy_si_sdr = si_sdr_db(noisy, reference)
                for method in names:
                    started = time.perf_counter()
                    out = oracle_irm(noisy, reference) if method == "oracle_irm" else table[method](noisy.copy())
                    elapsed = time.perf_counter() - started
                    rows.append({"domain": domain, "source": name, "interferer": kind, "snr_db": snr, "method": method,
                                 "rtf": elapsed / (noisy.shape[0] / RATE), **measure(reference, out, noisy_si_sdr)})
    means: dict = {}
    for domain in DOMAINS:
        for snr in args.snrs:
            for method in names:
                chosen = [r for r in rows if r["domain"] == domain and r["snr_db"] == snr and r["method"] == method]
                if chosen:
                    means.setdefault(domain, {}).setdefault(snr_key(snr), {})[method] = {
                        metric: float(np.nanmean([r[metric] for r in chosen])) for metric in (*METRICS, "rtf")}
    results = {"command": command_line(), "machine": machine_info(), "load_average": load_average(),
               "config": {"per_source": args.per_source, "snrs": args.snrs, "seed": args.seed, "rate": RATE,
                          "interferers": INTERFERERS, "every_interferer": args.every_interferer, "model": args.model},
               "missing": missing, "skipped": skipped, "sources": [(d, n, int(a.shape[0])) for d, n, a in found],
               "methods": names, "means": means, "rows": rows, "wall_s": time.perf_counter() - wall}
    json_path, md_path = write_results(args.out, "specmask_fullband", results, markdown(results))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


def by_interferer(results: dict, domain: str) -> list[str]:
    """Markdown lines: ``domain``'s SI-SDR improvement and PESQ per interferer (mean over its sources and SNRs)."""
    lines = ["SI-SDR improvement (dB) / PESQ by interferer, mean over its sources and SNRs:", "",
             "| method | " + " | ".join(INTERFERERS) + " |", "|---|" + "---|" * len(INTERFERERS)]
    for method in results["methods"]:
        cells = []
        for kind in INTERFERERS:
            chosen = [r for r in results["rows"] if (r["domain"], r["interferer"], r["method"]) == (domain, kind,
                                                                                                   method)]
            cells.append("-" if not chosen else " / ".join(f"{np.nanmean([r[metric] for r in chosen]):.2f}"
                                                           for metric in ("si_sdr_i", "pesq")))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def markdown(results: dict) -> str:
    counts = {d: sum(1 for s in results["sources"] if s[0] == d) for d in DOMAINS}
    placed = ("each under every source" if results["config"].get("every_interferer")
              else "cycled over each domain's sources")
    lines = ["# Full-band (48 kHz) enhancement", "", f"Command: `{results['command']}`", "",
             f"{len(results['sources'])} sources ({', '.join(f'{d} {n}' for d, n in counts.items())}) x SNRs "
             f"{', '.join(snr_key(s) for s in results['config']['snrs'])} dB; interferers "
             f"{', '.join(INTERFERERS)} {placed}; all at 48 kHz.", ""]
    lines += [f"Not run: {line}." for line in [*results["missing"], *results["skipped"]]]
    for domain, by_snr in results["means"].items():
        snrs = list(by_snr)
        lines += [f"## {domain} ({counts[domain]} sources)", ""]
        for metric in METRICS:
            lines += [f"{TITLES[metric]}:", "", "| method | " + " | ".join(f"{s} dB" for s in snrs) + " | mean |",
                      "|---|" + "---|" * (len(snrs) + 1)]
            for method in results["methods"]:
                values = [by_snr[s].get(method, {}).get(metric, math.nan) for s in snrs]
                lines.append(f"| {method} | " + " | ".join(f"{v:.3f}" if metric == "stoi" else f"{v:.2f}"
                                                           for v in values) + f" | {np.nanmean(values):.2f} |")
            lines.append("")
        lines += by_interferer(results, domain)
    rtf = {m: float(np.median([r["rtf"] for r in results["rows"] if r["method"] == m])) for m in results["methods"]}
    lines += ["Real-time factor (median over mixtures, 48 kHz): " + ", ".join(f"{m} {v:.3f}" for m, v in rtf.items())
              + ".", "", f"Load average at the end {results['load_average']}; wall time "
              f"{results['wall_s'] / 60:.1f} min; {results['machine']['cpu_model']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
