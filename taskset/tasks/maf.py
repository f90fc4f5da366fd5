"""`maf`: masked autoregressive flows on flattened images (TaskSet's maf family).

Each bijector shifts and scales every dimension by a MADE network of the
dimensions before it (masked dense layers, masks from `flows.made_masks`); fixed
seeded permutations between bijectors change the autoregressive order. The
likelihood needs one network pass per bijector; sampling would need D passes.
Sampling, data handling, stabilisation and the loss (nats per dimension) are
shared with `nvp`: see `taskset.tasks.flows`.

References: Papamakarios et al. 2017, "Masked Autoregressive Flow for Density
Estimation", arXiv 1705.07057; Germain et al. 2015, "MADE", arXiv 1502.03509.
"""

from __future__ import annotations

import functools

from taskset.lazy import tf
from taskset.tasks import flows, nn
from taskset.tasks.base import TaskFamily
from taskset.tasks.catalogue import register_family


class MafTask(flows.FlowTask):
    family = "maf"

    def layer_sizes(self) -> list[int]:
        return [self.num_dims, *self.config.hidden_sizes, 2 * self.num_dims]

    @functools.cached_property
    def masks(self):
        """MADE masks as NumPy arrays, one per conditioner layer."""
        return flows.made_masks(self.num_dims, self.config.hidden_sizes)

    @functools.cached_property
    def mask_tensors(self):
        # Eager tensors (made outside any trace) are captured by reference, so a compiled loss does
        # not embed one copy of every mask per bijector.
        with tf.init_scope():
            return [tf.constant(mask) for mask in self.masks]

    def init(self, seed: int):
        # Masked-out weights are never used; zero them so the stored parameters are the effective ones.
        params = super().init(seed)
        for i in range(self.config.num_bijectors):
            for j, mask in enumerate(self.masks):
                params[f"bijector{i}/dense{j}/w"] = params[f"bijector{i}/dense{j}/w"] * mask
        return params

    def bijector_forward(self, layers, y):
        act = nn.ACTIVATIONS[self.config.activation]
        masked = [(w * mask, b) for (w, b), mask in zip(layers, self.mask_tensors)]
        return flows.autoregressive_forward(y, lambda x: flows.split_shift_and_log_scale(flows.mlp(x, masked, act)))


class MafFamily(TaskFamily):
    name = "maf"
    config_class = flows.FlowConfig
    task_class = MafTask
    description = "masked autoregressive flows (MADE) on images: bijectors, widths, activation, dataset"

    def sample_config(self, seed: int) -> flows.FlowConfig:
        return flows.sample_flow_config(self.name, seed)


register_family(MafFamily())
