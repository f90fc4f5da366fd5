"""What a sweep costs: seconds per config-step on this machine's CPU, and bytes per curve.

The model, fitted per task family on measured timings (one TensorFlow thread):

  log(seconds per config-step) = a_f + b_f * log(work),  work = parameters x batch x sequence length

(`sequence_length` is 1 for tasks without one). The slope `b_f` is the
least-squares fit within family f, clipped to [0, 1]: a family whose timings
do not grow with its size gets a flat model, and none may grow faster than its
work (fits on 5 cheap tasks gave slopes up to 1.5, which extrapolated to
thousands of hours per job). Families with fewer than `MIN_FIT` timings, and
unknown families, use the fit pooled over every family. A fixed task is priced
as its family (its config names it).

A job of C configs costs

  setup_f + C x (steps + evaluations x 4 splits x eval_batches x EVAL_STEP_FRACTION) x spcs

where `setup_f` is family f's median set-up (tracing, compiling, the first
evaluations: the pilot's wall time minus its training time) and an evaluation
batch, a forward pass without gradients, is counted as a third of a training
step (an assumption, not a measurement). The per-config cost does not depend
on the population size: on the idle machine char_rnn_lm_seed16 cost 1.6-2.1
ms per config-step for K = 4, 8, 32 and 160. For the cheapest tasks
(quadratics, test functions) the per-step overhead is shared by the
population, so the pilot's K = 4 overestimates large populations: taskset-mini
(K = 160, loaded machine) recorded a median 1.6-2x less than predicted.

Calibration data (see `calibrate`):
- the pilot, `curves/specs/taskset_mini_pilot.json`: 139 tasks of 14
  families, 4 nadamw configs x 40 steps each, timed on 2 one-thread workers
  of an otherwise quiet machine. Its char_rnn_lm_seed16 (1.63 ms) matches an
  idle re-measurement (1.6-2.1 ms), so **the plan uses the pilot**: it prices
  the work on this CPU when nothing else runs. Its candidates are each
  family's cheapest-looking configs, so dear tasks are extrapolated.
- the shipped taskset-mini shards' recorded `seconds_per_step` (150 tasks,
  K = 160, 1,000 steps), timed while other work loaded the machine (e.g.
  char_rnn_lm_seed16 14 ms, 8.7x the pilot): they show what load does and are
  reported as a check, not fitted.

Bytes per curve (packed, zstd, as `curves compact` leaves them):
`CURVE_BYTES_BASE + CURVE_BYTES_PER_POINT x (evaluations - 11)`: 335 bytes at
11 points is taskset-mini's measured size (8,080,002 bytes / 24,150 curves),
and 12.2 bytes per extra point is the measured growth of an encoded shard of
100 curves from 11 to 51 points.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import statistics
from typing import Any, Iterable, Mapping, Sequence

PILOT = pathlib.Path(__file__).parent / "specs" / "taskset_mini_pilot.json"
SHIPPED = pathlib.Path(__file__).parent / "data" / "taskset-mini"
MIN_FIT = 3
SLOPE_RANGE = (0.0, 1.0)
EVAL_STEP_FRACTION = 1.0 / 3.0
SPLITS_EVALUATED = 4
CURVE_BYTES_BASE = 335.0
CURVE_BYTES_BASE_POINTS = 11
CURVE_BYTES_PER_POINT = 12.2


@dataclasses.dataclass(frozen=True)
class Timing:
    """One measured task: its family, work (see module docstring), seconds per config-step, set-up seconds."""

    task: str
    family: str
    work: float
    seconds_per_config_step: float
    setup_s: float | None = None


@dataclasses.dataclass(frozen=True)
class FamilyFit:
    """log(spcs) = intercept + slope * log(work), and the family's median set-up seconds."""

    intercept: float
    slope: float
    setup_s: float
    samples: int
    max_work: float = math.inf
    """The largest work timed: dearer tasks are priced by extrapolation."""

    def seconds_per_config_step(self, work: float) -> float:
        return math.exp(self.intercept + self.slope * math.log(max(work, 1.0)))


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Per-family fits plus the pooled fit used for families without enough timings."""

    families: Mapping[str, FamilyFit]
    pooled: FamilyFit
    source: str = ""

    def fit_for(self, family: str) -> FamilyFit:
        return self.families.get(family, self.pooled)

    def seconds_per_config_step(self, family: str, work: float) -> float:
        return self.fit_for(family).seconds_per_config_step(work)

    def job_seconds(self, family: str, work: float, configs: int, steps: int, eval_every: int,
                    eval_batches: int) -> float:
        """Estimated wall seconds of one job of `configs` configs on one one-thread worker."""
        fit = self.fit_for(family)
        evaluated = (steps // eval_every + 1) * SPLITS_EVALUATED * eval_batches * EVAL_STEP_FRACTION
        return fit.setup_s + configs * (steps + evaluated) * fit.seconds_per_config_step(work)


def curve_bytes(evaluations: int) -> float:
    """Estimated stored bytes of one curve with `evaluations` points (packed shards)."""
    return CURVE_BYTES_BASE + CURVE_BYTES_PER_POINT * (evaluations - CURVE_BYTES_BASE_POINTS)


def task_features(task) -> tuple[str, float]:
    """(family, work) of a task, from its config alone (no TensorFlow)."""
    config = task.config_dict
    family = str(config.get("family", "fixed"))
    batch = max(int(config.get("batch_size", 1) or 1), 1)
    sequence = max(int(config.get("sequence_length", 1) or 1), 1)
    return family, float(max(task.num_params, 1)) * batch * sequence


def _fit_line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of ys on xs, the slope clipped to SLOPE_RANGE."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0
    slope = min(max(slope, SLOPE_RANGE[0]), SLOPE_RANGE[1])
    return my - slope * mx, slope


def _family_fit(timings: Sequence[Timing], default_setup: float | None = None) -> FamilyFit:
    xs = [math.log(max(t.work, 1.0)) for t in timings]
    ys = [math.log(t.seconds_per_config_step) for t in timings]
    intercept, slope = _fit_line(xs, ys)
    setups = [t.setup_s for t in timings if t.setup_s is not None]
    setup = statistics.median(setups) if setups else (default_setup or 0.0)
    return FamilyFit(intercept, slope, setup, len(timings), max(t.work for t in timings))


def fit(timings: Sequence[Timing], source: str = "") -> CostModel:
    """Fits the per-family and pooled models (see the module docstring)."""
    if not timings:
        raise ValueError("no timings to fit a cost model on")
    pooled = _family_fit(timings)
    by_family: dict[str, list[Timing]] = {}
    for t in timings:
        by_family.setdefault(t.family, []).append(t)
    families = {f: _family_fit(ts, pooled.setup_s) for f, ts in by_family.items() if len(ts) >= MIN_FIT}
    return CostModel(families, pooled, source)


def load_pilot(path: pathlib.Path = PILOT) -> list[Timing]:
    """The pilot's timings with each task's features (tasks the pilot could not train are skipped)."""
    from taskset.tasks import get_task

    if not path.exists():
        raise FileNotFoundError(f"the cost model's pilot timings {str(path)!r} are not in this installation; "
                                "install taskset from its repository (`pip install -e .`), which holds them")
    data = json.loads(path.read_text())
    configs, steps = data["configs"], data["steps"]
    out = []
    for row in data["tasks"]:
        if "error" in row:
            continue
        family, work = task_features(get_task(row["name"]))
        spcs = row["seconds_per_config_step"]
        out.append(Timing(row["name"], family, work, spcs, row["wall_seconds"] - configs * steps * spcs))
    return out


def load_shipped(root: pathlib.Path = SHIPPED, families: Iterable[str] = ("nadamw", "adam8p")) -> list[Timing]:
    """Median recorded seconds per config-step per task of a shipped dataset's main jobs (K = 160)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from taskset.tasks import get_task

    table = pq.read_table(sorted((root / "shards").glob("*.parquet")),
                          columns=["task", "optimizer_family", "seconds_per_step"])
    table = table.filter(pc.is_in(table["optimizer_family"], value_set=pa.array(list(families))))
    per_task: dict[str, list[float]] = {}
    for task, seconds in zip(table["task"].to_pylist(), table["seconds_per_step"].to_pylist()):
        per_task.setdefault(task, []).append(seconds)
    out = []
    for task, seconds in sorted(per_task.items()):
        family, work = task_features(get_task(task))
        out.append(Timing(task, family, work, statistics.median(seconds)))
    return out


def default_model() -> CostModel:
    """The model the plan uses: fitted on the pilot (see the module docstring)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = fit(load_pilot(), source=f"pilot {PILOT.name}")
    return _DEFAULT


_DEFAULT: CostModel | None = None


def _ratio_summary(ratios: Sequence[float]) -> dict[str, float]:
    """Median ratio and the worst factor either way (max of r and 1/r)."""
    return {"median_ratio": statistics.median(ratios), "worst_factor": max(max(r, 1 / r) for r in ratios),
            "n": len(ratios)}


def calibrate() -> dict[str, Any]:
    """The calibration error of the pilot-fitted model, per family.

    Returns:
      {"leave_one_out": {family: {median_ratio, worst_factor, n}}: predicted / measured for
       each pilot task when the model is fitted without it;
       "shipped": {family: ...}: the full pilot model's prediction / taskset-mini's recorded
       seconds per config-step (a loaded machine, so ratios below 1 mean load);
       "pooled": the same two summaries over all tasks}.
    """
    pilot = load_pilot()
    loo: dict[str, list[float]] = {}
    for i, t in enumerate(pilot):
        model = fit(pilot[:i] + pilot[i + 1:])
        loo.setdefault(t.family, []).append(model.seconds_per_config_step(t.family, t.work) / t.seconds_per_config_step)
    model = fit(pilot)
    shipped: dict[str, list[float]] = {}
    for t in load_shipped():
        shipped.setdefault(t.family, []).append(model.seconds_per_config_step(t.family, t.work)
                                                / t.seconds_per_config_step)
    return {"leave_one_out": {f: _ratio_summary(r) for f, r in sorted(loo.items())},
            "shipped": {f: _ratio_summary(r) for f, r in sorted(shipped.items())},
            "pooled": {"leave_one_out": _ratio_summary([r for rs in loo.values() for r in rs]),
                       "shipped": _ratio_summary([r for rs in shipped.values() for r in rs])}}


def _main() -> None:
    """`python -m curves.cost`: prints the fitted model and its calibration error."""
    model = default_model()
    report = calibrate()
    print(f"cost model fitted on the {model.source} (log spcs = a + b log work, per family)")
    print(f"{'family':26s} {'n':>3s} {'slope':>6s} {'setup_s':>7s} | {'LOO pred/meas median':>20s} {'worst':>6s} | "
          f"{'pred/shipped median':>19s} {'worst':>6s} {'n':>3s}")
    for family in sorted(set(report["leave_one_out"]) | set(report["shipped"])):
        f = model.fit_for(family)
        loo = report["leave_one_out"].get(family)
        shp = report["shipped"].get(family)
        cells = [f"{loo['median_ratio']:20.2f} {loo['worst_factor']:6.1f}" if loo else f"{'-':>20s} {'-':>6s}",
                 f"{shp['median_ratio']:19.2f} {shp['worst_factor']:6.1f} {shp['n']:3d}" if shp else "-"]
        print(f"{family:26s} {f.samples:3d} {f.slope:6.2f} {f.setup_s:7.1f} | {cells[0]} | {cells[1]}")
    for key in ("leave_one_out", "shipped"):
        s = report["pooled"][key]
        print(f"all tasks, {key}: median ratio {s['median_ratio']:.2f}, worst factor {s['worst_factor']:.1f}, "
              f"n={s['n']}")


if __name__ == "__main__":
    _main()
