"""Dense networks as small as sparse ones (Graesser et al. 2022, section 3).

The parameter-matched dense baseline scales the dense network's layer widths
until its parameter count equals the active count of a sparse network.
Counting builds each configuration's agent with `build_agent`, so gin must
hold no configuration when `target_active_params` or `matched_dense_width`
is called (the caller clears its own).
"""
from typing import Callable, Sequence

from rigl_rl.errors import ConfigError


def matched_width(count_at: Callable[[float], int], target: int,
                  low: float = 1e-3, high: float = 1.0,
                  tolerance: float = 1e-4) -> float:
  """The width multiplier whose parameter count is closest to `target`.

  Widths scale integer layer sizes, so the count is a non-decreasing step
  function of the width; bisection finds the first step at or above the
  target, and the step just below it competes for closest.

  Args:
    count_at: width multiplier -> parameter count of the network.
    target: the parameter count to match.
    low: the smallest width considered.
    high: the largest width considered (1 is the standard network).
    tolerance: bisection stops when the bracket is this narrow.

  Returns:
    A width in [low, high]; ties go to the smaller network.

  Raises:
    ValueError: if `target` is outside [count_at(low), count_at(high)].
  """
  low_count, high_count = count_at(low), count_at(high)
  if not low_count <= target <= high_count:
    raise ValueError(f'{target} parameters is outside the {low_count} to '
                     f'{high_count} that widths {low} to {high} give')
  # Invariant: count_at(low) < target <= count_at(high), unless low matches.
  if low_count == target:
    return low
  while high - low > tolerance:
    middle = 0.5 * (low + high)
    if count_at(middle) >= target:
      high = middle
    else:
      low = middle
  below, above = count_at(low), count_at(high)
  return low if target - below <= above - target else high


def build_agent(gin_files: Sequence[str], bindings: Sequence[str]):
  """Builds a configured run's agent (not its episodes or replay) from gin.

  The configuration lives in gin only while the agent is built
  (`config.parsed`): gin must hold none when this is called, and holds none
  after.

  Returns:
    The run's `AgentBundle`.

  Raises:
    ConfigError: for gin errors, in one line.
    RuntimeError: if gin already holds a configuration.
  """
  # TensorFlow loads only when asked for parameter counts.
  from rigl_rl import config  # pylint: disable=g-import-not-at-top
  with config.parsed(gin_files, bindings):
    return config.configured_agent()[1]


def target_active_params(gin_files: Sequence[str],
                         bindings: Sequence[str]) -> int:
  """Trainable parameters a configured run has active at its target sparsity.

  Gradual pruning starts dense, so the count is taken from the allocated
  final sparsities, not the masks at step 0.

  Raises:
    ConfigError: for gin errors, in one line.
  """
  from rigl_rl.sparsity import masking  # pylint: disable=g-import-not-at-top
  bundle = build_agent(gin_files, bindings)
  sparse = {network.network: network for network in bundle.sparse}
  active = 0
  for network in bundle.networks.values():
    _, total = masking.count_params(network)
    if network in sparse:
      masked_active, masked_total = sparse[network].target_counts()
      total += masked_active - masked_total
    active += total
  return active


def matched_dense_width(sparse_files: Sequence[str], dense_file: str,
                        bindings: Sequence[str], width_parameter: str) -> float:
  """The width at which `dense_file` has the active count of the sparse runs.

  Args:
    sparse_files: method files that must all have the same active count.
    dense_file: their dense base.
    bindings: bindings for every file (the grid point, no seed).
    width_parameter: the dense network's width multiplier in gin.

  Raises:
    ConfigError: if the sparse files differ in active count, or no width up
      to 1 matches.
  """
  targets = {path: target_active_params([path], bindings)
             for path in sparse_files}
  if len(set(targets.values())) > 1:
    raise ConfigError(
        'matched_dense: these files have different active parameter counts '
        f'at {", ".join(bindings)}: {targets}; give them separate experiments')
  target = next(iter(targets.values()))
  dense_bindings = [b for b in bindings if not b.startswith('SPARSITY ')]
  cache = {}

  def count_at(width: float) -> int:
    # Many widths round to the same layer sizes; build each width once.
    key = round(width, 6)
    if key not in cache:
      cache[key] = target_active_params(
          [dense_file], dense_bindings + [f'{width_parameter} = {width!r}'])
    return cache[key]

  try:
    return matched_width(count_at, target)
  except ValueError as e:
    raise ConfigError(f'matched_dense for {dense_file}: {e}') from None

