"""Small gin-configurable schedules: when masks change, and by how much.

Steps are train steps t (gradient updates done); the mask update at t uses
the gradient of train step t and comes before that gradient is applied, so
t = 0 is an update before any training, as in google-research/rigl
(`mask_updater.is_update_iter` at step 0). Schedules are
written in fractions of training, as the papers state them ("start at 20%"),
and bound to step numbers once the run length is known.
"""
import dataclasses
import math
from typing import List

import gin
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_schedule

from rigl_rl.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class UpdateWindow:
  """An update schedule bound to step numbers."""
  begin_step: int
  end_step: int
  interval: int

  def is_update_step(self, t: int) -> bool:
    """True at begin <= t <= end with (t - begin) % interval == 0, and at end.

    Including end_step lets gradual pruning reach its target exactly there
    even when (end - begin) is not a multiple of the interval.
    """
    if not self.begin_step <= t <= self.end_step:
      return False
    return (t - self.begin_step) % self.interval == 0 or t == self.end_step

  def next_update_step(self, t: int):
    """The first update step after t, or None when there is none."""
    if t < self.begin_step:
      return self.begin_step
    if t >= self.end_step:
      return None
    step = t + self.interval - (t - self.begin_step) % self.interval
    return min(step, self.end_step)

  def update_steps(self) -> List[int]:
    """Every update step, in order."""
    steps = list(range(self.begin_step, self.end_step + 1, self.interval))
    if steps[-1] != self.end_step:
      steps.append(self.end_step)
    return steps

  def progress(self, t: int) -> float:
    """Fraction of the window elapsed at t, clipped to [0, 1]."""
    span = max(self.end_step - self.begin_step, 1)
    return min(max((t - self.begin_step) / span, 0.0), 1.0)


@gin.configurable
class UpdateSchedule:
  """When masks change: every `interval` train steps inside [begin, end]."""

  def __init__(self,
               begin_fraction: float = 0.0,
               end_fraction: float = 0.8,
               interval: int = 1000):
    """Creates the schedule.

    Args:
      begin_fraction: first update, as a fraction of all train steps.
      end_fraction: last update, as a fraction of all train steps.
      interval: train steps between updates.

    Raises:
      ConfigError: unless 0 <= begin < end <= 1 and interval >= 1.
    """
    if not 0.0 <= begin_fraction < end_fraction <= 1.0:
      raise ConfigError(
          'UpdateSchedule needs 0 <= begin_fraction < end_fraction <= 1, got '
          f'{begin_fraction} and {end_fraction}')
    if interval < 1:
      raise ConfigError(f'UpdateSchedule.interval must be >= 1, got {interval}')
    self.begin_fraction = begin_fraction
    self.end_fraction = end_fraction
    self.interval = int(interval)

  def bind(self, total_train_steps: int) -> UpdateWindow:
    """Returns the window for a run of `total_train_steps` train steps.

    The window ends at the last train step at the latest: an update at t
    comes before the gradient step t, and a run's last one is
    total_train_steps - 1.
    """
    last = max(total_train_steps - 1, 0)
    end = min(int(round(self.end_fraction * total_train_steps)), last)
    return UpdateWindow(
        begin_step=min(int(round(self.begin_fraction * total_train_steps)),
                       end),
        end_step=end,
        interval=self.interval)


@gin.configurable
class CosineDropFraction:
  """f(t) = f0 * (1 + cos(pi * progress)) / 2 (Dettmers & Zettlemoyer 2019)."""

  def __init__(self, initial: float = 0.5):
    _check_fraction('CosineDropFraction.initial', initial)
    self.initial = initial

  def __call__(self, progress: float) -> float:
    return self.initial * 0.5 * (1.0 + math.cos(math.pi * progress))


@gin.configurable
class ConstantDropFraction:
  """f(t) = f0 throughout the window."""

  def __init__(self, value: float = 0.3):
    _check_fraction('ConstantDropFraction.value', value)
    self.value = value

  def __call__(self, progress: float) -> float:
    del progress
    return self.value


@gin.configurable
class PolynomialSparsity:
  """Gradual pruning target (Zhu & Gupta 2018) through tfmot PolynomialDecay."""

  def __init__(self, power: float = 3.0):
    self.power = power

  def __call__(self, t: int, window: UpdateWindow,
               final_sparsity: float) -> float:
    """Target sparsity of a layer at train step t, from 0 to final_sparsity."""
    decay = pruning_schedule.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=final_sparsity,
        begin_step=window.begin_step,
        end_step=max(window.end_step, window.begin_step + 1),
        power=self.power,
        frequency=window.interval)
    _, sparsity = decay(t)
    return float(sparsity)

  def fraction(self, t: int, window: UpdateWindow) -> float:
    """The target at t divided by the final sparsity: 1 - (1 - progress)^power."""
    return 1.0 - (1.0 - window.progress(t))**self.power


def _check_fraction(name: str, value: float) -> None:
  if not 0.0 <= value <= 1.0:
    raise ConfigError(f'{name} must be in [0, 1], got {value}')
