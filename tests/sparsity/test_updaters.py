"""Mask-updater invariants (DESIGN section 4) on a small MLP."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from rigl_rl import sparsity
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import schedules


def _model():
  layers = [
      tf_keras.layers.Dense(32, activation='relu', name='hidden_0'),
      tf_keras.layers.Dense(32, activation='relu', name='hidden_1'),
      tf_keras.layers.Dense(3, name='output'),
  ]
  model = tf_keras.Sequential([masking.wrap_layer(layer) for layer in layers])
  model.build((None, 6))
  return model


class Setup:
  """An online and a target model, a sparse state and an Adam optimizer."""

  def __init__(self, updater, target_sparsity=0.8, total_steps=100):
    tf.random.set_seed(0)
    self.online, self.target = _model(), _model()
    self.target.set_weights(self.online.get_weights())
    config = sparsity.SparseTraining(
        updater=updater, sparsity=target_sparsity, distribution='uniform')
    self.net = config.attach('q', self.online, [self.target],
                             np.random.default_rng(0))
    updater.bind(total_steps)
    self.optimizer = tf_keras.optimizers.legacy.Adam(
        1e-2, gradient_transformers=[self.net.mask_gradients])
    self.rng = tf.random.Generator.from_seed(1)
    self.x = tf.random.normal([64, 6], seed=2)
    self.y = tf.random.normal([64, 3], seed=3)

  def loss(self):
    return tf.reduce_mean(tf.square(self.online(self.x) - self.y))

  def train(self, steps=3):
    for _ in range(steps):
      with tf.GradientTape() as tape:
        loss = self.loss()
      variables = self.online.trainable_variables
      self.optimizer.apply_gradients(
          zip(tape.gradient(loss, variables), variables))

  def dense_grads(self):
    kernels = [layer.kernel for layer in self.net.layers]
    with tf.GradientTape() as tape:
      loss = self.loss()
    return {layer.layer.name: g for layer, g in
            zip(self.net.layers, tape.gradient(loss, kernels))}

  def snapshot(self):
    return [(layer.mask.numpy().astype(bool), layer.kernel.numpy())
            for layer in self.net.layers]

  def update(self, t):
    updater = self.net.updater
    grads = self.dense_grads() if updater.needs_gradients else None
    return updater.update(t, self.net, self.optimizer, self.rng, grads), grads


def _set(initial=0.5):
  return sparsity.SET(schedules.UpdateSchedule(0.0, 0.8, 10),
                      schedules.ConstantDropFraction(initial))


def _rigl(initial=0.5):
  return sparsity.RigL(schedules.UpdateSchedule(0.0, 0.8, 10),
                       schedules.ConstantDropFraction(initial))


def _assert_exactly_sparse(setup):
  for layer in setup.net.layers:
    masked = layer.kernel.numpy()[layer.mask.numpy() == 0]
    assert masked.size > 0 and np.all(masked == 0.0)


def test_mask_init_places_exact_zero_counts_and_scales():
  setup = Setup(sparsity.Static(), target_sparsity=0.8)
  for layer in setup.net.layers:
    mask = layer.mask.numpy()
    assert int((mask == 0).sum()) == round(0.8 * mask.size)
  _assert_exactly_sparse(setup)


def test_mask_init_is_seeded():
  first = Setup(sparsity.Static()).snapshot()
  second = Setup(sparsity.Static()).snapshot()
  for (mask_a, _), (mask_b, _) in zip(first, second):
    np.testing.assert_array_equal(mask_a, mask_b)


def test_stored_weights_stay_exactly_sparse_after_train_steps():
  setup = Setup(sparsity.Static())
  before = setup.snapshot()
  setup.train(steps=5)
  _assert_exactly_sparse(setup)
  for (mask, kernel_before), layer in zip(before, setup.net.layers):
    # Active weights did move: the check above is not vacuous.
    assert not np.allclose(kernel_before[mask], layer.kernel.numpy()[mask])


@pytest.mark.parametrize('make_updater', [_set, _rigl], ids=['set', 'rigl'])
def test_update_invariants(make_updater):
  setup = Setup(make_updater(0.5))
  setup.train()
  before = setup.snapshot()
  churn, grads = setup.update(t=10)
  for index, (layer, (old_mask, old_kernel)) in enumerate(
      zip(setup.net.layers, before)):
    new_mask = layer.mask.numpy().astype(bool)
    n_active = int(old_mask.sum())
    expected = min(math.floor(0.5 * n_active), old_mask.size - n_active)
    dropped, grown = old_mask & ~new_mask, ~old_mask & new_mask
    # Active count unchanged; k = floor(f * n_active) swapped.
    assert int(new_mask.sum()) == n_active
    assert int(dropped.sum()) == int(grown.sum()) == expected > 0
    assert churn[layer.layer.name] == pytest.approx(expected / n_active)
    # Drop set and grow set are disjoint, and grow only from inactive.
    assert not np.any(dropped & grown)
    assert not np.any(grown & old_mask)
    # The smallest-magnitude active weights were dropped.
    kept = old_mask & new_mask
    assert np.abs(old_kernel[dropped]).max() <= np.abs(old_kernel[kept]).min()
    # Grown weights start at 0 with zero Adam moments.
    kernel = layer.kernel.numpy()
    assert np.all(kernel[grown] == 0.0) and np.all(kernel[dropped] == 0.0)
    for slot_name in ('m', 'v'):
      slot = setup.optimizer.get_slot(layer.kernel, slot_name).numpy()
      assert np.all(slot[grown] == 0.0) and np.all(slot[dropped] == 0.0)
      assert np.any(slot[kept] != 0.0)
    # The target carries the online mask and is exactly sparse under it.
    target = masking.sparse_layers(setup.target)[index]
    np.testing.assert_array_equal(target.mask.numpy(), layer.mask.numpy())
    assert np.all(target.kernel.numpy()[~new_mask] == 0.0)
    if grads is not None:
      # RigL grows where the dense gradient is largest among the candidates.
      magnitude = np.abs(grads[layer.layer.name].numpy())
      not_grown = ~old_mask & ~new_mask
      assert magnitude[grown].min() >= magnitude[not_grown].max()
  setup.train()
  _assert_exactly_sparse(setup)


def test_update_outside_the_schedule_is_not_due():
  updater = _rigl()
  updater.bind(100)
  # Checked after each train step, so t starts at 1.
  assert [t for t in range(1, 101) if updater.is_update_step(t)] == [
      10, 20, 30, 40, 50, 60, 70, 80]
  assert not sparsity.Static().is_update_step(10)


def test_pruning_reaches_the_target_at_end_step():
  updater = sparsity.Prune(schedules.UpdateSchedule(0.2, 0.8, 7),
                           schedules.PolynomialSparsity(3.0))
  setup = Setup(updater, target_sparsity=0.9, total_steps=100)
  for layer in setup.net.layers:
    assert np.all(layer.mask.numpy() == 1.0)  # Pruning starts dense.
  window = updater.window
  previous = 0.0
  for t in range(1, window.end_step + 1):
    setup.train(steps=1)
    if updater.is_update_step(t):
      setup.update(t)
      current = 1 - sum(l.mask.numpy().sum() for l in setup.net.layers) / sum(
          l.mask.numpy().size for l in setup.net.layers)
      assert current >= previous
      previous = current
    if t < window.end_step:
      assert previous < 0.9
  for layer in setup.net.layers:
    mask = layer.mask.numpy()
    assert int((mask == 0).sum()) == round(0.9 * mask.size)
  _assert_exactly_sparse(setup)
  setup.train()
  _assert_exactly_sparse(setup)


def test_conv_layers_are_masked_and_updated_like_dense_ones():
  tf.random.set_seed(0)
  model = tf_keras.Sequential([
      masking.wrap_layer(tf_keras.layers.Conv2D(8, 3, name='conv')),
      tf_keras.layers.Flatten(),
      masking.wrap_layer(tf_keras.layers.Dense(4, name='output')),
  ])
  model.build((None, 6, 6, 2))
  updater = _rigl(0.5)
  net = sparsity.SparseTraining(updater=updater, sparsity=0.8).attach(
      'q', model, [], np.random.default_rng(0))
  updater.bind(100)
  assert net.layer_names == ['conv', 'output']
  conv = net.layers[0]
  assert tuple(conv.mask.shape) == (3, 3, 2, 8)
  expected = sparsity.layer_sparsities(
      {'conv': (3, 3, 2, 8), 'output': (128, 4)}, 'erdos_renyi_kernel', 0.8)
  assert net.sparsities == pytest.approx(expected)
  optimizer = tf_keras.optimizers.legacy.Adam(
      1e-2, gradient_transformers=[net.mask_gradients])
  x, y = tf.random.normal([16, 6, 6, 2]), tf.random.normal([16, 4])
  kernels = [layer.kernel for layer in net.layers]

  def loss():
    return tf.reduce_mean(tf.square(model(x) - y))

  for _ in range(3):
    with tf.GradientTape() as tape:
      value = loss()
    optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables),
                                  model.trainable_variables))
  before = [layer.mask.numpy().copy() for layer in net.layers]
  with tf.GradientTape() as tape:
    value = loss()
  grads = dict(zip(net.layer_names, tape.gradient(value, kernels)))
  updater.update(10, net, optimizer, tf.random.Generator.from_seed(0), grads)
  for layer, old in zip(net.layers, before):
    assert layer.mask.numpy().sum() == old.sum()
  assert not np.array_equal(conv.mask.numpy(), before[0])
  for layer in net.layers:
    assert np.all(layer.kernel.numpy()[layer.mask.numpy() == 0] == 0.0)
