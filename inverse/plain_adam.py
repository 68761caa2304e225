"""Adam for one tensor, without ``torch.optim``: the optimiser of gradient refinement.

``torch.optim``'s optimisers import ``torch._dynamo`` on first use (their ``__init__`` and ``step`` are
wrapped to keep the compiler out): ``inverse predict`` took 1.3 s longer in every fresh process with it (20.9
vs 19.6 s on the 2-core machine, README). Refinement needs nothing of it, so :class:`PlainAdam` performs the
same update with the same tensor operations in the same order as ``torch.optim.Adam``'s single-tensor path
(the one it takes on the CPU; no weight decay, amsgrad or maximize): the same bytes, tested against it.
"""

from __future__ import annotations

import torch


class PlainAdam:
    """Adam (Kingma & Ba) on one leaf tensor ``param`` (any shape) whose ``.grad`` the caller fills.

    ``step()`` updates ``param`` in place from ``param.grad``; ``zero_grad()`` drops the gradient.
    """

    def __init__(self, param: torch.Tensor, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        if not param.is_leaf:
            raise ValueError("PlainAdam optimises a leaf tensor (one created with requires_grad_(True))")
        if lr <= 0 or eps < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"expected lr > 0, eps >= 0 and betas in [0, 1), got lr={lr}, eps={eps}, betas={betas}")
        self.param, self.lr, self.betas, self.eps = param, float(lr), betas, float(eps)
        self.steps = 0
        self.exp_avg = torch.zeros_like(param, memory_format=torch.preserve_format)
        self.exp_avg_sq = torch.zeros_like(param, memory_format=torch.preserve_format)

    def zero_grad(self) -> None:
        self.param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update from ``param.grad`` (nothing happens where there is no gradient)."""
        grad = self.param.grad
        if grad is None:
            return
        beta1, beta2 = self.betas
        self.steps += 1
        step = float(self.steps)
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**step)
        denom = (self.exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(self.eps)
        self.param.addcdiv_(self.exp_avg, denom, value=-step_size)
