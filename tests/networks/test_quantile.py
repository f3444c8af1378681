"""The implicit quantile network: cosines by hand, the torso split at its
Flatten, the embedding multiplied into the features."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tf_agents.specs import tensor_spec

from rigl_rl.errors import ConfigError
from rigl_rl.networks import conv
from rigl_rl.networks import mlp
from rigl_rl.networks import quantile

_MINATAR = tensor_spec.BoundedTensorSpec((10, 10, 4), tf.uint8, 0, 1)


def test_cosine_features_by_hand():
  features = quantile.cosine_features(tf.constant([[0.0, 0.5]]), 3)
  # cos(pi * i * tau), i = 1, 2, 3.
  np.testing.assert_allclose(features, [[[1, 1, 1], [0, -1, 0]]], atol=1e-6)
  assert features.shape == (1, 2, 3)


def test_layers_are_the_torso_the_embedding_then_the_head():
  net = quantile.implicit_quantile_network(
      conv.minatar_layers, 6, lambda layer: layer, _MINATAR, 'IQN')
  names = [layer.name for layer in net.layers]
  assert names == ['rescale', 'conv_0', 'flatten', 'quantile_embedding',
                   'hidden_0', 'output']
  embedding = net.layers[3]
  # 64 cosines to the torso's 8 * 8 * 16 = 1024 features.
  assert tuple(embedding.kernel.shape) == (64, 1024)


def test_quantile_values_are_the_head_on_features_times_embedding():
  net = quantile.implicit_quantile_network(
      conv.minatar_layers, 3, lambda layer: layer, _MINATAR, 'IQN',
      num_cosines=4)
  observation = tf.constant(
      np.random.default_rng(0).integers(0, 2, (2, 10, 10, 4)), tf.uint8)
  taus = tf.constant([[0.1, 0.9, 0.5], [0.3, 0.3, 0.7]])
  values, _ = net(observation, taus=taus)
  assert values.shape == (2, 3, 3)
  rescale, conv_0, flatten, embedding, hidden, output = net.layers
  features = flatten(conv_0(rescale(observation)))
  cosines = np.cos(math.pi * taus.numpy()[..., None] * np.arange(1, 5),
                   dtype=np.float32)
  embedded = tf.nn.relu(cosines @ embedding.kernel.numpy() +
                        embedding.bias.numpy())
  expected = output(hidden(features[:, None, :] * embedded))
  np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
  # Equal taus give equal quantiles: the second example's first two.
  np.testing.assert_allclose(values[1, 0], values[1, 1], rtol=1e-6)


def test_every_torso_splits_at_its_flatten():
  spec = tensor_spec.BoundedTensorSpec((84, 84, 4), tf.uint8, 0, 255)
  for network_fn, head in ((conv.nature_cnn_layers, ['hidden_0', 'output']),
                           (conv.impala_resnet_layers,
                            ['hidden_0', 'output'])):
    net = quantile.implicit_quantile_network(
        lambda *args, fn=network_fn, **kwargs: fn(*args, width=0.25,
                                                  **kwargs),
        4, lambda layer: layer, spec, 'IQN')
    names = [layer.name for layer in net.layers]
    assert names[-3:] == ['quantile_embedding'] + head
    assert names[names.index('quantile_embedding') - 1] == 'flatten'


def test_a_builder_without_a_flatten_is_refused():
  with pytest.raises(ValueError, match='Flatten'):
    quantile.implicit_quantile_network(
        mlp.mlp_layers, 2, lambda layer: layer,
        tensor_spec.TensorSpec((4,), tf.float32), 'IQN')


def test_num_cosines_must_be_a_positive_integer():
  with pytest.raises(ConfigError, match='num_cosines'):
    quantile.implicit_quantile_network(
        conv.minatar_layers, 2, lambda layer: layer, _MINATAR, 'IQN',
        num_cosines=0)
