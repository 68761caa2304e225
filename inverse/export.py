"""``inverse export``: a trained model (and the flow sampler trained with it) rewritten as a pair to ship.

A run directory holds ``best`` and ``best_flow`` tied together by the SHA-256 of ``best.safetensors``. Exporting
writes the model to ``out`` and the flow to ``flow_out`` (``half``: learned weights as float16, half the bytes;
loading casts them back to float32; ``guidance``: the flow's sampling guidance, chosen on validation targets) and
ties the exported flow to the exported model's bytes, so ``inverse predict --model OUT --flow FLOW_OUT`` (or the
shipped pair, found by name) loads them together. Training data, metrics and configs travel in the JSON halves.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from inverse import checkpoint
from inverse.flow import file_sha256, load_flow, save_flow
from synth.errors import non_negative_float


def export(model_path: str | Path, out: str | Path, *, flow_path: str | Path | None = None,
           flow_out: str | Path | None = None, half: bool = True, guidance: float | None = None) -> dict:
    """Write the model (and flow) pair; returns ``{"model": path, "flow": path | None, "bytes": total}``.

    The flow must have been trained on ``model_path``'s backbone (refused otherwise, as by ``predict``);
    ``guidance`` replaces its classifier-free guidance scale at sampling (a setting chosen on validation targets,
    not a weight)."""
    model, info = checkpoint.load(model_path)
    flow = load_flow(flow_path, checkpoint.paths(model_path)[0]) if flow_path is not None else None
    weights = checkpoint.save(model, out, data_fingerprint=info.get("data"), metrics=info.get("metrics"), half=half)
    flow_weights = None
    if flow is not None:
        net, flow_info = flow
        if guidance is not None:
            non_negative_float.check(guidance, "guidance")
            net.config = replace(net.config, guidance=float(guidance))
        flow_weights = save_flow(net, flow_out if flow_out is not None else Path(str(out) + "_flow"),
                                 backbone_sha256=file_sha256(weights), data=flow_info["data"],
                                 metrics=flow_info["metrics"], half=half)
    pairs = [weights] + ([flow_weights] if flow_weights is not None else [])
    return {"model": str(weights), "flow": str(flow_weights) if flow_weights is not None else None,
            "bytes": sum(f.stat().st_size for w in pairs for f in checkpoint.paths(w))}
