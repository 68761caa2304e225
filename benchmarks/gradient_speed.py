"""Speed of the synth's gradient, eager autograd against the fast path's compiled gradient, written to
benchmarks/results/.

    python benchmarks/gradient_speed.py [--rows 16] [--repeats 7] [--steps 10] [--threads 2]
                                        [--out benchmarks/results]

Measures, interleaved in one process (the order rotates every repeat; medians after one warm-up call each),
on ``--rows`` prior patches (one compiled chunk by default, what refinement renders):

1. a forward and backward pass through ``render`` (``(audio * cotangent).sum().backward()``, a fixed random
   cotangent) on the eager path and on the fast path (:mod:`synth.fast_render`: the ``gradient`` library's
   forward model, which keeps its residuals, then its backward model);
2. a forward pass without gradients on each path, for scale;
3. :func:`inverse.refine.refine_gradient` as ``inverse predict`` runs it (``--steps`` Adam steps on the
   perceptual match distance to a target: another prior patch's audio) on each path;
4. the other half of a refinement step, the perceptual match distance's forward and backward pass on the rows'
   audio: with :func:`synth.perceptual.stft_magnitude`'s hand-written backward, and with autograd's own
   backward of ``torch.stft(...).abs()`` (what it replaced).

Checks: the two paths' gradients (relative difference), refinement's resulting distances, and the two match
gradients (relative difference).
Results: ``gradient_speed.json`` (every reading, machine, load average, command line) and ``gradient_speed.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    RESULTS,
    command_line,
    git_commit,
    load_average,
    machine_info,
    summary,
    timed,
    write_results,
)
from inverse.refine import refine_gradient  # noqa: E402
from inverse.target import Target  # noqa: E402
from synth import fast_render, perceptual, render  # noqa: E402
from synth.prior import draw  # noqa: E402

NAME = "gradient_speed"
PATHS = ("eager", "fast")
STFTS = {"hand-written": perceptual.stft_magnitude,
         "autograd": lambda audio, window, n_fft, hop: torch.stft(audio, n_fft, hop, window.numel(), window,
                                                                  center=True, return_complex=True).abs()}


def measure(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    for kind in fast_render.KINDS:
        fast_render.build(kind, log=print)
    params = draw(31, 0, args.rows, prior="2")
    cotangent = torch.randn(args.rows, 65408, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        target = Target.from_audio(render(draw(32, 0, 1, prior="2"))[0], "prior patch")

    def backward(path: str) -> torch.Tensor:
        wanted = params.clone().requires_grad_(True)
        (render(wanted, path=path) * cotangent).sum().backward()
        return wanted.grad

    def forward(path: str) -> None:
        with torch.no_grad():
            render(params, path=path)

    def refine(path: str) -> torch.Tensor:
        return refine_gradient(params, target, steps=args.steps, render_path=path)[1]

    with torch.no_grad():
        audio = render(params, path="fast")

    def match(stft: str) -> torch.Tensor:
        perceptual.stft_magnitude = STFTS[stft]
        try:
            wanted = audio.clone().requires_grad_(True)
            perceptual.match_distance(perceptual.features(wanted), target.features, target.pitch_hz).sum().backward()
        finally:
            perceptual.stft_magnitude = STFTS["hand-written"]
        return wanted.grad

    cases = {f"{kind} {path}": (fn, path) for kind, fn in (("forward+backward", backward), ("forward", forward),
                                                           ("refine", refine)) for path in PATHS}
    cases |= {f"match {stft}": (match, stft) for stft in STFTS}
    readings = {name: [] for name in cases}
    for fn, path in cases.values():
        fn(path)  # warm-up: loads the compiled libraries
    names = list(cases)
    for repeat in range(args.repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            fn, path = cases[name]
            readings[name].append(timed(lambda fn=fn, path=path: fn(path)))
    grads = {path: backward(path) for path in PATHS}
    distances = {path: refine(path) for path in PATHS}
    ours, reference = match("hand-written"), match("autograd")
    return {"timings": {name: summary(seconds) for name, seconds in readings.items()},
            "gradient_relative_difference": float((grads["fast"] - grads["eager"]).norm() / grads["eager"].norm()),
            "match_gradient_relative_difference": float((ours - reference).norm() / reference.norm()),
            "refined_distance": {path: [round(float(d), 4) for d in distances[path]] for path in PATHS}}


def markdown(r: dict) -> str:
    t, a = r["timings"], r["args"]
    lines = [f"# Gradient speed: eager autograd vs the fast path's compiled gradient ({a['rows']} rows)", "",
             f"Command: `{r['command']}` (commit {r['commit']})", "",
             f"Machine: {r['machine']['cpu_model']}, {a['threads']} threads, torch {r['machine']['torch']}; load "
             f"average before {r['load_before']}, after {r['load_after']}. Medians of {a['repeats']} interleaved "
             "readings (min .. max).", "",
             "| what | eager (s) | fast (s) | fast / eager |", "|---|---:|---:|---:|"]
    for kind in ("forward+backward", "forward", "refine"):
        eager, fast = t[f"{kind} eager"], t[f"{kind} fast"]
        label = f"refine_gradient, {a['steps']} steps" if kind == "refine" else kind
        lines.append(f"| {label} | {eager['median_s']:.3f} ({eager['min_s']:.3f} .. {eager['max_s']:.3f}) | "
                     f"{fast['median_s']:.3f} ({fast['min_s']:.3f} .. {fast['max_s']:.3f}) | "
                     f"{fast['median_s'] / eager['median_s']:.2f} |")
    mean = {path: sum(d) / len(d) for path, d in r["refined_distance"].items()}
    lines += ["", f"Gradient of the fast path against eager autograd's: relative difference "
              f"{r['gradient_relative_difference']:.2e}. Mean match distance after refinement: eager "
              f"{mean['eager']:.4f}, fast {mean['fast']:.4f}.", ""]
    ours, reference = t["match hand-written"], t["match autograd"]
    lines += ["The perceptual match distance's forward+backward pass on the same rows' audio (the rest of a refinement "
              "step):", "", "| STFT magnitude's backward | seconds |", "|---|---:|",
              f"| autograd's, of `torch.stft(...).abs()` | {reference['median_s']:.3f} ({reference['min_s']:.3f} .. "
              f"{reference['max_s']:.3f}) |",
              f"| hand-written (`synth.perceptual.stft_magnitude`) | {ours['median_s']:.3f} ({ours['min_s']:.3f} .. "
              f"{ours['max_s']:.3f}) |", "",
              f"hand-written / autograd: {ours['median_s'] / reference['median_s']:.2f}; their gradients' relative "
              f"difference {r['match_gradient_relative_difference']:.2e}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=16, help="prior patches per pass (default 16: one chunk)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved readings per case (default 7)")
    parser.add_argument("--steps", type=int, default=10, help="refine_gradient's Adam steps (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2; the fast path's compiled "
                        "loops run on the CPUs the process may use, fixed when the library was built)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeats < 1 or args.steps < 1 or args.threads < 1:
        parser.error("--rows, --repeats, --steps and --threads must be at least 1")
    load_before = load_average()
    results = measure(args)
    results.update(args=vars(args) | {"out": str(args.out)}, command=command_line(), commit=git_commit(),
                   machine=machine_info(), load_before=load_before, load_after=load_average())
    json_path, md_path = write_results(args.out, NAME, results, markdown(results))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
