"""Progress of training jobs as plain lines, for when stderr is not a terminal (CI, `nohup`, a log file).

`LineProgress(executor, stream)` wraps any `curves.executors.Executor` and
writes one line per finished job,

    benchmark: 3/16 jobs done (mlp_seed49 replica 0), 1m20s elapsed, about 2m10s left

where the estimate of what is left scales the elapsed time by the share of
the work not yet done, taken as the mean of the share of jobs and the share of
planned cost (`Job.cost`): jobs run dearest first, so a plain count would
overstate what is left, while every job also pays a fixed start-up (tracing,
compiling) that the cost estimate leaves out. On a terminal the curves
runner's tqdm bar does this job instead.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator, Sequence, TextIO

from curves.executors import Executor, Outcome
from curves.jobs import Job


def duration(seconds: float) -> str:
    """`seconds` as "42s", "3m05s" or "1h02m"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class LineProgress(Executor):
    """An executor that runs jobs on `inner` and reports each finished job on `stream`.

    Args:
      inner: the executor that does the work (closed with this one).
      stream: where the lines go (e.g. sys.stderr); flushed after each line.
      label: the lines' prefix.
      clock: seconds since some fixed point (tests pass a fake one).
    """

    def __init__(self, inner: Executor, stream: TextIO, label: str = "benchmark",
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.inner = inner
        self.stream = stream
        self.label = label
        self.clock = clock
        self.shared_filesystem = inner.shared_filesystem

    def run(self, fn: Callable[[Job], object], jobs: Sequence[Job]) -> Iterator[Outcome]:
        start = self.clock()
        total_cost = sum(max(float(job.cost), 0.0) for job in jobs)
        done_cost, done = 0.0, 0
        for outcome in self.inner.run(fn, jobs):
            done += 1
            done_cost += max(float(outcome.job.cost), 0.0)
            elapsed = self.clock() - start
            line = (f"{self.label}: {done}/{len(jobs)} jobs done ({outcome.job.task} replica {outcome.job.replica}"
                    f"{'' if outcome.ok else ', FAILED'}), {duration(elapsed)} elapsed")
            if done < len(jobs):
                share = (done / len(jobs) + (done_cost / total_cost if total_cost > 0 else done / len(jobs))) / 2
                if share > 0:
                    line += f", about {duration(elapsed * (1 - share) / share)} left"
            self.stream.write(line + "\n")
            self.stream.flush()
            yield outcome

    def close(self) -> None:
        self.inner.close()
