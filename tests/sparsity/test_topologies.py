"""Paper 000's fixed topologies: counts, fan-in, repetition, Spatial's
borders, the L1 extraction, mask files, and the method that installs them."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line
from rigl_rl.networks import build
from rigl_rl.networks import flat
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import topologies
from tf_agents.specs import tensor_spec


def _layer(input_shape, units):
  return topologies.MaskedLayer('q', 'hidden_0',
                                (int(np.prod(input_shape)), units),
                                tuple(input_shape))


def _index(row, col, channel, width, channels):
  """Keras' Flatten order of an (H, W, C) observation."""
  return (row * width + col) * channels + channel


def test_repeat_groupings_feeds_consecutive_units_from_one_grouping():
  groupings = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], bool)
  mask = topologies.repeat_groupings(groupings, 2)
  # Units 0, 1 use grouping 0; 2, 3 grouping 1; 4, 5 grouping 2.
  np.testing.assert_array_equal(mask, [[1, 1, 0, 0, 1, 1],
                                       [0, 0, 1, 1, 1, 1],
                                       [1, 1, 0, 0, 0, 0]])


def test_random_counts_fan_in_and_repetition_on_a_tiny_grid():
  # 3x3 pixels, 2 channels: 18 inputs, 36 units (each grouping twice), 2
  # inputs per channel: every unit sees 4 of 18.
  mask = topologies.Random(per_channel=2).mask(
      _layer((3, 3, 2), 36), np.random.default_rng(0))
  assert mask.shape == (18, 36) and mask.dtype == np.float32
  assert set(np.unique(mask)) == {0.0, 1.0}
  np.testing.assert_array_equal(mask.sum(axis=0), np.full(36, 4))
  assert mask.sum() == 18 * 4 * 2
  np.testing.assert_array_equal(mask[:, 0::2], mask[:, 1::2])
  # The 18 groupings are drawn independently: not all the same.
  assert len({mask[:, j].tobytes() for j in range(0, 36, 2)}) > 1


def test_random_is_000s_91_percent_and_differs_by_seed():
  layer = _layer((10, 10, 4), 1600)
  a = topologies.Random().mask(layer, np.random.default_rng(0))
  b = topologies.Random().mask(layer, np.random.default_rng(1))
  assert a.sum() == 400 * 36 * 4  # 57,600 of 640,000: 91% sparse.
  assert 1 - a.mean() == pytest.approx(0.91)
  np.testing.assert_array_equal(a.sum(axis=0), np.full(1600, 36))
  assert not np.array_equal(a, b)


def test_spatial_neighbourhoods_at_corners_edges_and_inside():
  # 4x5 pixels, 2 channels: 40 inputs, one unit per grouping.
  height, width, channels = 4, 5, 2
  mask = topologies.Spatial().mask(_layer((height, width, channels), 40),
                                   np.random.default_rng(0))
  np.testing.assert_array_equal(mask.sum(axis=0), np.full(40, 18))

  def pixels(row, col, channel):
    unit = _index(row, col, channel, width, channels)
    seen = mask[:, unit].reshape(height, width, channels)
    np.testing.assert_array_equal(seen[..., 0], seen[..., 1])  # All channels.
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(seen[..., 0]))}

  block = lambda r0, c0: {(r, c) for r in range(r0, r0 + 3)
                          for c in range(c0, c0 + 3)}
  # Inside: centred.
  assert pixels(1, 2, 0) == block(0, 1)
  assert pixels(2, 1, 1) == block(1, 0)
  # Corners: the 3x3 block in the corner.
  assert pixels(0, 0, 0) == block(0, 0)
  assert pixels(0, 4, 1) == block(0, 2)
  assert pixels(3, 0, 0) == block(1, 0)
  assert pixels(3, 4, 1) == block(1, 2)
  # Edges: the block against the edge, centred along it.
  assert pixels(0, 2, 0) == block(0, 1)
  assert pixels(3, 2, 1) == block(1, 1)
  assert pixels(2, 0, 0) == block(1, 0)
  assert pixels(1, 4, 0) == block(0, 2)


def test_spatial_is_seed_free_and_000s_91_percent():
  layer = _layer((10, 10, 6), 1800)
  a = topologies.Spatial().mask(layer, np.random.default_rng(0))
  b = topologies.Spatial().mask(layer, np.random.default_rng(7))
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(a.sum(axis=0), np.full(1800, 54))
  # Repeated 3 times per input; the 6 inputs of a pixel share a grouping.
  np.testing.assert_array_equal(a[:, 0], a[:, 17])
  # Pixels (0, 0) and (0, 1) share the corner block; (0, 2) is one over.
  np.testing.assert_array_equal(a[:, 0], a[:, 18])
  assert not np.array_equal(a[:, 0], a[:, 36])


@pytest.mark.parametrize('topology,layer,message', [
    (topologies.Random(), _layer((3, 3, 2), 27), 'multiple of the inputs'),
    (topologies.Spatial(), topologies.MaskedLayer('q', 'hidden_0', (4, 8),
                                                  (4,)), r'\(H, W, C\)'),
    (topologies.Spatial(window=4), _layer((3, 3, 1), 9), 'exceeds'),
    (topologies.Random(per_channel=10), _layer((3, 3, 1), 9), 'exceeds'),
])
def test_topologies_that_do_not_fit_the_layer_say_so(topology, layer,
                                                     message):
  with pytest.raises(ConfigError, match=message):
    topology.mask(layer, np.random.default_rng(0))


def test_below_mean_mask_on_a_known_kernel():
  kernel = np.array([[0.1, -0.5, 0.2], [-0.05, 0.4, -0.3]])
  # Mean magnitude 1.55 / 6 = 0.2583: 0.5, 0.4, 0.3 stay.
  np.testing.assert_array_equal(topologies.below_mean_mask(kernel),
                                [[0, 1, 0], [0, 1, 1]])


def _save(tmp_path, values):
  path = str(tmp_path / 'mask.npy')
  np.save(path, values)
  return path


def test_mask_file_reads_a_checked_mask(tmp_path):
  values = np.zeros((4, 5), np.int64)
  values[0, :] = 1  # 5 of 20 on: 75% sparse.
  topology = topologies.MaskFile(_save(tmp_path, values), sparsity=0.75,
                                 label='predictive')
  assert topology.name == 'predictive'
  np.testing.assert_array_equal(
      topology.mask(topologies.MaskedLayer('q', 'h', (4, 5), (4,)), None),
      values)


def test_mask_file_errors_are_one_line(tmp_path):
  values = np.zeros((4, 5))
  values[0, :] = 1
  path = _save(tmp_path, values)
  with pytest.raises(ConfigError, match=r'0\.7500 sparse, not 0\.91') as e:
    topologies.MaskFile(path, sparsity=0.91)
  assert one_line(e.value).endswith('set MaskFile.sparsity = 0.7500')
  with pytest.raises(ConfigError, match=r'holds a \(4, 5\) mask; layer '
                     r"'h' of network 'q' has a \(5, 4\) kernel"):
    topologies.MaskFile(path, sparsity=0.75).mask(
        topologies.MaskedLayer('q', 'h', (5, 4), (5,)), None)
  with pytest.raises(ConfigError, match='2-D mask of 0s and 1s'):
    topologies.MaskFile(_save(tmp_path, values * 0.5), sparsity=0.75)
  with pytest.raises(ConfigError, match='is not a file'):
    topologies.MaskFile(str(tmp_path / 'none.npy'), sparsity=0.75)


def _flat_network(train_hidden=True):
  """FlatQNet on 4x4x2 observations: 32 inputs, 64 units, 2 outputs."""
  layers = flat.flat_layers(2, masking.wrap_layer, hidden_units=64,
                            train_hidden=train_hidden)
  return build.sequential_network(
      layers, tensor_spec.TensorSpec((4, 4, 2), tf.float32), 'QNetwork')


def test_fixed_topology_masks_its_layer_alone_and_its_targets():
  network, target = _flat_network(), _flat_network()
  sparse = topologies.FixedTopology(topologies.Spatial(), 'hidden_0')
  state = sparse.attach('q', network, [target], np.random.default_rng(0))
  assert sparse.method == state.method == 'fixed_spatial'
  hidden, output = state.layers
  expected = topologies.Spatial().mask(_layer((4, 4, 2), 64), None)
  for layer in (hidden, target.layers[2]):
    np.testing.assert_array_equal(layer.mask.numpy(), expected)
    assert np.all(layer.kernel.numpy()[expected == 0] == 0)
  np.testing.assert_array_equal(output.mask.numpy(), np.ones((64, 2)))
  # Every unit sees 9 of the 16 pixels.
  assert state.sparsities == {'hidden_0': pytest.approx(7 / 16),
                              'output': 0.0}
  assert state.target_sparsity == pytest.approx(7 / 16)
  assert state.updater.window is None  # The mask never changes.


def test_fixed_topology_names_the_layers_it_could_mask():
  sparse = topologies.FixedTopology(topologies.Random(), 'hidden_1')
  with pytest.raises(ConfigError, match=r"is not a layer of network 'q'; "
                     r"its layers are \['hidden_0', 'output'\]"):
    sparse.attach('q', _flat_network(), [], np.random.default_rng(0))
  with pytest.raises(ConfigError, match='must be a topology'):
    topologies.FixedTopology('random', 'hidden_0')


def test_fixed_topology_initializer_redraws_the_masked_layer_alone():
  network = _flat_network()
  hidden, output = (masking.inner_layer(layer) for layer in network.layers[2:])
  kernel, output_kernel = hidden.kernel.numpy(), output.kernel.numpy()
  sparse = topologies.FixedTopology(topologies.Spatial(), 'hidden_0',
                                    initializer=masking.density_scaled_init)
  sparse.attach('q', network, [], np.random.default_rng(0))
  mask = topologies.Spatial().mask(_layer((4, 4, 2), 64), None)
  # Density 9/16: the kernel over sqrt(9/16), then masked.
  np.testing.assert_allclose(hidden.kernel.numpy(),
                             kernel / 0.75 * mask, rtol=1e-6)
  np.testing.assert_array_equal(output.kernel.numpy(), output_kernel)
