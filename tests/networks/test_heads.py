"""Noisy dense layers and dueling heads against hand computations."""
import math

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec

from rigl_rl.errors import ConfigError
from rigl_rl.networks import build
from rigl_rl.networks import heads
from rigl_rl.networks import mlp
from rigl_rl.sparsity import allocation
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import updaters


def _identity(layer):
  return layer


def _noisy(units, fan_in, seed=0, sigma0=0.1, activation=None):
  rng = tf.random.Generator.from_seed(seed)
  layer = heads.NoisyDense(units, _identity, rng, sigma0=sigma0,
                           activation=activation, name='noisy')
  layer(tf.zeros([1, fan_in]))
  return layer, rng


def _twin(rng):
  """A generator that will draw what `rng` draws next."""
  return tf.random.Generator.from_state(rng.state.numpy(), rng.algorithm)


def _f(x):
  return np.sign(x) * np.sqrt(np.abs(x))


def test_noise_is_factorised_and_fresh_at_every_training_call():
  layer, rng = _noisy(3, 4)
  values = np.random.default_rng(0)
  mu_w, mu_b = values.normal(size=(4, 3)), values.normal(size=3)
  sigma_w, sigma_b = values.normal(size=(4, 3)), values.normal(size=3)
  layer.mu.set_weights([mu_w, mu_b])
  layer.sigma.set_weights([sigma_w, sigma_b])
  x = values.normal(size=(2, 4)).astype(np.float32)
  # The same draws, in the layer's order: e_in ([fan_in]), then e_out.
  twin = _twin(rng)
  e_in, e_out = twin.normal([4]).numpy(), twin.normal([3]).numpy()
  expected = (x @ (mu_w + sigma_w * np.outer(_f(e_in), _f(e_out))) + mu_b +
              sigma_b * _f(e_out))
  noisy = layer(x, training=True).numpy()
  np.testing.assert_allclose(noisy, expected, rtol=1e-5, atol=1e-5)
  # One draw for the whole batch, a new one at the next call.
  assert not np.allclose(layer(x, training=True).numpy(), noisy)
  # Noise off (evaluation): the means alone, every time.
  np.testing.assert_allclose(layer(x, training=False).numpy(),
                             x @ mu_w + mu_b, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(layer(x).numpy(), x @ mu_w + mu_b, rtol=1e-5,
                             atol=1e-5)


def test_the_activation_applies_to_the_noisy_sum():
  layer, rng = _noisy(2, 3, activation='relu')
  x = tf.constant([[1.0, -2.0, 0.5]] * 3)
  twin = _twin(rng)
  e_in, e_out = twin.normal([3]).numpy(), twin.normal([2]).numpy()
  mu_w, mu_b = [w.numpy() for w in layer.mu.weights]
  sigma_w, sigma_b = [w.numpy() for w in layer.sigma.weights]
  linear = (x.numpy() @ (mu_w + sigma_w * np.outer(_f(e_in), _f(e_out))) +
            mu_b + sigma_b * _f(e_out))
  np.testing.assert_allclose(layer(x, training=True).numpy(),
                             np.maximum(linear, 0.0), rtol=1e-5, atol=1e-6)


def test_initialisation_is_dopamines():
  fan_in, units = 400, 300
  layer, _ = _noisy(units, fan_in, sigma0=0.1)
  bound = 1 / math.sqrt(fan_in)
  mu_w, mu_b = [w.numpy() for w in layer.mu.weights]
  for values in (mu_w, mu_b):
    assert np.all(np.abs(values) <= bound)
    assert np.abs(values).max() > 0.95 * bound  # Uniform over the range.
  assert abs(mu_w.std() - bound / math.sqrt(3)) < 0.02 * bound
  assert not np.allclose(mu_w.ravel()[:units], mu_b)  # Separate draws.
  for values in (w.numpy() for w in layer.sigma.weights):
    np.testing.assert_allclose(values, 0.1 / math.sqrt(fan_in), rtol=1e-6)


def test_noisy_factory_ignores_the_torsos_initializers():
  rng = tf.random.Generator.from_seed(0)
  layer = heads.noisy_dense(rng, sigma0=0.5)(
      5, _identity, activation='relu', use_bias=True,
      kernel_initializer='zeros', bias_initializer='ones',
      kernel_regularizer=None, name='hidden_0')
  layer(tf.zeros([1, 16]))
  assert layer.mu.name == 'hidden_0_mu' and layer.sigma.name == 'hidden_0_sigma'
  assert np.any(layer.mu.kernel.numpy() != 0)
  np.testing.assert_allclose(layer.sigma.kernel.numpy(), 0.5 / 4.0)


def test_dueling_combines_value_and_mean_centred_advantage_per_atom():
  num_actions, num_atoms = 3, 2
  head = heads.dueling(num_atoms)(num_actions * num_atoms, _identity,
                                  activation=None, name='output')
  head(tf.zeros([1, 2]))
  assert [layer.name for layer in head.layers] == ['output_advantage',
                                                   'output_value']
  advantage_w = np.arange(12, dtype=np.float32).reshape(2, 6) / 10
  head.advantage.set_weights([advantage_w, np.zeros(6)])
  head.value.set_weights([np.array([[1.0, -1.0], [0.5, 2.0]]),
                          np.array([0.1, 0.2])])
  x = np.array([[1.0, 2.0]], np.float32)
  advantage = (x @ advantage_w).reshape(1, 3, 2)
  value = x @ np.array([[1.0, -1.0], [0.5, 2.0]]) + [0.1, 0.2]
  expected = value[:, None, :] + advantage - advantage.mean(
      axis=1, keepdims=True)
  out = head(x).numpy()
  assert out.shape == (1, 6)
  np.testing.assert_allclose(out.reshape(1, 3, 2), expected, rtol=1e-6)
  # The mean over actions of every atom is the value's.
  np.testing.assert_allclose(out.reshape(1, 3, 2).mean(axis=1), value,
                             rtol=1e-6)


def test_dueling_needs_whole_atoms_and_a_linear_output():
  with pytest.raises(ConfigError, match='dueling'):
    heads.dueling(4)(10, _identity, activation=None, name='output')
  with pytest.raises(ConfigError, match='dueling'):
    heads.dueling(1)(3, _identity, activation='relu', name='output')


def _sparse_noisy_network(sparsity):
  rng = tf.random.Generator.from_seed(0)
  noisy = heads.noisy_dense(rng)
  layers = mlp.mlp_layers(4 * 3, masking.wrap_layer, hidden_units=(32,),
                          hidden_layer=noisy,
                          output_layer=heads.dueling(3, noisy))
  network = build.sequential_network(
      layers, tensor_spec.TensorSpec([8], tf.float32), 'net')
  sparse = masking.SparseTraining(updater=updaters.Static(),
                                  sparsity=sparsity,
                                  allocation=allocation.erk)
  return network, sparse.attach('q', network, [], np.random.default_rng(0))


def test_every_noisy_kernel_is_maskable_and_in_the_erk_budget():
  network, sparse = _sparse_noisy_network(0.8)
  assert sparse.layer_names == [
      'hidden_0_mu', 'hidden_0_sigma', 'output_advantage_mu',
      'output_advantage_sigma', 'output_value_mu', 'output_value_sigma']
  active, total = sparse.masked_counts()
  assert total == 2 * (8 * 32 + 32 * 12 + 32 * 3)
  assert active == sparse.target_counts()[0]
  assert abs(active / total - 0.2) < 0.01
  for layer in sparse.layers:
    mask, kernel = layer.mask.numpy(), layer.kernel.numpy()
    assert not kernel[mask == 0].any()
    if layer.layer.name.endswith('_sigma'):
      # Re-drawn per unit for the mask, except sigma: its constant init is
      # the noise scale.
      np.testing.assert_allclose(kernel[mask == 1], 0.1 / math.sqrt(
          layer.kernel.shape[0]), rtol=1e-6)
  # A masked sigma entry adds no noise: the layer's effective weights
  # mu + sigma * noise are zero where both masks are.
  noisy = network.layers[0]
  x = tf.eye(8)
  rng = noisy.rng
  twin = _twin(rng)
  e_in, e_out = twin.normal([8]).numpy(), twin.normal([32]).numpy()
  mu, sigma = sparse.layers[0], sparse.layers[1]
  weights = (mu.kernel.numpy() + sigma.kernel.numpy() *
             np.outer(_f(e_in), _f(e_out)))
  bias = mu.layer.bias.numpy() + sigma.layer.bias.numpy() * _f(e_out)
  np.testing.assert_allclose(noisy(x, training=True).numpy(),
                             np.maximum(weights + bias, 0.0), rtol=1e-5,
                             atol=1e-6)
  both_masked = (mu.mask.numpy() == 0) & (sigma.mask.numpy() == 0)
  assert both_masked.any() and not weights[both_masked].any()
