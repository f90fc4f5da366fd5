"""A throwaway plain-SGD optimizer family with an unbounded learning rate, for trainer tests.

Its rule is simple enough to recompute by hand, and a learning rate of 1e12
makes a member diverge for sure.
"""

from __future__ import annotations

import pytest

from taskset.optimizers import OPTIMIZER_FAMILIES
from taskset.optimizers.base import Dim, OptimizerConfig, OptimizerFamily, UpdateRule

SGD_FAMILY = "test_sgd"


class PlainSgd(OptimizerFamily):
    """p <- p - lr * g."""

    name = SGD_FAMILY
    space = (Dim("lr", "log", 1e-8, 1e20),)

    def rule(self) -> UpdateRule:
        def update(grads, state, params, hparams, step, total_steps):
            return {k: params[k] - hparams["lr"] * grads[k] for k in params}, state

        return UpdateRule(lambda params: (), update)


def sgd(lr: float) -> OptimizerConfig:
    """A config of the throwaway SGD family."""
    return OptimizerConfig(f"sgd_lr{lr:g}", SGD_FAMILY, {"lr": lr})


@pytest.fixture(scope="package", autouse=True)
def plain_sgd_family():
    with OPTIMIZER_FAMILIES.temporary(SGD_FAMILY, PlainSgd()) as family:
        yield family
