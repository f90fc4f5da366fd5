"""Task families, fixed tasks and the catalogue.

Importing this package registers every family: each family module registers
itself in `TASK_FAMILIES` (taskset.tasks.catalogue) when imported, and the imports
below are the list of them (add a new family module here).
"""

# In the order they were always registered in.
from taskset.tasks import mlp  # noqa: F401  (registration)
from taskset.tasks import sequence  # noqa: F401  (registration)
from taskset.tasks import conv_pooling  # noqa: F401  (registration)
from taskset.tasks import conv_fc  # noqa: F401  (registration)
from taskset.tasks import quadratic  # noqa: F401  (registration)
from taskset.tasks import mlp_ae  # noqa: F401  (registration)
from taskset.tasks import mlp_vae  # noqa: F401  (registration)
from taskset.tasks import nvp  # noqa: F401  (registration)
from taskset.tasks import maf  # noqa: F401  (registration)
from taskset.tasks import test_functions  # noqa: F401  (registration)
from taskset.tasks import char_rnn_lm  # noqa: F401  (registration)
from taskset.tasks import word_rnn_lm  # noqa: F401  (registration)
from taskset.tasks import rnn_text_classification  # noqa: F401  (registration)
from taskset.tasks import transformer_lm  # noqa: F401  (registration)
from taskset.tasks.base import Task, TaskFamily, batch_seed
from taskset.tasks.catalogue import (FIXED, TASK_FAMILIES, TaskEntry, get_task, list_tasks, sample_task,
                                     task_from_config, task_from_gin, task_names, task_to_gin)

__all__ = ["FIXED", "TASK_FAMILIES", "Task", "TaskEntry", "TaskFamily", "batch_seed", "get_task", "list_tasks",
           "sample_task", "task_from_config", "task_from_gin", "task_names", "task_to_gin"]
