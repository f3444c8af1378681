"""A killed bin/train run resumes from its checkpoint with identical state,
for every agent, and the whole run's summaries and results are complete."""
import json
import math
import os
import signal
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from rigl_rl import config
from rigl_rl.training.loop import Runner
from tests import conftest

# agent -> (gin file, bindings, env steps after t train steps, total train
# steps, evaluation interval).
CASES = {
    'dqn': (conftest.gin_path('cartpole_rigl.gin'),
            conftest.overridden(
                conftest.smoke_bindings('rigl'),
                'NUM_ENV_STEPS = 2000', 'CHECKPOINT_INTERVAL = 300',
                'EVAL_INTERVAL = 300'), lambda t: 100 + t, 1900, 300),
    'sac': (conftest.gin_path('pendulum_rigl.gin', 'sac'),
            conftest.overridden(
                conftest.smoke_bindings('rigl', 'sac'),
                'NUM_ENV_STEPS = 1000', 'CHECKPOINT_INTERVAL = 300',
                'EVAL_INTERVAL = 300'), lambda t: 100 + t, 900, 300),
    # 32 rollouts of 128 env steps, 8 train steps on each; a checkpoint
    # lands one train step into a rollout.
    'ppo': (conftest.gin_path('cartpole_rigl.gin', 'ppo'),
            conftest.overridden(
                conftest.smoke_bindings('rigl', 'ppo'),
                'NUM_ENV_STEPS = 4096', 'CHECKPOINT_INTERVAL = 256',
                'EVAL_INTERVAL = 1024'), lambda t: 128 * math.ceil(t / 8),
            256, 1024),
    # A train step every 4 env steps, 3-step prioritized replay: the sum
    # tree is in the checkpoint too.
    'rainbow': (conftest.gin_path('minatar_breakout_rigl.gin', 'rainbow'),
                conftest.overridden(
                    list(conftest.MINATAR_SMOKE_BINDINGS),
                    'NUM_ENV_STEPS = 1000', 'CHECKPOINT_INTERVAL = 300',
                    'EVAL_INTERVAL = 300'), lambda t: 100 + 4 * t, 225, 300),
    # 3-step replay, a train step every env step; the agent's generator of
    # quantile fractions is in the checkpoint too. No diagnostics to bind.
    'm_iqn': (conftest.gin_path('minatar_breakout_rigl.gin', 'm_iqn'),
              conftest.overridden(
                  conftest.without_diagnostics(
                      conftest.MINATAR_SMOKE_BINDINGS),
                  'NUM_ENV_STEPS = 600', 'CHECKPOINT_INTERVAL = 300',
                  'EVAL_INTERVAL = 300'), lambda t: 100 + t, 500, 300),
}


def _checkpoint_tensors(path):
  reader = tf.train.load_checkpoint(path)
  return {
      key: reader.get_tensor(key)
      for key in reader.get_variable_to_shape_map()
      if 'OBJECT_GRAPH' not in key and 'save_counter' not in key
  }


@pytest.mark.parametrize('agent', sorted(CASES))
def test_killed_run_resumes_from_its_checkpoint(tmp_path, agent):
  gin_file, bindings, env_steps_at, total, eval_interval = CASES[agent]
  root = str(tmp_path / 'run')
  process = subprocess.Popen(
      conftest.train_command(root, gin_file, bindings), cwd=conftest.REPO,
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  index = os.path.join(root, 'checkpoints', 'checkpoint')
  deadline = time.time() + 300
  while not os.path.exists(index):
    assert process.poll() is None, 'bin/train ended before a checkpoint'
    assert time.time() < deadline, 'no checkpoint within 300 s'
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  latest = tf.train.latest_checkpoint(os.path.dirname(index))
  saved_env_step = int(latest.rsplit('-', 1)[1])  # Numbered by env step.

  config.parse([gin_file], bindings)
  runner = Runner(root, verbose=False)
  runner.prepare()
  # Continues from the checkpointed step...
  saved_step = runner.train_step
  assert 0 < saved_step < total  # Killed mid-run.
  if agent == 'ppo':  # Saved one train step into a rollout's 8.
    assert saved_step % 8 == 1
  assert runner.env_step == saved_env_step == env_steps_at(saved_step)
  # ...with every variable (masks, weights, Adam slots, replay, generator,
  # counters) equal to the checkpoint: saving again reproduces it exactly.
  # Keras creates optimizer variables at the first step and TF restores them
  # then; create them now so they are compared too.
  for trained in runner.bundle.trained:
    trained.optimizer._create_all_weights(  # pylint: disable=protected-access
        trained.network.trainable_variables)
  if agent == 'sac':  # The entropy temperature has its own optimizer.
    runner.bundle.agent._alpha_optimizer._create_all_weights(  # pylint: disable=protected-access
        [runner.bundle.agent._log_alpha])  # pylint: disable=protected-access
  resaved = runner.checkpoint.save(str(tmp_path / 'resaved' / 'ckpt'))
  original, again = _checkpoint_tensors(latest), _checkpoint_tensors(resaved)
  assert sorted(set(original) ^ set(again)) == []
  assert any('mask' in key for key in original)
  for key, value in original.items():
    np.testing.assert_array_equal(value, again[key], err_msg=key)
  networks = list(runner.bundle.sparse)
  masks = [[layer.mask.numpy() for layer in n.layers] for n in networks]

  assert runner.run() == 'finished'
  with open(os.path.join(root, 'results.json')) as f:
    results = json.load(f)
  assert results['finished'] and results['train_steps_done'] == total
  steps = [step for step, _ in results['eval']]
  # No eval lost or repeated.
  assert steps == list(range(eval_interval, env_steps_at(total) + 1,
                             eval_interval))
  # RigL kept changing every network's topology after the resume, at
  # constant counts.
  for network, before in zip(networks, masks):
    for layer, mask in zip(network.layers, before):
      assert layer.mask.numpy().sum() == mask.sum()
    assert any(not np.array_equal(layer.mask.numpy(), mask)
               for layer, mask in zip(network.layers, before))
  # The run directory of the two processes together is complete: every
  # network's sparsity, parameters, FLOPs and diagnostics, and the agent's
  # loss parts (SAC: critic/actor/alpha; PPO: policy/value).
  assert sorted(results['layer_sparsity']) == sorted(n.name for n in networks)
  assert results['active_params'] < 0.2 * results['total_params']
  assert conftest.event_tags(os.path.join(root, 'eval')) == {
      'Eval/AverageReturn', 'Eval/AverageReturnVsEnvironmentSteps'}
  tags = conftest.event_tags(os.path.join(root, 'train'))
  assert {f'Losses/{name}' for name in
          ('loss',) + tuple(runner.bundle.logged_losses)} <= tags
  for name in (n.name for n in networks):
    assert {f'Sparsity/{name}/total', f'Sparsity/{name}/hidden_0',
            f'Params/{name}/active', f'FLOPs/{name}/inference',
            f'Diagnostics/{name}/mask_churn/total'} <= tags
    # M-IQN's quantile network is not sequential: no unit diagnostics.
    unit_tags = {f'Diagnostics/{name}/dormant/total',
                 f'Diagnostics/{name}/srank',
                 f'Diagnostics/{name}/gradient_snr'}
    assert (unit_tags <= tags) == (agent != 'm_iqn')
  # Q statistics for Q-networks, critics and PPO's value network only.
  values = {t.name for t in runner.bundle.trained if t.outputs_are_values}
  for trained in runner.bundle.trained:
    assert (f'Diagnostics/{trained.name}/q_mean' in tags) == (
        trained.name in values)
