"""Training K optimizer configs of one task together, with curves as the result.

`train(task, configs, steps, eval_every)` returns one `Curve` per config; configs of
families that are not registered train with `rules={family: UpdateRule(...)}`. See
`population` for how the members run, `schedule` for the evaluation steps and
batch seeds, `divergence` for when a member is frozen and `compile_rule` for when
XLA is used. Importing this package does not import TensorFlow.
"""

from taskset.training.curve import STATUS_DIVERGED, STATUS_OK, Curve
from taskset.training.train import resolve_configs, rules_for, train

__all__ = ["STATUS_DIVERGED", "STATUS_OK", "Curve", "resolve_configs", "rules_for", "train"]
