"""Convolutional Q-network torsos for pixel observations.

Each builder returns a list of Keras layers for a TF-Agents `Sequential`,
with the signature of `mlp.mlp_layers` so `dqn_agent.network_fn` takes any of
them. `width` multiplies every conv's channels and every hidden dense layer's
units. Observations arrive as uint8 and are rescaled by the first layer.
"""
from typing import Callable, List, Sequence, Union

import gin
import tensorflow as tf
import tf_keras

from rigl_rl import checks
from rigl_rl.networks import mlp

Initializer = tf_keras.initializers.Initializer
Wrap = Callable[[tf_keras.layers.Layer], tf_keras.layers.Layer]


class Rescale(tf_keras.layers.Layer):
  """Casts observations to float32 and multiplies them by `scale`."""

  def __init__(self, scale: float, **kwargs):
    super().__init__(**kwargs)
    self.scale = scale

  def call(self, inputs):
    return tf.cast(inputs, tf.float32) * self.scale

  def get_config(self):
    return {**super().get_config(), 'scale': self.scale}


class ResidualBlock(tf_keras.layers.Layer):
  """x + conv(relu(conv(relu(x)))), Impala's residual block.

  The two convs are (possibly masked) layers of their own, so sparsity,
  FLOP counts and diagnostics see them like any other layer.
  """

  def __init__(self, conv_0: tf_keras.layers.Layer,
               conv_1: tf_keras.layers.Layer, **kwargs):
    super().__init__(**kwargs)
    self.conv_0 = conv_0
    self.conv_1 = conv_1

  def call_with_activations(self, inputs):
    """The block's output, with what dormant-neuron scoring needs.

    Returns:
      (output, [(conv_0, its post-ReLU activation, conv_1)], conv_1): the
      first conv's units feed only the second conv, whose input rows are
      their outgoing weights; the second conv's output is added to the skip
      path, so it has no activation of its own here.
    """
    hidden = tf.nn.relu(self.conv_0(tf.nn.relu(inputs)))
    output = inputs + self.conv_1(hidden)
    return output, [(self.conv_0, hidden, self.conv_1)], self.conv_1

  def call(self, inputs):
    return self.call_with_activations(inputs)[0]


def _conv(filters: int, kernel: int, stride: int, name: str,
          activation: Union[str, None] = 'relu', padding: str = 'same',
          use_bias: bool = True, regularizer=None) -> tf_keras.layers.Conv2D:
  return tf_keras.layers.Conv2D(
      filters, kernel, strides=stride, padding=padding, activation=activation,
      use_bias=use_bias, kernel_initializer=mlp.relu_initializer(),
      kernel_regularizer=regularizer, name=name)


def _head(num_outputs: int, wrap: Wrap, hidden_units: Sequence[int],
          width: float, hidden_bias: bool, weight_decay: float,
          output_kernel_initializer, output_bias_initializer,
          hidden_layer: mlp.DenseFactory, output_layer: mlp.DenseFactory
          ) -> List[tf_keras.layers.Layer]:
  """Flatten, then the MLP's ReLU dense layers and linear output layer."""
  return [tf_keras.layers.Flatten(name='flatten')] + mlp.mlp_layers(
      num_outputs, wrap, hidden_units=hidden_units, width=width,
      hidden_bias=hidden_bias, weight_decay=weight_decay,
      output_kernel_initializer=output_kernel_initializer,
      output_bias_initializer=output_bias_initializer,
      hidden_layer=hidden_layer, output_layer=output_layer)


@gin.configurable('MinAtarNet')
def minatar_layers(num_outputs: int,
                   wrap: Wrap,
                   width: float = 1.0,
                   hidden_bias: bool = True,
                   weight_decay: float = 0.0,
                   output_kernel_initializer: Union[str, Initializer] = (
                       'glorot_uniform'),
                   output_bias_initializer: Union[str, Initializer] = 'zeros',
                   hidden_layer: mlp.DenseFactory = mlp.dense_layer,
                   output_layer: mlp.DenseFactory = mlp.dense_layer
                   ) -> List[tf_keras.layers.Layer]:
  """Young & Tian's MinAtar network: Conv 16 3x3 (valid), Dense 128.

  Args:
    num_outputs: units of the output layer.
    wrap: applied to every Conv2D and Dense layer, e.g. to mask it.
    width: multiplier on the conv's channels and the dense layer's units.
    hidden_bias: False builds the conv and hidden dense layer without biases.
    weight_decay: L2 coefficient on every kernel.
    output_kernel_initializer: the output layer's kernel initializer.
    output_bias_initializer: the output layer's bias initializer.
    hidden_layer: builds the hidden dense layers (`mlp.mlp_layers`).
    output_layer: builds the output layer (`mlp.mlp_layers`).

  Returns:
    The layers: rescale, conv_0, flatten, hidden_0, output.

  Raises:
    ConfigError: for a width that is not a positive number.
  """
  checks.positive_numbers('MinAtarNet', width=width)
  regularizer = mlp.l2_regularizer(weight_decay)
  return [
      Rescale(1.0, name='rescale'),  # MinAtar channels are already 0/1.
      wrap(_conv(mlp.scaled_units(16, width), 3, 1, 'conv_0', padding='valid',
                 use_bias=hidden_bias, regularizer=regularizer)),
  ] + _head(num_outputs, wrap, (128,), width, hidden_bias, weight_decay,
            output_kernel_initializer, output_bias_initializer, hidden_layer,
            output_layer)


@gin.configurable('NatureCNN')
def nature_cnn_layers(num_outputs: int,
                      wrap: Wrap,
                      width: float = 1.0,
                      padding: str = 'same',
                      hidden_bias: bool = True,
                      weight_decay: float = 0.0,
                      output_kernel_initializer: Union[str, Initializer] = (
                          'glorot_uniform'),
                      output_bias_initializer: Union[str, Initializer] = (
                          'zeros'),
                      hidden_layer: mlp.DenseFactory = mlp.dense_layer,
                      output_layer: mlp.DenseFactory = mlp.dense_layer
                      ) -> List[tf_keras.layers.Layer]:
  """The Nature DQN CNN (Mnih et al. 2015; Table 7 of Graesser et al.).

  Conv 32 8x8/4, Conv 64 4x4/2, Conv 64 3x3/1, Dense 512.

  Args:
    num_outputs: units of the output layer.
    wrap: applied to every Conv2D and Dense layer, e.g. to mask it.
    width: multiplier on every conv's channels and the dense units.
    padding: 'same' (Dopamine's network, 11x11x64 features at 84x84) or
      'valid' (Mnih et al.'s, 7x7x64).
    hidden_bias: False builds convs and hidden dense layer without biases.
    weight_decay: L2 coefficient on every kernel.
    output_kernel_initializer: the output layer's kernel initializer.
    output_bias_initializer: the output layer's bias initializer.
    hidden_layer: builds the hidden dense layers (`mlp.mlp_layers`).
    output_layer: builds the output layer (`mlp.mlp_layers`).

  Returns:
    The layers: rescale, conv_0..2, flatten, hidden_0, output.

  Raises:
    ConfigError: for a width that is not a positive number.
  """
  checks.positive_numbers('NatureCNN', width=width)
  regularizer = mlp.l2_regularizer(weight_decay)
  convs = [
      wrap(_conv(mlp.scaled_units(filters, width), kernel, stride, f'conv_{i}',
                 padding=padding, use_bias=hidden_bias,
                 regularizer=regularizer))
      for i, (filters, kernel, stride) in enumerate(
          ((32, 8, 4), (64, 4, 2), (64, 3, 1)))
  ]
  return [Rescale(1 / 255, name='rescale')] + convs + _head(
      num_outputs, wrap, (512,), width, hidden_bias, weight_decay,
      output_kernel_initializer, output_bias_initializer, hidden_layer,
      output_layer)


@gin.configurable('ImpalaResNet')
def impala_resnet_layers(num_outputs: int,
                         wrap: Wrap,
                         width: float = 1.0,
                         stack_channels: Sequence[int] = (32, 64, 64),
                         blocks_per_stack: int = 2,
                         hidden_bias: bool = True,
                         weight_decay: float = 0.0,
                         output_kernel_initializer: Union[str, Initializer] = (
                             'glorot_uniform'),
                         output_bias_initializer: Union[str, Initializer] = (
                             'zeros'),
                         hidden_layer: mlp.DenseFactory = mlp.dense_layer,
                         output_layer: mlp.DenseFactory = mlp.dense_layer
                         ) -> List[tf_keras.layers.Layer]:
  """The Impala ResNet (Espeholt et al. 2018) as in Table 7 of Graesser et
  al. and Table 4 of Obando-Ceron et al.

  Each stack: Conv 3x3/1, max-pool 3x3/2 ('same'), then `blocks_per_stack`
  residual blocks of two Conv 3x3/1; no batch norm. Then ReLU, Dense 512.

  Args:
    num_outputs: units of the output layer.
    wrap: applied to every Conv2D and Dense layer, e.g. to mask it.
    width: multiplier on every conv's channels and the dense units
      (Obando-Ceron et al. scale it to 3 and 5).
    stack_channels: channels of each stack before the multiplier.
    blocks_per_stack: residual blocks per stack.
    hidden_bias: False builds convs and hidden dense layer without biases.
    weight_decay: L2 coefficient on every kernel.
    output_kernel_initializer: the output layer's kernel initializer.
    output_bias_initializer: the output layer's bias initializer.
    hidden_layer: builds the hidden dense layers (`mlp.mlp_layers`).
    output_layer: builds the output layer (`mlp.mlp_layers`).

  Returns:
    The layers: rescale, per stack a conv, pool and blocks, then ReLU,
    flatten, hidden_0, output.

  Raises:
    ConfigError: for a width that is not a positive number, channels that
      are not positive integers, or a negative or fractional block count.
  """
  checks.positive_numbers('ImpalaResNet', width=width)
  checks.int_lists('ImpalaResNet', stack_channels=stack_channels)
  checks.ints('ImpalaResNet', minimum=0, blocks_per_stack=blocks_per_stack)
  regularizer = mlp.l2_regularizer(weight_decay)
  layers = [Rescale(1 / 255, name='rescale')]
  for s, channels in enumerate(stack_channels):
    filters = mlp.scaled_units(channels, width)
    layers.append(wrap(_conv(filters, 3, 1, f'stack_{s}_conv',
                             activation=None, use_bias=hidden_bias,
                             regularizer=regularizer)))
    layers.append(tf_keras.layers.MaxPool2D(3, 2, padding='same',
                                            name=f'stack_{s}_pool'))
    for b in range(blocks_per_stack):
      convs = [
          wrap(_conv(filters, 3, 1, f'stack_{s}_block_{b}_conv_{i}',
                     activation=None, use_bias=hidden_bias,
                     regularizer=regularizer)) for i in range(2)
      ]
      layers.append(ResidualBlock(*convs, name=f'stack_{s}_block_{b}'))
  layers.append(tf_keras.layers.ReLU(name='relu'))
  return layers + _head(num_outputs, wrap, (512,), width, hidden_bias,
                        weight_decay, output_kernel_initializer,
                        output_bias_initializer, hidden_layer, output_layer)
