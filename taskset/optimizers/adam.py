"""TaskSet's Adam families (adam1p, adam4p, adam6p, adam8p) and the fixed Adam configs.

All four are one composition, with more of it exposed as hyperparameters:
  g'  = g + l1 sign(p) + l2 p                        (adam8p only)
  m, v, mh, vh from g' (see `taskset.optimizers.moments`)
  p  <- p - lr * decay(step) * mh / (sqrt(vh) + eps)
  decay = exp(-ed s) max(1 - ld s, 0), s = step * 10000 / total_steps   (adam6p, adam8p)
Fixed configs: `adam_default` (lr 1e-3) and `adam_lr_<x>` for the 17 learning
rates 10**-7, 10**-6.5, ..., 10, all adam1p configs. `<x>` is the rate with three
significant digits in C's %e style, trailing zeros dropped: adam_lr_1e-07,
adam_lr_3.16e-07, ..., adam_lr_1e+00, adam_lr_3.16e+00, adam_lr_1e+01 (the
hparam holds the exact power of ten).
"""

from __future__ import annotations

from taskset.optimizers.base import NAMED_CONFIGS, OPTIMIZER_FAMILIES, Dim, OptimizerFamily, UpdateRule
from taskset.optimizers.chain import chain
from taskset.optimizers.moments import scale_by_adam
from taskset.optimizers.penalties import add_penalty_gradient
from taskset.optimizers.schedules import scale_by_scheduled_lr, taskset_decay

LR = Dim("lr", "log", 1e-8, 10.0)
BETA1 = Dim("beta1", "one_minus_log", 1e-4, 1.0)
BETA2 = Dim("beta2", "one_minus_log", 1e-6, 1.0)
EPS = Dim("eps", "log", 1e-10, 1e3)
LINEAR_DECAY = Dim("linear_decay", "log", 1e-7, 1e-4)
EXPONENTIAL_DECAY = Dim("exponential_decay", "log", 1e-6, 1e-3)
L1 = Dim("l1", "log", 1e-8, 10.0)
L2 = Dim("l2", "log", 1e-8, 10.0)


def _decay(hparams, step, total_steps):
    return taskset_decay(step, total_steps, hparams["linear_decay"], hparams["exponential_decay"])


class Adam1p(OptimizerFamily):
    """Adam with only the learning rate searched.

    p <- p - lr * mh / (sqrt(vh) + eps), with b1 = 0.9, b2 = 0.999, eps = 1e-8 and
    mh, vh the bias-corrected moments; eps sits outside the square root of the
    bias-corrected vh (Kingma & Ba's Algorithm 1; TaskSet's adam1p used TF1's
    eps-hat form, which differs only where eps is not negligible).

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887.
    """

    name = "adam1p"
    space = (LR,)
    description = "Adam, lr log [1e-8, 10]; b1 0.9, b2 0.999, eps 1e-8"

    def rule(self) -> UpdateRule:
        return chain(scale_by_adam(0.9, 0.999, 1e-8), scale_by_scheduled_lr("lr"))


class Adam4p(OptimizerFamily):
    """Adam with lr, b1, b2 and eps searched.

    p <- p - lr * mh / (sqrt(vh) + eps), mh = m / (1 - b1^t), vh = v / (1 - b2^t),
    t = step + 1; eps outside the square root of the bias-corrected vh.

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887.
    """

    name = "adam4p"
    space = (LR, BETA1, BETA2, EPS)
    description = "Adam with lr, beta1, beta2, eps"

    def rule(self) -> UpdateRule:
        return chain(scale_by_adam("beta1", "beta2", "eps"), scale_by_scheduled_lr("lr"))


class Adam6p(OptimizerFamily):
    """adam4p with TaskSet's linear and exponential learning-rate decay.

    p <- p - lr * exp(-ed s) * max(1 - ld s, 0) * mh / (sqrt(vh) + eps),
    s = step * 10000 / total_steps (TaskSet's 10k-step clock; `step` from 0).

    References: Kingma & Ba, arXiv:1412.6980; Metz et al., arXiv:2002.11887.
    """

    name = "adam6p"
    space = (LR, BETA1, BETA2, EPS, LINEAR_DECAY, EXPONENTIAL_DECAY)
    description = "adam4p + linear and exponential lr decay"

    def rule(self) -> UpdateRule:
        return chain(scale_by_adam("beta1", "beta2", "eps"), scale_by_scheduled_lr("lr", _decay))


class Adam8p(OptimizerFamily):
    """adam6p with L1 and L2 penalties fed through the Adam moments.

    g' = g + l1 sign(p) + l2 p, then adam6p on g'. The penalties are coupled (they
    enter m and v, as in TaskSet, which adds them to the loss) rather than AdamW's
    decoupled decay. The L2 term is the gradient of (l2 / 2) ||p||^2; TaskSet's
    code adds l2 ||p||^2 to the loss, so its l2 equals half of ours. TaskSet also
    adds 1e-10 under the square root to keep its gradient finite; no gradient is
    taken through this rule, so that term is left out.

    References: Kingma & Ba, arXiv:1412.6980; Loshchilov & Hutter, arXiv:1711.05101
      (coupled vs decoupled decay); Metz et al., arXiv:2002.11887.
    """

    name = "adam8p"
    space = (LR, BETA1, BETA2, EPS, LINEAR_DECAY, EXPONENTIAL_DECAY, L1, L2)
    description = "adam6p + l1 and l2 penalties added to the gradient"

    def rule(self) -> UpdateRule:
        return chain(add_penalty_gradient("l1", "l2"), scale_by_adam("beta1", "beta2", "eps"),
                     scale_by_scheduled_lr("lr", _decay))


def adam_lr_name(lr: float) -> str:
    """The fixed-config name of Adam at `lr`: 3.1622e-07 -> 'adam_lr_3.16e-07', 1e-3 -> 'adam_lr_1e-03'."""
    mantissa, exponent = f"{lr:.2e}".split("e")
    return f"adam_lr_{mantissa.rstrip('0').rstrip('.')}e{exponent}"


ADAM1P = OPTIMIZER_FAMILIES.register(Adam1p.name, Adam1p())
OPTIMIZER_FAMILIES.register(Adam4p.name, Adam4p())
OPTIMIZER_FAMILIES.register(Adam6p.name, Adam6p())
OPTIMIZER_FAMILIES.register(Adam8p.name, Adam8p())

NAMED_CONFIGS.register("adam_default", ADAM1P.make_config("adam_default", {"lr": 1e-3}))
# 1e-7, 10**-6.5, ..., 10: Python's power (the C library's), not np.logspace, whose AVX-512 kernel
# gives 9.999999999999999e-06 for 1e-05, so the config would depend on the CPU.
for _lr in (10.0 ** (-7 + 0.5 * _i) for _i in range(17)):
    _name = adam_lr_name(_lr)
    NAMED_CONFIGS.register(_name, ADAM1P.make_config(_name, {"lr": _lr}))
