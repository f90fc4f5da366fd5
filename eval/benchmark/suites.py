"""Benchmark suites: which tasks an optimizer is scored on, and against which reference curves.

A `Suite` names a reference curve dataset (a name registered in
`curves.registry`) and the tasks and step count to take from it:

  quick     10 offline tasks, 200 steps: a smoke test (`curves/data/quick-reference`,
            made from `curves/specs/quick_reference.gin`).
  standard  the suite to cite: neural-network tasks only, about two per task family,
            1,000 steps, every aggregate weighted by family (`STANDARD_TASKS`).
  mini      every task of the `taskset-mini` curve dataset (128 of its 150 tasks are
            quadratics or test functions).

`standard` and `mini` are registered when the `taskset-mini` curve dataset is.
Registering another suite is one `SUITES.register(name, Suite(...))`.
Nothing here imports TensorFlow or NumPy.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import Sequence

from taskset.errors import ConfigError
from taskset.registry import Registry

QUICK_REFERENCE = "quick-reference"
QUICK_STEPS = 200
"""The benchmark's default run length: the step count of the quick reference curves."""

QUICK_TASKS = {
    "fixed_mlp_mnist1d_100x3_relu_bs100":
        "the canonical small classifier: a ReLU MLP on procedural MNIST-1D, where step size and decay matter",
    "fixed_conv_pooling_digits_16x32_mean_bs64":
        "the one conv net: weight sharing and pooling change the curvature an MLP sees; 8x8 digits keep it cheap",
    "fixed_mlp_ae_mnist1d_32x8_tanh_l2_bs64":
        "an unsupervised L2 reconstruction through an 8-unit bottleneck: a small loss scale and slow plateaus",
    "fixed_mlp_vae_digits_64x16_bernoulli_bs64":
        "a stochastic objective (reparameterised ELBO) whose gradient noise comes from the model, not the data",
    "fixed_quadratic_10d_logspace_1e3":
        "a deterministic ill-conditioned quadratic (condition number 1e3): pure conditioning, no noise",
    "fixed_2d_rosenbrock":
        "the classic curved valley with a loss of order 1e5: rewards large, adaptive steps",
    "fixed_sequence_copy_len5_vocab4_gru32":
        "a recurrent net on a synthetic memory task: gradients through time, no dataset needed",
    "fixed_maf_digits_2x64_bs64":
        "a normalising flow (MADE): log-likelihood with unbounded scales, prone to divergence at high rates",
    "fixed_char_rnn_lm_shakespeare_vrnn64_seq32_bs32":
        "a character language model with a vanilla RNN: the exploding-gradient regime",
    "fixed_transformer_lm_shakespeare_bytes_1x64_h2_seq32_bs16":
        "the attention block of modern models (layer norm, softmax attention) at its smallest",
}
"""The quick suite: ten offline tasks across ten task families, each about 0.5-20 ms per
config-step on a CPU core, so the benchmark of one optimizer (one config per task,
200 steps) takes a few minutes on two cores. Why each was chosen, by task."""


STANDARD_REFERENCE = "taskset-mini"
STANDARD_STEPS = 1000
STANDARD_EXCLUDED_FAMILIES = ("quadratic", "test_functions")
"""Families the standard suite leaves out: cheap synthetic problems that are not neural networks."""
STANDARD_TASKS = {
    "char_rnn_lm": ("char_rnn_lm_seed16",),
    "conv_fc": ("conv_fc_seed19",),
    "conv_pooling": ("conv_pooling_seed4",),
    "maf": ("maf_seed36",),
    "mlp": ("mlp_seed49", "mlp_seed77"),
    "mlp_ae": ("mlp_ae_seed59", "mlp_ae_seed15"),
    "mlp_vae": ("mlp_vae_seed16", "mlp_vae_seed53"),
    "nvp": ("nvp_seed23",),
    "rnn_text_classification": ("rnn_text_classification_seed89",),
    "sequence": ("sequence_seed45", "sequence_seed64"),
    "transformer_lm": ("transformer_lm_seed27",),
    "word_rnn_lm": ("word_rnn_lm_seed37",),
}
"""The standard suite (provisional): 16 tasks of 12 task families, reference `STANDARD_REFERENCE`.

How it is chosen: every family of the reference except `STANDARD_EXCLUDED_FAMILIES`,
and of each family the `per_family=2` tasks of the reference with the lowest cost
per config-step in the pilot timings (`curves/specs/taskset_mini_pilot.json`):
exactly `pick_per_family` over them (a test checks it). taskset-mini has only one task of eight of these families and no fixed
neural-network task, so the provisional suite has 16 tasks, not the ~30 it is
meant to have; its reference has one replica (replica seed 0).

Switching to taskset-small once it is published: set `STANDARD_REFERENCE =
"taskset-small"`, replace this table with `pick_per_family` applied to
taskset-small's sampled tasks and their pilot costs
(`curves/specs/taskset_small_pilot.json`), add its fixed neural-network tasks
under their families, and keep `STANDARD_STEPS` (taskset-small's curves are
1,000 steps too); the benchmark code reads everything else (schedule, replicas,
families) from the reference itself."""


def pick_per_family(costs: dict[str, tuple[str, float]], per_family: int = 2,
                    exclude: Sequence[str] = STANDARD_EXCLUDED_FAMILIES) -> dict[str, tuple[str, ...]]:
    """The `per_family` cheapest tasks of every family not in `exclude`.

    Args:
      costs: task -> (family, seconds per config-step).
      per_family: tasks per family (fewer where a family has fewer).
      exclude: families left out.

    Returns:
      family -> its chosen tasks, cheapest first; families sorted by name. Ties
      in cost go by task name, so the choice is deterministic.
    """
    by_family: dict[str, list[tuple[float, str]]] = {}
    for task, (family, cost) in costs.items():
        if family not in exclude:
            by_family.setdefault(family, []).append((float(cost), task))
    return {family: tuple(task for _, task in sorted(items)[:per_family])
            for family, items in sorted(by_family.items())}


@dataclasses.dataclass(frozen=True)
class Suite:
    """A set of tasks and the reference curves an optimizer is scored against.

    Attributes:
      name: registry name, e.g. "quick".
      description: one line for `--help` and the report.
      reference: the default reference: a registered curve dataset name or a directory.
      tasks: the suite's tasks; None means every task of the reference.
      steps: the default run length; None means the step count of the reference's curves.
    """

    name: str
    description: str
    reference: str
    tasks: tuple[str, ...] | None = None
    steps: int | None = None


SUITES: Registry[Suite] = Registry("benchmark suite")

SUITES.register("quick", Suite(
    name="quick",
    description=f"{len(QUICK_TASKS)} offline tasks across families, {QUICK_STEPS} steps, a few minutes on 2 cores",
    reference=QUICK_REFERENCE,
    tasks=tuple(QUICK_TASKS),
    steps=QUICK_STEPS,
))


def _register_shipped() -> None:
    from curves.registry import PUBLISHED_CURVES

    if STANDARD_REFERENCE in PUBLISHED_CURVES:
        tasks = tuple(task for family in STANDARD_TASKS.values() for task in family)
        SUITES.register("standard", Suite(
            name="standard",
            description=f"{len(tasks)} neural-network tasks of {len(STANDARD_TASKS)} families, {STANDARD_STEPS} "
                        "steps, family-weighted (provisional, on taskset-mini)",
            reference=STANDARD_REFERENCE, tasks=tasks, steps=STANDARD_STEPS))
    if "taskset-mini" in PUBLISHED_CURVES:
        SUITES.register("mini", Suite(name="mini", description="every task of the shipped taskset-mini curves",
                                      reference="taskset-mini"))


_register_shipped()


def get_suite(name: str) -> Suite:
    """The suite registered as `name` (raises UnknownNameError listing the suites)."""
    return SUITES.get(name)


def match_tasks(patterns: Sequence[str], names: Sequence[str], where: str) -> tuple[str, ...]:
    """The names matching any of the shell `patterns`, in the order of `names`.

    Raises:
      ConfigError: a pattern matches no name (so that a typo is not silently ignored);
        the message says `where` the names come from.
    """
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            raise ConfigError(f"--tasks {pattern!r} matches none of the {len(names)} tasks of {where} "
                              f"(e.g. {list(names[:3])}); patterns use shell wildcards, e.g. 'fixed_mlp_*'; "
                              "for other tasks pass --reference DIR made by `taskset-bench curves generate`")
    return tuple(name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns))
