"""Schedule boundaries: begin, end and interval edges."""
import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import schedules


def test_window_binds_fractions_to_steps():
  window = schedules.UpdateSchedule(0.2, 0.8, 100).bind(1000)
  assert (window.begin_step, window.end_step, window.interval) == (200, 800, 100)


def test_update_steps_at_begin_interval_edges_and_end():
  window = schedules.UpdateWindow(begin_step=10, end_step=45, interval=10)
  updates = [t for t in range(0, 60) if window.is_update_step(t)]
  # 45 is the end step, not on the grid: included so pruning ends on target.
  assert updates == [10, 20, 30, 40, 45]
  assert not window.is_update_step(9)
  assert not window.is_update_step(11)
  assert not window.is_update_step(46)


def test_next_update_step_walks_the_same_steps():
  window = schedules.UpdateWindow(begin_step=10, end_step=45, interval=10)
  steps, t = [], 0
  while (t := window.next_update_step(t)) is not None:
    steps.append(t)
  assert steps == [10, 20, 30, 40, 45]
  assert window.next_update_step(45) is None


def test_begin_zero_schedule_updates_before_the_first_train_step():
  window = schedules.UpdateSchedule(0.0, 0.8, 1000).bind(100_000)
  # The update at t comes before gradient step t: t = 0 is the first one,
  # as in google-research/rigl (is_update_iter(0) is true).
  assert window.is_update_step(0)
  assert window.next_update_step(0) == 1000
  assert [t for t in range(0, 3001) if window.is_update_step(t)] == [
      0, 1000, 2000, 3000]


def test_window_ends_at_the_last_train_step():
  # 10 train steps are t = 0..9: an update at t = 10 would never happen.
  window = schedules.UpdateSchedule(0.0, 1.0, 4).bind(10)
  assert (window.begin_step, window.end_step) == (0, 9)
  assert [t for t in range(0, 12) if window.is_update_step(t)] == [0, 4, 8, 9]
  late = schedules.UpdateSchedule(0.95, 1.0, 4).bind(10)
  assert (late.begin_step, late.end_step) == (9, 9)


def test_cosine_drop_fraction_ends():
  cosine = schedules.CosineDropFraction(0.5)
  assert cosine(0.0) == pytest.approx(0.5)
  assert cosine(0.5) == pytest.approx(0.25)
  assert cosine(1.0) == pytest.approx(0.0)
  assert schedules.ConstantDropFraction(0.3)(0.7) == 0.3


def test_polynomial_sparsity_follows_tfmot_and_reaches_target():
  window = schedules.UpdateWindow(begin_step=100, end_step=400, interval=100)
  poly = schedules.PolynomialSparsity(power=3)
  assert poly(100, window, 0.9) == pytest.approx(0.0)
  # progress 1/3: 0.9 * (1 - (2/3)^3)
  assert poly(200, window, 0.9) == pytest.approx(0.9 * (1 - (2 / 3)**3))
  assert poly(400, window, 0.9) == pytest.approx(0.9)
  assert poly(900, window, 0.9) == pytest.approx(0.9)
  assert poly.fraction(200, window) == pytest.approx(1 - (2 / 3)**3)


@pytest.mark.parametrize('begin,end,interval', [(0.5, 0.5, 10), (-0.1, 0.5, 10),
                                                (0.0, 1.2, 10), (0.0, 0.5, 0)])
def test_bad_schedules_are_errors(begin, end, interval):
  with pytest.raises(ConfigError):
    schedules.UpdateSchedule(begin, end, interval)
