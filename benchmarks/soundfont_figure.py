"""The README's figure of a patch as a sampled instrument: ``make demo``'s best candidate rendered by the synth (the
key held 3.5 s, note_gate's longest) beside its SoundFont (``python -m synth soundfont``) played by fluidsynth with
the key held 8 s, on its sustain loop, and let go: spectrograms and levels.

    python benchmarks/soundfont_figure.py [--patch demo_out/rank01.patch.json] [--key A3] \\
        [--out docs/soundfont_held.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402
import torchaudio.functional as AF  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synth.instrument import sampled_instrument  # noqa: E402
from synth.midi_file import MidiNote, write_midi  # noqa: E402
from synth.notes import parse_note  # noqa: E402
from synth.patch import load_patch  # noqa: E402
from synth.phrase import TimedNote, play_notes  # noqa: E402

RATE, HOLD_S, SHOWN_S = 16000, 8.0, 11.0


def levels_db(audio: np.ndarray) -> np.ndarray:
    frames = audio[:audio.size // 160 * 160].reshape(-1, 160)  # 10 ms
    return 10.0 * np.log10(np.maximum((frames ** 2).mean(axis=1), 1e-12))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patch", type=Path, default=Path("demo_out/rank01.patch.json"), help="patch JSON (make demo)")
    parser.add_argument("--key", default="A3", help="the key played (default A3)")
    parser.add_argument("--out", type=Path, default=Path("docs/soundfont_held.png"))
    args = parser.parse_args()
    patch, key = load_patch(args.patch), round(parse_note(args.key))
    synth = play_notes(patch, [TimedNote(0.0, float(key), HOLD_S)]).audio.numpy()  # held 3.5 s: its longest gate
    instrument = sampled_instrument(patch)
    looped = next(z for z in instrument.zones if z.keys[0] <= key <= z.keys[1]).loop is not None
    with tempfile.TemporaryDirectory() as folder:
        font, midi, out = (Path(folder) / name for name in ("patch.sf2", "held.mid", "held.wav"))
        instrument.write(font, "patch")
        write_midi(midi, [MidiNote(0.0, HOLD_S, key, 127, 0)])
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "1", "-R", "0", "-C", "0", "-o", "audio.file.format=float",
                        "-r", "48000", "-F", str(out), str(font), str(midi)], check=True, capture_output=True)
        played, rate = soundfile.read(out, dtype="float32", always_2d=True)
    sampler = AF.resample(torch.from_numpy(played.mean(axis=1)), rate, RATE).numpy()
    sampler *= np.sqrt((synth[:2 * RATE] ** 2).mean() / max((sampler[:2 * RATE] ** 2).mean(), 1e-20))  # its gain
    figure, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [2, 2, 1.3]})
    rows = ((f"the synth: key held {HOLD_S:g} s, rendered as far as note_gate goes (3.5 s)", synth),
            (f"its SoundFont in fluidsynth: key held {HOLD_S:g} s" + (", on the sample's sustain loop" if looped else
                                                                       " (this note plays once)"), sampler))
    for axis, (title, audio) in zip(axes, rows):
        shown = np.zeros(round(SHOWN_S * RATE))
        shown[:min(shown.size, audio.size)] = audio[:shown.size]
        axis.specgram(shown + 1e-7, NFFT=1024, Fs=RATE, noverlap=768, cmap="magma", vmin=-130)
        axis.set_ylabel("kHz")
        axis.set_yticks(range(0, 8001, 2000), [str(k) for k in range(0, 9, 2)])
        axis.set_title(title, fontsize=10)
        axes[2].plot(np.arange(levels_db(shown).size) / 100.0, levels_db(shown), label=title.split(":")[0])
    axes[2].axvline(HOLD_S, color="grey", linestyle=":", label="key let go")
    axes[2].set_ylim(-100, 0)
    axes[2].set_ylabel("dBFS")
    axes[2].set_xlabel("seconds")
    axes[2].legend(fontsize=8, loc="lower left")
    figure.suptitle(f"{args.patch.name} at {args.key}: the synth and its SoundFont, a key held {HOLD_S:g} s")
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
