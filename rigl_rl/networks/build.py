"""Building a TF-Agents `Sequential` network's variables from a spec."""
from typing import List

import tensorflow as tf
import tf_keras
from tf_agents.networks import sequential
from tf_agents.specs import tensor_spec


def _sampleable(spec):
  # TF-Agents builds a network by calling it on a sample of its input spec,
  # and its sampler computes maximum + 1 in the spec's dtype: a uint8 pixel
  # spec bounded at 255 wraps to 0 and fails. The sample only sets shapes.
  if spec.dtype == tf.uint8:
    return tensor_spec.BoundedTensorSpec(spec.shape, tf.uint8, 0, 254,
                                         name=spec.name)
  return spec


def sequential_network(layers: List[tf_keras.layers.Layer], input_spec,
                       name: str) -> sequential.Sequential:
  """A Sequential of `layers` whose variables exist, for inputs of
  `input_spec`."""
  network = sequential.Sequential(layers, name=name)
  network.create_variables(tf.nest.map_structure(_sampleable, input_spec))
  return network
