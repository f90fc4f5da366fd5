"""TaskSet-exact Adam families: adam1p_tf1, adam4p_tf1, adam6p_tf1, adam8p_tf1.

The update rules TaskSet's curves were made with (google-research
`task_set/optimizers/adam.py` and `adam8p.py`), with the same spaces as
`adam1p` ... `adam8p`; `<family>_tf1_seed<N>` has exactly the hyperparameters of
`<family>_seed<N>`, so the two readings of one config can be compared.
t = step + 1, s the decay clock (below):

  adam1p_tf1, adam4p_tf1 (`tf.train.AdamOptimizer`, adam.py `get_adam1p`/`get_adam4p`):
    m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
    p <- p - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
  adam6p_tf1, adam8p_tf1 (`Adam8POptimizer`, adam8p.py `apply_gradients`):
    g' = g + l1 sign(p) + 2 l2 p          (adam8p: l1 |p|_1 + l2 |p|^2 added to the loss)
    mh = m / (1 - b1^t),  vh = v / (1 - b2^t)   (moments of g')
    p <- p - lr * exp(-ed s) * max(1 - ld s, 0) * mh / (sqrt(vh + 1e-10) + eps)
    s = step * 10000 / T for adam6p_tf1 (`get_adam6p` passes training_steps = T),
    s = step for adam8p_tf1 (`get_adam8p` does not pass it, so the optimizer keeps its
    default training_steps = 10000: the decay clock is not rescaled).
    TaskSet trained everything for 10,000 steps, where both clocks agree.

Where these differ from the plain families: eps (not bias-corrected, and for
adam6p/8p the 1e-10 under the root), adam8p's l2 (doubled: ours is the gradient
of (l2 / 2) ||p||^2) and adam8p's decay clock on runs other than 10k steps.

References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887.
"""

from __future__ import annotations

from taskset.optimizers.adam import Adam1p, Adam4p, Adam6p, Adam8p
from taskset.optimizers.base import OPTIMIZER_FAMILIES, OptimizerConfig, UpdateRule
from taskset.optimizers.chain import chain
from taskset.optimizers.schedules import TASKSET_REFERENCE_STEPS, scale_by_scheduled_lr, taskset_decay
from taskset.optimizers.tf1 import (add_loss_penalty_gradient, scale_by_adam8p_moments, scale_by_eps_hat_moments,
                                    with_bias_correction)

TF1_SUFFIX = "_tf1"


def standard_sample(standard_name: str, exact_name: str, seed: int) -> OptimizerConfig:
    """`<exact_name>_seed<seed>`: the hyperparameters of `<standard_name>_seed<seed>`, renamed."""
    config = OPTIMIZER_FAMILIES.get(standard_name).sample(seed)
    return OptimizerConfig(f"{exact_name}_seed{seed}", exact_name, dict(config.hparams))


def _rescaled_decay(hparams, step, total_steps):
    return taskset_decay(step, total_steps, hparams["linear_decay"], hparams["exponential_decay"])


def _unrescaled_decay(hparams, step, total_steps):
    return taskset_decay(step, TASKSET_REFERENCE_STEPS, hparams["linear_decay"], hparams["exponential_decay"])


class Adam1pTf1(Adam1p):
    """adam1p as TaskSet ran it: `tf.train.AdamOptimizer(lr)` (task_set/optimizers/adam.py, get_adam1p).

    p <- p - lr * sqrt(1 - 0.999^t) / (1 - 0.9^t) * m / (sqrt(v) + 1e-8), t = step + 1.

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887 (TaskSet).
    """

    name = "adam1p" + TF1_SUFFIX
    description = "adam1p with TF1's AdamOptimizer (eps hat, bias correction in the step size)"

    def rule(self) -> UpdateRule:
        return chain(scale_by_eps_hat_moments(0.9, 0.999, 1e-8),
                     scale_by_scheduled_lr("lr", with_bias_correction(0.9, 0.999)))

    def sample(self, seed: int) -> OptimizerConfig:
        """The hyperparameters of `adam1p_seed<seed>`."""
        return standard_sample(Adam1p.name, self.name, seed)


class Adam4pTf1(Adam4p):
    """adam4p as TaskSet ran it: `tf.train.AdamOptimizer(lr, b1, b2, eps)` (adam.py, get_adam4p).

    p <- p - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), t = step + 1.

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887 (TaskSet).
    """

    name = "adam4p" + TF1_SUFFIX
    description = "adam4p with TF1's AdamOptimizer (eps hat, bias correction in the step size)"

    def rule(self) -> UpdateRule:
        return chain(scale_by_eps_hat_moments("beta1", "beta2", "eps"),
                     scale_by_scheduled_lr("lr", with_bias_correction("beta1", "beta2")))

    def sample(self, seed: int) -> OptimizerConfig:
        """The hyperparameters of `adam4p_seed<seed>`."""
        return standard_sample(Adam4p.name, self.name, seed)


class Adam6pTf1(Adam6p):
    """adam6p as TaskSet ran it: Adam8POptimizer(l1=0, l2=0, training_steps=T) (adam8p.py, get_adam6p).

    p <- p - lr * exp(-ed s) max(1 - ld s, 0) * mh / (sqrt(vh + 1e-10) + eps), s = step * 10000 / T.

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887 (TaskSet).
    """

    name = "adam6p" + TF1_SUFFIX
    description = "adam6p with TaskSet's Adam8POptimizer (1e-10 under the root)"

    def rule(self) -> UpdateRule:
        return chain(scale_by_adam8p_moments("beta1", "beta2", "eps"), scale_by_scheduled_lr("lr", _rescaled_decay))

    def sample(self, seed: int) -> OptimizerConfig:
        """The hyperparameters of `adam6p_seed<seed>`."""
        return standard_sample(Adam6p.name, self.name, seed)


class Adam8pTf1(Adam8p):
    """adam8p as TaskSet ran it: Adam8POptimizer(**cfg) (adam8p.py, get_adam8p and apply_gradients).

    g' = g + l1 sign(p) + 2 l2 p, then
    p <- p - lr * exp(-ed s) max(1 - ld s, 0) * mh / (sqrt(vh + 1e-10) + eps), s = step
    (the getter leaves training_steps at 10000, so the clock is not rescaled).

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887 (TaskSet).
    """

    name = "adam8p" + TF1_SUFFIX
    description = "adam8p with TaskSet's Adam8POptimizer (l1, l2 on the loss; unrescaled decay clock)"

    def rule(self) -> UpdateRule:
        return chain(add_loss_penalty_gradient("l1", "l2"), scale_by_adam8p_moments("beta1", "beta2", "eps"),
                     scale_by_scheduled_lr("lr", _unrescaled_decay))

    def sample(self, seed: int) -> OptimizerConfig:
        """The hyperparameters of `adam8p_seed<seed>`."""
        return standard_sample(Adam8p.name, self.name, seed)


for _family in (Adam1pTf1, Adam4pTf1, Adam6pTf1, Adam8pTf1):
    OPTIMIZER_FAMILIES.register(_family.name, _family())
