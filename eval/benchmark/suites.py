"""Benchmark suites: which tasks an optimizer is scored on, and against which reference curves.

A `Suite` names a reference curve dataset (a name registered in
`curves.registry`) and the tasks and step count to take from it:

  quick     10 offline tasks, 200 steps: a smoke test (`curves/data/quick-reference`,
            made from `curves/specs/quick_reference.gin`).
  standard  the suite to cite: 28 neural-network tasks of `taskset-small`, two sampled
            tasks per family plus six fixed ones, 1,000 steps, every aggregate weighted
            by family (`STANDARD_TASKS`), against `standard-reference` (with replicas).
  mini      every task of the `taskset-mini` curve dataset (128 of its 150 tasks are
            quadratics or test functions).

`standard` and `mini` are registered when their reference curve datasets are.
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


STANDARD_REFERENCE = "standard-reference"
STANDARD_STEPS = 1000
STANDARD_VERSION = 1
"""Bumped whenever `STANDARD_TASKS` changes: reports print it, so that a cited result names its tasks."""
STANDARD_EXCLUDED_FAMILIES = ("quadratic", "test_functions")
"""Families the standard suite leaves out: cheap synthetic problems that are not neural networks."""
STANDARD_FIXED = 6
"""Fixed (hand-designed) tasks in the standard suite: the cheapest one of each family, then the cheapest six."""
STANDARD_TASKS = {
    "char_rnn_lm": ("char_rnn_lm_seed16", "char_rnn_lm_seed37"),
    "conv_fc": ("conv_fc_seed19", "conv_fc_seed97", "fixed_conv_fc_digits_16x16_fc64x2_tanh_bs32"),
    "conv_pooling": ("conv_pooling_seed4", "conv_pooling_seed53", "fixed_conv_pooling_digits_16x32_mean_bs64"),
    "maf": ("maf_seed36", "maf_seed27"),
    "mlp": ("mlp_seed21", "mlp_seed49", "fixed_mlp_digits_64x4_swish_bs32"),
    "mlp_ae": ("mlp_ae_seed15", "mlp_ae_seed59", "fixed_mlp_ae_digits_64x16_linear_l1_bs64"),
    "mlp_vae": ("mlp_vae_seed16", "mlp_vae_seed53"),
    "nvp": ("nvp_seed23", "nvp_seed31", "fixed_nvp_digits_3x64_bs64"),
    "rnn_text_classification": ("rnn_text_classification_seed89", "rnn_text_classification_seed71"),
    "sequence": ("sequence_seed45", "sequence_seed64", "fixed_sequence_copy_len5_vocab4_gru32"),
    "transformer_lm": ("transformer_lm_seed27",),
    "word_rnn_lm": ("word_rnn_lm_seed37",),
}
"""The standard suite, version `STANDARD_VERSION`: 28 tasks of the 12 neural families of `taskset-small`.

How it was chosen (`standard_choice`, frozen on taskset-small's spec of 2026-11-30): of each
sampled family, its **replica task** (the one on which taskset-small trains replica seeds 1
and 2 of `adam_default` and `nadamw_seed0..31`, so the reference measures that family's
replica noise, on which the tie rule rests) and the other sampled task with the lowest pilot
cost per config-step (`curves/specs/taskset_*_pilot.json`); then of the fixed neural tasks,
the cheapest of each family and of those the `STANDARD_FIXED` cheapest. The transformer and
word-RNN families had one task in taskset-small then, so they have one here. Every task is
in `taskset-small`, and the reference `standard-reference` is exactly its jobs for these
tasks (bit for bit the same shards), plus replica seeds 1 and 2 of `adam_default` on the
tasks that are not replica tasks, so every contender replica meets the `adam_default`
replica of the same seed. Cheapness is a bias: the suite, like taskset-small's cap, speaks
for the cheaper half of each family. The table is frozen: tasks added to taskset-small later
change it only with a new `STANDARD_VERSION`."""


def standard_choice(costs: dict[str, tuple[str, float]], replica_tasks: dict[str, str],
                    fixed: int = STANDARD_FIXED) -> dict[str, tuple[str, ...]]:
    """The standard suite's rule (see `STANDARD_TASKS`), a pure function of its candidates.

    Args:
      costs: candidate task -> (family, seconds per config-step); names starting "fixed_" are fixed tasks.
      replica_tasks: family -> its replica task (must be among the candidates).
      fixed: how many fixed tasks to take.

    Returns:
      family -> (replica task, cheapest other sampled task, [its chosen fixed task]), families sorted.
    """
    sampled = {t: c for t, c in costs.items() if not t.startswith("fixed_")}
    others = pick_per_family({t: c for t, c in sampled.items() if t not in replica_tasks.values()}, per_family=1)
    fixed_by_family = pick_per_family({t: c for t, c in costs.items() if t.startswith("fixed_")}, per_family=1)
    cheapest_fixed = sorted((costs[tasks[0]][1], tasks[0]) for tasks in fixed_by_family.values())[:fixed]
    chosen_fixed = {costs[task][0]: task for _, task in cheapest_fixed}
    families = sorted({family for family, _ in sampled.values()} - set(STANDARD_EXCLUDED_FAMILIES))
    return {family: tuple(t for t in (replica_tasks.get(family), *others.get(family, ()), chosen_fixed.get(family))
                          if t is not None) for family in families}


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
                        f"steps, family-weighted (version {STANDARD_VERSION})",
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
