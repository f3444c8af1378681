"""Implicit quantile networks (Dabney et al. 2018) over the existing torsos.

The network is a torso's layers up to its Flatten, a quantile embedding of
each tau (cosines, then a ReLU Dense to the feature width) multiplied into
the features, and the torso's own head (its hidden Dense layers and output
layer) applied per tau, as Dopamine's dopamine/jax/networks.py
`ImplicitQuantileNetwork`.
"""
import math
from typing import Callable, List, Sequence

import gin
import tensorflow as tf
import tf_keras
from tf_agents.networks import network

from rigl_rl import checks

Wrap = Callable[[tf_keras.layers.Layer], tf_keras.layers.Layer]


def dopamine_initializer() -> tf_keras.initializers.Initializer:
  """Dopamine's JAX IQN initializer, variance_scaling(1 / sqrt(3), fan_in,
  uniform): U(-l, l) with l = sqrt(sqrt(3) / fan_in)."""
  return tf_keras.initializers.VarianceScaling(
      scale=1 / math.sqrt(3.0), mode='fan_in', distribution='uniform')


def cosine_features(taus: tf.Tensor, num_cosines: int) -> tf.Tensor:
  """cos(pi * i * tau) for i = 1 .. num_cosines (Dopamine's JAX network
  counts from 1; Dabney et al. write i = 0 .. n - 1).

  Args:
    taus: [batch, num_taus] quantile fractions.
    num_cosines: n, the embedding's input width.

  Returns:
    [batch, num_taus, num_cosines].
  """
  i = tf.range(1, num_cosines + 1, dtype=tf.float32)
  return tf.cos(math.pi * taus[..., None] * i)


class ImplicitQuantileNetwork(network.Network):
  """Observation and taus -> quantile values [batch, num_taus, actions]."""

  def __init__(self, torso: Sequence[tf_keras.layers.Layer],
               embedding: tf_keras.layers.Layer,
               head: Sequence[tf_keras.layers.Layer], num_cosines: int,
               input_tensor_spec, name: str):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._torso = list(torso)
    self._embedding = embedding
    self._head = list(head)
    self.num_cosines = num_cosines

  @property
  def layers(self) -> List[tf_keras.layers.Layer]:
    """Every layer in the order the features flow through them: the
    torso's, the embedding, the head's."""
    return self._torso + [self._embedding] + self._head

  def call(self, observation, taus, step_type=None, network_state=(),
           training=False):
    del step_type  # Feed-forward.
    features = observation
    for layer in self._torso:
      features = layer(features, training=training)
    embedded = self._embedding(cosine_features(taus, self.num_cosines),
                               training=training)
    x = features[:, None, :] * embedded
    for layer in self._head:
      x = layer(x, training=training)
    return x, network_state


@gin.configurable
def implicit_quantile_network(network_fn, num_actions: int, wrap: Wrap,
                              observation_spec, name: str,
                              num_cosines: int = 64
                              ) -> ImplicitQuantileNetwork:
  """An IQN over `network_fn`'s torso, its variables built.

  Args:
    network_fn: a torso builder with `mlp.mlp_layers`' signature
      (`@MinAtarNet`, `@NatureCNN`, `@ImpalaResNet`); its layers up to the
      Flatten are the torso, the rest the head.
    num_actions: the head's outputs.
    wrap: applied to every Conv2D and Dense layer, the embedding included.
    observation_spec: the observation spec.
    name: the Keras name.
    num_cosines: the embedding's cosines (Dopamine's quantile_embedding_dim).

  Returns:
    The network.

  Raises:
    ConfigError: for num_cosines that is not a positive integer.
    ValueError: for a torso builder without a Flatten layer.
  """
  checks.ints('implicit_quantile_network', num_cosines=num_cosines)
  layers = network_fn(num_actions, wrap,
                      output_kernel_initializer=dopamine_initializer(),
                      output_bias_initializer='zeros')
  flat = [i for i, layer in enumerate(layers)
          if isinstance(layer, tf_keras.layers.Flatten)]
  if len(flat) != 1:
    raise ValueError(f'{network_fn} has no single Flatten to split at')
  torso, head = layers[:flat[0] + 1], layers[flat[0] + 1:]
  sample = tf.zeros([1] + observation_spec.shape.as_list(),
                    observation_spec.dtype)
  features = sample
  for layer in torso:
    features = layer(features)
  embedding = wrap(tf_keras.layers.Dense(
      int(features.shape[-1]), activation='relu',
      kernel_initializer=dopamine_initializer(), name='quantile_embedding'))
  net = ImplicitQuantileNetwork(torso, embedding, head, num_cosines,
                                observation_spec, name)
  net(sample, taus=tf.zeros([1, 1]))
  return net
