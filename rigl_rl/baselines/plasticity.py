"""Periodic interventions that restore plasticity: Reset and ReDo.

Both act on the online networks only (the target networks catch up at their
next update, as in Nikishin et al. 2022 and Sokar et al. 2023), reset the
optimizer slots of every weight they change, and keep masked entries of a
sparse network at exactly zero.
"""
from typing import Dict

import gin
import tensorflow as tf

from rigl_rl.analysis import diagnostics
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking
from rigl_rl.training import hooks


def _fresh_values(initializer, variable: tf.Variable,
                  rng: tf.random.Generator) -> tf.Tensor:
  """A new draw of `initializer`, seeded from the run's generator."""
  config = initializer.get_config()
  if 'seed' in config:
    config['seed'] = int(rng.uniform([], 0, 2**31 - 1, dtype=tf.int64))
  return type(initializer).from_config(config)(variable.shape, variable.dtype)


def _replace(variable: tf.Variable, where: tf.Tensor, values: tf.Tensor,
             optimizer) -> None:
  """Writes `values` where `where` is True and clears those optimizer slots."""
  variable.assign(tf.where(where, values, variable))
  keep = tf.cast(tf.logical_not(where), variable.dtype)
  for slot in masking.optimizer_slots(optimizer, variable):
    slot.assign(slot * keep)


def _reinitialise(layer, where_kernel, where_bias, optimizer, rng) -> None:
  """Re-draws the chosen kernel and bias entries of a maskable layer."""
  inner = masking.inner_layer(layer)
  fresh = _fresh_values(inner.kernel_initializer, inner.kernel, rng)
  if isinstance(layer, masking.SparseWrapper):
    fresh *= layer.mask
  _replace(inner.kernel, where_kernel, fresh, optimizer)
  if inner.use_bias:
    _replace(inner.bias, where_bias,
             _fresh_values(inner.bias_initializer, inner.bias, rng), optimizer)


class Intervention(hooks.TrainStepHook):
  """Changes every trained network each `interval` train steps, on the last
  training batch.

  It never acts at step 0 or at the last step, so the final network is a
  trained one.
  """

  name = ''
  # What each value `apply` returns is, for TensorBoard.
  descriptions: Dict[str, str] = {}

  def __init__(self, interval: int):
    if interval < 1:
      raise ConfigError(
          f'{type(self).__name__}.interval must be >= 1, got {interval}')
    super().__init__(interval)

  def is_due(self, t: int, total_train_steps: int) -> bool:
    return 0 < t < total_train_steps and t % self.interval == 0

  def due(self, run) -> bool:
    return not run.done and super().due(run)

  def at_interval(self, run) -> None:
    for trained in run.bundle.trained:
      logged = self.apply(trained, run.last_batch, run.rng)
      if run.train_writer is None:
        continue
      with run.train_writer.as_default(step=run.train_step):
        for key, value in logged.items():
          tf.summary.scalar(f'Plasticity/{self.name}/{trained.name}/{key}',
                            value, description=self.descriptions[key])

  def apply(self, trained, experience,
            rng: tf.random.Generator) -> Dict[str, float]:
    """Changes one network; returns what to log, keyed by a short name.

    Masked layers keep their masks: re-drawn weights are masked too.

    Args:
      trained: a `base.TrainedNetwork`.
      experience: the last training batch.
      rng: the run's generator, for re-initialisation.
    """
    raise NotImplementedError


@gin.configurable
class Reset(Intervention):
  """Re-initialises the last layers (Nikishin et al. 2022)."""

  name = 'reset'
  descriptions = {'layers_reset': 'Layers re-initialised at this train step.'}

  def __init__(self, interval: int = gin.REQUIRED, last_layers: int = 1):
    """Creates the intervention.

    Args:
      interval: train steps between resets.
      last_layers: how many of the last Dense/Conv2D layers to reset
        (Obando-Ceron et al. G.7 reset the last one).
    """
    super().__init__(interval)
    if last_layers < 1:
      raise ConfigError(f'Reset.last_layers must be >= 1, got {last_layers}')
    self.last_layers = last_layers

  def apply(self, trained, experience, rng):
    del experience
    layers = masking.maskable_layers(trained.network)[-self.last_layers:]
    for layer in layers:
      inner = masking.inner_layer(layer)
      everywhere = tf.ones(inner.kernel.shape, tf.bool)
      bias_everywhere = (tf.ones(inner.bias.shape, tf.bool)
                         if inner.use_bias else None)
      _reinitialise(layer, everywhere, bias_everywhere, trained.optimizer, rng)
    return {'layers_reset': float(len(layers))}


def _input_rows(kernel_shape, dormant: tf.Tensor) -> tf.Tensor:
  """Booleans over a kernel: the entries fed by the dormant units before it."""
  units = int(dormant.shape[0])
  if len(kernel_shape) == 4:  # Conv2D after a conv map: input channels.
    return tf.broadcast_to(dormant[None, None, :, None], kernel_shape)
  inputs = int(kernel_shape[0])
  if inputs % units:
    raise ValueError(f'cannot map {units} units onto a kernel of shape '
                     f'{kernel_shape}')
  # A flattened [height, width, channels] map repeats the channels.
  rows = tf.gather(dormant, tf.range(inputs) % units)
  return tf.broadcast_to(rows[:, None], kernel_shape)


@gin.configurable
class ReDo(Intervention):
  """Recycles dormant neurons (Sokar et al. 2023).

  Each tau-dormant hidden unit, scored after its ReLU on the last training
  batch, gets fresh incoming weights and bias, and zero outgoing weights. As
  Dopamine's `labs/redo` (`NeuronRecycler(network='resnet')`) on a residual
  network, only units whose outgoing weights silence them are recycled: the
  first conv of each block and the dense layers, not the convs whose output
  the skip connections carry.
  """

  name = 'redo'
  descriptions = {'recycled_fraction': 'Fraction of the hidden units '
                                       'recycled as dormant at this step.'}

  def __init__(self, interval: int = gin.REQUIRED, threshold: float = 0.1):
    """Creates the intervention.

    Args:
      interval: train steps between recycling (Sokar et al.: 1,000).
      threshold: tau (Obando-Ceron et al. G.5 find 0.1 best).
    """
    super().__init__(interval)
    self.threshold = threshold

  def apply(self, trained, experience, rng):
    activations, _ = diagnostics.unit_activations(trained.network,
                                                  trained.inputs(experience))
    recycled, units = 0, 0
    for activation in activations:
      if activation.consumer is None:
        continue
      dormant = diagnostics.dormant_units(activation.value, self.threshold)
      units += int(dormant.shape[0])
      count = int(tf.reduce_sum(tf.cast(dormant, tf.int32)))
      if not count:
        continue
      recycled += count
      inner = masking.inner_layer(activation.layer)
      incoming = tf.broadcast_to(dormant, inner.kernel.shape)
      _reinitialise(activation.layer, incoming, dormant, trained.optimizer,
                    rng)
      kernel = masking.inner_layer(activation.consumer).kernel
      _replace(kernel, _input_rows(kernel.shape, dormant),
               tf.zeros_like(kernel), trained.optimizer)
    return {'recycled_fraction': recycled / max(units, 1)}

