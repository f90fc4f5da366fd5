"""Benchmark: the Bayesian-optimisation baseline of `lists evaluate` in this process and on N workers.

BO is the dearest part of a list evaluation (one skopt run per task and seed, each
refitting a GP after every trial). Prints the time of `bayes_opt_curves` with
`workers=1` (the baseline) and with `--workers N`, the ratio, and checks that both
give the same curves.

  python benchmarks/bayes_opt.py [--tasks 24] [--configs 128] [--trials 20] [--seeds 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hparam_lists.baselines import bayes_opt_curves, unit_coordinates
from taskset.optimizers import get_family


def synthetic_problem(tasks: int, configs: int, seed: int = 0):
    """The configs nadamw_seed0.. and per-task scores that depend smoothly on them."""
    family = get_family("nadamw")
    space = family.space
    rng = np.random.Generator(np.random.PCG64(seed))
    pool = unit_coordinates(space, [family.sample(i).hparams for i in range(configs)])
    centre = rng.uniform(size=(tasks, 1, pool.shape[1]))
    scores = ((pool[None] - centre) ** 2).mean(axis=2) + rng.normal(0, 0.01, (tasks, configs))
    return space, pool, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--configs", type=int, default=128)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    space, pool, scores = synthetic_problem(args.tasks, args.configs)
    seeds = tuple(range(args.seeds))
    times, curves = {}, {}
    for workers in (1, args.workers):
        start = time.perf_counter()
        curves[workers] = bayes_opt_curves(space, pool, scores, scores, args.trials, seeds, workers=workers)
        times[workers] = time.perf_counter() - start
    runs = args.tasks * args.seeds
    print(f"BO, {args.tasks} tasks x {args.seeds} seeds x {args.trials} trials over {args.configs} configs")
    print(f"  this process: {times[1]:.1f} s ({times[1] / runs:.2f} s per run)")
    print(f"  {args.workers} workers:    {times[args.workers]:.1f} s (start-up included)")
    print(f"  ratio: {times[1] / times[args.workers]:.2f}x")
    if not np.array_equal(curves[1], curves[args.workers]):
        raise SystemExit("the workers' curves differ from this process's")


if __name__ == "__main__":
    main()
