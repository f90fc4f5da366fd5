"""A sweep's price by task family: tasks, jobs, curves, worker-hours on this CPU, bytes.

`price(spec)` counts jobs arithmetically (tasks x replicas x population
chunks) instead of building them, so TaskSet's scale (1,200 tasks x 5,000
configs x 5 replicas: 300,000 jobs) prices in about a second; job keys are
only computed when jobs are listed (`curves plan --jobs`). Worker-hours are
for one-thread workers of this machine's CPU, from `curves.cost`; on N workers
a sweep takes at least max(worker-hours / N, its longest job).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from curves.cost import CostModel, curve_bytes, default_model, task_features
from curves.jobs import num_evaluations
from curves.spec import SweepSpec


@dataclasses.dataclass
class FamilyPrice:
    """One row of the plan table.

    Attributes:
      family: task family (fixed tasks count under the family their config names).
      tasks: tasks of the family in the spec.
      missing: of those, tasks whose data is not on this machine (planned anyway).
      extrapolated: of those, tasks larger (in work) than any the cost model was
        fitted on: their price is an extrapolation.
      jobs, curves: jobs and curves the sweep has for them.
      worker_hours: estimated one-thread worker-hours on this machine's CPU.
      bytes: estimated stored size of the curves (packed shards).
      longest_job_hours: the dearest single job of the family.
    """

    family: str
    tasks: int = 0
    missing: int = 0
    extrapolated: int = 0
    jobs: int = 0
    curves: int = 0
    worker_hours: float = 0.0
    bytes: float = 0.0
    longest_job_hours: float = 0.0

    def add(self, other: "FamilyPrice") -> None:
        for field in ("tasks", "missing", "extrapolated", "jobs", "curves", "worker_hours", "bytes"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.longest_job_hours = max(self.longest_job_hours, other.longest_job_hours)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Price:
    """The plan table: one `FamilyPrice` per family (sorted by name) and their total."""

    families: list[FamilyPrice]
    total: FamilyPrice
    model_source: str

    def wall_hours(self, workers: int) -> float:
        """Lower bound on the sweep's wall time on `workers` one-thread workers of this CPU."""
        return max(self.total.worker_hours / workers, self.total.longest_job_hours)


def price(spec: SweepSpec, model: CostModel | None = None) -> Price:
    """Prices `spec` per task family (see the module docstring)."""
    model = model or default_model()
    settings = spec.settings
    configs = len(spec.optimizers)
    full, rest = divmod(configs, settings.population)
    chunks = [settings.population] * full + ([rest] if rest else [])
    evaluations = num_evaluations(settings.steps, settings.eval_every)
    per_curve_bytes = curve_bytes(evaluations)
    missing = set(spec.missing)
    rows: dict[str, FamilyPrice] = {}
    for task in spec.tasks:
        family, work = task_features(task)
        seconds = [model.job_seconds(family, work, size, settings.steps, settings.eval_every, settings.eval_batches)
                   for size in chunks]
        row = rows.setdefault(family, FamilyPrice(family))
        row.add(FamilyPrice(family, tasks=1, missing=int(task.name in missing),
                            extrapolated=int(work > model.fit_for(family).max_work),
                            jobs=settings.replicas * len(chunks), curves=settings.replicas * configs,
                            worker_hours=settings.replicas * sum(seconds) / 3600.0,
                            bytes=settings.replicas * configs * per_curve_bytes,
                            longest_job_hours=max(seconds) / 3600.0))
    total = FamilyPrice("total")
    for row in rows.values():
        total.add(row)
    return Price([rows[f] for f in sorted(rows)], total, model.source)


def job_seconds(model: CostModel, task, configs: int, steps: int, eval_every: int, eval_batches: int) -> float:
    """Estimated seconds of one job (for `curves plan --jobs`)."""
    family, work = task_features(task)
    return model.job_seconds(family, work, configs, steps, eval_every, eval_batches)
