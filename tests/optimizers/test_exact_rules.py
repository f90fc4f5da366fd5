"""The TaskSet-exact (`*_tf1`) rules against the NumPy transcription of TaskSet's TF1 code.

Each case runs 100 steps (total_steps = 100, so warmup, constant and decay
phases all occur) on the gradients of a random quadratic and of a small MLP.
The gradients come from the reference's own float64 trajectory (closed loop:
the gradient at step k is taken at the reference's params after k steps); the
rule under test gets the same gradients, so what is compared is the update
rule, not the chaos of two trajectories. Tolerance: rtol 1e-5, plus an absolute
slack at float32 resolution of the largest value seen (see test_rules).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from taskset.optimizers import get_family, get_optimizer_config, get_rule, hparam_tensors, make_config
from tests.optimizers import taskset_tf1_reference as tf1_reference
from tests.optimizers.test_rules import assert_trajectories_close

STEPS = TOTAL_STEPS = 100
QUADRATIC_DIM = 6
MLP_SIZES = (4, 8, 3)
MLP_BATCH = 16


def quadratic_problem(seed: int):
    """f(p) = 1/2 p'Ap - b'p with A = Q diag(eigs) Q', eigs log-uniform in [0.1, 10]; one param vector."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(QUADRATIC_DIM, QUADRATIC_DIM)))
    a = q @ np.diag(np.exp(rng.uniform(np.log(0.1), np.log(10.0), QUADRATIC_DIM))) @ q.T
    b = rng.normal(size=QUADRATIC_DIM)
    params = {"x": rng.normal(size=QUADRATIC_DIM).astype(np.float32)}
    return params, lambda p: {"x": a @ p["x"] - b}


def mlp_problem(seed: int):
    """A 4-8-3 tanh MLP with a softmax cross-entropy on one fixed random batch; gradients in float64."""
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(MLP_BATCH, MLP_SIZES[0])), tf.float64)
    y = tf.constant(rng.integers(MLP_SIZES[-1], size=MLP_BATCH))
    params = {}
    for i, (n_in, n_out) in enumerate(zip(MLP_SIZES[:-1], MLP_SIZES[1:])):
        params[f"w{i}"] = (rng.normal(size=(n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        params[f"b{i}"] = (0.1 * rng.normal(size=n_out)).astype(np.float32)

    def grad(p):
        tensors = {k: tf.constant(v, tf.float64) for k, v in p.items()}
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            h = tf.tanh(x @ tensors["w0"] + tensors["b0"])
            logits = h @ tensors["w1"] + tensors["b1"]
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        return {k: g.numpy() for k, g in tape.gradient(loss, tensors).items()}

    return params, grad


PROBLEMS = {"quadratic": quadratic_problem, "mlp": mlp_problem}


def reference_run(family: str, hparams: dict[str, float], problem: str, seed: int = 0):
    """(initial params, gradient sequence, reference trajectory) of the TF1 transcription."""
    params, grad = PROBLEMS[problem](seed)
    optimizer = tf1_reference.make(family, hparams, TOTAL_STEPS)
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    grads, trajectory = [], []
    for step in range(STEPS):
        g = grad(p)
        grads.append({k: v.astype(np.float32) for k, v in g.items()})
        # The reference sees the float32 gradient the rule sees.
        p = optimizer.apply({k: v.astype(np.float32) for k, v in g.items()}, p, step)
        trajectory.append({k: v.copy() for k, v in p.items()})
    return params, grads, trajectory


_STEP_FUNCTIONS: dict[str, object] = {}


def run_rule(family: str, hparams: dict[str, float], params, grads, total_steps: int = TOTAL_STEPS):
    key = f"{family}/{total_steps}"
    if key not in _STEP_FUNCTIONS:
        rule = get_rule(family)
        _STEP_FUNCTIONS[key] = tf.function(
            lambda g, s, p, h, step: rule.update(g, s, p, h, step, total_steps))
    step_fn, rule = _STEP_FUNCTIONS[key], get_rule(family)
    p = {k: tf.constant(v) for k, v in params.items()}
    state = rule.init(p)
    hp = hparam_tensors(hparams)
    out = []
    for step, g in enumerate(grads):
        p, state = step_fn({k: tf.constant(v) for k, v in g.items()}, state, p, hp, tf.constant(step, tf.int64))
        out.append({k: v.numpy() for k, v in p.items()})
    return out


NADAMW = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "nesterov": 1.0, "adamw_weight_decay": 0.05,
          "l2_weight_decay": 0.02, "warmup_fraction": 0.1, "min_lr_mult": 0.1, "constant_fraction": 0.4}
CASES = [
    # Warmup (10 steps), constant (to 40), cosine decay (to 100); Nesterov; both decays.
    ("nadamw_tf1", NADAMW),
    # Nesterov off, AdamW decay only, decay to 0.
    ("nadamw_tf1", {**NADAMW, "nesterov": 0.0, "l2_weight_decay": 0.0, "min_lr_mult": 0.0,
                    "warmup_fraction": 0.05, "constant_fraction": 0.3}),
    # L2 only (TaskSet's sign), no warmup, Nesterov; a large eps, where eps hat decides the step.
    ("nadamw_tf1", {**NADAMW, "adamw_weight_decay": 0.0, "l2_weight_decay": 0.1, "warmup_fraction": 0.0,
                    "eps": 3.0, "lr": 0.3, "constant_fraction": 0.2}),
    # Warmup longer than the constant phase: capped at it (TF1's min).
    ("nadamw_tf1", {**NADAMW, "nesterov": 0.0, "warmup_fraction": 0.1, "constant_fraction": 0.05,
                    "beta1": 0.5, "beta2": 0.99, "min_lr_mult": 1e-3}),
    ("adam1p_tf1", {"lr": 0.03}),
    ("adam4p_tf1", {"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 0.5}),
    ("adam6p_tf1", {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-6, "linear_decay": 9e-5,
                    "exponential_decay": 1e-4}),
    ("adam8p_tf1", {"lr": 0.05, "beta1": 0.9, "beta2": 0.9999, "eps": 1e-3, "linear_decay": 1e-4,
                    "exponential_decay": 1e-3, "l1": 1e-3, "l2": 1e-2}),
]


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("family,hparams", CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_exact_rule_matches_taskset_tf1_transcription(family, hparams, problem):
    make_config(family, hparams, "case")  # inside the space
    params, grads, expected = reference_run(family, hparams, problem)
    assert_trajectories_close(run_rule(family, hparams, params, grads), expected, params, rtol=1e-5)


@pytest.mark.parametrize("family", ["adam1p_tf1", "adam4p_tf1", "adam6p_tf1", "adam8p_tf1", "nadamw_tf1"])
def test_sampled_configs_match_on_the_quadratic(family):
    for seed in range(3):
        hparams = get_optimizer_config(f"{family}_seed{seed}").hparams
        params, grads, expected = reference_run(family, hparams, "quadratic", seed=seed)
        assert_trajectories_close(run_rule(family, hparams, params, grads), expected, params, rtol=1e-5)


@pytest.mark.parametrize("standard", ["adam1p", "adam4p", "adam6p", "adam8p", "nadamw"])
def test_exact_variant_has_the_standard_space_and_configs(standard):
    exact = get_family(f"{standard}_tf1")
    assert exact.space == get_family(standard).space
    for seed in (0, 7, 123):
        config = get_optimizer_config(f"{standard}_tf1_seed{seed}")
        assert config.family == f"{standard}_tf1"
        assert config.hparams == get_optimizer_config(f"{standard}_seed{seed}").hparams


@pytest.mark.parametrize("family,hparams", [CASES[0], CASES[2], CASES[5], CASES[7]],
                         ids=["nadamw-both-decays", "nadamw-l2-eps", "adam4p-eps", "adam8p"])
def test_the_standard_rule_does_not_pass_the_transcription_test(family, hparams):
    # The check can fail: the standard reading of the same config leaves the tolerance.
    params, grads, expected = reference_run(family, hparams, "mlp")
    with pytest.raises(AssertionError):
        assert_trajectories_close(run_rule(family.removesuffix("_tf1"), hparams, params, grads), expected, params)


def test_l2_term_has_taskset_sign_and_adam8p_clock_is_not_rescaled():
    params = {"x": np.array([1.0, -2.0], np.float32)}
    zero = [{"x": np.zeros(2, np.float32)}] * 3
    hp = {**NADAMW, "adamw_weight_decay": 0.0, "l2_weight_decay": 0.1, "warmup_fraction": 0.0, "lr": 0.01}
    final = run_rule("nadamw_tf1", hp, params, zero)[-1]["x"]
    assert np.all(np.abs(final) > np.abs(params["x"]))  # g - l2 p grows the weights
    # adam8p_tf1 at 100 steps: s = step, so ld = 1e-4 has barely decayed the rate (TaskSet's getter).
    hp8 = {"lr": 0.1, "beta1": 0.0, "beta2": 0.0, "eps": 1e-10, "linear_decay": 1e-4, "exponential_decay": 1e-6,
           "l1": 1e-8, "l2": 1e-8}
    ones = [{"x": np.ones(2, np.float32)}] * 100
    steps = np.diff([params["x"]] + [p["x"] for p in run_rule("adam8p_tf1", hp8, params, ones)], axis=0)
    np.testing.assert_allclose(steps[-1] / steps[0], np.exp(-1e-6 * 99) * (1 - 1e-4 * 99), rtol=1e-5)
    # adam6p's rescaled clock (s = 100 * step) would give 1 - 1e-4 * 9900 = 0.01 instead.
