"""Multi-layer perceptrons: the networks of classic control and MuJoCo."""
from typing import Callable, List, Sequence, Union

import gin
import tf_keras

from rigl_rl import checks

Initializer = tf_keras.initializers.Initializer
Wrap = Callable[[tf_keras.layers.Layer], tf_keras.layers.Layer]
# (units, wrap, *, activation, use_bias, kernel_initializer,
# bias_initializer, kernel_regularizer, name) -> a layer whose maskable
# parts went through `wrap`: how a torso's head builds its dense layers.
DenseFactory = Callable[..., tf_keras.layers.Layer]


def scaled_units(units: int, width: float) -> int:
  """Units (or channels) of a hidden layer under a width multiplier."""
  return max(1, int(round(units * width)))


def relu_initializer() -> Initializer:
  """He initialisation for the kernels of ReLU layers."""
  return tf_keras.initializers.VarianceScaling(
      scale=2.0, mode='fan_in', distribution='truncated_normal')


def l2_regularizer(weight_decay: float):
  """L2 on a kernel, or None for no weight decay."""
  return tf_keras.regularizers.l2(weight_decay) if weight_decay else None


def dense_layer(units: int, wrap: Wrap, **kwargs) -> tf_keras.layers.Layer:
  """The plain `DenseFactory`: a Keras Dense layer through `wrap`."""
  return wrap(tf_keras.layers.Dense(units, **kwargs))


@gin.configurable
def mlp_layers(num_outputs: int,
               wrap: Callable[[tf_keras.layers.Layer], tf_keras.layers.Layer],
               hidden_units: Sequence[int] = (512, 512),
               width: float = 1.0,
               hidden_bias: bool = True,
               weight_decay: float = 0.0,
               output_kernel_initializer: Union[str, Initializer] = (
                   'glorot_uniform'),
               output_bias_initializer: Union[str, Initializer] = 'zeros',
               hidden_layer: DenseFactory = dense_layer,
               output_layer: DenseFactory = dense_layer
               ) -> List[tf_keras.layers.Layer]:
  """ReLU hidden layers and a linear output layer.

  Args:
    num_outputs: units of the output layer (e.g. one Q-value per action).
    wrap: applied to every layer, e.g. to wrap it in a mask.
    hidden_units: units per hidden layer before the width multiplier.
    width: multiplier on hidden units.
    hidden_bias: False builds hidden layers without biases (Ganaie et al.).
    weight_decay: L2 coefficient on every kernel.
    output_kernel_initializer: the output layer's kernel initializer; agents
      pass their own, as the head's scale matters more than the torso's.
    output_bias_initializer: the output layer's bias initializer.
    hidden_layer: builds each hidden layer (agents pass
      `heads.noisy_dense(...)` for noisy nets).
    output_layer: builds the output layer (`heads.dueling(...)` for a
      dueling head).

  Returns:
    The layers, named hidden_0, hidden_1, ..., output, each through `wrap`.

  Raises:
    ConfigError: for hidden units that are not positive integers, or a
      width that is not a positive number.
  """
  checks.int_lists('mlp_layers', hidden_units=hidden_units)
  checks.positive_numbers('mlp_layers', width=width)
  regularizer = l2_regularizer(weight_decay)
  layers = [
      hidden_layer(
          scaled_units(units, width),
          wrap,
          activation='relu',
          use_bias=hidden_bias,
          kernel_initializer=relu_initializer(),
          bias_initializer='zeros',
          kernel_regularizer=regularizer,
          name=f'hidden_{i}') for i, units in enumerate(hidden_units)
  ]
  layers.append(
      output_layer(
          num_outputs,
          wrap,
          activation=None,
          use_bias=True,
          kernel_initializer=output_kernel_initializer,
          bias_initializer=output_bias_initializer,
          kernel_regularizer=regularizer,
          name='output'))
  return layers
