"""The voice: 100 normalised parameters in, 4.088 s of mono audio out.

Signal flow::

    3 oscillators (morph, FM, PWM) + sub + ring mod -> mixer -> drive
      -> [STFT] main filter (env / key / LFO 2 / velocity) x high-pass x EQ, + coloured noise -> [ISTFT]
      -> amplifier (envelope, velocity, LFO 2 tremolo) -> chorus -> echo + reverb -> output soft clip

``render(params)`` is a pure function: no random state (noise comes from fixed tables), no
cross-example operation, so a row renders to the same bits whatever the batch. It is differentiable
with respect to every continuous parameter.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn

from synth import tables
from synth.control import CONTROL_HOP, adsr, lfo, upsample
from synth.effects import chorus, drive, echo_response, reverb_response
from synth.errors import note
from synth.filters import equalizer, highpass, main_filter
from synth.invariant_math import Complex, cmul, exp2, inverse_real_fft, irfft, power, real_fft, rfft
from synth.oscillators import morph, phase, pulse
from synth.params import NUM_PARAMS, PARAM_SPECS
from synth.spectrogram import DEFAULT_CONFIG, SpectrogramConfig

FILTER_FRAME = 512  # samples per frame of the filter's STFT (Hann, 50 % overlap, zero-padded x2)
FILTER_HOP = FILTER_FRAME // 2
FILTER_FFT = 2 * FILTER_FRAME
EFFECTS_FFT = 2 ** 17  # >= signal + reverb length - 1, so echo and reverb never wrap around
REVERB_LENGTH = 2 ** 16
MAX_OSC_HZ = 7500.0
CHUNK_ROWS = 16  # rows rendered at once inside a larger batch on the CPU
CUDA_CHUNK_ROWS = 128  # on a GPU: kernel launches, not cache, bound the speed there, so larger chunks


class Voice(nn.Module):
    """The synthesizer. ``forward(params: Tensor[B, 100] in [0, 1]) -> Tensor[B, num_samples]`` in (-1, 1)."""

    def __init__(self, config: SpectrogramConfig = DEFAULT_CONFIG):
        super().__init__()
        self.sample_rate = config.sample_rate
        self.num_samples = config.num_samples
        if self.num_samples % CONTROL_HOP:
            raise ValueError(f"num_samples must be a multiple of {CONTROL_HOP}")
        sr = float(self.sample_rate)
        # Normalised -> physical per column: low + x * span (linear), low * exp(x * log_ratio) (log),
        # low + index * span (discrete; span is the step between values).
        kind = [2 if spec.is_discrete else 1 if spec.scale == "log" else 0 for spec in PARAM_SPECS]
        span = [(spec.high - spec.low) / (max(1, spec.choices - 1) if spec.is_discrete else 1) for spec in PARAM_SPECS]
        log_ratio = [math.log(spec.high / spec.low) if kind == 1 else 0.0 for spec, kind in zip(PARAM_SPECS, kind)]
        self.register_buffer("param_kind", torch.tensor(kind), persistent=False)
        self.register_buffer("param_low", torch.tensor([spec.low for spec in PARAM_SPECS]), persistent=False)
        self.register_buffer("param_span", torch.tensor(span), persistent=False)
        self.register_buffer("param_log_ratio", torch.tensor(log_ratio), persistent=False)
        self.register_buffer("param_choices", torch.tensor([float(spec.choices or 1) for spec in PARAM_SPECS]),
                             persistent=False)
        num_points = self.num_samples // CONTROL_HOP + 1
        self.register_buffer("control_t", torch.arange(num_points) * (CONTROL_HOP / sr), persistent=False)
        self.register_buffer("ramp", torch.arange(CONTROL_HOP) / CONTROL_HOP, persistent=False)
        num_frames = self.num_samples // FILTER_HOP + 1
        self.register_buffer("frame_t", torch.arange(num_frames) * (FILTER_HOP / sr), persistent=False)
        self.register_buffer("filter_window", torch.hann_window(FILTER_FRAME, periodic=True), persistent=False)
        self.register_buffer("bin_hz", torch.fft.rfftfreq(FILTER_FFT, 1.0 / sr).clamp(min=1.0), persistent=False)
        noise_re, noise_im = self._stft(torch.from_numpy(tables.white_noise(self.num_samples))[None])
        self.register_buffer("noise_re", noise_re.contiguous(), persistent=False)
        self.register_buffer("noise_im", noise_im.contiguous(), persistent=False)
        self.register_buffer("sample_hold", torch.from_numpy(tables.sample_hold()), persistent=False)
        self.register_buffer("drift", torch.from_numpy(tables.drift(num_points)), persistent=False)
        bands = torch.from_numpy(tables.reverb_bands(REVERB_LENGTH, self.sample_rate))
        self.register_buffer("reverb_bands", bands, persistent=False)
        early = torch.zeros(REVERB_LENGTH)
        for ms, gain in zip(tables.EARLY_TAPS_MS, tables.EARLY_GAINS):
            early[round(ms * sr / 1000.0)] = gain
        self.register_buffer("early", early / early.norm(), persistent=False)
        self.register_buffer("band_hz", torch.tensor(tables.REVERB_BAND_CENTRES_HZ)[:, None], persistent=False)
        self.register_buffer("reverb_t", torch.arange(REVERB_LENGTH) / sr, persistent=False)
        self.register_buffer("fx_hz", torch.fft.rfftfreq(EFFECTS_FFT, 1.0 / sr), persistent=False)
        self.register_buffer("fx_omega", 2 * math.pi * torch.fft.rfftfreq(EFFECTS_FFT), persistent=False)

    def unpack(self, params: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``(B, 100)`` normalised -> values in physical units ``{name: Tensor[B, 1]}`` and discrete
        one-hot weights ``{name: Tensor[choices, B, 1]}``.

        All 100 columns are converted by one elementwise expression into one ``(B, 100)`` tensor: a
        compiled kernel then reads every per-row value with a stride of 100, which keeps inductor from
        tiling (and serialising) the batch axis of the frequency-domain kernels.
        """
        index = torch.minimum(torch.floor(params.detach() * self.param_choices).clamp(min=0), self.param_choices - 1)
        linear = self.param_low + torch.where(self.param_kind == 2, index, params) * self.param_span
        physical = torch.where(self.param_kind == 1, self.param_low * torch.exp(params * self.param_log_ratio), linear)
        values, onehots = {}, {}
        for i, spec in enumerate(PARAM_SPECS):
            values[spec.name] = physical[:, i:i + 1]
            if spec.is_discrete:
                choices = torch.arange(spec.choices, dtype=index.dtype, device=index.device)[:, None, None]
                onehots[spec.name] = (index[:, i:i + 1] == choices).to(params.dtype)  # (choices, B, 1)
        return values, onehots

    def _stft(self, x: torch.Tensor) -> Complex:
        """Filter-stage STFT: ``Tensor[B, N]`` -> (re, im) of ``Tensor[B, M, FILTER_FFT // 2 + 1]``.

        Frame m holds the Hann-windowed ``x[(m - 1) H : (m + 1) H]`` (H = ``FILTER_HOP``, zeros outside
        the signal) in the middle of ``FILTER_FFT`` samples: ``torch.stft(center=True)``'s frames, made
        by reshaping instead of ``unfold`` (a gather), with the frame axis before the bin axis so both
        FFTs run over contiguous rows.
        """
        frames = self.frame_t.numel()
        tail = frames * FILTER_HOP - self.num_samples  # zeros after the signal: frames + 1 whole blocks in all
        blocks = torch.nn.functional.pad(x, (FILTER_HOP, tail)).reshape(x.shape[0], frames + 1, FILTER_HOP)
        windowed = torch.cat([blocks[:, :-1], blocks[:, 1:]], dim=2) * self.filter_window
        margin = (FILTER_FFT - FILTER_FRAME) // 2
        return real_fft(torch.nn.functional.pad(windowed, (margin, margin)), FILTER_FFT)

    def _istft(self, spectrum: Complex) -> torch.Tensor:
        """Overlap-add without a synthesis window (Hann at 50 % overlap sums to 1), so filter tails of
        up to half a frame survive instead of being cut by a second window.

        spectrum: (re, im) of ``Tensor[B, M, FILTER_FFT // 2 + 1]``. Each ``FILTER_FFT``-sample output
        frame is split into hop-sized quarters; quarter q of frame m lands on output block m + q.
        """
        frames = inverse_real_fft(spectrum, FILTER_FFT)  # (B, M, FILTER_FFT)
        batch, count = frames.shape[:2]
        parts = FILTER_FFT // FILTER_HOP
        quarters = frames.reshape(batch, count, parts, FILTER_HOP)
        blocks = sum(torch.nn.functional.pad(quarters[:, :, q], (0, 0, q, parts - 1 - q)) for q in range(parts))
        start = FILTER_FFT // 2  # frame 0 is centred on sample 0
        return blocks.flatten(1)[:, start:start + self.num_samples]

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        check_params(params)
        return self.synthesize_chunked(params)

    def synthesize_chunked(self, params: torch.Tensor) -> torch.Tensor:
        """:meth:`synthesize` in chunks of ``CHUNK_ROWS`` rows, without input validation."""
        rows = CUDA_CHUNK_ROWS if params.device.type == "cuda" else CHUNK_ROWS
        if params.shape[0] <= rows:
            return self.synthesize(params)
        # Rows are independent, so chunking changes no bit; 16-row working sets stay in cache (~2x faster).
        return torch.cat([self.synthesize(chunk) for chunk in params.split(rows)])

    def synthesize(self, params: torch.Tensor) -> torch.Tensor:
        """The signal path without input validation (what ``torch.compile`` compiles)."""
        v, k = self.unpack(params)
        t = self.control_t
        lfo1 = lfo(t, v["lfo1_rate"], k["lfo1_shape"][:, :, 0].T, v["lfo1_phase"], v["lfo1_fade"], self.sample_hold)
        lfo2 = lfo(t, v["lfo2_rate"], k["lfo2_shape"][:, :, 0].T, v["lfo2_phase"], v["lfo2_fade"], self.sample_hold)
        x = self.oscillators(v, k, lfo1)
        x = self.filter_stage(x, v, k, lfo2)
        x = self.amplifier_and_chorus(x, v, lfo2)
        return self.effects(x, v)

    def oscillators(self, v: dict, k: dict, lfo1: torch.Tensor) -> torch.Tensor:
        """3 oscillators + sub + ring modulation, mixed and driven: ``Tensor[B, N]``.

        v, k: :meth:`unpack`'s values and one-hot weights; lfo1: ``Tensor[B, K]`` at control points.
        """
        sr = float(self.sample_rate)
        t = self.control_t
        pitch_env = v["pitch_env_amount"] * torch.exp(-t / v["pitch_env_decay"])
        note = v["note_pitch"] + pitch_env  # (B, K) semitones

        def oscillator_hz(semitones):
            return (440.0 * exp2((semitones - 69.0) / 12.0)).clamp(0.5, MAX_OSC_HZ)

        voices = []
        for i in (1, 2, 3):
            o = f"osc{i}"
            semis = (note + 12.0 * v[f"{o}_octave"] + v[f"{o}_semitone"] + v[f"{o}_fine"] / 100.0
                     + v[f"{o}_vibrato"] / 100.0 * lfo1 + v["analog_drift"] / 100.0 * self.drift[i - 1])
            freq = oscillator_hz(semis) / sr
            carrier = phase(freq, v[f"{o}_phase"], CONTROL_HOP)
            modulator = phase(freq * v[f"{o}_fm_ratio"], torch.zeros_like(v[f"{o}_phase"]), CONTROL_HOP)
            p = torch.frac(carrier + v[f"{o}_fm_index"] / (2 * math.pi) * torch.sin(2 * math.pi * modulator) + 1.0)
            p = p - torch.floor(p)
            dt = upsample(freq, self.ramp).clamp(1e-6, 0.5)
            width = upsample((v[f"{o}_pulse_width"] + v["lfo1_pwm"] * lfo1).clamp(0.02, 0.98), self.ramp)
            voices.append(morph(p, dt, v[f"{o}_shape"], width))

        sub_freq = oscillator_hz(note + 12.0 * v["sub_octave"]) / sr
        sub_phase = phase(sub_freq, torch.zeros_like(v["sub_level"]), CONTROL_HOP)
        sub_dt = upsample(sub_freq, self.ramp).clamp(1e-6, 0.5)
        sub_square = k["sub_shape"][1]
        sub = ((1.0 - sub_square) * torch.sin(2 * math.pi * sub_phase)
               + sub_square * pulse(sub_phase, sub_dt, torch.full_like(sub_phase, 0.5)))

        mix = 0.5 * (v["osc1_level"] * voices[0] + v["osc2_level"] * voices[1] + v["osc3_level"] * voices[2]
                     + v["sub_level"] * sub + v["ring_level"] * voices[0] * voices[1])
        return drive(mix, v["drive_gain"], k["drive_type"], v["drive_mix"], v["drive_bias"])

    def filter_stage(self, mix: torch.Tensor, v: dict, k: dict, lfo2: torch.Tensor) -> torch.Tensor:
        """Main filter (envelope / key / LFO 2 / velocity), high-pass, EQ and coloured noise, applied in
        the filter STFT's domain with modulation taken at frame centres: ``Tensor[B, N]`` -> ``Tensor[B, N]``."""
        sr = float(self.sample_rate)
        frame_t = self.frame_t
        filter_env = adsr(frame_t, v["filter_env_attack"], v["filter_env_decay"], v["filter_env_sustain"],
                          v["filter_env_release"], v["note_gate"], v["filter_env_curve"])
        lfo2_frames = torch.nn.functional.interpolate(lfo2[:, None], size=frame_t.numel(), mode="linear",
                                                      align_corners=True)[:, 0]
        octaves = (v["filter_env_amount"] * filter_env + v["filter_keytrack"] * (v["note_pitch"] - 60.0) / 12.0
                   + v["filter_lfo_amount"] * lfo2_frames + v["filter_velocity"] * (v["note_velocity"] - 1.0))
        cutoff = (v["filter_cutoff"] * exp2(octaves)).clamp(20.0, 0.48 * sr)
        q = 0.5 * power(40.0, v["filter_resonance"])
        response = main_filter(self.bin_hz, cutoff[:, :, None], q[:, :, None], k["filter_type"][:, :, :, None],
                               k["filter_slope"][1][:, :, None])
        hpf = highpass(self.bin_hz, v["hpf_cutoff"][:, :, None], (0.5 * power(16.0, v["hpf_resonance"]))[:, :, None])
        eq = equalizer(self.bin_hz, v["eq_low_gain"], v["eq_low_freq"], v["eq_mid_gain"], v["eq_mid_freq"],
                       v["eq_mid_q"], v["eq_high_gain"], v["eq_high_freq"])
        fixed = cmul(hpf, (eq[0][:, None, :], eq[1][:, None, :]))
        colour = torch.exp(0.5 * v["noise_color"][:, :, None] * torch.log(self.bin_hz / 1000.0))  # 0 dB at 1 kHz
        colour = 0.25 * colour / colour.square().mean(dim=2, keepdim=True).sqrt()
        noise_gain = colour * (v["noise_level"] * torch.exp(-frame_t / v["noise_decay"]))[:, :, None]
        noise = (self.noise_re * noise_gain, self.noise_im * noise_gain)
        through, after = k["noise_route"][0][:, :, None], k["noise_route"][1][:, :, None]
        spectrum = self._stft(mix)
        source = (spectrum[0] + through * noise[0], spectrum[1] + through * noise[1])
        filtered = cmul(source, response)
        filtered = (filtered[0] + after * noise[0], filtered[1] + after * noise[1])
        return self._istft(cmul(filtered, fixed))

    def amplifier_and_chorus(self, x: torch.Tensor, v: dict, lfo2: torch.Tensor) -> torch.Tensor:
        """Amplifier envelope, velocity and LFO 2 tremolo, then the chorus: ``Tensor[B, N]`` -> ``Tensor[B, N]``."""
        sr = float(self.sample_rate)
        t = self.control_t
        amp = adsr(t, v["amp_env_attack"], v["amp_env_decay"], v["amp_env_sustain"], v["amp_env_release"],
                   v["note_gate"], v["amp_env_curve"])
        amp = amp * (1.0 - v["amp_velocity"] * (1.0 - v["note_velocity"]))
        amp = amp * (1.0 - v["lfo2_tremolo"] * (0.5 - 0.5 * lfo2))
        x = x * upsample(amp, self.ramp)

        sweep = 0.5 + 0.5 * torch.sin(2 * math.pi * v["chorus_rate"] * t)
        delay_ms = v["chorus_delay"] + v["chorus_depth"] * sweep
        return chorus(x, upsample(delay_ms * (sr / 1000.0), self.ramp), v["chorus_mix"])

    def effects(self, x: torch.Tensor, v: dict) -> torch.Tensor:
        """Echo and reverb (one frequency-domain product), output gain and soft clip: ``Tensor[B, N]``."""
        sr = float(self.sample_rate)
        echo = echo_response(self.fx_omega, self.fx_hz, v["delay_time"] * sr, v["delay_feedback"],
                             v["delay_damping"], self.num_samples)
        room = reverb_response(self.reverb_bands, self.early, self.band_hz, self.reverb_t, self.fx_omega,
                               EFFECTS_FFT, v["reverb_decay"], v["reverb_damping"], v["reverb_early"],
                               v["reverb_predelay"] * sr)
        wet = (1.0 + v["delay_mix"] * echo[0] + v["reverb_mix"] * room[0],
               v["delay_mix"] * echo[1] + v["reverb_mix"] * room[1])
        x = irfft(cmul(rfft(x, EFFECTS_FFT), wet), EFFECTS_FFT)[:, :self.num_samples]
        return soft_clip(x * power(10.0, v["output_gain"] / 20.0))


def soft_clip(x: torch.Tensor, knee: float = 0.8) -> torch.Tensor:
    """Identity below ``knee``, then a tanh curve that approaches +-1; continuous slope at the knee."""
    magnitude = x.abs()
    over = knee + (1.0 - knee) * torch.tanh((magnitude - knee) / (1.0 - knee))
    return torch.where(magnitude <= knee, x, torch.sign(x) * over)


def check_params(params: torch.Tensor) -> None:
    """Raise ``ValueError`` with one clear line unless ``params`` is a finite float ``(B, 100)`` in [0, 1]."""
    if not isinstance(params, torch.Tensor):
        raise ValueError(f"params must be a torch.Tensor of shape (B, {NUM_PARAMS}), got {type(params).__name__}")
    if params.ndim != 2 or params.shape[1] != NUM_PARAMS:
        raise ValueError(f"params must have shape (B, {NUM_PARAMS}), got {tuple(params.shape)}")
    if not params.is_floating_point():
        raise ValueError(f"params must be a float tensor, got {params.dtype}")
    finite = torch.isfinite(params)
    if not bool(finite.all()):
        raise ValueError("params contain NaN or infinite values")
    if bool((params < 0).any()) or bool((params > 1).any()):
        raise ValueError(f"params must lie in [0, 1]; found values in [{float(params.min()):g}, "
                         f"{float(params.max()):g}]")


@lru_cache(maxsize=8)
def _voice(device: str) -> Voice:
    return Voice().to(device=device)


def render(params: torch.Tensor, path: str = "eager") -> torch.Tensor:
    """Render ``Tensor[B, 100]`` normalised parameters to ``Tensor[B, 65408]`` float32 audio at 16 kHz in [-1, 1].

    Runs on the device of ``params`` in float32. Raises ``ValueError`` (one line) for anything but a finite
    float tensor ``(B, 100)`` in [0, 1].

    ``path`` (see :mod:`synth.fast_render`): ``"eager"`` runs PyTorch's ops (any device); ``"fast"`` runs the
    ahead-of-time compiled voice (CPU, ~5x faster; built into a per-machine cache on first use: 1-2 minutes,
    and 2-4 more for its gradient library the first time gradients are needed); ``"auto"`` takes the fast
    path when what it needs is already built and the input is on the CPU, else the eager path. Both are
    differentiable with respect to continuous parameters.
    Both paths are batch-invariant bit for bit; they agree with each other to float tolerance, not bit for
    bit (a dataset records which path made it).
    """
    from synth import fast_render

    check_params(params)
    params = params.to(torch.float32)
    if path not in fast_render.RENDER_PATHS:
        raise ValueError(f"unknown render path {path!r}; expected one of {', '.join(fast_render.RENDER_PATHS)}")
    if params.shape[0] == 0:  # nothing to render (a search that found nothing): no FFT of zero rows
        return params[:, :1].expand(-1, DEFAULT_CONFIG.num_samples) * 0.0  # Tensor[0, N], in the autograd graph
    gradients = params.requires_grad and torch.is_grad_enabled()
    if path == "auto":
        path = fast_render.resolve("auto", gradients=gradients) if params.device.type == "cpu" else "eager"
    if path == "eager":
        return _voice(str(params.device)).synthesize_chunked(params)
    if params.device.type != "cpu":
        raise ValueError(f"the fast render runs on the CPU; got params on {params.device} (use path='eager')")
    return fast_render.FastVoice.load(build_if_needed=True, log=note, gradients=gradients)(params)
