"""The pixel networks: parameter counts by hand, conv masks under sparse
training, and per-layer outputs for the diagnostics."""
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec

from rigl_rl.analysis import diagnostics
from rigl_rl.networks import build
from rigl_rl.networks import conv
from rigl_rl.sparsity import masking


def conv_params(kernel, channels_in, channels_out):
  return kernel * kernel * channels_in * channels_out + channels_out


def dense_params(units_in, units_out):
  return units_in * units_out + units_out


def minatar_count(w, channels=4, actions=6):
  # Conv 16w 3x3 valid: 10x10 -> 8x8; Dense 128w; output.
  return (conv_params(3, channels, 16 * w) + dense_params(8 * 8 * 16 * w,
                                                           128 * w) +
          dense_params(128 * w, actions))


def nature_count(w, actions=6):
  # 'same' padding: 84 -> 21 -> 11 -> 11.
  return (conv_params(8, 4, 32 * w) + conv_params(4, 32 * w, 64 * w) +
          conv_params(3, 64 * w, 64 * w) +
          dense_params(11 * 11 * 64 * w, 512 * w) +
          dense_params(512 * w, actions))


def impala_count(w, actions=6):
  total, channels_in = 0, 4
  for channels in (32 * w, 64 * w, 64 * w):
    total += conv_params(3, channels_in, channels)     # The stack's conv...
    total += 4 * conv_params(3, channels, channels)    # ...2 blocks of 2.
    channels_in = channels
  # Max pools of stride 2 ('same'): 84 -> 42 -> 21 -> 11.
  return total + dense_params(11 * 11 * 64 * w, 512 * w) + dense_params(
      512 * w, actions)


@pytest.mark.parametrize('layers_fn,shape,expected', [
    (conv.minatar_layers, (10, 10, 4), {1: 132_566, 3: 1_184_118}),
    (conv.nature_cnn_layers, (84, 84, 4), {1: 4_046_502, 3: 36_346_854}),
    (conv.impala_resnet_layers, (84, 84, 4), {1: 4_357_542, 3: 39_184_614}),
], ids=['minatar', 'nature', 'impala'])
@pytest.mark.parametrize('width', [1, 3])
def test_parameter_counts_by_hand(layers_fn, shape, expected, width):
  by_hand = {conv.minatar_layers: minatar_count,
             conv.nature_cnn_layers: nature_count,
             conv.impala_resnet_layers: impala_count}[layers_fn](width)
  assert by_hand == expected[width]
  spec = tensor_spec.BoundedTensorSpec(shape, tf.uint8, 0, 255)
  network = build.sequential_network(
      layers_fn(6, lambda layer: layer, width=width), spec, 'q')
  assert sum(int(np.prod(v.shape)) for v in network.trainable_variables) == (
      by_hand)
  q_values, _ = network(tf.zeros((2,) + shape, tf.uint8))
  assert q_values.shape == (2, 6)


def test_impala_units_are_scored_as_dopamine_labs_redo_records_them():
  spec = tensor_spec.BoundedTensorSpec((84, 84, 4), tf.uint8, 0, 255)
  network = build.sequential_network(
      conv.impala_resnet_layers(6, masking.wrap_layer), spec, 'q')
  units, q = diagnostics.unit_activations(
      network, tf.zeros((1, 84, 84, 4), tf.uint8))
  names = [masking.inner_layer(u.layer).name for u in units]
  # Per stack: the stack conv (at the first block's entry ReLU), each
  # block's conv_0, and block 0's conv_1 (at block 1's entry). The last
  # block's conv_1 of a stack feeds the next stack's conv without a ReLU;
  # only the last stack's is scored, at the ReLU before the dense layer.
  expected = []
  for s in range(3):
    expected += [f'stack_{s}_conv', f'stack_{s}_block_0_conv_0',
                 f'stack_{s}_block_0_conv_1', f'stack_{s}_block_1_conv_0']
  expected += ['stack_2_block_1_conv_1', 'hidden_0']
  assert names == expected
  # ReDo recycles the units whose outgoing weights silence them: each
  # block's conv_0 (into conv_1) and the dense layer (into the output), as
  # NeuronRecycler(network='resnet') does.
  recyclable = {name: masking.inner_layer(u.consumer).name
                for name, u in zip(names, units) if u.consumer is not None}
  assert recyclable == {
      **{f'stack_{s}_block_{b}_conv_0': f'stack_{s}_block_{b}_conv_1'
         for s in range(3) for b in range(2)},
      'hidden_0': 'output'}
  for unit in units:
    assert unit.value.shape[-1] == masking.inner_layer(
        unit.layer).kernel.shape[-1]
    assert float(tf.reduce_min(unit.value)) >= 0.0  # Post-ReLU.
  assert q.shape == (1, 6)


def test_minatar_erk_uses_the_full_conv_kernel_shape(minatar_rigl_run):
  network = minatar_rigl_run.bundle.sparse[0]
  # ERK by hand at S = 0.9: raw densities (sum of dims)/(product of dims),
  # conv (3, 3, 4, 16) -> 26/576; the output layer's scaled density exceeds
  # 1, so it is dense and the rest share the remaining budget.
  total = 576 + 131_072 + 768
  epsilon = (0.1 * total - 768) / (26 + 1152)
  assert network.sparsities['conv_0'] == pytest.approx(1 - epsilon * 26 / 576)
  assert network.sparsities['hidden_0'] == pytest.approx(
      1 - epsilon * 1152 / 131_072)
  assert network.sparsities['output'] == 0.0
  # A flattened (36, 16) kernel would have had raw density 52/576.
  assert network.sparsities['conv_0'] == pytest.approx(0.522, abs=1e-3)


@pytest.mark.parametrize('run', ['minatar_rigl_run', 'atari_rigl_run'])
def test_conv_masks_stay_exact_after_rigl_updates(run, request):
  runner = request.getfixturevalue(run)
  network = runner.bundle.sparse[0]
  conv_masks = [layer for layer in network.layers
                if layer.mask.shape.rank == 4]
  assert len(conv_masks) == {'minatar_rigl_run': 1, 'atari_rigl_run': 3}[run]
  for layer in network.layers:
    mask = layer.mask.numpy()
    kernel = layer.kernel.numpy()
    assert mask.shape == kernel.shape
    assert set(np.unique(mask)) <= {0.0, 1.0}
    zeros = int(round(network.sparsities[layer.layer.name] * mask.size))
    assert int((mask == 0).sum()) == zeros  # RigL keeps every layer's count.
    assert not kernel[mask == 0].any()      # Stored weights exactly sparse.
  # The hard-updated target keeps the masks of its last sync, exactly sparse
  # under them, with each layer's count of zeros.
  for targets in network.target_layers:
    for layer, target_layer in zip(network.layers, targets):
      mask = target_layer.mask.numpy()
      zeros = int(round(network.sparsities[layer.layer.name] * mask.size))
      assert int((mask == 0).sum()) == zeros
      assert not target_layer.kernel.numpy()[mask == 0].any()
  # The topology moved: more connections were active at some point than
  # are active now.
  assert network.ever_active_fraction() > 1 - network.target_sparsity
