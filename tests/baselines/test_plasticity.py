"""Reset and ReDo change exactly the weights they should."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tf_agents.networks import sequential
from tf_agents.specs import tensor_spec

from rigl_rl import config
from rigl_rl.training.loop import Runner
from rigl_rl.agents import base
from rigl_rl.baselines import plasticity
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking
from tests import conftest


def _trained(layers, inputs=3):
  network = sequential.Sequential(
      layers, input_spec=tensor_spec.TensorSpec([inputs], tf.float32))
  network.create_variables()
  optimizer = tf_keras.optimizers.legacy.Adam(1e-3)
  # One step so that Adam's slots exist and are non-zero everywhere.
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(network(tf.ones([2, inputs]))[0])
  grads = tape.gradient(loss, network.trainable_variables)
  optimizer.apply_gradients(zip(grads, network.trainable_variables))
  return base.TrainedNetwork(
      name='q', network=network, optimizer=optimizer,
      per_example_loss=None, inputs=lambda experience: experience,
      outputs_are_values=True)


def _values(trained):
  return [v.numpy().copy() for v in trained.network.trainable_variables]


def _slots(trained):
  return [[s.numpy().copy()
           for s in masking.optimizer_slots(trained.optimizer, v)]
          for v in trained.network.trainable_variables]


def test_reset_redraws_the_last_layer_only():
  # Hidden weights of 1: every ReLU is active on the training step, so every
  # output weight gets a gradient and non-zero Adam slots to be reset.
  trained = _trained([
      tf_keras.layers.Dense(4, activation='relu', kernel_initializer='ones',
                            name='hidden'),
      tf_keras.layers.Dense(2, bias_initializer='ones', name='output')])
  trained.network.layers[1].bias.assign([5.0, 5.0])
  before, slots = _values(trained), _slots(trained)
  reset = plasticity.Reset(interval=10, last_layers=1)
  assert reset.apply(trained, None, tf.random.Generator.from_seed(1)) == {
      'layers_reset': 1.0}
  after, new_slots = _values(trained), _slots(trained)
  hidden_kernel, hidden_bias, out_kernel, out_bias = range(4)
  for index in (hidden_kernel, hidden_bias):  # Untouched, slots too.
    np.testing.assert_array_equal(after[index], before[index])
    for old, new in zip(slots[index], new_slots[index]):
      np.testing.assert_array_equal(old, new)
  assert np.all(after[out_kernel] != before[out_kernel])  # Redrawn...
  np.testing.assert_array_equal(after[out_bias], [1.0, 1.0])  # ...from init.
  for index in (out_kernel, out_bias):
    assert slots[index] and all(np.any(s != 0) for s in slots[index])
    assert all(np.all(s == 0) for s in new_slots[index])


def test_reset_keeps_masked_entries_at_zero():
  layer = masking.wrap_layer(tf_keras.layers.Dense(4, name='output'))
  trained = _trained([layer])
  mask = np.zeros([3, 4], np.float32)
  mask[0] = 1.0
  layer.mask.assign(mask)
  layer.kernel.assign(layer.kernel * mask)
  plasticity.Reset(interval=10).apply(trained, None,
                                      tf.random.Generator.from_seed(1))
  kernel = layer.kernel.numpy()
  assert np.all(kernel[1:] == 0) and np.all(kernel[0] != 0)


def test_redo_recycles_exactly_the_dormant_units():
  hidden = tf_keras.layers.Dense(3, activation='relu', name='hidden')
  output = tf_keras.layers.Dense(2, name='output')
  trained = _trained([hidden, output])
  # Unit 1 is dead on positive inputs: zero incoming weights, negative bias.
  hidden.set_weights([np.array([[1.0, 0.0, 2.0]] * 3, np.float32),
                      np.array([0.0, -1.0, 0.0], np.float32)])
  output.set_weights([np.arange(6, dtype=np.float32).reshape(3, 2) + 1,
                      np.array([0.5, 0.5], np.float32)])
  before, slots = _values(trained), _slots(trained)
  redo = plasticity.ReDo(interval=10, threshold=0.1)
  inputs = tf.constant([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
  logged = redo.apply(trained, inputs, tf.random.Generator.from_seed(3))
  assert logged == {'recycled_fraction': 1 / 3}
  after, new_slots = _values(trained), _slots(trained)
  hidden_kernel, hidden_bias, out_kernel, out_bias = range(4)
  changed = {
      hidden_kernel: np.array([[False, True, False]] * 3),
      hidden_bias: np.array([False, True, False]),
      out_kernel: np.array([[False, False], [True, True], [False, False]]),
      out_bias: np.zeros(2, bool),
  }
  for index, where in changed.items():
    np.testing.assert_array_equal(after[index][~where], before[index][~where])
    for old, new in zip(slots[index], new_slots[index]):
      np.testing.assert_array_equal(new[~where], old[~where])
      assert np.all(new[where] == 0)
  assert np.all(after[hidden_kernel][:, 1] != 0)  # Fresh incoming weights,
  assert after[hidden_bias][1] == 0.0             # the initial (zero) bias,
  assert np.all(after[out_kernel][1] == 0)        # and no outgoing weights.


def test_redo_maps_a_flattened_conv_map_onto_the_dense_rows():
  dormant = tf.constant([False, True])
  # A 2x1x2 map flattened: rows alternate channel 0, channel 1.
  rows = plasticity._input_rows((4, 3), dormant)  # pylint: disable=protected-access
  assert rows.numpy()[:, 0].tolist() == [False, True, False, True]
  conv = plasticity._input_rows((3, 3, 2, 5), dormant)  # pylint: disable=protected-access
  assert conv.numpy()[:, :, 1].all() and not conv.numpy()[:, :, 0].any()


def test_interventions_skip_the_first_and_last_steps():
  reset = plasticity.Reset(interval=10)
  assert [t for t in range(41) if reset.is_due(t, 40)] == [10, 20, 30]
  with pytest.raises(ConfigError):
    plasticity.ReDo(interval=0)


@pytest.mark.parametrize('name,bindings,tag', [
    ('reset', ['Reset.interval = 100'], 'Plasticity/reset/q/layers_reset'),
    ('redo', ['ReDo.interval = 50'], 'Plasticity/redo/q/recycled_fraction'),
])
def test_baselines_run_in_the_loop(tmp_path, name, bindings, tag):
  config.parse([conftest.gin_path(f'cartpole_{name}.gin')],
               conftest.smoke_bindings('dense') + bindings)
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  assert runner.run() == 'finished'
  assert tag in conftest.event_tags(str(tmp_path / 'run' / 'train'))


def _residual_trained():
  """conftest.residual_network with weights set by hand, after one Adam step."""
  network, (stem, conv_0, conv_1, output) = conftest.residual_network(2)
  stem.set_weights([np.eye(2, dtype=np.float32)[None, None], np.zeros(2)])
  # conv_0's channel 1 is dead on non-negative inputs: no incoming weights
  # and a negative bias.
  conv_0.set_weights([np.array([[[[1.0, 0.0], [1.0, 0.0]]]], np.float32),
                      np.array([0.0, -1.0], np.float32)])
  conv_1.set_weights([np.full([1, 1, 2, 2], 2.0, np.float32), np.zeros(2)])
  output.set_weights([np.ones([18, 2], np.float32), np.zeros(2)])
  optimizer = tf_keras.optimizers.legacy.Adam(1e-3)
  inputs = tf.concat([tf.ones([4, 3, 3, 1]), tf.zeros([4, 3, 3, 1])], -1)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(network(inputs + 1.0)[0])  # Every slot non-zero.
  grads = tape.gradient(loss, network.trainable_variables)
  optimizer.apply_gradients(zip(grads, network.trainable_variables))
  trained = base.TrainedNetwork(
      name='q', network=network, optimizer=optimizer, per_example_loss=None,
      inputs=lambda experience: experience, outputs_are_values=True)
  return trained, (stem, conv_0, conv_1, output), inputs


def test_redo_on_a_residual_block_recycles_only_what_it_can_silence():
  trained, (stem, conv_0, conv_1, output), inputs = _residual_trained()
  # On these inputs the stem's channel 1 (input channel 1 is zero) and
  # conv_0's channel 1 are dormant. The stem's output also reaches conv_1's
  # sum through the skip path, so ReDo leaves it; conv_0's channel 1 feeds
  # conv_1 only: fresh incoming weights and bias, zero outgoing weights.
  before = {l.name: [w.numpy().copy() for w in l.weights]
            for l in (stem, conv_0, conv_1, output)}
  logged = plasticity.ReDo(interval=10, threshold=0.1).apply(
      trained, inputs, tf.random.Generator.from_seed(3))
  assert logged == {'recycled_fraction': 1 / 2}
  for layer in (stem, output):
    for old, new in zip(before[layer.name], layer.weights):
      np.testing.assert_array_equal(new.numpy(), old)
  kernel, bias = conv_0.kernel.numpy(), conv_0.bias.numpy()
  np.testing.assert_array_equal(kernel[..., 0], before['conv_0'][0][..., 0])
  assert np.all(kernel[..., 1] != 0) and bias[1] == 0.0  # Initial bias.
  assert bias[0] == before['conv_0'][1][0]
  kernel_1 = conv_1.kernel.numpy()
  assert np.all(kernel_1[:, :, 1, :] == 0)
  np.testing.assert_array_equal(kernel_1[:, :, 0, :],
                                before['conv_1'][0][:, :, 0, :])
  for variable, where in ((conv_0.kernel, np.s_[..., 1]),
                          (conv_1.kernel, np.s_[:, :, 1, :])):
    for slot in masking.optimizer_slots(trained.optimizer, variable):
      assert np.all(slot.numpy()[where] == 0)
