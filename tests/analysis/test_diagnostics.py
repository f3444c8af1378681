"""Each diagnostic on inputs whose answer is known by hand."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tf_agents.networks import sequential
from tf_agents.specs import tensor_spec

from rigl_rl import config
from rigl_rl import logs
from rigl_rl.training.loop import Runner
from rigl_rl.analysis import diagnostics
from rigl_rl.errors import ConfigError
from rigl_rl.networks import heads
from rigl_rl.networks import mlp
from rigl_rl.sparsity import masking
from tests import conftest


def test_dormant_units_follow_sokar_scores():
  # Mean |h| per unit over the batch: [0, 0.01, 1, 1]; their average is
  # 0.5025, so the scores are [0, 0.0199, 1.99, 1.99].
  activation = tf.constant([[0.0, 0.02, 1.0, 2.0],
                            [0.0, 0.00, 1.0, 0.0]])
  np.testing.assert_allclose(
      diagnostics.neuron_scores(activation),
      [0.0, 0.01 / 0.5025, 1 / 0.5025, 1 / 0.5025], rtol=1e-6)
  assert diagnostics.dormant_units(activation, 0.025).numpy().tolist() == [
      True, True, False, False]
  # tau = 0 counts only the units that never fire.
  assert diagnostics.dormant_units(activation, 0.0).numpy().tolist() == [
      True, False, False, False]


def test_dormant_conv_units_are_channels_and_total_pools_layers():
  conv = np.ones([2, 3, 3, 4], np.float32)
  conv[..., 0] = 0.0  # One dead channel of four.
  dense = np.ones([2, 4], np.float32)  # No dead unit.
  per_layer, total = diagnostics.dormant_fractions(
      [tf.constant(conv), tf.constant(dense)], 0.025)
  assert per_layer == [0.25, 0.0]
  assert total == 1 / 8
  # A silent layer is all dormant, not a division by zero.
  assert diagnostics.dormant_fractions([tf.zeros([3, 5])], 0.0) == ([1.0], 1.0)


def _matrix_with_singular_values(values, rows=12, columns=8):
  rng = np.random.default_rng(0)
  u, _ = np.linalg.qr(rng.normal(size=(rows, rows)))
  v, _ = np.linalg.qr(rng.normal(size=(columns, columns)))
  s = np.zeros((rows, columns))
  s[np.arange(len(values)), np.arange(len(values))] = values
  return tf.constant(u @ s @ v.T, tf.float32)


def test_srank_counts_singular_values_to_one_minus_delta():
  # Singular values 4, 3, 2, 1 (sum 10): cumulative 0.4, 0.7, 0.9, 1.0.
  features = _matrix_with_singular_values([4.0, 3.0, 2.0, 1.0])
  assert diagnostics.srank(features, delta=0.01) == 4
  assert diagnostics.srank(features, delta=0.15) == 3
  assert diagnostics.srank(features, delta=0.35) == 2
  # Three equal directions: rank 3 whatever delta < 1/3.
  assert diagnostics.srank(_matrix_with_singular_values([1.0] * 3)) == 3
  assert diagnostics.srank(tf.zeros([4, 3])) == 0


def test_gradient_snr_averages_over_every_parameter():
  # Four examples; per parameter |mean| / std (population std):
  #   [1, 1, 1, 1]   identical for every example -> 0
  #   [1, 3, 1, 3]   mean 2, std 1               -> 2
  #   [0, 0, 0, 0]   always zero (a masked one)  -> 0
  #   [-1, 1, -1, 1] mean 0                      -> 0
  #   [2, 2, 2, 6]   mean 3, std sqrt(3)         -> sqrt(3)
  # The first four sit in a [2, 2] variable, the last in a [1] variable.
  first = tf.constant([[[1.0, 1.0], [0.0, -1.0]],
                       [[1.0, 3.0], [0.0, 1.0]],
                       [[1.0, 1.0], [0.0, -1.0]],
                       [[1.0, 3.0], [0.0, 1.0]]])
  second = tf.constant([[2.0], [2.0], [2.0], [6.0]])
  snr = diagnostics.gradient_snr([first, second])
  assert float(snr) == pytest.approx((2 + np.sqrt(3)) / 5)


def test_gradient_correlation_is_cosine_similarity():
  grads = [tf.constant([[1.0], [0.0], [-3.0]]),
           tf.constant([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]])]
  # Vectors (1, 0, 0), (0, 2, 0), (-3, 0, 0).
  np.testing.assert_allclose(
      diagnostics.gradient_correlation(grads),
      [[1, 0, -1], [0, 1, 0], [-1, 0, 1]], atol=1e-7)


def test_correlation_image_colours():
  image = diagnostics.correlation_image(np.array([[1.0, 0.0], [-1.0, 0.5]]),
                                        cell=3)
  assert image.shape == (1, 6, 6, 3) and image.dtype == np.uint8
  assert image[0, 0, 0].tolist() == [8, 48, 107]     # +1: dark blue
  assert image[0, 0, 3].tolist() == [255, 255, 255]  # 0: white
  assert image[0, 3, 0].tolist() == [102, 0, 13]     # -1: dark red
  assert image[0, 5, 5, 2] > image[0, 5, 5, 0]       # +0.5: bluish


def test_unit_mask_image_lays_out_channels_and_marks_the_grouping():
  # 2x2 pixels, 2 channels: 8 inputs, 16 units (grouping j // 2).
  mask = np.zeros((8, 16))
  mask[[0, 3, 7], 5] = 1  # Unit 5: inputs (0,0,0), (0,1,1), (1,1,1).
  image = diagnostics.unit_mask_image(mask, (2, 2, 2), [5], cell=1)[0]
  # One row of two 2x2 channel panels with a 1-pixel gap.
  assert image.shape == (2, 5, 3)
  on, off = list(diagnostics._ON), list(diagnostics._OFF)  # pylint: disable=protected-access
  mark, gap = list(diagnostics._MARK), list(diagnostics._GAP)  # pylint: disable=protected-access
  assert image[:, 2].tolist() == [gap, gap]
  # Channel 0: (0,0) on; channel 1: (0,1) on, and unit 5's grouping is
  # input 2 = (0,1,0), marked red in channel 0.
  assert image[:, :2].tolist() == [[on, mark], [off, off]]
  assert image[:, 3:].tolist() == [[off, on], [off, on]]
  assert diagnostics.unit_mask_image(mask, (2, 2, 2), [0, 5], cell=3)[
      0].shape == (3 * 5, 3 * 5, 3)


def test_mask_image_sums_conv_masks_over_space():
  dense = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
  assert diagnostics.mask_image(dense)[0, :, :, 0].tolist() == dense.tolist()
  conv = np.zeros([2, 2, 3, 1], np.float32)
  conv[:, :, 0, 0] = 1.0      # Input channel 0: all four positions.
  conv[0, 0, 1, 0] = 1.0      # Input channel 1: one of four.
  image = diagnostics.mask_image(conv)
  assert image.shape == (1, 3, 1, 1)
  assert image[0, :, 0, 0].tolist() == [1.0, 0.25, 0.0]


def test_unit_activations_of_a_sequential_network():
  hidden = tf_keras.layers.Dense(2, activation='relu', name='hidden')
  output = tf_keras.layers.Dense(1, name='output')
  network = sequential.Sequential(
      [hidden, output], input_spec=tensor_spec.TensorSpec([2], tf.float32))
  network.create_variables()
  hidden.set_weights([np.array([[1.0, -1.0], [1.0, 1.0]]), np.zeros(2)])
  output.set_weights([np.array([[2.0], [3.0]]), np.array([1.0])])
  (unit,), q = diagnostics.unit_activations(network,
                                            tf.constant([[1.0, 2.0]]))
  # relu([1 + 2, -1 + 2]) = [3, 1]; 2 * 3 + 3 * 1 + 1 = 10.
  assert unit.layer is hidden and unit.consumer is output
  assert unit.value.numpy().tolist() == [[3.0, 1.0]]
  assert q.numpy().tolist() == [[10.0]]


def test_noisy_and_dueling_layers_are_scored_as_one_layer_each():
  rng = tf.random.Generator.from_seed(0)
  noisy = heads.noisy_dense(rng)
  layers = mlp.mlp_layers(2 * 3, masking.wrap_layer, hidden_units=(5,),
                          hidden_layer=noisy,
                          output_layer=heads.dueling(3, noisy))
  network = sequential.Sequential(
      layers, input_spec=tensor_spec.TensorSpec([4], tf.float32))
  network.create_variables()
  inputs = tf.random.normal([8, 4], seed=1)
  (unit,), values = diagnostics.unit_activations(network, inputs)
  hidden, output = layers
  # The hidden units, on the noisy layer's ReLU output with the noise off,
  # feed the advantage stream first; the values are the dueling head's.
  assert unit.layer is hidden.mu and unit.consumer is output.advantage.mu
  np.testing.assert_allclose(unit.value, hidden(inputs), rtol=1e-6)
  np.testing.assert_allclose(values, network(inputs)[0], rtol=1e-6)
  assert values.shape == (8, 6)


def test_the_values_are_the_output_layer_s_before_any_reshape():
  output = tf_keras.layers.Dense(1, name='output')
  network = sequential.Sequential(
      [tf_keras.layers.Dense(3, activation='relu', name='hidden'), output,
       tf_keras.layers.Lambda(lambda q: tf.squeeze(q, -1))],
      input_spec=tensor_spec.TensorSpec([2], tf.float32))
  network.create_variables()
  units, values = diagnostics.unit_activations(network, tf.ones([4, 2]))
  assert len(units) == 1 and units[0].consumer is output
  assert values.shape == (4, 1)  # A SAC critic's Q(s, a) before its squeeze.


def test_residual_units_are_scored_after_their_relu():
  network, (stem, conv_0, conv_1, output) = conftest.residual_network(
      1, pool=True)
  inputs = tf.random.normal([4, 3, 3, 2], seed=0)
  units, q = diagnostics.unit_activations(network, inputs)
  # The stem at the block's entry ReLU (after pooling), conv_0 after its
  # ReLU, conv_1 at the final ReLU after the skip sum. Only conv_0's units
  # have a consumer that silences them: the skip path bypasses the others.
  assert [u.layer for u in units] == [stem, conv_0, conv_1]
  assert [u.consumer for u in units] == [None, conv_1, None]
  pooled = tf.nn.max_pool2d(stem(inputs), 2, 1, 'VALID')
  hidden = tf.nn.relu(conv_0(tf.nn.relu(pooled)))
  block = pooled + conv_1(hidden)
  expected = [tf.nn.relu(pooled), hidden, tf.nn.relu(block)]
  for unit, value in zip(units, expected):
    np.testing.assert_allclose(unit.value.numpy(), value.numpy(), rtol=1e-5)
  np.testing.assert_allclose(
      q.numpy(), output(tf.reshape(tf.nn.relu(block), [4, -1])).numpy(),
      rtol=1e-5)


@pytest.mark.parametrize('bindings', [
    ['Diagnostics.interval = 0'],
    ['Diagnostics.gradient_batch_size = 600'],
])
def test_bad_settings_are_config_errors(bindings):
  config.parse([conftest.gin_path('cartpole_dense.gin')], bindings)
  with pytest.raises(ConfigError):
    diagnostics.Diagnostics()


def test_a_run_computes_every_diagnostic_on_a_fixed_probe(tmp_path):
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               conftest.smoke_bindings('rigl') + [
                   'Diagnostics.probe_batch_size = 48',
                   'Diagnostics.gradient_batch_size = 16'])
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  layers = runner.bundle.sparse[0].layers
  initial = [layer.mask.numpy() > 0 for layer in layers]
  runner.env.reset()
  while runner.train_step < 50:  # RigL updates at 50 (then at 100).
    runner.advance()
  assert runner.train_step < 100
  trained = runner.bundle.trained
  sparse = list(runner.bundle.sparse)
  probe = runner.diagnostics.probe()
  scalars, images = runner.diagnostics.compute(trained, sparse)
  q = 'Diagnostics/q'
  assert set(scalars) == {
      f'{q}/dormant/hidden_0', f'{q}/dormant/hidden_1', f'{q}/dormant/total',
      f'{q}/srank', f'{q}/q_mean', f'{q}/q_variance', f'{q}/q_norm',
      f'{q}/parameter_norm', f'{q}/gradient_snr', f'{q}/ever_active'}
  assert set(images) == {f'{q}/gradient_correlation', f'{q}/mask/hidden_0',
                         f'{q}/mask/hidden_1', f'{q}/mask/output'}
  assert images[f'{q}/gradient_correlation'].shape == (1, 32, 32, 3)
  assert images[f'{q}/mask/hidden_1'].shape == (1, 64, 64, 1)
  assert 0 < scalars[f'{q}/srank'] <= 48
  assert 0.0 <= scalars[f'{q}/dormant/total'] <= 1.0
  assert scalars[f'{q}/gradient_snr'] > 0
  # Q statistics, recomputed from the probe by hand.
  q_values, _ = runner.bundle.networks['q'](probe.time_step.observation)
  assert scalars[f'{q}/q_mean'] == pytest.approx(float(tf.reduce_mean(q_values)),
                                                 rel=1e-5)
  assert scalars[f'{q}/q_norm'] == pytest.approx(
      float(tf.reduce_mean(tf.norm(q_values, axis=1))), rel=1e-5)
  # Ever active: the initial connections and those grown at step 50.
  ever = sum(int(np.sum(first | (layer.mask.numpy() > 0)))
             for first, layer in zip(initial, layers))
  _, total = runner.bundle.sparse[0].masked_counts()
  assert scalars[f'{q}/ever_active'] == ever / total
  assert ever > sum(int(first.sum()) for first in initial)
  # More training changes the network, not the probe.
  while runner.train_step < 120:
    runner.advance()
  later = runner.diagnostics.probe()
  for before, after in zip(tf.nest.flatten(probe), tf.nest.flatten(later)):
    np.testing.assert_array_equal(before, after)
  # RigL updated the masks at step 100: more connections have been active.
  later_scalars, _ = runner.diagnostics.compute(trained, sparse)
  assert later_scalars[f'{q}/ever_active'] > ever / total


def _per_example_conv_gradients():
  """A new function of per-example Conv2D kernel gradients (pfor), run once:
  its trace is what logs the while_loop notice."""
  kernel = tf.Variable(tf.ones([1, 1, 1, 1]))

  def gradient(example):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.nn.conv2d(example[None], kernel, 1, 'VALID'))
    return tape.gradient(loss, kernel)

  return tf.function(lambda batch: tf.vectorized_map(gradient, batch))(
      tf.ones([3, 2, 2, 1]))


def test_the_pfor_conv_notice_is_dropped_while_gradients_are_traced():
  logger = tf.get_logger()
  with conftest.logged_messages(logger) as messages:
    _per_example_conv_gradients()
  assert diagnostics.PFOR_CONV_NOTICE in messages  # TF says it.
  with conftest.logged_messages(logger) as messages:
    with logs.without(logger, diagnostics.PFOR_CONV_NOTICE):
      gradients = _per_example_conv_gradients()
      logger.warning('another warning')
    _per_example_conv_gradients()  # The filter is gone after the block.
  assert messages == ['another warning', diagnostics.PFOR_CONV_NOTICE]
  # Per example: the sum over the 2x2 positions of the input (all ones).
  np.testing.assert_array_equal(gradients.numpy().ravel(), [4, 4, 4])
