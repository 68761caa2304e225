"""``Predictor``: a trained model -> ranked, different candidate patches for a target sound.

>>> predictor = Predictor.from_checkpoint("runs/inverse/best")
>>> prediction = predictor.predict("target.png", samples=10)      # or a WAV, .npy, or Tensor[512, 512]
>>> prediction.table()                                            # ranked text table
>>> prediction.write("out/")                                      # JSON, patches, WAVs, PNGs, figure
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from inverse import checkpoint
from inverse.figures import comparison_figure
from inverse.model import InverseModel
from inverse.refine import RefineConfig, refine_candidates
from inverse.sampling import Candidates, SamplingConfig, sample
from synth.audio_io import write_wav
from synth.errors import InputError
from synth.image_io import write_png
from synth.inputs import load_target
from synth.params import PARAM_NAMES, physical_dict
from synth.patch import save_patch
from synth.spectrogram import DEFAULT_CONFIG, quantize

DEFAULT_MODEL = checkpoint.DEFAULT_MODEL


@dataclass
class Prediction:
    target: torch.Tensor  # normalised Tensor[512, 512]
    candidates: Candidates
    source: str = "tensor"
    notes: list[str] = field(default_factory=list)

    def differences(self, rank: int, top: int = 3) -> str:
        """How candidate ``rank`` (0-based) differs from the best: its largest normalised changes."""
        if rank == 0:
            return "(best)"
        delta = self.candidates.params[rank] - self.candidates.params[0]
        order = torch.argsort(delta.abs(), descending=True)[:top]
        return ", ".join(f"{PARAM_NAMES[i]} {float(delta[i]):+.2f}" for i in order.tolist())

    def table(self) -> str:
        lines = [f"{'rank':>4}  {'distance dB':>11}  differs from #1 in (normalised)"]
        for k, d in enumerate(self.candidates.distance_db.tolist()):
            lines.append(f"{k + 1:>4}  {d:>11.2f}  {self.differences(k)}")
        if not self.candidates.diverse:
            lines.append("note: the pool had too few mutually different candidates; the last ones are the closest "
                         "remaining (raise --sigma or --pool)")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "target": {"source": self.source, "notes": self.notes},
            "diverse": self.candidates.diverse,
            "candidates": [
                {"rank": k + 1, "distance_db": round(float(d), 4), "params": physical_dict(p),
                 "normalized": [round(float(x), 6) for x in p]}
                for k, (p, d) in enumerate(zip(self.candidates.params, self.candidates.distance_db))
            ],
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """candidates.json, and per candidate ``rankNN.patch.json|.wav|.png``, plus comparison.png."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "candidates.json"]
        written[0].write_text(json.dumps(self.to_json(), indent=2))
        for k in range(self.candidates.params.shape[0]):
            stem = out / f"rank{k + 1:02d}"
            save_patch(stem.with_suffix(".patch.json"), self.candidates.params[k])
            write_wav(stem.with_suffix(".wav"), self.candidates.audio[k], DEFAULT_CONFIG.sample_rate)
            write_png(stem.with_suffix(".png"), quantize(self.candidates.spectrogram[k]).numpy())
            written += [stem.with_suffix(s) for s in (".patch.json", ".wav", ".png")]
        written.append(comparison_figure(self.target, self.candidates.spectrogram, self.candidates.distance_db,
                                         out / "comparison.png", title=f"target: {self.source}"))
        return written


class Predictor:
    """Wraps a trained :class:`InverseModel`; ``predict`` returns a :class:`Prediction`."""

    def __init__(self, model: InverseModel):
        self.model = model.eval()

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, device: str = "cpu") -> Predictor:
        path = Path(path) if path is not None else DEFAULT_MODEL
        if path == DEFAULT_MODEL and not DEFAULT_MODEL.with_suffix(".json").exists():
            raise InputError("no default model is shipped with this installation; train one (`inverse train "
                             "--train data/train.h5 --out runs/NAME`) and pass --model runs/NAME/best")
        return cls(checkpoint.load(path, device)[0])

    def predict(self, target: torch.Tensor | str | Path, samples: int = 10, *, pool: int = SamplingConfig.pool,
                sigma: float = SamplingConfig.sigma, min_distance: float = SamplingConfig.min_distance,
                seed: int = 0, convert: bool = False, downmix: bool = False,
                refine: RefineConfig | None = None) -> Prediction:
        """target: a normalised ``Tensor[512, 512]`` or a path to a spectrogram PNG, a WAV or a ``.npy``;
        ``refine``: optional refinement of the sampled candidates (:mod:`inverse.refine`)."""
        target, source, notes = load_any_target(target, convert=convert, downmix=downmix)
        config = SamplingConfig(pool=pool, samples=samples, sigma=sigma, min_distance=min_distance, seed=seed)
        refine = refine or RefineConfig()
        try:
            config.validate()
            refine.validate()
        except ValueError as error:
            raise InputError(str(error)) from None
        found = sample(self.model, target, config)
        return Prediction(target, refine_candidates(found, target, refine, min_distance), source, notes)


def load_any_target(target: torch.Tensor | str | Path, *, convert: bool = False, downmix: bool = False
                    ) -> tuple[torch.Tensor, str, list[str]]:
    """A normalised ``Tensor[512, 512]`` or a path (PNG, WAV, ``.npy``) -> (float32 spectrogram, source
    description, conversion notes); anything else is an :class:`InputError`."""
    notes: list[str] = []
    source = "tensor"
    if not isinstance(target, torch.Tensor):
        source = str(target)
        target, notes = load_target(target, convert=convert, downmix=downmix)
    if target.shape != (DEFAULT_CONFIG.bins, DEFAULT_CONFIG.frames):
        raise InputError(f"expected a target spectrogram of shape (512, 512), got {tuple(target.shape)}")
    return target.float(), source, notes
