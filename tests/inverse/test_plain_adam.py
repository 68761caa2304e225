"""PlainAdam: torch.optim.Adam's update, byte for byte, without importing torch._dynamo."""

import subprocess
import sys

import pytest
import torch

from inverse.plain_adam import PlainAdam


@pytest.mark.parametrize("lr", [0.01, 0.3])
def test_same_bytes_as_torch_adam(lr):
    generator = torch.Generator().manual_seed(0)
    start = torch.rand(16, 60, generator=generator)
    ours = start.clone().requires_grad_(True)
    theirs = start.clone().requires_grad_(True)
    plain, reference = PlainAdam(ours, lr=lr), torch.optim.Adam([theirs], lr=lr)
    for _ in range(12):
        target = torch.rand(16, 60, generator=generator)
        for x, optimizer in ((ours, plain), (theirs, reference)):
            optimizer.zero_grad()
            ((x - target) ** 2).sum().backward()
            optimizer.step()
        assert torch.equal(ours, theirs)
    assert not torch.equal(ours, start)


def test_no_gradient_no_step():
    x = torch.zeros(3, requires_grad=True)
    optimizer = PlainAdam(x, lr=0.1)
    optimizer.step()
    assert torch.equal(x, torch.zeros(3)) and optimizer.steps == 0


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="lr > 0"):
        PlainAdam(torch.zeros(2, requires_grad=True), lr=0.0)
    with pytest.raises(ValueError, match="leaf"):
        PlainAdam(torch.zeros(2, requires_grad=True) * 2)


def test_refinement_does_not_import_the_compiler():
    """The reason PlainAdam exists: refinement in a fresh process must not pay torch._dynamo's import."""
    code = ("import sys, torch\n"
            "from inverse.refine import refine_gradient\n"
            "from synth.prior import draw\n"
            "from synth import render\n"
            "from synth.spectrogram import spectrogram\n"
            "params = draw(1, 0, 2, 'uniform', '2')\n"
            "target = spectrogram(render(draw(1, 5, 1, 'uniform', '2')))[0]\n"
            "refine_gradient(params, target, steps=1, render_path='eager')\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
