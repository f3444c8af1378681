"""Masked layers and the sparse state of one network.

Maskable layers (Dense, Conv2D) are wrapped in tfmot's PruneLowMagnitude, whose
`mask` variables hold the topology. Speed comes from one invariant instead of
tfmot's per-call `kernel * mask` assignment: the sparse optimizer
(`sparsity/optimizer.py`) multiplies gradients by the mask, so masked entries
keep zero gradients and zero Adam moments and the stored kernel stays exactly
sparse. The forward pass
can then use the stored kernel as it is, and the gradient of the loss with
respect to that kernel is the dense gradient RigL needs.
"""
from typing import Callable, Dict, List, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf
import tf_keras
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_wrapper

from rigl_rl import methods
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import allocation as allocation_lib
from rigl_rl.sparsity import blocks
from rigl_rl.sparsity import updaters

MASKABLE_LAYERS = (tf_keras.layers.Dense, tf_keras.layers.Conv2D)

# (kernel, mask, rng) -> the kernel's new values, for a layer's initial mask.
SparseInit = Callable[[np.ndarray, np.ndarray, np.random.Generator],
                      np.ndarray]


def _unit_fans(mask: np.ndarray):
  """Active connections into each output unit and out of each input unit.

  A conv mask counts every kernel position: [kh, kw, in, out] sums to
  [in, out] first.
  """
  mask2d = mask.sum(axis=(0, 1)) if mask.ndim == 4 else mask
  return mask2d.sum(axis=0), mask2d.sum(axis=1)


@gin.configurable
def unit_scaled_init(kernel: np.ndarray, mask: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
  """Re-draws a kernel for its mask, as google-research/rigl does.

  `rigl/rigl_tf2/init_utils.py` `unit_scaled_init_tf1` (method
  'fanavg_uniform', scale 1), which `rigl/rl/sparse_utils.py` `init_masks(
  fixed_sparse_init=True)` applies to every wrapped layer: each active entry
  from input i to output j is uniform with variance
  1 / max(1, (fan_in_j + fan_out_i) / 2), fans counted on the mask.

  Args:
    kernel: the layer's kernel; only its shape is used.
    mask: the layer's 0/1 mask, [in, out] or [kh, kw, in, out].
    rng: the run's seeded generator.

  Returns:
    The new kernel, zero where the mask is.
  """
  fan_in, fan_out = _unit_fans(mask)
  average = (fan_in[None, :] + fan_out[:, None]) / 2.0  # [in, out]
  limit = np.sqrt(3.0 / np.maximum(1.0, average))
  draw = rng.uniform(-1.0, 1.0, size=kernel.shape) * limit
  return (draw * mask).astype(kernel.dtype)


@gin.configurable
def density_scaled_init(kernel: np.ndarray, mask: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
  """Keeps the layer's own initial weights, divided by sqrt(layer density).

  The per-layer alternative to `unit_scaled_init` (rigl_rl's rule before it
  followed the reference; compare `layer_scaled_init` in
  `rigl/rigl_tf2/init_utils.py`, which re-draws instead of rescaling).

  Args:
    kernel: the layer's kernel as its initializer drew it.
    mask: the layer's 0/1 mask.
    rng: unused.

  Returns:
    The rescaled kernel (masked entries are zeroed by the caller).
  """
  del rng
  density = float(mask.mean())
  return kernel / np.sqrt(density) if density > 0 else kernel


class SparseWrapper(pruning_wrapper.PruneLowMagnitude):
  """PruneLowMagnitude whose forward pass reads the (already sparse) kernel.

  The mask variables, `pruning_step` and serialisation are tfmot's; mask
  changes come from a `MaskUpdater` instead of tfmot's per-call top-k, so the
  wrapper's own `pruning_schedule` is never consulted.
  """

  def call(self, inputs, training=None, **kwargs):
    del training  # Dense and Conv2D do not take it.
    return self.layer.call(inputs, **kwargs)

  @property
  def kernel(self) -> tf.Variable:
    return self.pruning_vars[0][0]

  @property
  def mask(self) -> tf.Variable:
    return self.pruning_vars[0][1]


def wrap_layer(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
  """Wraps a maskable layer in a SparseWrapper; returns others unchanged."""
  if isinstance(layer, MASKABLE_LAYERS):
    return SparseWrapper(layer, name=f'sparse_{layer.name}')
  return layer


def maskable_layers(network: tf.Module) -> List[tf_keras.layers.Layer]:
  """The Dense and Conv2D layers of a built network, wrapped or not, in order.

  A wrapped layer appears as its SparseWrapper.
  """

  def visit(module):
    if isinstance(module, (SparseWrapper,) + MASKABLE_LAYERS):
      return [module]
    children = getattr(module, 'layers', None)
    if children is None:  # Not a Keras model: tf.Module's traversal order.
      found = [
          m for m in module.submodules
          if isinstance(m, (SparseWrapper,) + MASKABLE_LAYERS)
      ]
      wrapped = {id(m.layer) for m in found if isinstance(m, SparseWrapper)}
      return [m for m in found if id(m) not in wrapped]
    return [layer for child in children for layer in visit(child)]

  return visit(network)


def inner_layer(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
  """The Dense or Conv2D layer itself, seen through its SparseWrapper if any."""
  return layer.layer if isinstance(layer, SparseWrapper) else layer


def sparse_layers(network: tf.Module) -> List[SparseWrapper]:
  """The SparseWrappers of a built network, in layer order."""
  layers = [
      layer for layer in maskable_layers(network)
      if isinstance(layer, SparseWrapper)
  ]
  names = [layer.layer.name for layer in layers]
  if len(set(names)) != len(names):
    raise ValueError(f'maskable layers need unique names, got {names}')
  return layers


def optimizer_slots(optimizer, variable) -> List[tf.Variable]:
  if optimizer is None:
    return []
  slots = []
  for slot_name in optimizer.get_slot_names():
    try:
      slots.append(optimizer.get_slot(variable, slot_name))
    except KeyError:
      pass  # Created lazily at the first step, as zeros.
  return slots


class SparseState(tf.Module):
  """What a network's sparse training adds to the run's checkpoint."""

  def __init__(self, layers: Sequence[SparseWrapper], seed: int):
    super().__init__(name='sparse_state')
    # Which connections have been active at any time.
    self.ever_active = [
        tf.Variable(tf.zeros(layer.mask.shape, tf.bool), trainable=False,
                    name=f'{layer.layer.name}_ever_active')
        for layer in layers
    ]
    # Draws of the mask updates (tie breaking, SET's growth).
    self.rng = tf.random.Generator.from_seed(seed)
    # The last mask update: its train step (-1: none yet), and per layer
    # [active, replaced, regrown] (`updaters.LayerChange`).
    self.update_step = tf.Variable(-1, dtype=tf.int64, trainable=False,
                                   name='update_step')
    self.changes = tf.Variable(tf.zeros([len(layers), 3], tf.int32),
                               trainable=False, name='changes')


class SparseNetwork:
  """The masks of one network, mirrored onto its target networks."""

  def __init__(self, name: str, network: tf.Module, updater,
               target_sparsity: float, sparsities: Dict[str, float],
               targets: Sequence[tf.Module] = (), method: str = '',
               soft_targets: bool = False, seed: int = 0,
               block_shape: blocks.BlockShape = None):
    """Creates the sparse state of a built network.

    Args:
      name: short name used in summaries, e.g. 'q' or 'actor'.
      network: the online network, already built, holding SparseWrappers.
      updater: the MaskUpdater that changes this network's masks.
      target_sparsity: the network's target sparsity S.
      sparsities: layer name -> allocated (final) sparsity.
      targets: target networks of the same structure. The agent's target
        update copies masks with the weights (TF-Agents copies non-trainable
        variables at tau 1).
      method: the method named in results; empty means the updater's name.
      soft_targets: whether the targets follow by soft (Polyak) updates. Then
        a mask change reaches them at once, with their entries outside the
        new mask zeroed (what the reference's masked forward pass does at the
        next soft update). Hard-updated targets keep the masks and weights
        they were synced with until the next sync, as in the reference.
      seed: seeds the mask updates' draws.
      block_shape: the (in, out) blocks of the sparse Dense kernels' masks
        (`blocks.layout`); None: unstructured. Each sparse layer's sparsity
        is rounded to a whole number of masked blocks.

    Raises:
      ConfigError: if a sparse Dense kernel is not divisible into blocks.
    """
    self.name = name
    self.method = method or updater.name
    self.network = network
    self.updater = updater
    self.target_sparsity = target_sparsity
    self.layers = sparse_layers(network)
    # A layer kept dense never changes, so it needs no blocks.
    self.layouts = [
        blocks.layout(layer.layer.name, layer.mask.shape,
                      block_shape if sparsities[layer.layer.name] else None)
        for layer in self.layers
    ]
    self.sparsities = {
        layer.layer.name: layout.quantize(sparsities[layer.layer.name])
        for layer, layout in zip(self.layers, self.layouts)
    }
    self.target_layers = [sparse_layers(target) for target in targets]
    self.soft_targets = soft_targets
    for target_layers in self.target_layers:
      if len(target_layers) != len(self.layers):
        raise ValueError('target network does not match the online network')
    self.state = SparseState(self.layers, seed)

  @property
  def ever_active(self) -> List[tf.Variable]:
    return self.state.ever_active

  def record_update(self, t: tf.Tensor, changes: Dict[str, tf.Tensor]) -> None:
    """Keeps what the mask update at train step t did, for the logs."""
    self.state.update_step.assign(tf.cast(t, tf.int64))
    self.state.changes.assign(
        tf.stack([changes[name] for name in self.layer_names]))

  @property
  def last_update_step(self) -> int:
    """The train step of the last mask update; -1 before the first."""
    return int(self.state.update_step.numpy())

  def last_update(self):
    """(train step, layer name -> `updaters.LayerChange`) of the last mask
    update; the step is -1 before the first."""
    counts = self.state.changes.numpy()
    return self.last_update_step, {
        name: updaters.LayerChange(*(int(value) for value in row))
        for name, row in zip(self.layer_names, counts)
    }

  @property
  def layer_names(self) -> List[str]:
    return [layer.layer.name for layer in self.layers]

  def init_masks(self, rng: np.random.Generator, sparse: bool,
                 initializer: Optional[SparseInit] = None) -> None:
    """Masks exactly round(s_l * B_l) of a layer's B_l blocks (entries,
    when unstructured) uniformly at random.

    Args:
      rng: the run's seeded generator.
      sparse: False starts from all-ones masks (gradual pruning).
      initializer: re-initialises every layer's kernel for its mask (dense
        layers too), e.g. `unit_scaled_init`, except a layer whose
        `keeps_initial_weights` attribute is true (a noisy layer's sigma,
        whose constant initial value is its noise scale); None keeps the
        layers' own initial weights.
    """
    masks = []
    for layer, layout in zip(self.layers, self.layouts):
      sparsity = self.sparsities[layer.layer.name] if sparse else 0.0
      flat = np.ones(layout.n_blocks, dtype=np.float32)
      flat[rng.choice(layout.n_blocks, layout.masked_blocks(sparsity),
                      replace=False)] = 0.0
      masks.append(layout.expand_np(flat))
    if initializer is not None:
      for layer, mask in zip(self.layers, masks):
        if not getattr(layer.layer, 'keeps_initial_weights', False):
          layer.kernel.assign(initializer(layer.kernel.numpy(), mask, rng))
    self.install_masks(masks)

  def install_masks(self, masks: Sequence[np.ndarray]) -> None:
    """Sets every layer's mask, zeroes masked kernel entries, syncs targets."""
    for index, (layer, mask) in enumerate(zip(self.layers, masks)):
      layer.mask.assign(mask)
      layer.kernel.assign(layer.kernel * mask)
      self._record_active(index)
    self.sync_targets()

  def _record_active(self, index: int) -> None:
    self.ever_active[index].assign(
        self.ever_active[index] | (self.layers[index].mask > 0))

  def ever_active_fraction(self) -> float:
    """Fraction of maskable entries that have been active at some time."""
    ever = sum(int(tf.reduce_sum(tf.cast(e, tf.int64)))
               for e in self.ever_active)
    return ever / sum(int(np.prod(e.shape)) for e in self.ever_active)

  def set_mask(self, index: int, new_mask: tf.Tensor, optimizer) -> None:
    """Installs a new mask for layer `index` and keeps every invariant.

    Dropped kernel entries become 0 (grown ones are already 0), and the
    optimizer slots of every entry not active both before and after are reset.
    """
    layer = self.layers[index]
    kept = layer.mask * new_mask
    layer.kernel.assign(layer.kernel * kept)
    for slot in optimizer_slots(optimizer, layer.kernel):
      slot.assign(slot * kept)
    layer.mask.assign(new_mask)
    self._record_active(index)
    if self.soft_targets:
      for target_layers in self.target_layers:
        target_layers[index].mask.assign(new_mask)
        target_layers[index].kernel.assign(
            target_layers[index].kernel * new_mask)

  def sync_targets(self) -> None:
    """Copies masks to the targets and zeroes their masked entries."""
    for target_layers in self.target_layers:
      for layer, target in zip(self.layers, target_layers):
        target.mask.assign(layer.mask)
        target.kernel.assign(target.kernel * layer.mask)

  def layer_density(self) -> Dict[str, float]:
    """layer name -> current fraction of active entries."""
    return {
        layer.layer.name: float(tf.reduce_mean(layer.mask))
        for layer in self.layers
    }

  def layer_sparsity(self) -> Dict[str, float]:
    """layer name -> current fraction of masked entries."""
    return {name: 1.0 - density
            for name, density in self.layer_density().items()}

  def masked_counts(self, trainable_only: bool = False):
    """(active, total) entries over the maskable kernels.

    Args:
      trainable_only: count only the kernels an optimizer trains (a frozen
        layer's weights are not parameters of the training).
    """
    # Keras leaves a frozen layer's variables trainable; the layer says.
    layers = [layer for layer in self.layers
              if layer.layer.trainable or not trainable_only]
    active = sum(int(tf.reduce_sum(layer.mask)) for layer in layers)
    total = sum(int(np.prod(layer.mask.shape)) for layer in layers)
    return active, total

  def target_counts(self):
    """(active, total) entries over the maskable kernels at the allocated
    sparsities: what gradual pruning ends with, and the others start with."""
    sizes = [int(np.prod(layer.mask.shape)) for layer in self.layers]
    active = sum(size - int(round(self.sparsities[name] * size))
                 for name, size in zip(self.layer_names, sizes))
    return active, sum(sizes)


def count_params(network: tf.Module,
                 sparse_network: Optional[SparseNetwork] = None):
  """(active, total) trainable parameters; masked entries are inactive."""
  total = sum(int(np.prod(v.shape)) for v in network.trainable_variables)
  if sparse_network is None:
    return total, total
  masked_active, masked_total = sparse_network.masked_counts(
      trainable_only=True)
  return total - masked_total + masked_active, total



def check_initializer(owner: str, initializer) -> None:
  """Refuses a sparse initializer that cannot be called.

  Args:
    owner: the gin name whose `initializer` it is, e.g. 'SparseTraining'.
    initializer: a `SparseInit` such as `@unit_scaled_init`, or None.

  Raises:
    ConfigError: if it is neither None nor callable.
  """
  if initializer is not None and not callable(initializer):
    raise ConfigError(
        f'{owner}.initializer must be @unit_scaled_init, '
        f'@density_scaled_init or None; got {initializer!r}')

@gin.configurable
class SparseTraining:
  """How one network is sparse: target sparsity, allocation and updater.

  Its absence means a dense network.
  """

  def __init__(self,
               updater=gin.REQUIRED,
               sparsity: float = gin.REQUIRED,
               allocation: allocation_lib.Allocation = allocation_lib.erk,
               dense_layers: Sequence[str] = (),
               initializer: Optional[SparseInit] = unit_scaled_init,
               block_shape: blocks.BlockShape = None):
    """Checks and stores the configuration.

    Args:
      updater: a MaskUpdater, e.g. `@RigL()` in gin.
      sparsity: the network's target sparsity S in [0, 1).
      allocation: how the sparsity spreads over the layers: `@erk` (with
        its `erk.power_scale`), `@erdos_renyi` or `@uniform`.
      dense_layers: names of layers kept dense and out of the budget.
      initializer: the sparsity-aware initialisation of methods that start
        sparse: `@unit_scaled_init` (the reference's), `@density_scaled_init`,
        or None to keep the layers' own initial weights. Methods that start
        dense (pruning) keep theirs, as in the reference, whose pruning
        configs set `init_masks.sparsity = 0`.
      block_shape: masks of sparse Dense kernels made of (in, out) blocks,
        e.g. (4, 1), for every method (`sparsity/blocks.py`); conv kernels
        stay unstructured. None: unstructured masks.

    Raises:
      ConfigError: for a sparsity outside [0, 1), an allocation that is not
        callable, an updater that is not a MaskUpdater or an initializer
        that is not callable, or a block shape that is not two positive
        integers.
    """
    allocation_lib.check_sparsity(sparsity)
    if not callable(allocation):
      names = ', '.join(f'@{f.__name__}' for f in allocation_lib.ALLOCATIONS)
      raise ConfigError(
          f'SparseTraining.allocation must be one of {names}; got '
          f'{allocation!r}')
    if not isinstance(updater, updaters.MaskUpdater):
      known = ', '.join(f'@{name}()' for name in methods.UPDATERS.values())
      raise ConfigError(f'SparseTraining.updater must be a mask updater '
                        f'({known}); got {updater!r}')
    check_initializer('SparseTraining', initializer)
    self.updater = updater
    self.sparsity = sparsity
    self.allocation = allocation
    self.dense_layers = tuple(dense_layers)
    self.initializer = initializer
    self.block_shape = blocks.check_block_shape(block_shape)

  @property
  def method(self) -> str:
    return self.updater.name

  def attach(self, name: str, network: tf.Module, targets: Sequence[tf.Module],
             rng: np.random.Generator,
             soft_targets: bool = False) -> SparseNetwork:
    """Allocates sparsity over a built network and initialises its masks.

    Args:
      name: short name used in summaries, e.g. 'q'.
      network: the built online network, with SparseWrappers.
      targets: its target networks (synced by the agent afterwards).
      rng: the run's seeded generator (masks and initial weights).
      soft_targets: whether the agent updates the targets softly (see
        `SparseNetwork`).
    """
    layers = sparse_layers(network)
    shapes = {layer.layer.name: tuple(layer.kernel.shape) for layer in layers}
    sparsities = self.allocation(shapes, self.sparsity, self.dense_layers)
    sparse_network = SparseNetwork(name, network, self.updater, self.sparsity,
                                   sparsities, targets,
                                   soft_targets=soft_targets,
                                   seed=int(rng.integers(2**31 - 1)),
                                   block_shape=self.block_shape)
    starts_sparse = self.updater.starts_sparse
    sparse_network.init_masks(
        rng, sparse=starts_sparse,
        initializer=self.initializer if starts_sparse else None)
    return sparse_network


def layer_wrapper(sparse) -> Callable:
  """The layer transform network builders apply: wrap if sparse, else keep.

  Args:
    sparse: a SparseTraining, LotteryTicket or FixedTopology, or None for a
      dense network.
  """
  return wrap_layer if sparse is not None else (lambda layer: layer)
