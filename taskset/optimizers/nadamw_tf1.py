"""`nadamw_tf1`: nadamw as TaskSet's TF1 code runs it, the semantics of Google's published list.

Transcribes `NAdamWOptimizer._apply_dense` and `get_cosine_learning_rate_fn` in
google-research `task_set/optimizers/nadamw.py` (identical in
`opt_list/opt_list/tf_opt_list.py`, the TF code of the released list). With
t = step + 1, T = total_steps and sched the schedule below:
  g' = g - l2_weight_decay * p                                  (TaskSet's sign)
  m  = b1 m + (1 - b1) g',   v = b2 v + (1 - b2) g'^2
  n  = m                           (nesterov = 0)
  n  = b1 m + (1 - b1) g'          (nesterov = 1)
  lr_t = lr * sched(step) * sqrt(1 - b2^t) / (1 - b1^t)
  p <- p - lr_t * (n / (sqrt(v) + eps) + adamw_weight_decay * p)
sched is `taskset.optimizers.schedules.warmup_constant_cosine`, which already is
TF1's schedule: warmup over min(warmup_fraction, constant_fraction) * T steps
from 0 (the PyTorch and JAX ports of opt_list take the max), constant until
constant_fraction * T, then half a cosine to min_lr_mult at T. (TF1 divides
0 by 0 when constant_fraction is exactly 1; ours holds the rate at lr there.)

Same space as `nadamw`, and `nadamw_tf1_seed<N>` has the hyperparameters of
`nadamw_seed<N>`. Differences from `nadamw`: eps is not bias-corrected, the
AdamW term is scaled by the bias-corrected lr_t, the L2 term has the opposite
sign, and the Nesterov numerator is corrected by 1 - b1^t only.

Nesterov: `NAdamWOptimizer` implements it, but TaskSet's getter (`get_nadamw`
in task_set/optimizers/nadamw.py) and opt_list's TF `optimizer_for_idx` never
pass `use_nesterov`, so every TaskSet nadamw curve, and the list learned from
them, ran with Nesterov off whatever the config's flag (opt_list's PyTorch port
does pass it). This family honours the `nesterov` hparam; the shipped Google
list and converted TaskSet curves record nesterov = 0, what actually ran.

References: Kingma & Ba, arXiv:1412.6980; Dozat 2016; Loshchilov & Hutter,
  arXiv:1711.05101 and arXiv:1608.03983; Metz et al., arXiv:2002.11887.
"""

from __future__ import annotations

from taskset.optimizers.adam_tf1 import TF1_SUFFIX, standard_sample
from taskset.optimizers.base import OPTIMIZER_FAMILIES, OptimizerConfig, UpdateRule
from taskset.optimizers.chain import chain
from taskset.optimizers.nadamw import Nadamw, _schedule
from taskset.optimizers.penalties import add_decayed_weights
from taskset.optimizers.schedules import scale_by_scheduled_lr
from taskset.optimizers.tf1 import scale_by_eps_hat_moments, subtract_l2, with_bias_correction


class NadamwTf1(Nadamw):
    """nadamw with TaskSet's TF1 update (module docstring).

    References: Kingma & Ba, arXiv:1412.6980; Loshchilov & Hutter, arXiv:1711.05101;
      Metz et al., arXiv:2002.11887 (TaskSet).
    """

    name = "nadamw" + TF1_SUFFIX
    description = ("nadamw as TaskSet's TF1 NAdamWOptimizer: eps hat, bias correction and AdamW decay in lr_t, "
                   "g - l2 p")

    def rule(self) -> UpdateRule:
        return chain(subtract_l2("l2_weight_decay"),
                     scale_by_eps_hat_moments("beta1", "beta2", "eps", nesterov="nesterov"),
                     add_decayed_weights("adamw_weight_decay"),
                     scale_by_scheduled_lr("lr", with_bias_correction("beta1", "beta2", _schedule)))

    def sample(self, seed: int) -> OptimizerConfig:
        """The hyperparameters of `nadamw_seed<seed>`."""
        return standard_sample(Nadamw.name, self.name, seed)


OPTIMIZER_FAMILIES.register(NadamwTf1.name, NadamwTf1())
