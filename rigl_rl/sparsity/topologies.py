"""Fixed topologies of paper 000 (Davelouis, Martin & Bowling): one layer's
mask drawn by a generator or read from a file instead of allocated by ERK.

000 masks the hidden layer of a single-hidden-layer Q-network on the
flattened MinAtar observation (`networks/flat.py`) and never changes the mask
(section 2.2). Its appendix A.4: each column of the mask is a grouping of
inputs; there are as many distinct groupings as inputs (400 Breakout, 600
Space Invaders), and unit j uses grouping j // r, each grouping repeated
r = units / inputs times (4 Breakout, 3 Space Invaders). A.2: 9 active
inputs per channel, so 9·C of the H·W·C inputs (36 of 400, 54 of 600), a
hidden layer 91% sparse.

Inputs are numbered as Keras' Flatten numbers an (H, W, C) observation:
input (row, col, channel) is (row·W + col)·C + channel.

A topology is a small object with a `name` and `mask(layer, rng)`;
`FixedTopology` is the sparse method (used like `SparseTraining`:
`dqn_agent.sparse = @FixedTopology()`) that installs it, keeps every other
layer dense, and never changes a mask.
"""
import dataclasses
import os
from typing import Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import updaters


@dataclasses.dataclass(frozen=True)
class MaskedLayer:
  """What a topology is told about the layer it masks.

  Attributes:
    network: the network's short name, e.g. 'q'.
    layer: the layer's name, e.g. 'hidden_0'.
    kernel_shape: (inputs, units) of its kernel.
    input_shape: the network's observation shape, e.g. (10, 10, 4).
  """
  network: str
  layer: str
  kernel_shape: Tuple[int, int]
  input_shape: Tuple[int, ...]


class Topology:
  """A mask source: `mask` gives the [inputs, units] 0/1 float32 mask."""

  name = ''

  def mask(self, layer: MaskedLayer, rng: np.random.Generator) -> np.ndarray:
    raise NotImplementedError


def _grid(layer: MaskedLayer, owner: str) -> Tuple[int, int, int, int]:
  """(height, width, channels, repeat) of a layer fed the flattened
  observation, after checking A.4's layout fits it."""
  n_in, n_out = layer.kernel_shape
  if len(layer.input_shape) != 3:
    raise ConfigError(
        f'{owner} needs an (H, W, C) image observation; layer '
        f'{layer.layer!r} of network {layer.network!r} is fed '
        f'{tuple(layer.input_shape)}; use it on MinAtar with '
        'dqn_agent.network_fn = @FlatQNet')
  height, width, channels = (int(dim) for dim in layer.input_shape)
  if n_in != height * width * channels:
    raise ConfigError(
        f'{owner} masks a layer fed the flattened observation '
        f'({height * width * channels} inputs); layer {layer.layer!r} has '
        f'{n_in}; name the first hidden layer in FixedTopology.layer')
  if n_out % n_in:
    raise ConfigError(
        f'{owner} repeats each of the {n_in} input groupings the same number '
        f'of times (000 A.4), so the units ({n_out}) must be a multiple of '
        f'the inputs; set FlatQNet.hidden_units = {max(1, n_out // n_in) * n_in}')
  return height, width, channels, n_out // n_in


def repeat_groupings(groupings: np.ndarray, repeat: int) -> np.ndarray:
  """The [inputs, groupings·repeat] mask whose unit j uses grouping j // repeat.

  Args:
    groupings: [n_groupings, inputs] booleans, one row per grouping.
    repeat: the units fed by each grouping (000 A.4: 4 Breakout, 3 SI).
  """
  return np.repeat(groupings.T.astype(np.float32), repeat, axis=1)


@gin.configurable
class Random(Topology):
  """000's Random: each grouping is 9·C inputs drawn uniformly at random
  without replacement, independently of the other groupings."""

  name = 'random'

  def __init__(self, per_channel: int = 9):
    """Args: per_channel: active inputs per channel (000 A.2: 9, as a 3x3
    kernel), so each unit sees per_channel·C inputs."""
    if not isinstance(per_channel, int) or per_channel < 1:
      raise ConfigError(f'Random.per_channel must be an integer >= 1, got '
                        f'{per_channel!r}')
    self.per_channel = per_channel

  def mask(self, layer, rng):
    height, width, channels, repeat = _grid(layer, 'Random')
    n_in = height * width * channels
    fan_in = self.per_channel * channels
    if self.per_channel > height * width:
      raise ConfigError(f'Random.per_channel {self.per_channel} exceeds the '
                        f'{height * width} pixels of a channel')
    groupings = np.zeros((n_in, n_in), bool)
    for grouping in groupings:
      grouping[rng.choice(n_in, fan_in, replace=False)] = True
    return repeat_groupings(groupings, repeat)


def window_start(position: int, size: int, window: int) -> int:
  """The first row (or column) of the `window`-wide neighbourhood of
  `position` on an axis of `size`: centred, moved inside at the borders."""
  return min(max(position - window // 2, 0), size - window)


@gin.configurable
class Spatial(Topology):
  """000's Spatial: the grouping of input (row, col, channel) is the
  window x window pixels nearest (row, col), in every channel.

  At a border the window is moved inside the image rather than cut: a
  corner pixel's grouping is the 3x3 block in its corner, an edge pixel's
  the 3x3 block against the edge, so every unit keeps 9·C inputs as 000's
  count requires (91% for every topology, section 4.2). Inside the image
  and at the corners these are also the 9 pixels nearest in Euclidean
  distance. Along an edge they are not: the Euclidean 9 nearest of an edge
  pixel are those within distance 2 (itself, 5 at distance <= sqrt 2, two
  more along the edge and one inward), a T rather than a block. The moved
  window keeps the 3x3 shape of the conv kernel 000 matches (A.2); 000's
  text does not settle which it used. Groupings of the C inputs of one pixel
  coincide, so each pixel's neighbourhood feeds C·repeat units.
  """

  name = 'spatial'

  def __init__(self, window: int = 3):
    """Args: window: the neighbourhood's side in pixels (000: 3)."""
    if not isinstance(window, int) or window < 1:
      raise ConfigError(f'Spatial.window must be an integer >= 1, got '
                        f'{window!r}')
    self.window = window

  def mask(self, layer, rng):
    del rng  # Hand-crafted: the same for every seed.
    height, width, channels, repeat = _grid(layer, 'Spatial')
    w = self.window
    if w > min(height, width):
      raise ConfigError(f'Spatial.window {w} exceeds the {height}x{width} '
                        'image')
    groupings = np.zeros((height, width, channels, height, width, channels),
                         bool)
    for row in range(height):
      for col in range(width):
        r0, c0 = window_start(row, height, w), window_start(col, width, w)
        groupings[row, col, :, r0:r0 + w, c0:c0 + w, :] = True
    n_in = height * width * channels
    return repeat_groupings(groupings.reshape(n_in, n_in), repeat)


@gin.configurable
class MaskFile(Topology):
  """A user's binary mask, [inputs, units], from a .npy file.

  000's Predictive masks come from Prediction Adapted Networks (Martin &
  Modayil 2021), which rigl_rl does not implement: its Predictive gin files
  read such a mask from a file.
  """

  def __init__(self, path: str = gin.REQUIRED, sparsity: float = gin.REQUIRED,
               tolerance: float = 0.005, label: str = 'file'):
    """Reads and checks the file.

    Args:
      path: the .npy file, holding 0s and 1s (or booleans).
      sparsity: the fraction of zeros the mask must have (000: 0.91).
      tolerance: how far the file's sparsity may be from `sparsity`.
      label: the topology's name in results ('fixed_<label>'), e.g.
        'predictive' for masks made by Prediction Adapted Networks.

    Raises:
      ConfigError: if the file is missing or unreadable, not 2-D, not 0/1,
        or of another sparsity.
    """
    if not os.path.isfile(path):
      raise ConfigError(f'MaskFile.path {path!r} is not a file; point it at '
                        'a .npy mask of shape [inputs, units]')
    try:
      values = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
      raise ConfigError(f'MaskFile.path {path!r} is not a .npy array '
                        f'({e}); save the mask with numpy.save') from e
    if values.ndim != 2 or not np.isin(values, (0, 1)).all():
      raise ConfigError(f'MaskFile.path {path!r} holds a {values.ndim}-D '
                        f'{values.dtype} array; it must be a 2-D mask of 0s '
                        'and 1s, [inputs, units]')
    self.path = path
    self.values = values.astype(np.float32)
    self.name = label
    actual = 1.0 - float(self.values.mean())
    if abs(actual - sparsity) > tolerance:
      raise ConfigError(
          f'MaskFile.path {path!r} is {actual:.4f} sparse, not '
          f'{sparsity} (within {tolerance}); fix the mask or set '
          f'MaskFile.sparsity = {actual:.4f}')

  def mask(self, layer, rng):
    del rng
    if tuple(self.values.shape) != tuple(layer.kernel_shape):
      raise ConfigError(
          f'MaskFile.path {self.path!r} holds a {tuple(self.values.shape)} '
          f'mask; layer {layer.layer!r} of network {layer.network!r} has a '
          f'{tuple(layer.kernel_shape)} kernel [inputs, units]')
    return self.values


def below_mean_mask(kernel: np.ndarray) -> np.ndarray:
  """000's L1-Reg extraction: 0 where |w| is below the layer's mean |w|.

  Args:
    kernel: the final kernel of an L1-penalised run.

  Returns:
    The 0/1 float32 mask, kernel-shaped.
  """
  magnitude = np.abs(np.asarray(kernel, np.float64))
  return (magnitude >= magnitude.mean()).astype(np.float32)


@gin.configurable
class FixedTopology:
  """Sparse training of one layer with a fixed mask from a `Topology`.

  Used in place of `SparseTraining`, e.g. `dqn_agent.sparse =
  @FixedTopology()`. Every other maskable layer stays dense (000 masks the
  hidden layer alone); no mask ever changes. Records the method
  'fixed_<topology name>'.
  """

  def __init__(self, topology: Topology = gin.REQUIRED,
               layer: str = gin.REQUIRED,
               initializer: Optional[masking.SparseInit] = None):
    """Checks and stores the configuration.

    Args:
      topology: the mask source, e.g. `@Random()`, `@Spatial()`,
        `@MaskFile()` or `@L1Mask()`.
      layer: the name of the layer it masks, e.g. 'hidden_0'.
      initializer: re-draws the masked layer's kernel for its mask (as
        `SparseTraining.initializer`); None keeps the layer's own draw.

    Raises:
      ConfigError: for a topology that is not one, or an initializer that is
        not callable.
    """
    if not isinstance(topology, Topology):
      raise ConfigError(
          'FixedTopology.topology must be a topology (@Random(), @Spatial(), '
          f'@MaskFile(), @L1Mask()); got {topology!r}')
    masking.check_initializer('FixedTopology', initializer)
    self.topology = topology
    self.layer = layer
    self.initializer = initializer

  @property
  def method(self) -> str:
    return f'fixed_{self.topology.name}'

  def attach(self, name: str, network: tf.Module, targets: Sequence[tf.Module],
             rng: np.random.Generator,
             soft_targets: bool = False) -> masking.SparseNetwork:
    """Installs the topology's mask on the layer, all-ones masks elsewhere.

    Args:
      name: the network's short name, e.g. 'q'.
      network: the built online network, with SparseWrappers.
      targets: its target networks, which carry the same masks.
      rng: the run's seeded generator (random topologies, initialiser).
      soft_targets: whether the agent updates the targets softly.

    Returns:
      The network's sparse state, with masks that never change.

    Raises:
      ConfigError: if the network has no such layer, or the topology does
        not fit it.
    """
    layers = masking.sparse_layers(network)
    names = [layer.layer.name for layer in layers]
    if self.layer not in names:
      raise ConfigError(f'FixedTopology.layer {self.layer!r} is not a layer '
                        f'of network {name!r}; its layers are {names}')
    masked = layers[names.index(self.layer)]
    mask = self.topology.mask(
        MaskedLayer(name, self.layer, tuple(masked.kernel.shape),
                    tuple(network.input_tensor_spec.shape)), rng)
    sparsity = 1.0 - float(mask.mean())
    masks = [mask if layer is masked else np.ones(layer.mask.shape,
                                                   np.float32)
             for layer in layers]
    sparse_network = masking.SparseNetwork(
        name, network, updaters.Static(), sparsity,
        {layer_name: sparsity if layer_name == self.layer else 0.0
         for layer_name in names},
        targets, method=self.method, soft_targets=soft_targets,
        seed=int(rng.integers(2**31 - 1)))
    if self.initializer is not None:
      masked.kernel.assign(
          self.initializer(masked.kernel.numpy(), mask, rng))
    sparse_network.install_masks(masks)
    return sparse_network
