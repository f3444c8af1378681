"""What happens inside a network while it trains.

The measures of Graesser et al. 2022 (gradient signal-to-noise, section 7) and
Obando-Ceron et al. 2024 (section 4.5 and 5.2): dormant neurons (Sokar et al.
2023), effective rank of the features (Kumar et al. 2021), Q-value and
parameter norms, per-example gradient correlations (Lyle et al. 2023), and
pictures of the masks. The functions take tensors and return tensors;
`Diagnostics` computes them on a fixed probe batch for the run loop to log.
"""
import contextlib
import dataclasses
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf
import tf_keras

from rigl_rl import logs
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking
from rigl_rl.training import hooks


def neuron_scores(activation: tf.Tensor) -> tf.Tensor:
  """Sokar et al.'s score of each unit: its mean |activation| over the batch
  (and positions, for conv maps) divided by the layer's average of that.

  Args:
    activation: [batch, units] or [batch, height, width, units].

  Returns:
    [units] scores; all zero when the whole layer is silent.
  """
  axes = list(range(activation.shape.rank - 1))
  mean_abs = tf.reduce_mean(tf.abs(activation), axis=axes)
  return tf.math.divide_no_nan(mean_abs, tf.reduce_mean(mean_abs))


def dormant_units(activation: tf.Tensor, threshold: float) -> tf.Tensor:
  """[units] booleans: True where the score is <= threshold (tau-dormant)."""
  return neuron_scores(activation) <= threshold


def dormant_fractions(activations: Sequence[tf.Tensor],
                      threshold: float) -> Tuple[List[float], float]:
  """Fraction of tau-dormant units per layer, and over all units together."""
  dormant = [dormant_units(a, threshold) for a in activations]
  per_layer = [float(tf.reduce_mean(tf.cast(d, tf.float32))) for d in dormant]
  total = sum(int(tf.reduce_sum(tf.cast(d, tf.int32))) for d in dormant)
  units = sum(int(d.shape[0]) for d in dormant)
  return per_layer, total / max(units, 1)


def srank(features: tf.Tensor, delta: float = 0.01) -> int:
  """Effective rank (Kumar et al. 2021): the fewest singular values of the
  [batch, features] matrix whose sum reaches (1 - delta) of the total."""
  singular = tf.linalg.svd(tf.cast(features, tf.float32), compute_uv=False)
  total = tf.reduce_sum(singular)
  if total <= 0:
    return 0
  cumulative = (tf.cumsum(singular) / total).numpy()
  # The tolerance keeps an exact (1 - delta) from missing by rounding.
  return int(np.argmax(cumulative >= 1.0 - delta - 1e-6)) + 1


def _per_example_rows(per_example_grads: Sequence[tf.Tensor]):
  """Each [batch, ...] gradient as a [batch, parameters] matrix."""
  return [tf.reshape(g, [tf.shape(g)[0], -1]) for g in per_example_grads]


def gradient_snr(per_example_grads: Sequence[tf.Tensor]) -> tf.Tensor:
  """Mean over parameters of |mean| / std of their per-example gradients.

  Every parameter counts, masked ones included (Graesser et al. 2022,
  section 7). The std is the population std over the batch; a parameter whose
  gradient is identical for every example (e.g. always zero behind a dead
  unit) has no measurable signal-to-noise and counts as 0.
  """
  total, count = 0.0, 0
  # Variable by variable: concatenating them would copy every gradient.
  for rows in _per_example_rows(per_example_grads):
    mean = tf.reduce_mean(rows, axis=0)
    std = tf.math.reduce_std(rows, axis=0)
    total += tf.reduce_sum(
        tf.where(std > 0, tf.abs(mean) / tf.where(std > 0, std, 1.0), 0.0))
    count += int(rows.shape[1])
  return total / count


def gradient_correlation(per_example_grads: Sequence[tf.Tensor]) -> tf.Tensor:
  """[batch, batch] cosine similarities of the per-example gradient vectors
  (the normalised gradient covariance of Lyle et al. 2023)."""
  gram = tf.add_n([
      tf.matmul(rows, rows, transpose_b=True)
      for rows in _per_example_rows(per_example_grads)
  ])
  norms = tf.sqrt(tf.linalg.diag_part(gram))
  return tf.math.divide_no_nan(gram, norms[:, None] * norms[None, :])


def correlation_image(matrix: np.ndarray, cell: int = 2) -> np.ndarray:
  """A [1, H, W, 3] uint8 heat map of values in [-1, 1]: dark blue for +1,
  white for 0, dark red for -1, as in Obando-Ceron et al.'s Figure 14."""
  value = np.clip(np.asarray(matrix, np.float64), -1.0, 1.0)[..., None]
  white = np.ones(3)
  blue, red = np.array([0.03, 0.19, 0.42]), np.array([0.40, 0.0, 0.05])
  rgb = np.where(value >= 0, white + value * (blue - white),
                 white - value * (red - white))
  rgb = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)
  return (255 * rgb).round().astype(np.uint8)[None]


def mask_image(mask: np.ndarray) -> np.ndarray:
  """A [1, inputs, outputs, 1] image of a mask in [0, 1]; a conv mask is
  summed over its spatial dimensions and divided by their size."""
  mask = np.asarray(mask, np.float32)
  if mask.ndim == 4:
    mask = mask.sum(axis=(0, 1)) / (mask.shape[0] * mask.shape[1])
  return mask[None, :, :, None]


# Colours of `unit_mask_image`: viridis' ends, as 000's Figures 4-9 show
# inputs "on" in yellow; the grouping's own input in red; white gaps.
_ON, _OFF = (253, 231, 37), (68, 1, 84)
_MARK, _GAP = (220, 20, 20), (255, 255, 255)


def unit_mask_image(mask: np.ndarray, input_shape, units, cell: int = 4
                    ) -> np.ndarray:
  """A [1, H', W', 3] uint8 image of the inputs some units see, as 000's
  Figures 4-9: one row per unit, its C channels side by side as H x W grids.

  For a layer fed the flattened (H, W, C) observation (input (row, col, c)
  is (row * W + col) * C + c, Keras' Flatten). When the units are a whole
  multiple r of the inputs, unit j's grouping belongs to input j // r
  (000 A.4), which is marked red.

  Args:
    mask: the layer's [inputs, units] mask.
    input_shape: (H, W, C).
    units: the units to show, in order.
    cell: pixels per input.
  """
  mask = np.asarray(mask) > 0
  height, width, channels = (int(dim) for dim in input_shape)
  n_in, n_out = mask.shape
  repeat = n_out // n_in if n_out % n_in == 0 else 0
  rows = []
  for unit in units:
    grid = mask[:, unit].reshape(height, width, channels)
    rgb = np.where(grid[..., None], np.array(_ON), np.array(_OFF))
    if repeat:
      row, col, channel = np.unravel_index(unit // repeat,
                                           (height, width, channels))
      rgb[row, col, channel] = _MARK
    gap = np.full((height, 1, 3), _GAP)
    panels = [piece for c in range(channels)
              for piece in (rgb[:, :, c], gap)][:-1]
    rows += [np.concatenate(panels, axis=1),
             np.full((1, channels * (width + 1) - 1, 3), _GAP)]
  image = np.concatenate(rows[:-1], axis=0)
  image = np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)
  return image.astype(np.uint8)[None]


def feeds_on_observation(layer, input_spec) -> bool:
  """Whether a Dense layer reads the whole flattened (H, W, C) observation
  of a network with input spec `input_spec` (a critic's nested
  (observation, action) input holds no image)."""
  if tf.nest.is_nested(input_spec):
    return False
  input_shape = tuple(input_spec.shape)
  shape = tuple(layer.mask.shape)
  return (len(shape) == 2 and len(input_shape) == 3 and
          shape[0] == int(np.prod(input_shape)))


@dataclasses.dataclass
class UnitActivation:
  """A hidden layer's units and the post-ReLU activation they are scored on.

  Attributes:
    layer: the Dense or Conv2D layer (its SparseWrapper when wrapped).
    value: [batch, units] or [batch, height, width, units].
    consumer: the one layer the units feed, whose input rows are their
      outgoing weights; None when another path (a residual skip) carries
      them past it, so ReDo cannot silence them through it.
  """
  layer: tf_keras.layers.Layer
  value: tf.Tensor
  consumer: Optional[tf_keras.layers.Layer] = None


def _has_relu(layer) -> bool:
  return masking.inner_layer(layer).activation is tf_keras.activations.relu


def unit_activations(network: tf.Module, inputs
                     ) -> Tuple[List[UnitActivation], tf.Tensor]:
  """The hidden units of a sequential network and their activations.

  Units are scored after their ReLU, as Dopamine's `labs/redo` records them.
  A layer without an activation of its own (Impala's convs) is scored on the
  ReLU that follows it, after any pooling: the stack conv at the first
  residual block's entry, a block's second conv at the next block's entry
  or the final ReLU. A linear output that reaches the next layer without a
  ReLU (the last block of a stack) has no units to score, and neither has
  the output layer. A residual block reports its first conv through
  `call_with_activations`. A layer made of maskable layers (`heads`' noisy
  dense layer or dueling head) is scored as one, in the name of its first
  (the noisy layer's mu), on its output, noise off.

  Args:
    network: a sequential Keras network (TF-Agents `Sequential`).
    inputs: what the network is called on.

  Returns:
    (the scored units in layer order, the output of the last maskable
    layer, e.g. the Q-values).
  """
  layers = getattr(network, 'layers', None)
  if layers is None:
    raise ValueError(f'{network.name} is not a sequential Keras network')
  maskable = masking.maskable_layers(network)
  maskable_ids = {id(layer) for layer in maskable}
  hidden = {id(layer) for layer in maskable[:-1]}
  scored: List[UnitActivation] = []
  awaiting: List[UnitActivation] = []  # Their consumer is the next layer.
  pending = None  # (linear layer, whether it can have a consumer)
  x = output = inputs
  for layer in layers:
    if hasattr(layer, 'call_with_activations'):
      # The skip path carries the block's input past its convs.
      awaiting = []
      if pending is not None:
        scored.append(UnitActivation(pending[0], tf.nn.relu(x)))
      x, inner, last = layer.call_with_activations(x)
      scored.extend(UnitActivation(*fields) for fields in inner)
      pending = (last, False)
      continue
    x = layer(x)
    # A layer made of maskable layers (a noisy dense layer, a dueling head)
    # counts as its first one: its units are scored on its own output.
    parts = ([] if id(layer) in maskable_ids else
             masking.maskable_layers(layer))
    if parts:
      for activation in awaiting:
        activation.consumer = parts[0]
      awaiting, pending = [], None
      if id(parts[-1]) not in hidden:
        output = x
      elif getattr(layer, 'activation', None) is tf_keras.activations.relu:
        scored.append(UnitActivation(parts[0], x))
        awaiting.append(scored[-1])
      else:
        pending = (parts[0], True)
      continue
    if isinstance(layer, tf_keras.layers.ReLU) and pending is not None:
      scored.append(UnitActivation(pending[0], x))
      if pending[1]:
        awaiting.append(scored[-1])
      pending = None
    elif id(layer) in maskable_ids:
      for activation in awaiting:
        activation.consumer = layer
      awaiting, pending = [], None
      if id(layer) not in hidden:
        output = x
        continue
      if _has_relu(layer):
        scored.append(UnitActivation(layer, x))
        awaiting.append(scored[-1])
      else:
        pending = (layer, True)
  return scored, output


# What TensorFlow's pfor logs when it vectorises the kernel gradient of a
# Conv2D over per-example inputs: it falls back to a while_loop, which gives
# the same gradients, only slower. Harmless here, and logged once per trace.
PFOR_CONV_NOTICE = 'Conv2DBackpropFilter uses a while_loop. Fix that!'


# Each measure's TensorBoard description, by the part of its tag after
# Diagnostics/<net>/.
DESCRIPTIONS = {
    'dormant': 'Fraction of tau-dormant units (Sokar et al. 2023) on the '
               'probe batch.',
    'srank': 'Effective rank of the last hidden features (Kumar et al. 2021).',
    'q_mean': 'Mean output (Q or value) on the probe batch.',
    'q_variance': 'Variance of the outputs on the probe batch.',
    'q_norm': 'Mean L2 norm of the output vectors on the probe batch.',
    'parameter_norm': 'Global L2 norm of the trainable variables.',
    'gradient_snr': 'Signal-to-noise ratio of the per-example gradients '
                    '(Graesser et al. 2022).',
    'gradient_correlation': 'Cosine similarity of per-example gradients: '
                            'blue +1, white 0, red -1.',
    'ever_active': 'Fraction of the maskable weights active at some point '
                   'so far.',
    'mask': 'The mask, inputs x outputs (conv: averaged over positions); '
            'white is active.',
    'unit_masks': 'The inputs some units see, one row per unit, the '
                  'channels side by side (000 Figures 4-9): yellow on, red '
                  'the input whose grouping it is.',
}


def description(tag: str) -> str:
  """The description of a Diagnostics/<net>/<measure>[/...] tag."""
  return DESCRIPTIONS[tag.split('/')[2]]


@gin.configurable
class Diagnostics(hooks.TrainStepHook):
  """Computes the diagnostics of every network of an agent on a probe batch,
  every `interval` train steps and at the end of the run.

  The probe batch is drawn from replay once, at the first computation, and
  kept (and checkpointed) so every point of a curve sees the same inputs.
  """

  def __init__(self,
               interval: int = gin.REQUIRED,
               probe_batch_size: int = 512,
               gradient_batch_size: int = 64,
               dormant_threshold: float = 0.025,
               srank_delta: float = 0.01,
               mask_images: bool = True,
               unit_masks: int = 4):
    """Checks and stores the configuration.

    Args:
      interval: train steps between computations.
      probe_batch_size: transitions in the probe batch (activations, srank,
        Q statistics).
      gradient_batch_size: the first this many probe transitions give the
        per-example gradients (SNR and the correlation image).
      dormant_threshold: tau of Sokar et al. 2023 (their default 0.025;
        Obando-Ceron et al. G.5 use 0.1).
      srank_delta: delta of Kumar et al. 2021.
      mask_images: also log an image of each mask (of the layers that
        are allocated some sparsity), and, of a layer fed the flattened image
        observation, the inputs `unit_masks` of its units (evenly spread)
        see (`unit_mask_image`).
      unit_masks: how many units those images show.

    Raises:
      ConfigError: for sizes below 2 or an interval below 1.
    """
    if interval < 1:
      raise ConfigError(f'Diagnostics.interval must be >= 1, got {interval}')
    if not 2 <= gradient_batch_size <= probe_batch_size:
      raise ConfigError(
          'Diagnostics needs 2 <= gradient_batch_size <= probe_batch_size, got '
          f'{gradient_batch_size} and {probe_batch_size}')
    super().__init__(interval)
    self.probe_batch_size = probe_batch_size
    self.gradient_batch_size = gradient_batch_size
    self.dormant_threshold = dormant_threshold
    self.srank_delta = srank_delta
    self.mask_images = mask_images
    self.unit_masks = unit_masks
    # What the run's checkpoint holds: the probe batch and whether it is set.
    self.state = tf.Module(name='diagnostics')
    self.state.has_probe = tf.Variable(False, name='has_probe')
    self._functions = {}
    self._names: Dict[str, List[str]] = {}
    self._last: Dict[str, float] = {}

  def bind(self, run) -> Dict[str, object]:
    """Creates the probe variables (before a checkpoint restores them)."""
    self._replay, self._rng = replay, rng = run.experience, run.rng
    self._structure = tf.function(
        lambda: replay.sample(self.probe_batch_size, rng)
    ).get_concrete_function().structured_outputs
    self.state.probe = [
        tf.Variable(tf.zeros(t.shape, t.dtype), trainable=False)
        for t in tf.nest.flatten(self._structure)
    ]
    return {'diagnostics': self.state}

  def at_interval(self, run) -> None:
    """Computes the diagnostics now and logs them."""
    scalars, images = self.compute(run.bundle.trained, run.bundle.sparse)
    self._last = scalars
    if run.train_writer is None:
      return
    with run.train_writer.as_default(step=run.train_step):
      for tag, value in scalars.items():
        tf.summary.scalar(tag, value, description=description(tag))
      for tag, image in images.items():
        tf.summary.image(tag, image, description=description(tag))

  def finish(self, run) -> None:
    if self._acted != run.train_step:
      self.act(run)

  def results(self) -> Dict[str, object]:
    return {'diagnostics': self._last}

  def probe(self):
    """The fixed probe batch, drawn from replay the first time."""
    if not bool(self.state.has_probe.numpy()):
      sample = self._replay.sample(self.probe_batch_size, self._rng)
      for variable, value in zip(self.state.probe, tf.nest.flatten(sample)):
        variable.assign(value)
      self.state.has_probe.assign(True)
    return tf.nest.pack_sequence_as(
        self._structure, [tf.convert_to_tensor(v) for v in self.state.probe])

  def _compiled(self, trained):
    """The compiled (outputs, gradient statistics) functions of a network."""
    if trained.name not in self._functions:

      def example_gradients(example):
        batch_of_one = tf.nest.map_structure(lambda t: t[None], example)
        with tf.GradientTape() as tape:
          loss = tf.reduce_sum(trained.per_example_loss(batch_of_one))
        return tape.gradient(loss, trained.network.trainable_variables)

      def gradient_statistics(experience):
        # Vectorised over the examples (pfor), not a Python loop.
        grads = tf.vectorized_map(example_gradients, experience)
        return gradient_snr(grads), gradient_correlation(grads)

      def outputs(experience):
        activations, output = unit_activations(trained.network,
                                               trained.inputs(experience))
        return [activation.value for activation in activations], output

      self._functions[trained.name] = (tf.function(outputs),
                                       tf.function(gradient_statistics))
    return self._functions[trained.name]

  def _scored_names(self, trained, experience) -> List[str]:
    """The names of the layers `unit_activations` scores, in its order."""
    if trained.name not in self._names:
      one = tf.nest.map_structure(lambda t: t[:1], trained.inputs(experience))
      self._names[trained.name] = [
          masking.inner_layer(activation.layer).name
          for activation in unit_activations(trained.network, one)[0]
      ]
    return self._names[trained.name]

  def compute(self, trained_networks, sparse_networks):
    """Returns (scalars, images) keyed by their tag under Diagnostics/.

    Args:
      trained_networks: the agent's `base.TrainedNetwork`s.
      sparse_networks: the agent's `masking.SparseNetwork`s.
    """
    experience = self.probe()
    head = tf.nest.map_structure(lambda t: t[:self.gradient_batch_size],
                                 experience)
    scalars: Dict[str, float] = {}
    images: Dict[str, np.ndarray] = {}
    for trained in trained_networks:
      prefix = f'Diagnostics/{trained.name}'
      outputs_fn, gradient_statistics_fn = self._compiled(trained)
      hidden, values = outputs_fn(experience)
      names = self._scored_names(trained, experience)
      per_layer, total = dormant_fractions(hidden, self.dormant_threshold)
      for name, fraction in zip(names, per_layer):
        scalars[f'{prefix}/dormant/{name}'] = fraction
      scalars[f'{prefix}/dormant/total'] = total
      if hidden:
        features = tf.reshape(hidden[-1], [hidden[-1].shape[0], -1])
        scalars[f'{prefix}/srank'] = srank(features, self.srank_delta)
      if trained.outputs_are_values:
        scalars[f'{prefix}/q_mean'] = float(tf.reduce_mean(values))
        scalars[f'{prefix}/q_variance'] = float(tf.math.reduce_variance(values))
        scalars[f'{prefix}/q_norm'] = float(
            tf.reduce_mean(tf.norm(values, axis=-1)))
      scalars[f'{prefix}/parameter_norm'] = float(
          tf.linalg.global_norm(trained.network.trainable_variables))
      with logs.without(tf.get_logger(), PFOR_CONV_NOTICE):  # Traced on the first call.
        snr, correlation = gradient_statistics_fn(head)
      scalars[f'{prefix}/gradient_snr'] = float(snr)
      images[f'{prefix}/gradient_correlation'] = correlation_image(
          correlation.numpy())
    for network in sparse_networks:
      prefix = f'Diagnostics/{network.name}'
      scalars[f'{prefix}/ever_active'] = network.ever_active_fraction()
      if self.mask_images:
        for layer in network.layers:
          # A layer allocated no sparsity keeps an all-ones mask: no picture.
          if network.sparsities[layer.layer.name] > 0:
            images[f'{prefix}/mask/{layer.layer.name}'] = mask_image(
                layer.mask.numpy())
            spec = network.network.input_tensor_spec
            if self.unit_masks and feeds_on_observation(layer, spec):
              n_out = int(layer.mask.shape[1])
              units = np.linspace(0, n_out - 1, self.unit_masks).astype(int)
              images[f'{prefix}/unit_masks/{layer.layer.name}'] = (
                  unit_mask_image(layer.mask.numpy(), tuple(spec.shape),
                                  units))
    return scalars, images
