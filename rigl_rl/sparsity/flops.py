"""FLOP counts of dense and sparse networks, as in the RigL papers.

Convention (Evci et al. 2020, "Rigging the lottery"): a multiply-add is 2
FLOPs. A Dense or Conv2D layer whose kernel has N entries, of which a fraction
`density` is active, evaluated at P output positions (P = 1 for Dense,
H_out * W_out for Conv2D), costs 2 * density * N * P FLOPs per example at
inference, plus units_out * P for the bias if it has one. Activations,
pooling, flatten and the like are not counted.

A train step costs 3x the forward pass per example (forward, gradient with
respect to the activations, gradient with respect to the weights); a RigL
update step needs the dense gradient, i.e. 2 * f_S + f_D instead of 3 * f_S.
"""
import dataclasses
import math
from typing import List, Mapping, Optional, Sequence, Tuple

import tensorflow as tf
import tf_keras

from rigl_rl.sparsity import masking


@dataclasses.dataclass(frozen=True)
class LayerCost:
  """The shape information that fixes one layer's FLOPs."""
  name: str
  kernel_shape: Tuple[int, ...]
  output_positions: int
  use_bias: bool

  def flops(self, density: float = 1.0) -> float:
    """Per-example inference FLOPs with a fraction `density` of the kernel."""
    positions = self.output_positions
    kernel = 2.0 * density * math.prod(self.kernel_shape) * positions
    bias = self.kernel_shape[-1] * positions if self.use_bias else 0
    return kernel + bias


def layer_costs(network: tf.Module) -> List[LayerCost]:
  """The costs of every Dense and Conv2D of a built network, in layer order.

  Args:
    network: a built network; SparseWrappers are costed as their inner layer.

  Returns:
    One LayerCost per maskable layer, named after the (inner) Keras layer.

  Raises:
    ValueError: if a layer is not built or its spatial output size is unknown.
  """
  costs = []
  for layer in map(masking.inner_layer, masking.maskable_layers(network)):
    config = layer.get_build_config()
    if config is None:
      raise ValueError(f'layer {layer.name!r} is not built; call the network '
                       'on an input (or create its variables) first')
    positions = 1
    if not isinstance(layer, tf_keras.layers.Dense):
      # Conv2D: every kernel entry is used once per output pixel.
      output_shape = tf.TensorShape(
          layer.compute_output_shape(config['input_shape']))
      spatial = (output_shape[1:-1] if layer.data_format == 'channels_last'
                 else output_shape[2:])
      if not spatial.is_fully_defined():
        raise ValueError(f'layer {layer.name!r} has an unknown spatial output '
                         f'shape {output_shape}')
      positions = spatial.num_elements()
    costs.append(
        LayerCost(name=layer.name,
                  kernel_shape=tuple(int(d) for d in layer.kernel.shape),
                  output_positions=positions,
                  use_bias=bool(layer.use_bias)))
  return costs


def inference_flops(costs: Sequence[LayerCost],
                    densities: Optional[Mapping[str, float]] = None) -> float:
  """Per-example forward FLOPs; layers missing from `densities` are dense."""
  densities = densities or {}
  return sum(cost.flops(densities.get(cost.name, 1.0)) for cost in costs)


def training_flops_per_step(inference: float, batch_size: int) -> float:
  """FLOPs of one train step: 3x the forward pass per example."""
  return 3.0 * inference * batch_size


def dense_gradient_extra_flops(sparse_inference: float, dense_inference: float,
                               batch_size: int) -> float:
  """Extra FLOPs of a RigL update step over a sparse train step.

  The dense gradient makes it 2 * f_S + f_D instead of 3 * f_S per example.
  """
  return batch_size * (dense_inference - sparse_inference)
