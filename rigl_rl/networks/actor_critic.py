"""Actor, critic and value networks for SAC and PPO.

Each is a TF-Agents `Sequential` around layers from a network function (such
as `mlp_layers`), so its Dense layers can be wrapped in masks, and the
diagnostics can walk its layers in order. Heads that turn the last layer's
outputs into a distribution or a scalar hold no maskable weights.
"""
from typing import List

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras
from tf_agents.networks import sequential

from rigl_rl.networks import build

tfd = tfp.distributions
tfb = tfp.bijectors

# SAC's log-std clipping (TF-Agents' std_clip_transform, Haarnoja et al.).
_LOG_STD_MIN, _LOG_STD_MAX = -20.0, 2.0


def _centre_and_half_range(action_spec):
  low = np.asarray(action_spec.minimum, np.float32) * np.ones(
      action_spec.shape, np.float32)
  high = np.asarray(action_spec.maximum, np.float32) * np.ones(
      action_spec.shape, np.float32)
  return (high + low) / 2.0, (high - low) / 2.0


def tanh_normal_actor(observation_spec, action_spec,
                      layers: List[tf_keras.layers.Layer],
                      name: str = 'ActorNetwork') -> sequential.Sequential:
  """SAC's actor: a Gaussian squashed by tanh into the action bounds.

  Args:
    observation_spec: the observation spec.
    action_spec: a bounded float vector spec of n actions.
    layers: layers whose last outputs 2n values: means, then log-stds.
    name: the network's name.

  Returns:
    A built network mapping observations to a distribution over actions.
  """
  centre, half_range = _centre_and_half_range(action_spec)

  def distribution(outputs):
    loc, log_std = tf.split(outputs, 2, axis=-1)
    log_std = tf.clip_by_value(log_std, _LOG_STD_MIN, _LOG_STD_MAX)
    return tfd.TransformedDistribution(
        tfd.MultivariateNormalDiag(loc, tf.exp(log_std)),
        tfb.Chain([tfb.Shift(centre), tfb.Scale(half_range), tfb.Tanh()]))

  return build.sequential_network(
      layers + [tf_keras.layers.Lambda(distribution)], observation_spec, name)


def tanh_normal_mode(distribution) -> tf.Tensor:
  """The deterministic action of a `tanh_normal_actor` distribution."""
  return distribution.bijector.forward(distribution.distribution.mode())


class _StateIndependentStd(tf_keras.layers.Layer):
  """A Gaussian whose mean comes from the inputs and whose std is learned
  per action dimension (TF-Agents' PPO actor, Schulman et al. 2017)."""

  def __init__(self, action_spec, initial_std: float, **kwargs):
    super().__init__(**kwargs)
    self._centre, self._half_range = _centre_and_half_range(action_spec)
    self._initial = float(np.log(np.expm1(initial_std)))  # softplus^-1
    self._size = int(np.prod(action_spec.shape))

  def build(self, input_shape):
    self.std_parameter = self.add_weight(
        'std_parameter', shape=[self._size],
        initializer=tf_keras.initializers.Constant(self._initial))

  def call(self, inputs):
    loc = self._centre + self._half_range * tf.tanh(inputs)
    scale = tf.nn.softplus(self.std_parameter) * tf.ones_like(loc)
    return tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale)


def gaussian_actor(observation_spec, action_spec,
                   layers: List[tf_keras.layers.Layer],
                   initial_std: float = 0.35,
                   name: str = 'ActorNetwork') -> sequential.Sequential:
  """PPO's continuous actor: a Gaussian with tanh-bounded means.

  Args:
    observation_spec: the observation spec.
    action_spec: a bounded float vector spec of n actions.
    layers: layers whose last outputs n means (before the tanh).
    initial_std: the std every action dimension starts with.
    name: the network's name.

  Returns:
    A built network mapping observations to a distribution over actions.
  """
  head = _StateIndependentStd(action_spec, initial_std, name='std')
  return build.sequential_network(layers + [head], observation_spec, name)


def categorical_actor(observation_spec, layers: List[tf_keras.layers.Layer],
                      name: str = 'ActorNetwork') -> sequential.Sequential:
  """PPO's discrete actor: a categorical over the last layer's logits."""
  head = tf_keras.layers.Lambda(
      lambda logits: tfd.Categorical(logits=logits, dtype=tf.int64))
  return build.sequential_network(layers + [head], observation_spec, name)


def _squeeze_last():
  return tf_keras.layers.Lambda(lambda values: tf.squeeze(values, -1))


def critic_network(observation_spec, action_spec,
                   layers: List[tf_keras.layers.Layer],
                   name: str = 'CriticNetwork') -> sequential.Sequential:
  """Q(s, a): observation and action concatenated, then `layers` (1 output).

  Returns:
    A built network mapping (observation, action) to [batch] values.
  """
  concat = tf_keras.layers.Lambda(
      lambda inputs: tf.concat([inputs[0], inputs[1]], axis=-1))
  return build.sequential_network([concat] + layers + [_squeeze_last()],
                                  (observation_spec, action_spec), name)


def value_network(observation_spec, layers: List[tf_keras.layers.Layer],
                  name: str = 'ValueNetwork') -> sequential.Sequential:
  """V(s): `layers` with 1 output, as [batch] values."""
  return build.sequential_network(layers + [_squeeze_last()],
                                  observation_spec, name)
