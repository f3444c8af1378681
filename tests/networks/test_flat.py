"""Paper 000's single-hidden-layer Q-network: its shape, its L1 penalty, and a
frozen hidden layer that training never moves."""
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec

from rigl_rl.errors import ConfigError
from rigl_rl.networks import build
from rigl_rl.networks import flat
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import optimizer as optimizer_lib
from rigl_rl.sparsity import topologies

SPEC = tensor_spec.TensorSpec((10, 10, 4), tf.float32)


def _network(wrap=lambda layer: layer, **kwargs):
  return build.sequential_network(
      flat.flat_layers(3, wrap, **{'hidden_units': 1600, **kwargs}), SPEC,
      'QNetwork')


def test_000_table_1_breakout_network():
  network = _network()
  shapes = [tuple(v.shape) for v in network.trainable_variables]
  # 400 inputs -> 1,600 ReLU units with biases -> 3 linear outputs.
  assert shapes == [(400, 1600), (1600,), (1600, 3), (3,)]
  observation = tf.ones((2, 10, 10, 4))
  values, _ = network(observation)
  assert values.shape == (2, 3)


def test_hidden_l1_penalises_the_hidden_kernel_alone():
  network = _network(hidden_l1=2.5e-5)
  (penalty,) = network.losses
  hidden = network.layers[2].kernel.numpy()
  assert float(penalty) == pytest.approx(2.5e-5 * np.abs(hidden).sum(),
                                         rel=1e-5)
  assert not _network().losses
  with pytest.raises(ConfigError, match='hidden_l1 must be a number >= 0'):
    _network(hidden_l1=-1.0)


@pytest.mark.parametrize('sparse', [False, True])
def test_frozen_hidden_layer_is_bit_identical_after_training(sparse):
  wrap = masking.wrap_layer if sparse else (lambda layer: layer)
  network = _network(wrap, train_hidden=False)
  networks = []
  if sparse:
    networks.append(topologies.FixedTopology(
        topologies.Random(), 'hidden_0').attach(
            'q', network, [], np.random.default_rng(0)))
  hidden = masking.inner_layer(network.layers[2])
  output = masking.inner_layer(network.layers[3])
  assert [v.name for v in network.trainable_variables] == [
      v.name for v in output.trainable_variables]
  before = [v.numpy().copy() for v in hidden.weights]
  output_before = output.kernel.numpy().copy()
  # 000's frozen Breakout step size.
  optimizer = optimizer_lib.sparse_optimizer(networks, learning_rate=0.1)
  rng = np.random.default_rng(1)
  for _ in range(3):
    observation = tf.constant(rng.integers(0, 2, (8, 10, 10, 4)), tf.float32)
    with tf.GradientTape() as tape:
      values, _ = network(observation)
      loss = tf.reduce_mean(tf.square(values - 1.0))
    variables = network.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
  for now, then in zip(hidden.weights, before):
    np.testing.assert_array_equal(now.numpy(), then)
  assert np.abs(output.kernel.numpy() - output_before).max() > 0.05
