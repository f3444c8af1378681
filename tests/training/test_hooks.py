"""Progress's speed, elapsed time and ETA, by hand on a fake clock."""
import types

import pytest
import tensorflow as tf

from rigl_rl.training import hooks


class _Clock:
  """A clock that reads the times it is given, one per call."""

  def __init__(self, *times):
    self._times = list(times)

  def __call__(self):
    return self._times.pop(0)


@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (42.4, '42s'), (59.6, '1m00s'), (185, '3m05s'),
    (7860, '2h11m'), (4 * 86400 + 3 * 3600 + 59, '4d03h')])
def test_durations_are_short(seconds, text):
  assert hooks.duration(seconds) == text


def test_the_rate_is_over_the_window_and_the_eta_counts_only_own_steps():
  # Resumed at env step 1000 of 11000 at t = 100 s; then intervals of 1000
  # steps taking 10 s, 30 s (an evaluation in it), 10 s and 10 s.
  speed = hooks.StepRate(window=2, clock=_Clock(100, 110, 140, 150, 160))
  speed.start(1000)
  assert speed.mark(2000) == 100  # 1000 steps / 10 s.
  assert speed.rate() == 100
  assert speed.elapsed() == 10
  assert speed.left(11000) == 90  # 9000 steps at 100/s; not 10000 steps.
  assert speed.mark(3000) == pytest.approx(1000 / 30)
  assert speed.rate() == pytest.approx(2000 / 40)  # 50/s over both.
  assert speed.left(11000) == pytest.approx(8000 / 50)
  speed.mark(4000)
  # The window holds the last 2 intervals: 2000 steps from t = 110 to 150.
  assert speed.rate() == pytest.approx(2000 / 40)
  speed.mark(5000)
  assert speed.rate() == pytest.approx(2000 / 20)  # t = 140 to 160.
  assert speed.elapsed() == 60
  assert speed.left(11000) == pytest.approx(60)


def _run(env_step):
  """What Progress reads of a run, with no networks and no episodes."""
  printed = []
  run = types.SimpleNamespace(
      env_step=env_step, num_env_steps=11000, train_step=0, last_losses={},
      train_writer=tf.summary.create_noop_writer(),
      bundle=types.SimpleNamespace(param_counts=dict, sparse=[]),
      finished_episodes=lambda: (0.0, 0), print=printed.append)
  return run, printed


def test_a_resumed_run_prints_its_own_speed_elapsed_time_and_eta():
  progress = hooks.Progress(1000, clock=_Clock(500, 510, 530))
  run, printed = _run(env_step=1000)  # Restored at 1000.
  progress.start(run)
  run.env_step, run.train_step = 2000, 900
  progress.act(run)
  run.env_step = 11000
  progress.finish(run)  # 9000 more steps in 20 s.
  assert printed == [
      'env step 2000/11000 (18%)  train step 900  100 env steps/s  '
      'last eval n/a  elapsed 10s  ETA 1m30s',
      'env step 11000/11000 (100%)  train step 900  333 env steps/s  '
      'last eval n/a  elapsed 30s']
