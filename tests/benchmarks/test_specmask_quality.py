"""The spectral-mask benchmark's test set, oracle masks, metrics, aggregation and target checks (fast, CPU)."""

import json
import math

import numpy as np
import pytest
import torch

from benchmarks.specmask_quality import (
    ALSA_SOUNDS,
    INTERFERERS,
    MIN_SAMPLES,
    PEAK,
    WINDOW,
    Source,
    aggregate,
    alsa_speech,
    beats_noisereduce,
    build_mixtures,
    evaluate_mixture,
    external_sources,
    gap_closed,
    main,
    measured_snr_db,
    missing_external_tools,
    model_method,
    noisereduce_method,
    oracle_irm,
    oracle_masks,
    oracle_psm,
    parse_model_specs,
    pesq_wb,
    si_sdr_db,
    synth_sources,
    target_lines,
    targets,
)
from inverse.backbone import Backbone
from inverse.config import BackboneConfig
from specmask.config import GeneratorConfig
from specmask.generator import MaskGenerator
from specmask.mixing import colored_noise, generator_for, mix_at_snr
from synth.audio_io import fit_length
from synth.prior import draw
from synth.voice import render


def harmonic_source(n: int, f0_hz: float = 220.0) -> torch.Tensor:
    """A voiced-speech-like test source: 10 harmonics of a pitch gliding +-30 %, switched on and off four
    times a second (a steady tone would look like stationary noise to noisereduce)."""
    t = torch.arange(n, dtype=torch.float64) / 16000
    # phase of f0 (1 + 0.3 sin(2 pi 0.7 t)), integrated
    phase = 2 * math.pi * f0_hz * (t + 0.3 * (1 - torch.cos(2 * math.pi * 0.7 * t)) / (2 * math.pi * 0.7))
    tone = sum(torch.sin(k * phase) / k for k in range(1, 11))
    gate = (torch.sin(2 * math.pi * 4 * t) > -0.3).double()
    return (0.3 * tone * gate).float()


def white_mixture(clean: torch.Tensor, snr_db: float, seed: int = 7) -> torch.Tensor:
    return mix_at_snr(clean, colored_noise("white", clean.shape[-1], generator_for(seed, 0)), snr_db)


def test_oracle_masks_beat_the_noisy_input_by_far_and_the_psm_is_a_fraction():
    clean = harmonic_source(40_000)  # shorter than a window: exercises the pad-and-crop path
    noisy = white_mixture(clean, 0.0)
    noisy_si_sdr = si_sdr_db(noisy.numpy(), clean.numpy())
    assert abs(noisy_si_sdr) < 0.5
    for oracle in (oracle_irm, oracle_psm):
        enhanced = oracle(noisy.numpy(), clean.numpy())
        assert enhanced.shape == (40_000,)
        assert si_sdr_db(enhanced, clean.numpy()) - noisy_si_sdr > 5.0, oracle.__name__
    irm, psm = oracle_masks(fit_length(noisy, WINDOW), fit_length(clean, WINDOW))
    assert irm.shape == psm.shape == (512, 512)
    assert float(psm.min()) >= 0.0 and float(psm.max()) <= 1.0 and float(irm.max()) <= 1.0 + 1e-6
    assert float(psm.min()) == 0.0  # out-of-phase bins are clipped, not negative
    # With no noise at all the IRM is 1 everywhere and the STFT round trip gives the clean signal back.
    assert si_sdr_db(oracle_irm(clean.numpy(), clean.numpy()), clean.numpy()) > 40.0


def sources() -> list[Source]:
    return [Source("synth", f"tone{k}", harmonic_source(WINDOW, 110.0 * (k + 1))) for k in range(5)] + [
        Source("alsa", "short", harmonic_source(MIN_SAMPLES, 300.0)),
        Source("espeak-ng", "medium", harmonic_source(30_000, 180.0))]


def test_mixtures_hit_the_snr_are_peak_normalised_and_reproducible_byte_for_byte():
    snrs = (-5.0, 0.0, 5.0, 10.0)
    first, second = build_mixtures(sources(), snrs, seed=3), build_mixtures(sources(), snrs, seed=3)
    assert len(first) == 7 * len(snrs)
    for a, b in zip(first, second):
        assert a.mixture.numpy().tobytes() == b.mixture.numpy().tobytes()
        assert a.clean.numpy().tobytes() == b.clean.numpy().tobytes()
        assert abs(measured_snr_db(a.mixture, a.clean) - a.snr_db) < 0.01
        assert math.isclose(float(a.mixture.abs().max()), PEAK, rel_tol=1e-6)
        assert a.mixture.shape == a.clean.shape and a.mixture.dtype == torch.float32
    # The interferer kind cycles over each tool's sources; one source keeps its noise across SNRs.
    kinds = [m.interferer for m in first if m.snr_db == 0.0]
    assert kinds == [*INTERFERERS, INTERFERERS[0], INTERFERERS[0], INTERFERERS[0]]
    noise = [(m.mixture - m.clean) / (m.mixture - m.clean).norm() for m in first[:2]]
    assert torch.allclose(noise[0], noise[1], atol=1e-5)
    # Another seed draws other noise.
    assert not torch.equal(build_mixtures(sources()[:1], [0.0], seed=4)[0].mixture, first[1].mixture)


def test_synth_sources_are_the_held_out_prior_renders():
    found, skipped = synth_sources(2, seed=3)
    rows = [int(s.name.rsplit("row", 1)[1]) for s in found]
    assert len(found) == 2 and set(rows).isdisjoint(skipped) and rows == sorted(rows)
    assert torch.equal(found[1].audio, render(draw(3, rows[1], 1))[0])
    assert found[0].domain == "synth" and found[0].audio.shape == (WINDOW,)


def test_noisereduce_improves_si_sdr_on_white_noise_at_0_db():
    clean = harmonic_source(WINDOW)
    noisy = white_mixture(clean, 0.0)
    before = si_sdr_db(noisy.numpy(), clean.numpy())
    for stationary in (True, False):
        enhanced = noisereduce_method(stationary)(noisy.numpy())
        assert si_sdr_db(enhanced, clean.numpy()) > before + 3.0, f"stationary={stationary}"


def test_pesq_is_nan_when_it_cannot_score_and_high_for_identical_speechlike_input():
    assert math.isnan(pesq_wb(np.zeros(32000), np.zeros(32000)))
    clean = harmonic_source(32000).numpy()
    assert pesq_wb(clean, clean) > 4.0


def row(method: str, snr: float, si_sdr: float, pesq: float | None, stoi: float, noisy_si_sdr: float,
        domain: str = "synth") -> dict:
    return {"domain": domain, "noise": "stationary", "snr_db": snr, "method": method, "si_sdr": si_sdr,
            "si_sdr_i": si_sdr - noisy_si_sdr,
            "pesq": pesq, "stoi": stoi, "rtf": 0.1}


def hand_made_rows() -> list[dict]:
    """Two sources at 0 and 5 dB; per-SNR means: noisy 0 / 5, IRM 10 / 15, model 5 / 12.5 dB SI-SDR."""
    rows = []
    for snr, noisy, irm, model, model_stoi in ((0.0, (-1.0, 1.0), (9.0, 11.0), (4.0, 6.0), 0.9),
                                               (5.0, (4.0, 6.0), (14.0, 16.0), (12.0, 13.0), 0.8)):
        for k in range(2):
            rows += [row("noisy", snr, noisy[k], 1.5, 0.7, noisy[k]),
                     row("noisereduce_stationary", snr, noisy[k] + 2, 2.0, 0.75, noisy[k]),
                     row("noisereduce_nonstationary", snr, noisy[k] + 3, None if k else 2.2, 0.85, noisy[k]),
                     row("model", snr, model[k], 3.0, model_stoi, noisy[k]),
                     row("oracle_irm", snr, irm[k], 4.0, 0.95, noisy[k])]
    return rows


def test_aggregation_gap_closed_and_beats_noisereduce_on_hand_made_rows():
    rows = hand_made_rows()
    table = aggregate(rows)
    assert set(table) == {"synth, stationary"} and set(table["synth, stationary"]) == {"0", "5"}
    cell = table["synth, stationary"]["5"]["model"]
    assert cell["si_sdr"] == 12.5 and cell["si_sdr_i"] == 7.5 and cell["n"] == 2 and cell["stoi"] == 0.8
    nonstationary = table["synth, stationary"]["0"]["noisereduce_nonstationary"]
    assert nonstationary["pesq"] == 2.2 and nonstationary["pesq_nan"] == 1 and nonstationary["si_sdr_i"] == 3.0

    gap = gap_closed(table, "model")
    assert gap["per_snr"] == {"0": 50.0, "5": 75.0} and gap["mean"] == 62.5
    assert gap_closed(table, "model", domain="speech, stationary") is None

    ok, failures = beats_noisereduce(table, "model")  # STOI 0.8 at 5 dB < nonstationary's 0.85
    assert not ok and failures == ["synth, stationary 5 dB stoi: 0.800 vs 0.850 (noisereduce_nonstationary)"]
    good = [dict(r, method="good", stoi=0.9) for r in rows if r["method"] == "model"]
    ok, failures = beats_noisereduce(aggregate(rows + good), "good")
    assert ok and failures == []
    # A model that PESQ cannot score fails where the baselines were scored.
    silent = [dict(r, method="silent", pesq=None, stoi=0.99) for r in rows if r["method"] == "model"]
    ok, failures = beats_noisereduce(aggregate(rows + silent), "silent")
    assert not ok and failures == ["synth, stationary 0 dB pesq: nan vs 2.200 (noisereduce_nonstationary)",
                                   "synth, stationary 5 dB pesq: nan vs 2.200 (noisereduce_nonstationary)"]

    lines = target_lines({"targets": targets(table, ["model"])})
    assert "closes 62.5 % of the SI-SDR gap" in lines[0] and "0 dB 50 %, 5 dB 75 %" in lines[0]
    assert "**no** (failing: synth, stationary 5 dB stoi" in lines[1]


def test_model_specs_name_rows_and_reject_clashes():
    assert parse_model_specs(["runs/mask/best"]) == {"specmask": "runs/mask/best"}
    assert parse_model_specs(["full=runs/mask/best", "no_adv=runs/ablation/no_adv/best"]) == {
        "full": "runs/mask/best", "no_adv": "runs/ablation/no_adv/best"}
    assert parse_model_specs(["a/b", "c/x=y"]) == {"a/b": "a/b", "c/x=y": "c/x=y"}
    for clash in (["x=a", "x=b"], ["noisy=a"], ["oracle_irm=a"]):
        with pytest.raises(ValueError, match="used twice or names a built-in"):
            parse_model_specs(clash)


def tiny_generator() -> MaskGenerator:
    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(widths=(4, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4,
                                       position_channels=4, latent_dim=16))
    return MaskGenerator(backbone, GeneratorConfig(decoder_width=8, subpixel_channels=4))


def test_every_method_gets_a_row_with_finite_metrics():
    mixture = build_mixtures(sources()[5:6], [0.0], seed=3)[0]  # the 1 s source: quick
    rows = evaluate_mixture(mixture, {"noisy": lambda x: x, "tiny": model_method(tiny_generator())})
    assert [r["method"] for r in rows] == ["noisy", "tiny", "oracle_irm", "oracle_psm"]
    assert rows[0]["si_sdr_i"] == 0.0 and all(r["samples"] == MIN_SAMPLES for r in rows)
    assert all(math.isfinite(r[k]) for r in rows for k in ("si_sdr", "si_sdr_i", "stoi", "rtf"))
    assert rows[2]["si_sdr_i"] > 5.0  # the oracle really had the clean source


def test_end_to_end_run_with_an_injected_tiny_model(tmp_path):
    argv = ["--synth-n", "1", "--per-source", "0", "--snrs", "0", "--out", str(tmp_path), "--quiet",
            "--stationary-only"]
    assert main(argv, models={"tiny": model_method(tiny_generator())}) == 0
    results = json.loads((tmp_path / "specmask_quality.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    from benchmarks.denoisers import available

    anchors = [name for name in ("rnnoise", "deepfilternet3") if name in available()[0]]  # `make bench` has both
    methods = ["noisy", "noisereduce_stationary", "noisereduce_nonstationary", *anchors, "tiny", "oracle_irm",
               "oracle_psm"]
    assert results["methods"] == methods and [r["method"] for r in results["rows"]] == methods
    table = results["aggregates"]["synth, stationary"]
    assert set(results["aggregates"]) == {"synth, stationary"} and set(table["0"]) == set(methods)
    assert results["test_set"]["mixtures"] == 1 and results["targets"]["tiny"]["synth_gap_closed_percent"]
    report = (tmp_path / "specmask_quality.md").read_text()
    assert "On synth sources in stationary noise `tiny` closes" in report
    assert "beats noisereduce (best of the two)" in report
    assert "| oracle_psm |" in report
    assert (tmp_path / "specmask_quality.png").stat().st_size > 1000


@pytest.mark.skipif(bool(missing_external_tools()),
                    reason=f"needs espeak-ng, fluidsynth + fluid-soundfont-gm and alsa-utils' WAVs (apt-get install "
                           f"espeak-ng fluidsynth fluid-soundfont-gm alsa-utils); missing: {missing_external_tools()}")
def test_external_sources_are_real_audio_of_the_right_domains(tmp_path):
    found, missing = external_sources(tmp_path, 1)
    assert missing == []
    assert [(s.tool, s.domain) for s in found] == [("espeak-ng", "speech"), ("alsa", "speech"),
                                                   ("fluidsynth", "instrument")]
    for source in found:
        assert MIN_SAMPLES <= source.audio.shape[-1] <= WINDOW and float(source.audio.abs().max()) > 0.05
    again, _ = external_sources(tmp_path / "again", 1)
    assert all(torch.equal(a.audio, b.audio) for a, b in zip(found, again))
    assert [s.name for s in alsa_speech(20)] == sorted(p.stem for p in ALSA_SOUNDS.glob("*.wav") if p.stem != "Noise")


def test_the_interferer_table_puts_stationary_kinds_first_and_averages_pesq_per_snr():
    from benchmarks.specmask_quality import interferer_table

    rows = [{"method": "m", "interferer": kind, "snr_db": snr, "pesq": pesq}
            for kind, pesqs in (("music", (1.0, 3.0)), ("white", (2.0, 2.0))) for pesq in pesqs
            for snr in (-5.0, 0.0, 5.0, 10.0)]
    lines = interferer_table(rows, ["m"], "title").splitlines()
    assert lines[0] == "| title | white | music |"
    assert lines[2] == "| m | 2.00 / 2.00 / 2.00 / 2.00 (2) | 2.00 / 2.00 / 2.00 / 2.00 (2) |"
