"""Evaluation beyond the training distribution: ResNet-50 and a transformer LM.

A learned hyperparameter list is fitted on small TaskSet-style tasks; this
package asks whether its first k entries also beat the usual ways of spending
k training runs on problems unlike those: random search over the same family,
an Adam learning-rate grid and Bayesian optimisation.

  eval.problems   PROBLEMS ("resnet50", "transformer") x presets tiny/small/full
  eval.resnet     the ResNet-50 task (He et al. 2015) as pure functions
  eval.datasets   center_crop (imagenette / imagenet2012 are in taskset.datasets.imagenet)
  eval.methods    the four trial generators (list, random, Adam grid, BO)
  eval.protocol   run_protocol(task, list, settings, ...) -> ProblemResult
  eval.report     write_report(result, directory, command): Markdown, PNG, JSON

CLI: `taskset-bench eval resnet50|transformer --list NAME|FILE --trials K --steps N`.
Imports go `taskset <- curves <- hparam_lists <- eval`; only the CLI imports
this package. Importing it imports no TensorFlow.
"""
