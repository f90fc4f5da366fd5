"""Task families, fixed tasks and the catalogue.

Importing this package registers every family; add new family modules to
`FAMILY_MODULES` below.
"""

import importlib

from taskset.tasks.base import Task, TaskFamily, batch_seed
from taskset.tasks.catalogue import (FAMILIES, FIXED, TaskEntry, get_task, list_tasks, sample_task,
                                     task_from_config, task_from_gin, task_names, task_to_gin)

FAMILY_MODULES = (
    "taskset.tasks.mlp",
    "taskset.tasks.sequence",
    "taskset.tasks.conv_pooling",
    "taskset.tasks.conv_fc",
    "taskset.tasks.quadratic",
    "taskset.tasks.mlp_ae",
    "taskset.tasks.mlp_vae",
    "taskset.tasks.nvp",
    "taskset.tasks.maf",
    "taskset.tasks.test_functions",
    "taskset.tasks.char_rnn_lm",
    "taskset.tasks.word_rnn_lm",
    "taskset.tasks.rnn_text_classification",
    "taskset.tasks.transformer_lm",
)

for _module in FAMILY_MODULES:
    importlib.import_module(_module)

__all__ = ["FAMILIES", "FIXED", "Task", "TaskEntry", "TaskFamily", "batch_seed", "get_task", "list_tasks",
           "sample_task", "task_from_config", "task_from_gin", "task_names", "task_to_gin"]
