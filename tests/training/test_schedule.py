"""The evaluation schedule and the disjointness of evaluation and training batch seeds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from taskset.training.schedule import eval_batch_index, eval_steps


def test_eval_steps():
    np.testing.assert_array_equal(eval_steps(10, 5), [0, 5, 10])
    np.testing.assert_array_equal(eval_steps(3, 3), [0, 3])
    assert eval_steps(100, 1).dtype == np.int64 and len(eval_steps(100, 1)) == 101


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 50), st.integers(1, 20), st.data())
def test_eval_batches_are_fresh_and_never_training_batches(num_evals, eval_batches, data):
    every = data.draw(st.integers(1, 1000))
    steps = eval_steps(num_evals * every, every)
    indices = eval_batch_index(steps[:, None], np.arange(eval_batches)[None, :], eval_batches).numpy().ravel()
    assert len(set(indices.tolist())) == len(indices)  # fresh at every evaluation
    assert indices.max() < 0  # training uses indices 0, 1, 2, ...
