"""The single-hidden-layer Q-network of paper 000 (Davelouis, Martin & Bowling)
on the flattened MinAtar observation.

000 Table 1: the 10x10xC observation flattened to 400 (Breakout) or 600
(Space Invaders) inputs, one ReLU hidden layer of 1,600 / 1,800 units with
biases, and a linear output layer with biases. Its hidden layer is the one a
fixed topology (`sparsity/topologies.py`) masks, and the one 000 freezes at
its random initial weights (section 4.3) or learns (section 4.4).
"""
from typing import Callable, List, Union

import gin
import tf_keras

from rigl_rl import checks
from rigl_rl.errors import ConfigError
from rigl_rl.networks import conv
from rigl_rl.networks import mlp

Initializer = tf_keras.initializers.Initializer

# The layer a fixed topology masks: the only hidden layer.
HIDDEN_LAYER = 'hidden_0'


@gin.configurable('FlatQNet')
def flat_layers(num_outputs: int,
                wrap: Callable[[tf_keras.layers.Layer], tf_keras.layers.Layer],
                hidden_units: int = gin.REQUIRED,
                train_hidden: bool = True,
                hidden_l1: float = 0.0,
                output_kernel_initializer: Union[str, Initializer] = (
                    'glorot_uniform'),
                output_bias_initializer: Union[str, Initializer] = 'zeros',
                hidden_layer: mlp.DenseFactory = mlp.dense_layer,
                output_layer: mlp.DenseFactory = mlp.dense_layer
                ) -> List[tf_keras.layers.Layer]:
  """Flatten, one ReLU hidden layer with biases, a linear output layer.

  Args:
    num_outputs: units of the output layer (one Q-value per action).
    wrap: applied to the hidden and output Dense layers, e.g. to mask them.
    hidden_units: units of the hidden layer (000 Table 1: 1,600 Breakout,
      1,800 Space Invaders).
    train_hidden: False freezes the hidden layer (kernel and bias) at its
      random initial values: its variables are not trainable, so no
      optimizer ever sees them and only the output layer learns.
    hidden_l1: L1 coefficient on the hidden kernel (000 eq. 4, the L1-Reg
      source runs); 0 for none.
    output_kernel_initializer: the output layer's kernel initializer.
    output_bias_initializer: the output layer's bias initializer.
    hidden_layer: builds the hidden layer (`mlp.mlp_layers`).
    output_layer: builds the output layer (`mlp.mlp_layers`).

  Returns:
    The layers: rescale, flatten, hidden_0, output.

  Raises:
    ConfigError: for hidden units that are not a positive integer, or an L1
      coefficient that is negative.
  """
  checks.ints('FlatQNet', hidden_units=hidden_units)
  if not checks.is_number(hidden_l1) or hidden_l1 < 0:
    raise ConfigError(f'FlatQNet.hidden_l1 must be a number >= 0 (0 for no '
                      f'L1 penalty), got {hidden_l1!r}')
  hidden = hidden_layer(
      hidden_units,
      wrap,
      activation='relu',
      use_bias=True,
      kernel_initializer=mlp.relu_initializer(),
      bias_initializer='zeros',
      kernel_regularizer=(tf_keras.regularizers.l1(hidden_l1)
                          if hidden_l1 else None),
      trainable=train_hidden,
      name=HIDDEN_LAYER)
  output = output_layer(
      num_outputs,
      wrap,
      activation=None,
      use_bias=True,
      kernel_initializer=output_kernel_initializer,
      bias_initializer=output_bias_initializer,
      kernel_regularizer=None,
      name='output')
  return [
      conv.Rescale(1.0, name='rescale'),  # MinAtar channels are already 0/1.
      tf_keras.layers.Flatten(name='flatten'),
      hidden,
      output,
  ]
