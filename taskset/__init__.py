"""taskset: a benchmark dataset and evaluation suite for neural-network optimizers.

Public API (none of it imports TensorFlow until a task is trained or evaluated):
`list_tasks`, `get_task`, `sample_task`, `task_from_config`.
"""

__version__ = "0.1.0"

from taskset.tasks import get_task, list_tasks, sample_task, task_from_config  # noqa: E402

__all__ = ["__version__", "get_task", "list_tasks", "sample_task", "task_from_config"]
