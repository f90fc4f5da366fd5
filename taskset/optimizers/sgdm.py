"""`sgdm`: SGD with heavy-ball or Nesterov momentum."""

from __future__ import annotations

from taskset.optimizers.base import OPTIMIZER_FAMILIES, Dim, OptimizerFamily, UpdateRule
from taskset.optimizers.chain import chain
from taskset.optimizers.moments import scale_by_momentum
from taskset.optimizers.schedules import scale_by_scheduled_lr


class Sgdm(OptimizerFamily):
    """SGD with momentum, constant learning rate.

      b <- momentum * b + g            (b starts at 0, so the first b is g)
      p <- p - lr * b                  (nesterov = 0)
      p <- p - lr * (g + momentum * b) (nesterov = 1)
    This is PyTorch's SGD without dampening; Keras' SGD keeps -lr * b in its buffer
    and takes identical steps at a constant learning rate.

    References: Polyak 1964, "Some methods of speeding up the convergence of
      iteration methods"; Sutskever et al. 2013 (ICML), Nesterov form;
      Metz et al., arXiv:2002.11887.
    """

    name = "sgdm"
    space = (
        Dim("lr", "log", 1e-5, 10.0),
        Dim("momentum", "one_minus_log", 1e-3, 1.0),
        Dim("nesterov", "bool"),
    )
    description = "SGD with momentum (heavy ball or Nesterov), constant lr"

    def rule(self) -> UpdateRule:
        return chain(scale_by_momentum("momentum", "nesterov"), scale_by_scheduled_lr("lr"))


OPTIMIZER_FAMILIES.register(Sgdm.name, Sgdm())
