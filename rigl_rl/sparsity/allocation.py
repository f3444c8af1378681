"""Per-layer sparsity allocation for one network (DESIGN section 4).

Each allocation is a gin-configurable function of the same signature,
(shapes, sparsity, dense_layers) -> layer sparsities, chosen by reference:
`SparseTraining.allocation = @erk`, `@erdos_renyi` or `@uniform`.
"""
from typing import Callable, Dict, Iterable, Mapping, Sequence

import gin
import numpy as np

from rigl_rl import checks
from rigl_rl.errors import ConfigError

Shapes = Mapping[str, Sequence[int]]
# (layer name -> kernel shape, target sparsity S, dense layer names)
#   -> layer name -> sparsity.
Allocation = Callable[[Shapes, float, Iterable[str]], Dict[str, float]]

# The network decides these; gin binds only an allocation's own parameters.
_CALLER_ARGUMENTS = ['shapes', 'sparsity', 'dense_layers']


def check_sparsity(sparsity: float) -> None:
  """Raises ConfigError unless 0 <= sparsity < 1."""
  if not checks.is_number(sparsity) or not 0.0 <= sparsity < 1.0:
    raise ConfigError(
        f'sparsity must be a number in [0, 1), got {sparsity!r}; set e.g. '
        "--gin_bindings='SPARSITY = 0.9'")


def _sparse_layer_names(shapes: Shapes, sparsity: float,
                        dense_layers: Iterable[str]):
  """The layers that share the budget, after checking the arguments."""
  check_sparsity(sparsity)
  dense_layers = set(dense_layers)
  unknown = dense_layers - set(shapes)
  if unknown:
    raise ConfigError(f'dense_layers names unknown layers {sorted(unknown)}; '
                      f'the maskable layers are {sorted(shapes)}')
  return [name for name in shapes if name not in dense_layers]


@gin.configurable(denylist=_CALLER_ARGUMENTS)
def uniform(shapes: Shapes, sparsity: float,
            dense_layers: Iterable[str] = ()) -> Dict[str, float]:
  """Gives every maskable layer the network's target sparsity S.

  Args:
    shapes: layer name -> kernel shape.
    sparsity: target sparsity S of the network, in [0, 1).
    dense_layers: names of layers kept dense and left out of the budget.

  Returns:
    layer name -> sparsity: S, or 0 for the layers in `dense_layers`.

  Raises:
    ConfigError: for a sparsity outside [0, 1), or a dense layer name that is
      not in `shapes`.
  """
  sparse_names = set(_sparse_layer_names(shapes, sparsity, dense_layers))
  return {name: sparsity if name in sparse_names else 0.0 for name in shapes}


def _scaled(shapes: Shapes, sparsity: float, dense_layers: Iterable[str],
            raw_density: Callable[[Sequence[int]], float]) -> Dict[str, float]:
  """Densities epsilon * raw_density(shape), epsilon solved for the budget.

  Over the layers not in `dense_layers`, the active count is (1 - S) times
  their total (up to rounding per layer). A layer whose density would exceed
  1 is made dense and the solve repeats.
  """
  sparse_names = _sparse_layer_names(shapes, sparsity, dense_layers)
  sizes = {name: int(np.prod(shapes[name])) for name in sparse_names}
  raw = {name: raw_density(shapes[name]) for name in sparse_names}
  budget = (1.0 - sparsity) * sum(sizes.values())
  forced_dense = set()
  while True:
    free = [name for name in sparse_names if name not in forced_dense]
    if not free:
      break
    remaining = budget - sum(sizes[name] for name in forced_dense)
    epsilon = remaining / sum(raw[name] * sizes[name] for name in free)
    densest = max(free, key=lambda name: raw[name])
    if epsilon * raw[densest] <= 1.0:
      break
    # Only the densest layer is fixed per round: epsilon shrinks after it.
    forced_dense.add(densest)
  result = {name: 0.0 for name in shapes}
  for name in sparse_names:
    if name not in forced_dense:
      result[name] = 1.0 - epsilon * raw[name]
  return result


@gin.configurable(denylist=_CALLER_ARGUMENTS)
def erdos_renyi(shapes: Shapes, sparsity: float,
                dense_layers: Iterable[str] = ()) -> Dict[str, float]:
  """Erdos-Renyi: density proportional to (n_in + n_out) / (n_in * n_out).

  Only the fan-in and fan-out count; conv spatial dims are ignored. Arguments,
  return value and errors are as for `uniform`, the budget as for `erk`.
  """
  def raw_density(shape):
    n_in, n_out = shape[-2], shape[-1]
    return (n_in + n_out) / (n_in * n_out)

  return _scaled(shapes, sparsity, dense_layers, raw_density)


@gin.configurable(denylist=_CALLER_ARGUMENTS)
def erk(shapes: Shapes, sparsity: float, dense_layers: Iterable[str] = (),
        power_scale: float = 1.0) -> Dict[str, float]:
  """Erdos-Renyi-Kernel, the default: density proportional to
  (sum of kernel dims / product of kernel dims) ** power_scale.

  The scale is solved so that the layers not in `dense_layers` keep
  (1 - S) of their weights (up to rounding per layer); a layer whose density
  would exceed 1 is made dense and the solve repeats.

  Args:
    shapes: layer name -> kernel shape.
    sparsity: target sparsity S of the network, in [0, 1).
    dense_layers: names of layers kept dense and left out of the budget.
    power_scale: exponent on the raw densities; 0 gives every layer in the
      budget the same density. In gin: `erk.power_scale = 0.5`.

  Returns:
    layer name -> sparsity.

  Raises:
    ConfigError: for a sparsity outside [0, 1), or a dense layer name that is
      not in `shapes`.
  """
  def raw_density(shape):
    return (sum(shape) / np.prod(shape))**power_scale

  return _scaled(shapes, sparsity, dense_layers, raw_density)


# What SparseTraining.allocation may name, for error messages.
ALLOCATIONS = (erk, erdos_renyi, uniform)
