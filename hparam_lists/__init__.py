"""Learned hyperparameter lists: normalise curves, fit greedy ordered lists, evaluate them.

The pipeline (TaskSet, Metz et al. 2020, arXiv:2002.11887):
  curves.read(...)  ->  score_matrix (normalize.py)  ->  fit (greedy.py)  ->  HparamList (artifact.py)
                                                      ->  evaluate (evaluate.py, baselines.py) -> report.py
and for users of a fitted list: `optimizer_from_list(name_or_path, index, total_steps)`
gives entry `index` as a pure update rule and as a Keras 3 optimizer.

Importing this package imports neither TensorFlow nor Keras nor scikit-optimize;
they load when a rule is built, a Keras optimizer made, or BO run.
"""

from hparam_lists.artifact import (FitSettings, HparamList, ListEntry, ListFileError, load_list, manifest_sha256,
                                   save_list, shipped_lists)
from hparam_lists.evaluate import EvaluationResult, evaluate, evaluate_matrices
from hparam_lists.greedy import fit, fit_matrix, greedy_order
from hparam_lists.keras_optimizer import ListOptimizer, optimizer_from_list
from hparam_lists.matrix import ScoreMatrix
from hparam_lists.normalize import normalize_losses, score_matrix

__all__ = ["EvaluationResult", "FitSettings", "HparamList", "ListEntry", "ListFileError", "ListOptimizer",
           "ScoreMatrix", "evaluate", "evaluate_matrices", "fit", "fit_matrix", "greedy_order", "load_list",
           "manifest_sha256", "normalize_losses", "optimizer_from_list", "save_list", "score_matrix",
           "shipped_lists"]
