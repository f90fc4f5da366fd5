"""The main job: score any optimizer against a suite of tasks and their reference curves.

  eval.benchmark.suites       SUITES ("quick"; "standard" and "mini" when taskset-mini is shipped)
  eval.benchmark.contenders   --optimizer SPECs -> `Contender`s (configs, list entries, factories)
  eval.benchmark.reference    the reference curves of the tasks at the run's steps
  eval.benchmark.runs         curve jobs for the contenders, trained through the curves executors
  eval.benchmark.keras_run    the training loop for Keras 3 optimizers
  eval.benchmark.scoring      scores against the reference alone, ties, percentile, time to target,
                              family/task/replica bootstrap, win rate, performance profile
  eval.benchmark.results      score_run: reference and run curves -> per-task, per-family and
                              family-weighted results
  eval.benchmark.progress     one line per finished job when stderr is not a terminal
  eval.benchmark.pipeline     run_benchmark(contenders, settings, curves_dir) -> BenchmarkResult
  eval.benchmark.report       summary.json, report.md and plots (helpers shared with eval.report
                              in eval.reporting)

CLI: `taskset-bench benchmark --optimizer SPEC [--suite quick] [--report DIR]`.
Importing this package imports no TensorFlow.
"""

from eval.benchmark.contenders import Contender, SpecError, resolve
from eval.benchmark.pipeline import BenchmarkResult, BenchmarkSettings, run_benchmark
from eval.benchmark.report import summary_json, write_report
from eval.benchmark.suites import SUITES, Suite, get_suite

__all__ = ["BenchmarkResult", "BenchmarkSettings", "Contender", "SUITES", "SpecError", "Suite", "get_suite",
           "resolve", "run_benchmark", "summary_json", "write_report"]
