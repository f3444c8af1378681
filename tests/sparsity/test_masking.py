"""Sparsity-aware initialisation (DESIGN section 4) on hand-made masks."""
import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from rigl_rl import sparsity
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking


def _draws(mask, count=4000):
  rng = np.random.default_rng(0)
  kernel = np.zeros(mask.shape, np.float32)
  return np.stack([sparsity.unit_scaled_init(kernel, mask, rng)
                   for _ in range(count)])


def test_unit_scaled_init_variance_per_unit_follows_the_mask():
  mask = np.array([[1, 0], [1, 1], [0, 1]], np.float32)
  # Fans on the mask: output units (columns) have fan_in 2 and 2; inputs
  # (rows) have fan_out 1, 2, 1. Variance 1 / ((fan_in + fan_out) / 2).
  expected = np.array([[1 / 1.5, 0.0], [1 / 2.0, 1 / 2.0], [0.0, 1 / 1.5]])
  draws = _draws(mask)
  assert np.all(draws[:, mask == 0] == 0.0)
  np.testing.assert_allclose(draws.var(axis=0), expected, rtol=0.06)
  # Uniform: bounded by sqrt(3 * variance).
  assert np.all(np.abs(draws) <= np.sqrt(3 * expected) + 1e-6)
  assert draws.dtype == np.float32


def test_unit_scaled_init_counts_conv_fans_over_kernel_positions():
  mask = np.zeros([2, 2, 1, 2], np.float32)
  mask[:, :, 0, 0] = [[1, 1], [1, 0]]  # Output channel 0: fan_in 3.
  mask[0, 0, 0, 1] = 1                 # Output channel 1: fan_in 1.
  # The one input channel has fan_out 4 (every active position).
  draws = _draws(mask)
  variance = draws.var(axis=0)
  np.testing.assert_allclose(variance[:, :, 0, 0][mask[:, :, 0, 0] == 1],
                             1 / 3.5, rtol=0.06)
  assert variance[0, 0, 0, 1] == pytest.approx(1 / 2.5, rel=0.06)
  assert np.all(draws[:, mask == 0] == 0.0)


def _network():
  layers = [tf_keras.layers.Dense(40, activation='relu', name='hidden'),
            tf_keras.layers.Dense(3, name='output')]
  model = tf_keras.Sequential([masking.wrap_layer(layer) for layer in layers])
  model.build((None, 20))
  return model


def _attach(initializer, updater=None):
  tf.random.set_seed(0)
  network = _network()
  own = [layer.kernel.numpy() for layer in masking.sparse_layers(network)]
  config = sparsity.SparseTraining(
      updater=updater or sparsity.Static(), sparsity=0.8,
      allocation=sparsity.uniform, dense_layers=['output'],
      initializer=initializer)
  net = config.attach('q', network, [], np.random.default_rng(0))
  return net, own


def test_every_layer_is_redrawn_for_its_mask_dense_ones_too():
  net, own = _attach(sparsity.unit_scaled_init)
  hidden, output = net.layers
  assert net.sparsities == {'hidden': 0.8, 'output': 0.0}
  # The dense output layer: fan_in 40, fan_out 3, limit sqrt(3 / 21.5).
  kernel = output.kernel.numpy()
  assert not np.allclose(kernel, own[1])
  assert np.abs(kernel).max() <= np.sqrt(3 / 21.5)
  assert np.abs(kernel).max() > 0.8 * np.sqrt(3 / 21.5)
  # The sparse hidden layer: each entry within its own unit's limit.
  mask = hidden.mask.numpy()
  fan_in, fan_out = mask.sum(axis=0), mask.sum(axis=1)
  limit = np.sqrt(3 / np.maximum(1, (fan_in[None] + fan_out[:, None]) / 2))
  values = hidden.kernel.numpy()
  assert np.all(np.abs(values) <= limit) and np.all(values[mask == 0] == 0)


def test_density_scaled_init_divides_the_own_weights_by_sqrt_density():
  net, own = _attach(sparsity.density_scaled_init)
  hidden, output = net.layers
  mask = hidden.mask.numpy()
  np.testing.assert_allclose(hidden.kernel.numpy(),
                             own[0] / np.sqrt(0.2) * mask, rtol=1e-6)
  np.testing.assert_allclose(output.kernel.numpy(), own[1], rtol=1e-6)


def test_no_initializer_and_pruning_keep_the_own_weights():
  net, own = _attach(None)
  np.testing.assert_array_equal(net.layers[0].kernel.numpy(),
                                own[0] * net.layers[0].mask.numpy())
  prune = sparsity.Prune(sparsity.UpdateSchedule(0.2, 0.8, 10),
                         sparsity.PolynomialSparsity())
  net, own = _attach(sparsity.unit_scaled_init, prune)
  for layer, kernel in zip(net.layers, own):
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)


def test_an_initializer_that_is_not_callable_is_a_config_error():
  with pytest.raises(ConfigError, match='initializer'):
    sparsity.SparseTraining(updater=sparsity.Static(), sparsity=0.9,
                            initializer=True)


def test_an_allocation_that_is_not_a_reference_names_the_references():
  # The string switch of old: gin now names the function, `@uniform`.
  gin.parse_config(['SparseTraining.updater = @Static()',
                    'SparseTraining.sparsity = 0.9',
                    "SparseTraining.allocation = 'uniform'"])
  with pytest.raises(ConfigError, match='@erk, @erdos_renyi, @uniform'):
    sparsity.SparseTraining()


def test_gin_chooses_the_allocation_by_reference():
  gin.parse_config(['SparseTraining.updater = @Static()',
                    'SparseTraining.sparsity = 0.8',
                    'SparseTraining.allocation = @uniform'])
  net = sparsity.SparseTraining().attach('q', _network(), [],
                                         np.random.default_rng(0))
  assert net.sparsities == {'hidden': 0.8, 'output': 0.8}
