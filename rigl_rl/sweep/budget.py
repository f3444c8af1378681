"""Actor:critic parameter budgets (Graesser et al. 2022, section 5, Fig. 3).

The "Actor or Critic?" study fixes a total parameter budget, a fraction of the
standard dense parameter count of actor and critic together (100%, 20% and
10% in the paper), and varies the share of it given to the actor. The
sparse regime keeps width 1 and meets each network's share by sparsity; the
dense regime meets it by scaling layer widths. SAC's two critics are counted
together as "the critic"; with 256-unit hidden layers on MuJoCo the default
actor:critic split is about 34:66 (73484:144386 on HalfCheetah).

Counts follow `rigl_rl.networks.mlp_layers`: hidden layers of
max(1, round(units * width)) units, an output layer that always has a bias,
and only kernels maskable. `actor_critic_split` measures these shapes on a
configured run and turns its shares into gin bindings.
"""
import dataclasses
from typing import Dict, List, Sequence, Tuple

from rigl_rl.errors import ConfigError
from rigl_rl.sweep import matching

_NAMES = ('actor', 'critic')


@dataclasses.dataclass(frozen=True)
class MLPShape:
  """The layer sizes of an MLP (or of `copies` identical MLPs)."""
  input_dim: int
  hidden_units: Tuple[int, ...]
  output_dim: int
  hidden_bias: bool = True
  copies: int = 1  # e.g. 2 for SAC's two critics, counted together.

  def __post_init__(self):
    sizes = (self.input_dim, self.output_dim, self.copies) + tuple(
        self.hidden_units)
    if min(sizes) < 1:
      raise ConfigError(f'every size of {self} must be a positive integer; '
                        'fix the input, hidden, output sizes or copies')

  def hidden_at(self, width: float = 1.0) -> Tuple[int, ...]:
    """Hidden layer sizes at a width multiplier, as `mlp_layers` builds them."""
    return tuple(max(1, int(round(u * width))) for u in self.hidden_units)

  def counts(self, width: float = 1.0) -> Tuple[int, int]:
    """(kernel params, bias params) of all copies at this width multiplier."""
    sizes = (self.input_dim,) + self.hidden_at(width) + (self.output_dim,)
    kernels = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    biases = self.output_dim + (sum(sizes[1:-1]) if self.hidden_bias else 0)
    return self.copies * kernels, self.copies * biases

  def total(self, width: float = 1.0) -> int:
    """Kernel plus bias params of all copies at this width multiplier."""
    return sum(self.counts(width))


def split_budget(budget_fraction: float, actor_share: float,
                 actor: MLPShape, critic: MLPShape) -> Tuple[float, float]:
  """Splits a parameter budget between actor and critic.

  Args:
    budget_fraction: total budget as a fraction of the dense actor plus
      critic parameter count at width 1; above 1 is allowed.
    actor_share: fraction of the budget given to the actor, in (0, 1).
    actor: the actor's shape.
    critic: the critic's shape (all critics together, via `copies`).

  Returns:
    (actor params, critic params), unrounded.

  Raises:
    ConfigError: if budget_fraction <= 0 or actor_share is outside (0, 1).
  """
  if not budget_fraction > 0:
    raise ConfigError(f'budget_fraction must be > 0, got {budget_fraction}; '
                      'use e.g. 0.1 for 10% of the dense parameter count')
  if not 0 < actor_share < 1:
    raise ConfigError(f'actor_share must be in (0, 1), got {actor_share}; '
                      'use e.g. 0.34 for the default SAC split')
  budget = budget_fraction * (actor.total() + critic.total())
  return actor_share * budget, (1 - actor_share) * budget


def sparsities_for_budget(budget_fraction: float, actor_share: float,
                          actor: MLPShape,
                          critic: MLPShape) -> Dict[str, float]:
  """Sparsities at width 1 that give each network its share of the budget.

  Biases stay dense, so S = 1 - (target - biases) / kernels. Arguments are
  as for `split_budget`.

  Returns:
    {'actor': S_a, 'critic': S_c}, each in [0, 1).

  Raises:
    ConfigError: for invalid arguments, a target above a network's dense
      count, or one that leaves it no kernel weight.
  """
  targets = split_budget(budget_fraction, actor_share, actor, critic)
  result = {}
  for name, shape, target in zip(_NAMES, (actor, critic), targets):
    kernels, biases = shape.counts()
    if target > (kernels + biases) * (1 + 1e-9):
      raise ConfigError(
          f'the {name} gets {target:.0f} params but has only '
          f'{kernels + biases} dense; use widths_for_budget to make it wider, '
          'or lower budget_fraction or move actor_share')
    if target <= biases:
      raise ConfigError(
          f'the {name} gets {target:.0f} params, not more than its {biases} '
          'biases, so no kernel weight is left; raise budget_fraction or '
          'move actor_share')
    result[name] = max(0.0, 1 - (target - biases) / kernels)
  return result


def _closest_width(shape: MLPShape, target: float, name: str) -> float:
  """The width whose total count is closest to target; ties to the smaller."""
  if shape.total(0.0) > target:
    raise ConfigError(
        f'the {name} gets {target:.0f} params but even 1 unit per hidden '
        f'layer needs {shape.total(0.0)}; raise budget_fraction or move '
        'actor_share')
  low, high = 0.0, 1.0
  while shape.total(high) < target:
    low, high = high, 2 * high
  width = matching.matched_width(shape.total, target, low=low, high=high)
  # Return the middle of the width interval that builds these units, so the
  # multiplier survives printing and re-parsing.
  lo, hi = 0.0, float('inf')
  for units, n in zip(shape.hidden_units, shape.hidden_at(width)):
    if n > 1:
      lo = max(lo, (n - 0.5) / units)
    hi = min(hi, (n + 0.5) / units)
  middle = 0.5 * (lo + hi)
  return middle if shape.total(middle) == shape.total(width) else width


def widths_for_budget(budget_fraction: float, actor_share: float,
                      actor: MLPShape, critic: MLPShape) -> Dict[str, float]:
  """Dense width multipliers that give each network its share of the budget.

  Arguments are as for `split_budget`.

  Returns:
    {'actor': w_a, 'critic': w_c}: for each network the width whose total
    count (kernels plus biases) is closest to its target among the widths
    `mlp_layers` can build; ties go to the smaller network.

  Raises:
    ConfigError: for invalid arguments, a network with no hidden layer to
      scale, or a target below 1 unit per hidden layer.
  """
  targets = split_budget(budget_fraction, actor_share, actor, critic)
  result = {}
  for name, shape, target in zip(_NAMES, (actor, critic), targets):
    if not shape.hidden_units:
      raise ConfigError(f'the {name} has no hidden layer to scale; give it '
                        'hidden_units or use sparsities_for_budget')
    result[name] = _closest_width(shape, target, name)
  return result


def actor_critic_split(gin_files: Sequence[str], bindings: Sequence[str],
                       budget_fraction: float, actor_share: float,
                       regime: str) -> List[str]:
  """Gin bindings that give an actor-critic run's actor and critic their
  shares of a parameter budget (Graesser et al. 2022, section 5, Fig. 3).

  The standard dense count is measured on the run's own networks at width 1
  (built by `matching.build_agent`, so gin must hold no configuration); every
  network other than 'actor' (SAC's two critics, PPO's value network) counts
  as the critic.

  Args:
    gin_files: a SAC or PPO run's gin files.
    bindings: its bindings.
    budget_fraction: the budget as a fraction of the standard dense count.
    actor_share: the fraction of the budget that goes to the actor.
    regime: 'sparse' (ACTOR_SPARSITY, CRITIC_SPARSITY at width 1) or 'dense'
      (ACTOR_WIDTH, CRITIC_WIDTH).

  Returns:
    Bindings such as 'ACTOR_SPARSITY = 0.905653'.

  Raises:
    ConfigError: for an agent without an actor, an unknown regime, or a
      budget the regime cannot meet.
  """
  # TensorFlow loads only when a run's networks are measured.
  from rigl_rl.sparsity import masking  # pylint: disable=g-import-not-at-top
  if regime not in ('sparse', 'dense'):
    raise ConfigError(f"regime must be 'sparse' or 'dense', got {regime!r}")
  bundle = matching.build_agent(gin_files, list(bindings) +
                                ['ACTOR_WIDTH = 1.0', 'CRITIC_WIDTH = 1.0'])
  shapes = {}
  for name, network in bundle.networks.items():
    layers = [masking.inner_layer(layer)
              for layer in masking.maskable_layers(network)]
    kernels = [tuple(layer.kernel.shape) for layer in layers]
    shape = MLPShape(kernels[0][0], tuple(k[1] for k in kernels[:-1]),
                     kernels[-1][1], hidden_bias=layers[0].use_bias)
    shapes.setdefault('actor' if name == 'actor' else 'critic', []).append(
        shape)
  if 'actor' not in shapes:
    raise ConfigError(f'{bundle.algorithm} has no actor network; the split is '
                      'for SAC and PPO')
  actor, critic = (dataclasses.replace(shapes[group][0],
                                       copies=len(shapes[group]))
                   for group in ('actor', 'critic'))
  if regime == 'sparse':
    values = sparsities_for_budget(budget_fraction, actor_share, actor,
                                   critic)
    return [f'ACTOR_SPARSITY = {values["actor"]:.6f}',
            f'CRITIC_SPARSITY = {values["critic"]:.6f}']
  values = widths_for_budget(budget_fraction, actor_share, actor, critic)
  return [f'ACTOR_WIDTH = {values["actor"]!r}',
          f'CRITIC_WIDTH = {values["critic"]!r}']
