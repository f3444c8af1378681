"""The run loop: mask-update timing (DESIGN section 4) and the hook protocol."""
import numpy as np

from rigl_rl import config
from rigl_rl.training import hooks
from rigl_rl.training.loop import Runner
from tests import conftest


def test_the_first_mask_update_comes_before_the_first_gradient_step(tmp_path):
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               conftest.smoke_bindings('rigl'))
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  (network,) = runner.bundle.sparse
  optimizer = runner.bundle.trained[0].optimizer
  initial = [layer.mask.numpy().copy() for layer in network.layers]
  runner.env.reset()
  positions = []
  while runner.train_step < 51:
    runner.advance()
    positions.append((runner.train_step, network.last_update()[0]))
  # The initial collect ends at train step 0; the first chunk is train step
  # 0 alone, whose optimizer step updated the masks (t = 0, before any
  # gradient was applied); the next update is at the smoke interval, 50.
  assert positions[:2] == [(0, -1), (1, 0)]
  assert (50, 0) in positions and positions[-1] == (51, 50)
  assert int(optimizer.iterations.numpy()) == runner.train_step
  moved = [not np.array_equal(layer.mask.numpy(), mask)
           for layer, mask in zip(network.layers, initial)]
  assert any(moved)


class _Recorder(hooks.EnvStepHook):
  """Records where it acts."""

  def __init__(self, interval):
    super().__init__(interval)
    self.positions = []

  def at_interval(self, run):
    self.positions.append((run.env_step, run.train_step))


def test_a_new_hook_acts_at_its_steps_without_loop_changes(tmp_path):
  config.parse([conftest.gin_path('cartpole_dense.gin')],
               conftest.smoke_bindings('dense'))
  recorder = _Recorder(30)
  runner = Runner(str(tmp_path / 'run'), extra_hooks=[recorder],
                  verbose=False)
  assert runner.run() == 'finished'
  # Every multiple of 30 env steps, during the initial collect (100 env
  # steps, train step 0) and after it (one env step per train step).
  assert recorder.positions == [
      (env, max(0, env - 100)) for env in range(30, 401, 30)]
