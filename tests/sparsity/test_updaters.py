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


def _masked_adam(net):
  """Adam that masks gradients and never changes masks itself, so these tests
  call the updaters directly (the sparse optimizer calls them in training)."""
  masks = {layer.kernel.ref(): layer.mask for layer in net.layers}
  return tf_keras.optimizers.legacy.Adam(1e-2, gradient_transformers=[
      lambda grads_and_vars: [
          (grad * masks[var.ref()] if var.ref() in masks else grad, var)
          for grad, var in grads_and_vars]])


def _changes(counts):
  return {name: sparsity.LayerChange.from_counts(value)
          for name, value in counts.items()}


class Setup:
  """An online and a target model, a sparse state and an Adam optimizer."""

  def __init__(self, updater, target_sparsity=0.8, total_steps=100,
               soft_targets=False, block_shape=None, allocation=sparsity.uniform):
    tf.random.set_seed(0)
    self.online, self.target = _model(), _model()
    config = sparsity.SparseTraining(
        updater=updater, sparsity=target_sparsity, allocation=allocation,
        block_shape=block_shape)
    self.net = config.attach('q', self.online, [self.target],
                             np.random.default_rng(0),
                             soft_targets=soft_targets)
    self.target.set_weights(self.online.get_weights())  # The agent's sync.
    updater.bind(total_steps)
    self.optimizer = _masked_adam(self.net)
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

  def slots(self):
    return [{name: self.optimizer.get_slot(layer.kernel, name).numpy()
             for name in ('m', 'v')} for layer in self.net.layers]

  def update(self, t):
    updater = self.net.updater
    grads = self.dense_grads() if updater.needs_gradients else None
    return _changes(updater.update(t, self.net, self.optimizer, self.rng,
                                   grads)), grads


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


def test_mask_init_places_exact_zero_counts():
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


@pytest.mark.parametrize('soft_targets', [False, True], ids=['hard', 'soft'])
@pytest.mark.parametrize('make_updater', [_set, _rigl], ids=['set', 'rigl'])
def test_update_invariants(make_updater, soft_targets):
  setup = Setup(make_updater(0.5), soft_targets=soft_targets)
  setup.train()
  before, slots_before = setup.snapshot(), setup.slots()
  target_before = [layer.kernel.numpy() for layer in
                   masking.sparse_layers(setup.target)]
  changes, grads = setup.update(t=10)
  regrown_total = 0
  for index, (layer, (old_mask, old_kernel), old_slots) in enumerate(
      zip(setup.net.layers, before, slots_before)):
    change = changes[layer.layer.name]
    new_mask = layer.mask.numpy().astype(bool)
    n_active = int(old_mask.sum())
    k = math.floor(0.5 * n_active)
    # The k smallest-magnitude active weights are dropped...
    order = np.argsort(np.where(old_mask, np.abs(old_kernel), np.inf),
                       axis=None)
    candidates = np.zeros(old_mask.size, bool)
    candidates[order[:k]] = True
    candidates = candidates.reshape(old_mask.shape)
    kept = old_mask & ~candidates
    dropped, grown = old_mask & ~new_mask, ~old_mask & new_mask
    regrown = candidates & new_mask
    # ...the rest stay, and k grow among every connection not kept, so some
    # just-dropped ones come back. Active counts never change.
    assert np.all(new_mask[kept]) and not np.any(dropped & ~candidates)
    assert int(new_mask.sum()) == n_active == change.active
    assert int(dropped.sum()) == int(grown.sum()) == change.replaced
    assert change.replaced + change.regrown == k > 0
    assert int(regrown.sum()) == change.regrown
    regrown_total += change.regrown
    assert change.churn == pytest.approx(change.replaced / n_active)
    kernel = layer.kernel.numpy()
    # New connections start at 0 with zero Adam moments, dropped ones are
    # zeroed with theirs, regrown ones keep their weights and moments.
    assert np.all(kernel[grown] == 0.0) and np.all(kernel[dropped] == 0.0)
    np.testing.assert_array_equal(kernel[regrown], old_kernel[regrown])
    np.testing.assert_array_equal(kernel[kept], old_kernel[kept])
    for slot_name in ('m', 'v'):
      slot = setup.optimizer.get_slot(layer.kernel, slot_name).numpy()
      assert np.all(slot[grown] == 0.0) and np.all(slot[dropped] == 0.0)
      np.testing.assert_array_equal(slot[regrown | kept],
                                    old_slots[slot_name][regrown | kept])
      assert np.any(slot[kept] != 0.0)
    target = masking.sparse_layers(setup.target)[index]
    if soft_targets:
      # Soft-updated targets take the mask at once, exactly sparse under it.
      np.testing.assert_array_equal(target.mask.numpy(), layer.mask.numpy())
      assert np.all(target.kernel.numpy()[~new_mask] == 0.0)
    else:
      # Hard-updated targets keep the mask and weights of their last sync.
      np.testing.assert_array_equal(target.mask.numpy().astype(bool),
                                    old_mask)
      np.testing.assert_array_equal(target.kernel.numpy(),
                                    target_before[index])
    if grads is not None:
      # RigL grows where the dense gradient is largest among all the
      # connections not kept, just-dropped ones included.
      magnitude = np.abs(grads[layer.layer.name].numpy())
      assert magnitude[new_mask & ~kept].min() >= magnitude[~new_mask].max()
  if grads is not None:
    assert regrown_total > 0  # The check of regrown weights is not vacuous.
  setup.train()
  _assert_exactly_sparse(setup)


def test_a_just_dropped_connection_with_the_largest_gradient_comes_back():
  # One 2x3 kernel, 4 of 6 connections active, drop fraction 0.5: k = 2.
  model = tf_keras.Sequential([masking.wrap_layer(
      tf_keras.layers.Dense(3, use_bias=False, name='dense'))])
  model.build((None, 2))
  updater = _rigl(0.5)
  net = sparsity.SparseTraining(updater=updater, sparsity=0.3,
                                allocation=sparsity.uniform).attach(
                                    'q', model, [], np.random.default_rng(0))
  updater.bind(100)
  (layer,) = net.layers
  net.install_masks([np.array([[1, 1, 1], [1, 0, 0]], np.float32)])
  layer.kernel.assign([[0.9, -0.8, 0.1], [-0.05, 0.0, 0.0]])
  optimizer = _masked_adam(net)
  # A zero gradient creates Adam's slots without moving anything.
  optimizer.apply_gradients([(tf.zeros([2, 3]), layer.kernel)])
  m = optimizer.get_slot(layer.kernel, 'm')
  v = optimizer.get_slot(layer.kernel, 'v')
  m.assign([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
  v.assign([[5.0, 6.0, 7.0], [8.0, 0.0, 0.0]])
  # 0.1 and -0.05 are the smallest active weights: both dropped. Among the
  # four not kept, |grad| ranks (1, 0) = 5 > (1, 1) = 3 > (1, 2) = 1 > (0, 2):
  # the just-dropped (1, 0) comes back and (1, 1) is new.
  grads = {'dense': tf.constant([[0.2, 0.1, 0.5], [5.0, -3.0, 1.0]])}
  changes = _changes(updater.update(
      0, net, optimizer, tf.random.Generator.from_seed(0), grads))
  np.testing.assert_array_equal(layer.mask.numpy(), [[1, 1, 0], [1, 1, 0]])
  np.testing.assert_allclose(layer.kernel.numpy(),
                             [[0.9, -0.8, 0.0], [-0.05, 0.0, 0.0]])
  np.testing.assert_array_equal(m.numpy(), [[1, 2, 0], [4, 0, 0]])
  np.testing.assert_array_equal(v.numpy(), [[5, 6, 0], [8, 0, 0]])
  assert changes['dense'] == sparsity.LayerChange(active=4, replaced=1,
                                                  regrown=1)


def test_update_outside_the_schedule_is_not_due():
  updater = _rigl()
  updater.bind(100)
  # An update at t comes before gradient step t: t = 0 is the first.
  assert [t for t in range(0, 101) if updater.is_update_step(t)] == [
      0, 10, 20, 30, 40, 50, 60, 70, 80]
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
  expected = sparsity.erk({'conv': (3, 3, 2, 8), 'output': (128, 4)}, 0.8)
  assert net.sparsities == pytest.approx(expected)
  optimizer = _masked_adam(net)
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


@pytest.mark.parametrize('make_updater', [_set, _rigl], ids=['set', 'rigl'])
def test_a_dense_layer_is_left_as_it_is(make_updater):
  updater = make_updater(0.5)
  model = _model()
  net = sparsity.SparseTraining(
      updater=updater, sparsity=0.8, allocation=sparsity.uniform,
      dense_layers=['output']).attach('q', model, [], np.random.default_rng(0))
  updater.bind(100)
  output = net.layers[-1]
  kernel = output.kernel.numpy()
  grads = {layer.layer.name: tf.ones(layer.kernel.shape)
           for layer in net.layers}
  changes = _changes(updater.update(
      0, net, None, tf.random.Generator.from_seed(0), grads))
  assert changes['output'] == sparsity.LayerChange(active=kernel.size,
                                                   replaced=0, regrown=0)
  assert np.all(output.mask.numpy() == 1.0)
  np.testing.assert_array_equal(output.kernel.numpy(), kernel)
  assert changes['hidden_0'].replaced + changes['hidden_0'].regrown > 0
