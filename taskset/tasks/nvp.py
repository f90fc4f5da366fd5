"""`nvp`: RealNVP affine-coupling flows on flattened images (TaskSet's nvp family).

Each bijector keeps the first D // 2 (permuted) dimensions and shifts and scales
the rest by an MLP of them; fixed seeded permutations sit between bijectors.
Sampling, data handling, stabilisation and the loss (nats per dimension) are
shared with `maf`: see `taskset.tasks.flows`.

References: Dinh et al. 2017, "Density estimation using Real NVP", arXiv 1605.08803.
"""

from __future__ import annotations

from taskset.tasks import flows, nn
from taskset.tasks.base import TaskFamily
from taskset.tasks.catalogue import register_family


class NvpTask(flows.FlowTask):
    family = "nvp"

    @property
    def num_masked(self) -> int:
        return self.num_dims // 2

    def layer_sizes(self) -> list[int]:
        return [self.num_masked, *self.config.hidden_sizes, 2 * (self.num_dims - self.num_masked)]

    def bijector_forward(self, layers, y):
        act = nn.ACTIVATIONS[self.config.activation]
        return flows.affine_coupling_forward(
            y, self.num_masked, lambda x1: flows.split_shift_and_log_scale(flows.mlp(x1, layers, act)))


class NvpFamily(TaskFamily):
    name = "nvp"
    config_class = flows.FlowConfig
    task_class = NvpTask
    description = "RealNVP affine-coupling flows on images: bijectors, conditioner widths, activation, dataset"

    def sample_config(self, seed: int) -> flows.FlowConfig:
        return flows.sample_flow_config(self.name, seed)


register_family(NvpFamily())
