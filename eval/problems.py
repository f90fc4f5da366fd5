"""The evaluation problems, ResNet-50 and a transformer LM, each in three sizes (presets).

Both are ordinary taskset tasks (the contract of `taskset.tasks.base`), but they
are not in the task catalogue: `taskset` must not import `eval`, and a family
registered from here would make `taskset.task_from_config` depend on whether
`eval` happened to be imported (a curve worker that rebuilds a task would fail
or not by import order). So the problems live in their own registry,
`PROBLEMS`, and `task_from_config` here rebuilds any task: `resnet50` configs
with this package's ResNet, every other family through the catalogue. The
transformer is the catalogue's own `transformer_lm` task at a chosen size,
so it is rebuilt by the catalogue too.

Presets (pass `steps` and the trial budget separately; suggested values below):
- `tiny`: finishes the whole protocol for both problems on a 2-core CPU in
  minutes. ResNet-50 at width 1/8 on embedded mnist5k resized to 32x32x3;
  a 2-layer, width-64 byte-level transformer on the embedded Shakespeare text.
- `small`: one CPU machine or one GPU. ResNet-50 at width 1/2 on Imagenette
  at 64x64 (`taskset-bench data prepare imagenette`); a 4-layer width-256
  word-level transformer on Shakespeare.
- `full`: paper scale, for a GPU cluster. ResNet-50 at width 1 on ImageNet
  at 224x224 with batch 256 (TFDS `imagenet2012`, a manual download of the
  ILSVRC archives, about 150 GB to prepare; 17 GB of host memory for the
  in-memory crops, see `taskset.datasets.imagenet`). Activation memory grows with
  batch x 224^2 and was not measured here (no GPU on the development machine):
  give each training run its own accelerator, i.e. a Dask worker per GPU
  (`--scheduler`), and expect TaskSet-style budgets of 10k+ steps. The transformer is 6 layers, width 512,
  8 heads (Vaswani et al.'s base model) on lm1b words (`taskset-bench data
  prepare lm1b_words`) with context 64: lm1b documents are sentences (27
  words on average) and windows stop at the end of a sentence, so a longer
  context would be mostly padding; batch 256.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from taskset import config as config_lib
from taskset.errors import ConfigError, UnknownNameError
from taskset.registry import Registry
from taskset.sampling import stable_hash
from taskset.tasks.base import Task

from eval.resnet import FAMILY as RESNET_FAMILY, ResNet50Config, ResNet50Task

PRESETS = ("tiny", "small", "full")


@dataclasses.dataclass(frozen=True)
class Problem:
    """An evaluation problem: a task config per preset.

    Attributes:
      name: registry name ("resnet50", "transformer").
      description: one line.
      presets: preset name -> task config (JSON data with "family").
      has_accuracy: whether the task has an `accuracy(params, batch)` to report.
    """

    name: str
    description: str
    presets: Mapping[str, Mapping[str, Any]]
    has_accuracy: bool = False

    def config(self, preset: str, dataset: str | None = None) -> dict[str, Any]:
        """The task config of `preset`, optionally on another dataset.

        Raises:
          UnknownNameError: an unknown preset.
          ConfigError: a dataset the problem does not accept.
        """
        if preset not in self.presets:
            raise UnknownNameError(f"unknown preset {preset!r} of {self.name}; accepted: {list(self.presets)!r}")
        config = dict(self.presets[preset])
        if dataset is not None:
            config["dataset"] = dataset
        return config

    def task(self, preset: str, dataset: str | None = None) -> Task:
        """The task of `preset` (see `config`), named `<problem>_<preset>[_<dataset>]`."""
        name = f"{self.name}_{preset}" + (f"_{dataset}" if dataset else "")
        return task_from_config(self.config(preset, dataset), name=name)


def task_from_config(config: Mapping[str, Any], name: str | None = None) -> Task:
    """Rebuilds an evaluation task (or any catalogue task) from its config dict.

    Raises:
      ConfigError: a missing family, unknown or badly typed fields, or bad values.
      UnknownNameError: an unknown family.
    """
    if not isinstance(config, Mapping) or "family" not in config:
        raise ConfigError(f"a task config needs a 'family' key, got {config!r}")
    if config["family"] != RESNET_FAMILY:
        from taskset.tasks import task_from_config as catalogue_task

        return catalogue_task(config, name=name)
    data = {k: v for k, v in config.items() if k != "family"}
    cfg = config_lib.from_dict(ResNet50Config, data, what=f"{RESNET_FAMILY} config")
    try:
        cfg.validate()
    except ValueError as err:
        raise ConfigError(f"{RESNET_FAMILY} config: {err}") from None
    if name is None:
        name = f"{RESNET_FAMILY}_custom_{stable_hash(config_lib.to_json(config)):08x}"
    return ResNet50Task(name, cfg)


def _resnet(dataset: str, image_size: int, width_multiplier: float, batch_size: int) -> dict[str, Any]:
    return {"family": RESNET_FAMILY, "dataset": dataset, "image_size": image_size,
            "width_multiplier": width_multiplier, "batch_size": batch_size}


def _transformer(dataset: str, layers: int, width: int, heads: int, context: int, batch: int) -> dict[str, Any]:
    return {"family": "transformer_lm", "dataset": dataset, "num_layers": layers, "width": width,
            "num_heads": heads, "sequence_length": context, "positions": "learned", "batch_size": batch}


PROBLEMS: Registry[Problem] = Registry("evaluation problem")
PROBLEMS.register("resnet50", Problem(
    name="resnet50", has_accuracy=True,
    description="ResNet-50 (He et al. 2015) image classification, batch-statistics batch norm",
    presets={"tiny": _resnet("mnist5k", 32, 0.125, 32),
             "small": _resnet("imagenette", 64, 0.5, 64),
             "full": _resnet("imagenet2012", 224, 1.0, 256)}))
PROBLEMS.register("transformer", Problem(
    name="transformer",
    description="decoder-only pre-LN transformer language model (taskset's transformer_lm)",
    presets={"tiny": _transformer("shakespeare_bytes", 2, 64, 4, 64, 16),
             "small": _transformer("shakespeare_words", 4, 256, 4, 128, 32),
             "full": _transformer("lm1b_words", 6, 512, 8, 64, 256)}))
