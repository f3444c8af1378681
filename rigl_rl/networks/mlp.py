"""Multi-layer perceptrons: the networks of classic control and MuJoCo."""
from typing import Callable, List, Sequence, Union

import gin
import tf_keras

from rigl_rl import checks

Initializer = tf_keras.initializers.Initializer


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


@gin.configurable
def mlp_layers(num_outputs: int,
               wrap: Callable[[tf_keras.layers.Layer], tf_keras.layers.Layer],
               hidden_units: Sequence[int] = (512, 512),
               width: float = 1.0,
               hidden_bias: bool = True,
               weight_decay: float = 0.0,
               output_kernel_initializer: Union[str, Initializer] = (
                   'glorot_uniform'),
               output_bias_initializer: Union[str, Initializer] = 'zeros'
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

  Returns:
    The layers, named hidden_0, hidden_1, ..., output.

  Raises:
    ConfigError: for hidden units that are not positive integers, or a
      width that is not a positive number.
  """
  checks.int_lists('mlp_layers', hidden_units=hidden_units)
  checks.positive_numbers('mlp_layers', width=width)
  regularizer = l2_regularizer(weight_decay)
  layers = [
      tf_keras.layers.Dense(
          scaled_units(units, width),
          activation='relu',
          use_bias=hidden_bias,
          kernel_initializer=relu_initializer(),
          kernel_regularizer=regularizer,
          name=f'hidden_{i}') for i, units in enumerate(hidden_units)
  ]
  layers.append(
      tf_keras.layers.Dense(
          num_outputs,
          kernel_initializer=output_kernel_initializer,
          bias_initializer=output_bias_initializer,
          kernel_regularizer=regularizer,
          name='output'))
  return [wrap(layer) for layer in layers]
