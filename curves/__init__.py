"""curves: sweep specs -> jobs -> executors -> Parquet shards, and reading them back.

Public API (none of it imports TensorFlow; only training a job does):
  load_spec(path) / parse_spec(text)   a sweep spec (gin) resolved into tasks and optimizer configs
  plan(spec) -> list[Job]              the jobs of a sweep, each with a stable key and a cost estimate
  generate(jobs, out, executor=...)    run the missing jobs, one Parquet shard each (resumable)
  read(path, tasks=, optimizer_family=, columns=) -> pandas.DataFrame
  iter_tasks(path, ...)                the same, one task at a time (memory of one task)
  to_matrix(df, metric=, reduction=) -> CurveMatrix (tasks x configs)
  compact(path)                        merge each task's job shards into one pack (faster reads)
  verify(path), info(path)             check and summarise a curve directory

`curves` depends on `taskset`, never the reverse.
"""

from curves.download import download_dataset, local_dataset
from curves.compact import compact
from curves.jobs import Job, plan
from curves.reader import CURVE_DATASETS, CurveMatrix, iter_tasks, read, read_table, to_matrix
from curves.runner import GenerateSummary, execute_job, generate
from curves.schema import SCHEMA_VERSION
from curves.spec import SweepSpec, load_spec, parse_spec
from curves.taskset_convert import convert_taskset
from curves.verify import VerifyReport, info, verify

__all__ = ["CURVE_DATASETS", "CurveMatrix", "GenerateSummary", "Job", "SCHEMA_VERSION", "SweepSpec", "VerifyReport",
           "compact", "execute_job", "generate", "info", "iter_tasks", "load_spec", "parse_spec", "plan", "read",
           "read_table", "to_matrix", "verify"]
__all__ += ["convert_taskset", "download_dataset", "local_dataset"]
