"""Names for the data that flows between tasks, optimizers and the trainer.

Params: a flat dict name -> float32 tensor (a one-level nested dict; flat keys like
  "layer0/w" keep stacking and checkpointing trivial).
Batch: a dict name -> tensor; tasks that need randomness in the loss (VAE sampling,
  dropout) receive it as `batch["rng"]`, a [2] int64 stateless seed.
Hparams: a dict name -> float32 scalar tensor (or [K] when K configs are stacked).
OptState: a NamedTuple of tensor nests, owned by one update rule.
Seed: a [2] integer tensor accepted by `tf.random.stateless_*`.
"""

from __future__ import annotations

from typing import Any, Mapping

Params = dict[str, Any]
Batch = dict[str, Any]
Hparams = Mapping[str, Any]
OptState = Any
Seed = Any
