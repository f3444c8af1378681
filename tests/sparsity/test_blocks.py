"""Block-structured masks: every mask a union of whole blocks, counts in
blocks, blocks scored by the sum of their members' scores."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from rigl_rl import sparsity
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import blocks
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import schedules
from tests.sparsity.test_updaters import _assert_exactly_sparse
from tests.sparsity.test_updaters import _rigl
from tests.sparsity.test_updaters import _set
from tests.sparsity.test_updaters import Setup

# The test model's kernels are (6, 32), (32, 32) and (32, 3): (2, 1) divides
# them all.
BLOCK = (2, 1)


def _assert_whole_blocks(net):
  """Every block of every layer is all active or all masked; returns the
  active blocks per layer."""
  active = []
  for layer, layout in zip(net.layers, net.layouts):
    mask = layer.mask.numpy()
    per_block = layout.pool(mask).numpy()
    assert set(np.unique(per_block)) <= {0.0, float(layout.block_size)}
    np.testing.assert_array_equal(
        layout.expand_np(per_block / layout.block_size), mask)
    active.append(int((per_block > 0).sum()))
  return active


def test_pool_sums_members_and_expand_repeats_by_hand():
  layout = blocks.BlockLayout((4, 2), (2, 1))
  kernel = tf.constant([[1., 2.], [3., 4.], [5., 6.], [7., 8.]])
  # Blocks in row-major order of the (2, 2) grid: rows 0-1 and 2-3 of each
  # column.
  np.testing.assert_array_equal(layout.pool(kernel).numpy(),
                                [4., 6., 12., 14.])
  expected = [[1., 2.], [1., 2.], [3., 4.], [3., 4.]]
  np.testing.assert_array_equal(
      layout.expand(tf.constant([1., 2., 3., 4.])).numpy(), expected)
  np.testing.assert_array_equal(layout.expand_np(np.arange(1., 5.)), expected)
  assert (layout.n_blocks, layout.block_size) == (4, 2)
  assert layout.quantize(0.3) == 0.25  # round(0.3 * 4) = 1 block of 4.


def test_conv_kernels_and_no_block_shape_stay_unstructured():
  for layout in (blocks.layout('conv', (3, 3, 4, 8), (4, 1)),
                 blocks.layout('dense', (6, 5), None)):
    assert layout.block_size == 1
    assert layout.n_blocks == int(np.prod(layout.shape))
  assert blocks.layout('conv', (3, 3, 4, 8), None).quantize(0.9) == 0.9


def test_a_kernel_not_divisible_into_blocks_is_refused_naming_the_layer():
  with pytest.raises(ConfigError, match=r"'hidden_0'.*in dim 6.*\(4, 1\)"):
    Setup(sparsity.Static(), block_shape=(4, 1))


@pytest.mark.parametrize('block_shape', [(4,), (0, 1), (2.5, 1), 'big'])
def test_a_bad_block_shape_is_refused(block_shape):
  with pytest.raises(ConfigError, match='block_shape'):
    sparsity.SparseTraining(updater=sparsity.Static(), sparsity=0.9,
                            block_shape=block_shape)


def test_mask_init_draws_exact_whole_blocks_and_erk_allocates_blocks():
  setup = Setup(sparsity.Static(), target_sparsity=0.9, block_shape=BLOCK,
                allocation=sparsity.erk)
  net = setup.net
  active = _assert_whole_blocks(net)
  for layer, layout, n_active in zip(net.layers, net.layouts, active):
    s = net.sparsities[layer.layer.name]
    masked = round(s * layout.n_blocks)
    assert s * layout.n_blocks == pytest.approx(masked)  # Whole blocks.
    assert n_active == layout.n_blocks - masked
  # ERK's sparsities are rounded to whole blocks, so the counts a run
  # records (its target counts) are the masks' own.
  assert net.masked_counts() == net.target_counts()
  assert net.masked_counts()[0] == 2 * sum(active)
  _assert_exactly_sparse(setup)


@pytest.mark.parametrize('make_updater', [_set, _rigl], ids=['set', 'rigl'])
def test_updates_keep_whole_blocks_and_exact_counts(make_updater):
  setup = Setup(make_updater(0.5), block_shape=BLOCK)
  net = setup.net
  initial = _assert_whole_blocks(net)
  # 0.8 of (6*32, 32*32, 32*3) / 2 blocks: 96 -> 19.2, 512 -> 102.4, 48 -> 9.6.
  assert initial == [96 - 77, 512 - 410, 48 - 38]
  changed = 0
  for t in (0, 10, 20):
    before = [layer.mask.numpy().copy() for layer in net.layers]
    changes, _ = setup.update(t)
    assert _assert_whole_blocks(net) == initial
    for layer, n_active in zip(net.layers, initial):
      change = changes[layer.layer.name]
      assert change.active == 2 * n_active  # Counted in connections.
      assert change.replaced % 2 == 0 and change.regrown % 2 == 0
    changed += sum(not np.array_equal(layer.mask.numpy(), old)
                   for layer, old in zip(net.layers, before))
    setup.train()
    _assert_exactly_sparse(setup)
  assert changed > 0


def _one_layer(kernel, mask, updater):
  """A 4 -> 2 Dense layer with (2, 1) blocks at 50%, its kernel and mask
  set by hand."""
  model = tf_keras.Sequential([masking.wrap_layer(
      tf_keras.layers.Dense(2, use_bias=False, name='d'))])
  model.build((None, 4))
  net = masking.SparseNetwork('q', model, updater, 0.5, {'d': 0.5},
                              block_shape=(2, 1))
  net.layers[0].kernel.assign(kernel)
  net.install_masks([np.array(mask, np.float32)])
  updater.bind(100)
  return net


def test_drop_and_rigl_grow_score_a_block_by_the_sum_of_its_members():
  # Blocks: b0 = rows 0-1 of column 0, b1 = rows 0-1 of column 1, b2 and b3
  # rows 2-3. Active: b0 = (0.05, 1.0), sum 1.05, and b1 = (0.5, 0.5), sum
  # 1.0. One block is dropped (drop fraction 0.5 of 2): b1, by its sum, though
  # b0 holds the smallest single weight.
  kernel = [[0.05, 0.5], [1.0, 0.5], [0., 0.], [0., 0.]]
  mask = [[1., 1.], [1., 1.], [0., 0.], [0., 0.]]
  updater = _rigl(0.5)
  net = _one_layer(kernel, mask, updater)
  # |grad| sums: b1 0.2, b2 (0.0, 0.9) 0.9 with the largest single value,
  # b3 (0.5, 0.5) 1.0. RigL grows b3.
  grad = tf.constant([[0., 0.1], [0., 0.1], [0., 0.5], [0.9, 0.5]])
  changes = updater.update(0, net, None, tf.random.Generator.from_seed(0),
                           {'d': grad})
  np.testing.assert_array_equal(net.layers[0].mask.numpy(),
                                [[1., 0.], [1., 0.], [0., 1.], [0., 1.]])
  np.testing.assert_array_equal(
      net.layers[0].kernel.numpy(),
      np.array([[0.05, 0.], [1.0, 0.], [0., 0.], [0., 0.]], np.float32))
  assert sparsity.LayerChange.from_counts(changes['d']) == (
      sparsity.LayerChange(active=4, replaced=2, regrown=0))


def test_pruning_prunes_whole_blocks_to_the_target():
  updater = sparsity.Prune(schedules.UpdateSchedule(0.2, 0.8, 7),
                           schedules.PolynomialSparsity(3.0))
  setup = Setup(updater, target_sparsity=0.9, total_steps=100,
                block_shape=BLOCK)
  net = setup.net
  assert all(np.all(layer.mask.numpy() == 1.0) for layer in net.layers)
  for t in range(1, updater.window.end_step + 1):
    setup.train(steps=1)
    if updater.is_update_step(t):
      setup.update(t)
      _assert_whole_blocks(net)
  # 0.9 of 96, 512 and 48 blocks: 86, 461 and 43 masked.
  assert _assert_whole_blocks(net) == [96 - 86, 512 - 461, 48 - 43]
  _assert_exactly_sparse(setup)
