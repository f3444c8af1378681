"""The run loop's mask-update timing (DESIGN section 4)."""
import numpy as np

from rigl_rl import config
from rigl_rl.training.loop import Runner
from tests import conftest


def test_the_first_mask_update_comes_before_the_first_gradient_step(tmp_path):
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               conftest.smoke_bindings('rigl'))
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  (target,) = runner.bundle.sparse
  network = target.network
  initial = [layer.mask.numpy().copy() for layer in network.layers]
  calls = []
  update_masks = runner._update_masks  # pylint: disable=protected-access

  def recording(due, experience):
    calls.append((runner.train_step, int(runner.env_steps.numpy()),
                  int(target.optimizer.iterations.numpy()),
                  int(experience.action_step.action.shape[0])))
    update_masks(due, experience)

  runner._update_masks = recording  # pylint: disable=protected-access
  runner.env.reset()
  while runner.train_step < 51:
    runner.advance()
  # t = 0 and t = 50 (the smoke interval); at t = 0 the optimizer has taken
  # no step, and the batch is the first train step's, collected after the
  # 100 initial env steps.
  assert calls == [(0, 101, 0, 32), (50, 151, 50, 32)]
  moved = [not np.array_equal(layer.mask.numpy(), mask)
           for layer, mask in zip(network.layers, initial)]
  assert any(moved)
