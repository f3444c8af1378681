"""Per-layer sparsity allocation for one network (DESIGN section 4)."""
from typing import Dict, Iterable, Mapping, Sequence

import numpy as np

from rigl_rl.errors import ConfigError

DISTRIBUTIONS = ('uniform', 'erdos_renyi', 'erdos_renyi_kernel')


def check_sparsity(sparsity: float) -> None:
  """Raises ConfigError unless 0 <= sparsity < 1."""
  if not 0.0 <= sparsity < 1.0:
    raise ConfigError(
        f'sparsity must be in [0, 1), got {sparsity}; set e.g. '
        "--gin_bindings='SPARSITY = 0.9'")


def _raw_density(shape: Sequence[int], method: str,
                 erk_power_scale: float) -> float:
  """Unnormalised density of a layer, before the scale epsilon."""
  if method == 'erdos_renyi':
    # ER looks at the fan-in and fan-out only, ignoring conv spatial dims.
    n_in, n_out = shape[-2], shape[-1]
    return (n_in + n_out) / (n_in * n_out)
  return (sum(shape) / np.prod(shape))**erk_power_scale


def layer_sparsities(shapes: Mapping[str, Sequence[int]],
                     method: str,
                     sparsity: float,
                     erk_power_scale: float = 1.0,
                     dense_layers: Iterable[str] = ()) -> Dict[str, float]:
  """Allocates a network's target sparsity over its maskable layers.

  Args:
    shapes: layer name -> kernel shape.
    method: 'uniform', 'erdos_renyi' or 'erdos_renyi_kernel'.
    sparsity: target sparsity S of the network, in [0, 1).
    erk_power_scale: exponent applied to the ERK raw densities.
    dense_layers: names of layers kept dense and left out of the budget.

  Returns:
    layer name -> sparsity. Over the layers not in `dense_layers`, the active
    count is (1 - S) times their total (up to rounding per layer).

  Raises:
    ConfigError: for an unknown method, sparsity outside [0, 1), or a dense
      layer name that is not in `shapes`.
  """
  if method not in DISTRIBUTIONS:
    raise ConfigError(f'unknown sparsity distribution {method!r}; use one of '
                      f'{", ".join(DISTRIBUTIONS)}')
  check_sparsity(sparsity)
  dense_layers = set(dense_layers)
  unknown = dense_layers - set(shapes)
  if unknown:
    raise ConfigError(f'dense_layers names unknown layers {sorted(unknown)}; '
                      f'the maskable layers are {sorted(shapes)}')
  result = {name: 0.0 for name in dense_layers}
  sparse_names = [name for name in shapes if name not in dense_layers]
  if method == 'uniform':
    result.update({name: sparsity for name in sparse_names})
    return {name: result[name] for name in shapes}

  sizes = {name: int(np.prod(shapes[name])) for name in sparse_names}
  raw = {
      name: _raw_density(shapes[name], method, erk_power_scale)
      for name in sparse_names
  }
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
  for name in sparse_names:
    result[name] = 0.0 if name in forced_dense else 1.0 - epsilon * raw[name]
  return {name: result[name] for name in shapes}
