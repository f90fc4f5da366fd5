"""Benchmark: fitting a 50-entry greedy list on a synthetic 1,000 tasks x 1,000 configs matrix.

Prints the time of `hparam_lists.fit_matrix` (target: under 2 s on two CPU cores)
and, beside it, the time of the textbook loop that scores one candidate at a
time, with the ratio; both must choose the same entries.

  python benchmarks/list_fit.py [--tasks 1000] [--configs 1000] [--size 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hparam_lists import ScoreMatrix, fit_matrix, normalize_losses


def synthetic_scores(tasks: int, configs: int, seed: int = 0) -> np.ndarray:
    """Normalised scores built like real ones: raw final losses from a config quality, a task
    difficulty and noise, 5% diverged, then normalised per task (one config per task scores 0)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    quality = rng.beta(2.0, 5.0, configs)[None, :]
    difficulty = rng.uniform(0.5, 1.5, tasks)[:, None]
    losses = quality * difficulty + rng.normal(0, 0.1, (tasks, configs))
    losses[rng.uniform(size=losses.shape) < 0.05] = np.nan  # Diverged runs.
    initial = np.full((tasks, 1), 1.5)
    return normalize_losses(losses, initial, np.nanmin(losses, axis=1, keepdims=True))


def loop_greedy(scores: np.ndarray, size: int) -> list[int]:
    """The baseline: the greedy definition (with its tie-breaks), one candidate at a time."""
    chosen: list[int] = []
    best = np.full(scores.shape[0], np.inf)
    for _ in range(size):
        keys = [(float(np.minimum(best, scores[:, c]).sum()), float(scores[:, c].sum()), c)
                for c in range(scores.shape[1]) if c not in chosen]
        pick = min(keys)[2]
        chosen.append(pick)
        best = np.minimum(best, scores[:, pick])
    return chosen


def best_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(prog="list_fit", description="time greedy list fitting")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    matrix = ScoreMatrix.from_array(synthetic_scores(args.tasks, args.configs), config_family="nadamw")
    fast, fitted = best_time(lambda: fit_matrix(matrix, "nadamw", args.size), args.repeats)
    slow, chosen = best_time(lambda: loop_greedy(matrix.scores, args.size), 1)
    same = [e.optimizer for e in fitted.entries] == [matrix.configs[c] for c in chosen]
    print(f"fit_matrix: {args.size} entries on {args.tasks} tasks x {args.configs} configs: {fast:.3f} s "
          f"(best of {args.repeats}; target < 2 s)")
    print(f"baseline one-candidate-at-a-time loop: {slow:.3f} s; ratio {slow / fast:.1f}x; same entries: {same}")


if __name__ == "__main__":
    main()
