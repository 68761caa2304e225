"""The README's figure of a melody played back: ``inverse predict --each-note --out DIR`` on a sox pluck arpeggio
(C4 E4 G4 for half a second each, C5 for one), then the recording beside ``DIR/arpeggio_melody.wav`` (each note
played by its own answer's best candidate, :func:`inverse.melody.replayed`), with their multi-scale distance.

    python benchmarks/melody_replay.py [--out docs/melody_replay.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inverse.cli import main as inverse_main  # noqa: E402
from inverse.figures import comparison_figure  # noqa: E402
from synth.inputs import load_audio  # noqa: E402
from synth.perceptual import mss_distance  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG, spectrogram  # noqa: E402

NOTES = (("C4", 0.5), ("E4", 0.5), ("G4", 0.5), ("C5", 1.0))


def arpeggio(folder: Path) -> Path:
    """The sox pluck arpeggio of :data:`NOTES` at 44.1 kHz."""
    parts = []
    for k, (name, seconds) in enumerate(NOTES):
        parts.append(folder / f"part{k}.wav")
        subprocess.run(["sox", "-R", "-n", "-r", "44100", str(parts[-1]), "synth", str(seconds), "pluck", name,
                        "fade", "0", str(seconds), "0.05"], check=True)
    path = folder / "arpeggio.wav"
    subprocess.run(["sox", *map(str, parts), str(path)], check=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/melody_replay.png"), help="the figure (PNG)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recording = arpeggio(folder)
        if inverse_main(["predict", str(recording), "--each-note", "--out", str(folder / "answers")]) != 0:
            return 1
        audio = torch.stack([load_audio(path, DEFAULT_CONFIG, downmix=True)[0]
                             for path in (recording, folder / "answers" / "arpeggio_melody.wav")])
    distance = mss_distance(audio[1:], audio[:1])
    with torch.no_grad():
        images = spectrogram(audio, DEFAULT_CONFIG)
    comparison_figure(images[0], images[1:], distance, args.out, title="inverse predict arpeggio.wav --each-note",
                      labels=["the recording (sox pluck C4 E4 G4 C5)",
                              f"arpeggio_melody.wav (MSS {float(distance[0]):.3f})"])
    print(f"multi-scale distance of the playback to the recording: {float(distance[0]):.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
