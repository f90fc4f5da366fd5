"""`nadamw`: Adam/NAdam with coupled L2 and decoupled weight decay and a warmup-cosine schedule."""

from __future__ import annotations

import numpy as np

from taskset.errors import ConfigError
from taskset.optimizers.base import OPTIMIZER_FAMILIES, Dim, OptimizerConfig, OptimizerFamily, UpdateRule
from taskset.optimizers.chain import chain
from taskset.optimizers.moments import scale_by_adam
from taskset.optimizers.penalties import add_decayed_weights, add_penalty_gradient
from taskset.optimizers.schedules import scale_by_scheduled_lr, warmup_constant_cosine
from taskset.sampling import field_rng, log_uniform

WEIGHT_DECAY_RANGE = (1e-5, 1e-1)
# The joint draw of the two decays: which of them are used, each with probability 1/3.
WEIGHT_DECAY_FORMS = (("adamw_weight_decay",), ("l2_weight_decay",), ("adamw_weight_decay", "l2_weight_decay"))


def _schedule(hparams, step, total_steps):
    return warmup_constant_cosine(step, total_steps, hparams["warmup_fraction"], hparams["constant_fraction"],
                                  hparams["min_lr_mult"])


def sample_weight_decays(rng: np.random.Generator) -> dict[str, float]:
    """TaskSet's thirds: AdamW decay only, L2 only, or both; each used one log [1e-5, 1e-1], the other 0."""
    used = WEIGHT_DECAY_FORMS[int(rng.integers(len(WEIGHT_DECAY_FORMS)))]
    return {name: log_uniform(rng, *WEIGHT_DECAY_RANGE) if name in used else 0.0
            for name in ("adamw_weight_decay", "l2_weight_decay")}


class Nadamw(OptimizerFamily):
    """Adam or NAdam with L2 and AdamW weight decay and a warmup/constant/cosine schedule.

    With t = step + 1, sched the multiplier of `warmup_constant_cosine`
    (linear warmup from 0 over warmup_fraction * T steps, constant until
    constant_fraction * T, then half a cosine from 1 to min_lr_mult at T):
      g' = g + l2_weight_decay * p
      m  = b1 m + (1 - b1) g',  v = b2 v + (1 - b2) g'^2
      d  = mh / (sqrt(vh) + eps)                                            (nesterov = 0)
      d  = (b1 m / (1 - b1^(t+1)) + (1 - b1) g' / (1 - b1^t)) / (sqrt(vh) + eps)   (nesterov = 1)
      p <- p - lr * sched(step) * (d + adamw_weight_decay * p)
    The sampler picks, with probability 1/3 each, AdamW decay only, L2 only, or
    both, so exactly one or both of the two decays are non-zero.

    Where the published variants differ we take the standard reading, not TaskSet's
    TF1 code: eps outside sqrt(vh) (Kingma & Ba's Algorithm 1; TaskSet used the
    eps-hat form); the L2 term *added* to the gradient (TaskSet's code subtracts
    it, which grows the weights); the AdamW term scaled by lr * sched (Loshchilov &
    Hutter's eta_t, as in PyTorch/Keras, not TaskSet's bias-corrected lr); Dozat's
    NAdam with constant b1 (TaskSet divided b1 m + (1 - b1) g by 1 - b1^t).

    References: Kingma & Ba, arXiv:1412.6980; Dozat 2016, "Incorporating Nesterov
      Momentum into Adam"; Loshchilov & Hutter, arXiv:1711.05101 and arXiv:1608.03983;
      Metz et al., arXiv:2002.11887.
    """

    name = "nadamw"
    space = (
        Dim("lr", "log", 1e-5, 1.0),
        Dim("beta1", "one_minus_log", 1e-3, 1.0),
        Dim("beta2", "one_minus_log", 1e-5, 1.0),
        Dim("eps", "log", 1e-8, 1e4),
        Dim("nesterov", "bool"),
        Dim("adamw_weight_decay", "log", *WEIGHT_DECAY_RANGE, zero_prob=1 / 3),
        Dim("l2_weight_decay", "log", *WEIGHT_DECAY_RANGE, zero_prob=1 / 3),
        Dim("warmup_fraction", "log", 1e-5, 1e-1, zero_prob=0.5),
        Dim("min_lr_mult", "log", 1e-5, 1.0, zero_prob=0.5),
        Dim("constant_fraction", "linear", 0.0, 1.0),
    )
    description = ("Adam/NAdam + AdamW and/or L2 decay (thirds), warmup, constant, cosine to min_lr_mult; "
                   "the two decays are drawn jointly")

    def rule(self) -> UpdateRule:
        return chain(add_penalty_gradient(l2="l2_weight_decay"),
                     scale_by_adam("beta1", "beta2", "eps", nesterov="nesterov"),
                     add_decayed_weights("adamw_weight_decay"),
                     scale_by_scheduled_lr("lr", _schedule))

    def sample(self, seed: int) -> OptimizerConfig:
        """Each dimension from its own generator, except the two decays, drawn jointly."""
        config = super().sample(seed)
        hparams = {**config.hparams, **sample_weight_decays(field_rng(self.name, seed, "weight_decay"))}
        return OptimizerConfig(config.name, self.name, hparams)

    def make_config(self, name: str, hparams: dict[str, float]) -> OptimizerConfig:
        """Validates each dimension, and that at least one of the two decays is used."""
        config = super().make_config(name, hparams)
        if config.hparams["adamw_weight_decay"] == 0.0 and config.hparams["l2_weight_decay"] == 0.0:
            raise ConfigError(f"optimizer 'nadamw' config {name!r}: adamw_weight_decay and l2_weight_decay are "
                              "both 0; the space uses one or both, each in log-uniform [1e-05, 0.1]")
        return config


OPTIMIZER_FAMILIES.register(Nadamw.name, Nadamw())
