"""The sum tree keeps exact sums and samples leaves by their priorities."""
import numpy as np
import tensorflow as tf

from rigl_rl.training import priorities

# Six leaves (padded to eight), one of them 0: total 20.
PRIORITIES = [1.0, 2.0, 3.0, 0.0, 4.0, 10.0]


def _tree():
  tree = priorities.SumTree(6)
  tree.set(tf.range(6, dtype=tf.int64), PRIORITIES)
  return tree


def test_sums_after_sets_and_overwrites():
  tree = _tree()
  assert tree.leaves == 8 and tree.depth == 3
  nodes = tree.nodes.numpy()
  assert tree.total.numpy() == 20.0
  # Level 1: leaves 0-3 and 4-7; level 2: pairs.
  np.testing.assert_array_equal(nodes[2:4], [6.0, 14.0])
  np.testing.assert_array_equal(nodes[4:8], [3.0, 3.0, 14.0, 0.0])
  tree.set(tf.constant([5, 1], tf.int64), [0.5, 7.0])
  assert tree.total.numpy() == 1 + 7 + 3 + 0 + 4 + 0.5
  np.testing.assert_array_equal(tree.get(tf.range(6, dtype=tf.int64)),
                                [1.0, 7.0, 3.0, 0.0, 4.0, 0.5])
  # The max is the largest ever set, even after it was overwritten.
  assert tree.max_priority.numpy() == 10.0


def test_find_by_hand():
  tree = _tree()
  # Cumulative sums 1, 3, 6, 6, 10, 20: leaf i covers [c_{i-1}, c_i).
  values = tf.constant([0.0, 0.999, 1.0, 2.5, 3.0, 5.999, 6.0, 9.9, 10.0,
                        19.999], tf.float64)
  np.testing.assert_array_equal(tree.find(values),
                                [0, 0, 1, 1, 2, 2, 4, 4, 5, 5])
  # At (or by rounding past) the total, the last positive leaf, never a
  # zero or padding one.
  np.testing.assert_array_equal(tree.find(tf.constant([20.0, 25.0],
                                                      tf.float64)), [5, 5])


def test_sampling_frequencies_follow_priorities():
  tree = _tree()
  expected = np.array(PRIORITIES) / 20.0
  draws = 200_000
  # Independent draws: each leaf's frequency within 5 standard deviations
  # of p_i (at most 0.0056 here), far below the gaps between the p_i, so
  # uniform sampling (1/6 each) or a shifted leaf cannot pass.
  values = tf.random.stateless_uniform([draws], [1, 2], 0.0, 20.0,
                                       dtype=tf.float64)
  counts = np.bincount(tree.find(values).numpy(), minlength=8)
  tolerance = 5 * np.sqrt(expected * (1 - expected) / draws)
  np.testing.assert_array_less(np.abs(counts[:6] / draws - expected),
                               tolerance + 1e-12)
  assert counts[3] == 0 and counts[6:].sum() == 0
  # Stratified batches: every segment of total/B holds one draw, so a leaf
  # of priority p gets B * p / total draws, give or take one per boundary
  # it shares with a neighbour.
  batch = 1000
  sampled = tree.stratified_sample(batch, tf.random.Generator.from_seed(3))
  counts = np.bincount(sampled.numpy(), minlength=8)
  np.testing.assert_allclose(counts[:6], batch * expected, atol=2)
  assert counts[3] == 0


def test_stratified_draws_are_in_segment_order():
  tree = priorities.SumTree(4)
  tree.set(tf.range(4, dtype=tf.int64), [1.0, 1.0, 1.0, 1.0])
  # Four equal leaves, four segments: one draw from each, in order.
  np.testing.assert_array_equal(
      tree.stratified_sample(4, tf.random.Generator.from_seed(0)),
      [0, 1, 2, 3])
