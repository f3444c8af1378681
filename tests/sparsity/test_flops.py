"""FLOP counts computed by hand (2 FLOPs per multiply-add, biases 1 each)."""
import numpy as np
import pytest
import tensorflow as tf
import tf_agents
import tf_keras
from tf_agents.networks import sequential

from rigl_rl.sparsity import allocation
from rigl_rl.sparsity import flops
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import updaters

layers = tf_keras.layers


def built(model, input_shape):
  model(tf.zeros((1,) + input_shape))
  return model


def small_convnet():
  return built(
      tf_keras.Sequential([
          layers.Conv2D(4, 3, strides=1, padding='valid', name='conv'),
          layers.Flatten(),
          layers.Dense(3, name='dense'),
      ]), (6, 6, 2))


def nature_cnn():
  """The Atari network of Graesser et al. 2022, Table 7 (Pong: 6 actions)."""
  return built(
      tf_keras.Sequential([
          layers.Conv2D(32, 8, strides=4, activation='relu', name='conv_0'),
          layers.Conv2D(64, 4, strides=2, activation='relu', name='conv_1'),
          layers.Conv2D(64, 3, strides=1, activation='relu', name='conv_2'),
          layers.Flatten(),
          layers.Dense(512, activation='relu', name='hidden'),
          layers.Dense(6, name='output'),
      ]), (84, 84, 4))


def mlp():
  return built(
      tf_keras.Sequential([
          layers.Dense(512, activation='relu', name='hidden_0'),
          layers.Dense(512, activation='relu', name='hidden_1'),
          layers.Dense(2, name='output'),
      ]), (4,))


def mask_with_ones(shape, count):
  flat = np.zeros(int(np.prod(shape)), dtype=np.float32)
  flat[:count] = 1.0
  return flat.reshape(shape)


def allocated_flops(costs, method, sparsity):
  shapes = {cost.name: cost.kernel_shape for cost in costs}
  sparsities = method(shapes, sparsity)
  return flops.inference_flops(
      costs, {name: 1.0 - s for name, s in sparsities.items()})


def test_layer_costs_of_a_small_convnet():
  # 6x6 input, 3x3 'valid' kernel at stride 1: 4x4 = 16 output positions;
  # Flatten gives 4 * 4 * 4 = 64 inputs to the Dense.
  assert flops.layer_costs(small_convnet()) == [
      flops.LayerCost('conv', (3, 3, 2, 4), 16, True),
      flops.LayerCost('dense', (64, 3), 1, True),
  ]


def test_inference_flops_dense_and_sparse():
  costs = flops.layer_costs(small_convnet())
  # conv: 2 * 72 * 16 + 4 * 16 = 2304 + 64 = 2368; dense: 2 * 192 + 3 = 387.
  assert flops.inference_flops(costs) == 2368 + 387
  # Half the conv kernel: 1152 + 64 = 1216; biases stay dense.
  assert flops.inference_flops(costs, {'conv': 0.5}) == 1216 + 387
  # A quarter of the dense kernel: 2 * 48 + 3 = 99.
  assert flops.inference_flops(costs, {'conv': 0.5, 'dense': 0.25}) == (
      1216 + 99)


def test_layer_cost_without_bias():
  cost = flops.LayerCost('conv', (3, 3, 2, 4), 16, use_bias=False)
  assert cost.flops(0.5) == 2 * 0.5 * 72 * 16


def test_unbuilt_layer_is_an_error():
  model = tf_keras.Sequential([layers.Dense(3, name='dense')])
  with pytest.raises(ValueError, match="'dense' is not built"):
    flops.layer_costs(model)


def test_flops_of_a_wrapped_network_follow_its_masks():
  network = sequential.Sequential(
      [masking.wrap_layer(layers.Dense(5, name='hidden_0')),
       masking.wrap_layer(layers.Dense(2, name='output'))],
      input_spec=tf_agents.specs.tensor_spec.TensorSpec([4], tf.float32))
  network.create_variables()
  sparse_network = masking.SparseNetwork(
      'q', network, updaters.Static(), 0.5, {'hidden_0': 0.5, 'output': 0.5})
  hidden, output = sparse_network.layers
  # 5 of hidden_0's 20 entries and 4 of output's 10 are active.
  hidden.mask.assign(mask_with_ones((4, 5), 5))
  output.mask.assign(mask_with_ones((5, 2), 4))
  densities = sparse_network.layer_density()
  assert densities == pytest.approx({'hidden_0': 0.25, 'output': 0.4})
  costs = flops.layer_costs(network)
  assert [cost.name for cost in costs] == ['hidden_0', 'output']
  # hidden_0: 2 * 5 + 5 biases = 15; output: 2 * 4 + 2 biases = 10.
  assert flops.inference_flops(costs, densities) == pytest.approx(15 + 10)


def test_training_and_rigl_update_flops():
  # 3 passes per example: 3 * 100 * 32.
  assert flops.training_flops_per_step(100.0, 32) == 9600.0
  # 2 f_S + f_D - 3 f_S = f_D - f_S = 400 - 100 per example.
  assert flops.dense_gradient_extra_flops(100.0, 400.0, 32) == 32 * 300.0


def test_nature_cnn_shapes():
  # 84 -> (84 - 8) / 4 + 1 = 20 -> (20 - 4) / 2 + 1 = 9 -> 9 - 3 + 1 = 7;
  # Flatten: 7 * 7 * 64 = 3136.
  costs = flops.layer_costs(nature_cnn())
  assert [(c.kernel_shape, c.output_positions) for c in costs] == [
      ((8, 8, 4, 32), 400), ((4, 4, 32, 64), 81), ((3, 3, 64, 64), 49),
      ((3136, 512), 1), ((512, 6), 1)]


def test_erk_roughly_doubles_the_flops_of_the_nature_cnn():
  # Graesser et al. 2022, A.2 / Fig. 7. ERK gives the convs (whose weights are
  # reused at 400, 81 and 49 positions) densities 0.27, 0.13 and 0.15 and the
  # big Dense 0.096, against 0.1 each for uniform: 3.34 MFLOPs against 1.89,
  # a ratio of 1.769 at S = 0.9.
  costs = flops.layer_costs(nature_cnn())
  ratio = (allocated_flops(costs, allocation.erk, 0.9) /
           allocated_flops(costs, allocation.uniform, 0.9))
  assert 1.5 < ratio < 2.5
  assert ratio == pytest.approx(1.769, abs=1e-3)


def test_erk_leaves_the_flops_of_an_mlp_unchanged():
  # With one output position per layer, kernel FLOPs are 2x the active
  # weights, which both distributions fix to (1 - S) of the total (ERK's
  # forced-dense layers are inside the same budget); the biases are dense in
  # both. So the ratio is 1 up to float rounding: 54069.2 FLOPs at S = 0.9.
  costs = flops.layer_costs(mlp())
  erk = allocated_flops(costs, allocation.erk, 0.9)
  uniform = allocated_flops(costs, allocation.uniform, 0.9)
  assert erk == pytest.approx(uniform, rel=1e-9)
  assert uniform == pytest.approx(2 * 0.1 * 265216 + 512 + 512 + 2)
