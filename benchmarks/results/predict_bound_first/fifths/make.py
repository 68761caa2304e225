"""Power-chord validation patches (the kind of held-out row 104): prior-2 draws with oscillator 1 a fifth above the
note and oscillator 2 at unison, oscillator 3 off; keeps those CREPE calls clearly pitched."""
import soundfile as sf
import torch

from inverse.target import Target
from synth.params import PARAM_INDEX
from synth.prior import draw
from synth.voice import render

kept = 0
for seed in range(100, 200):
    p = draw(seed, 1, 1, prior="2")
    g = torch.Generator().manual_seed(seed)
    for name, value in (("osc1_semitone", 19 / 24), ("osc2_semitone", 0.5), ("osc1_octave", 0.5), ("osc2_octave", 0.5),
                        ("osc3_level", 0.0), ("osc1_level", 0.6 + 0.4 * float(torch.rand(1, generator=g))),
                        ("osc2_level", 0.6 + 0.4 * float(torch.rand(1, generator=g)))):
        p[:, PARAM_INDEX[name]] = value
    audio = render(p)[0]
    t = Target.from_audio(audio)
    if bool(t.pitch.clear[0]):
        sf.write(f"/tmp/fifths/fifth{seed}.wav", audio.numpy(), 16000, subtype="FLOAT")
        kept += 1
        print(seed, round(float(t.pitch.f0_hz[0]), 1), flush=True)
    if kept == 16:
        break
