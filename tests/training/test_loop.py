"""The run loop: mask-update timing (DESIGN section 4), the hook protocol
and determinism."""
import json
import os

import gin
import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from rigl_rl import config
from rigl_rl.envs import factory
from rigl_rl.envs import in_graph
from rigl_rl.envs import vector
from rigl_rl.errors import ConfigError
from rigl_rl.training import hooks
from rigl_rl.training import loop
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


def test_runs_with_the_same_bindings_are_bit_identical(tmp_path):
  runs = [conftest.train_in_process(tmp_path / name, 'dqn',
                                    'cartpole_dense.gin', 'dense')
          for name in ('first', 'second')]
  first, second = (json.loads((tmp_path / name / 'results.json').read_text())
                   for name in ('first', 'second'))
  assert first['eval'] == second['eval']
  readers = [tf.train.load_checkpoint(run.checkpoints.path(400))
             for run in runs]
  keys = sorted(readers[0].get_variable_to_shape_map())
  assert keys == sorted(readers[1].get_variable_to_shape_map())
  # Kernels, Adam slots, replay, generators and counters. (Dense: the
  # sparse networks re-draw their kernels from the mask seed.)
  assert len(keys) > 50
  for key in keys:
    np.testing.assert_array_equal(readers[0].get_tensor(key),
                                  readers[1].get_tensor(key), err_msg=key)


def test_a_run_shorter_than_the_log_interval_has_its_summaries(tmp_path):
  runner = conftest.train_in_process(
      tmp_path / 'run', 'dqn', 'cartpole_rigl.gin', 'rigl',
      conftest.overridden(conftest.smoke_bindings('rigl'),
                          'Runner.log_interval = 100000'))
  tags = conftest.event_tags(os.path.join(runner.root_dir, 'train'))
  assert {'Sparsity/q/total', 'Params/q/active', 'Losses/loss',
          'Speed/env_steps_per_second'} <= tags


def test_returns_are_logged_against_env_steps_too_with_descriptions(
    tmp_path):
  runner = conftest.train_in_process(
      tmp_path / 'run', 'dqn', 'cartpole_rigl.gin', 'rigl',
      conftest.smoke_bindings('rigl') +
      ["SparseTraining.dense_layers = ['output']"])
  evals = conftest.summaries(os.path.join(runner.root_dir, 'eval'))
  steps = {}
  for tag, step, _ in evals:
    steps.setdefault(tag, []).append(step)
  # Evaluations at env steps 200 and 400: train steps 100 and 300 (the
  # initial collect is 100 env steps, then one env step per train step).
  assert steps == {'Eval/AverageReturn': [100, 300],
                   'Eval/AverageReturnVsEnvironmentSteps': [200, 400]}
  train = conftest.summaries(os.path.join(runner.root_dir, 'train'))
  train_steps = [step for tag, step, _ in train
                 if tag == 'Train/AverageReturnVsEnvironmentSteps']
  # Every log interval's env step (the train steps would be 0, ..., 300).
  assert train_steps == [100, 200, 300, 400]
  tags = {tag for tag, _, _ in train}
  assert 'Train/AverageReturn' in tags
  # The output layer, kept dense, has no mask picture; the others do.
  assert 'Diagnostics/q/mask/hidden_0' in tags
  assert 'Diagnostics/q/mask/output' not in tags
  # Each tag is described where it is first written.
  first = {}
  for tag, _, description in evals + train:
    first.setdefault(tag, description)
  assert not [tag for tag, description in first.items() if not description]


class _AlternatingEpisodes:
  """An in-graph environment whose episodes last 3, 5, 3, 5, ... steps with
  a reward of 1 per step, so each return is its episode's length."""

  def __init__(self):
    self._t = tf.Variable(0)
    self._episode = tf.Variable(-1)

  def _time_step(self, step_type):
    return ts.TimeStep(step_type=tf.reshape(step_type, [1]),
                       reward=tf.ones([1]), discount=tf.ones([1]),
                       observation=tf.zeros([1, 1]))

  def reset(self):
    self._t.assign(0)
    self._episode.assign_add(1)
    return self._time_step(ts.StepType.FIRST)

  def step(self, action):
    del action
    self._t.assign_add(1)
    length = tf.where(self._episode % 2 == 0, 3, 5)
    return self._time_step(tf.where(self._t >= length, ts.StepType.LAST,
                                    ts.StepType.MID))


@pytest.mark.parametrize('episodes, min_steps, returns', [
    (1, 0, [3]), (3, 0, [3, 5, 3]),
    # Whole episodes until the step budget (Dopamine's evaluation_steps).
    (1, 3, [3]), (1, 4, [3, 5]), (1, 8, [3, 5]), (1, 9, [3, 5, 3]),
    # Both minimums hold.
    (3, 4, [3, 5, 3]), (2, 9, [3, 5, 3]),
])
def test_evaluation_runs_whole_episodes_to_both_minimums(episodes, min_steps,
                                                         returns):
  evaluate = tf.function(loop.evaluate_episodes)
  result = evaluate(_AlternatingEpisodes(), lambda time_step, rng: 0,
                    tf.constant(episodes), tf.random.Generator.from_seed(0),
                    tf.constant(min_steps))
  assert result.numpy().tolist() == returns


def test_each_iteration_scores_the_training_episodes_that_ended_in_it(
    tmp_path):
  # CartPole pays 1 per step, so a return is its episode's length: the
  # finished episodes cover every env step but the one in flight.
  runner = conftest.train_in_process(tmp_path / 'run', 'dqn',
                                     'cartpole_dense.gin', 'dense')
  results = json.loads((tmp_path / 'run' / 'results.json').read_text())
  iterations = results['train_returns']
  assert [env for env, _, _ in iterations] == [200, 400]
  assert all(episodes > 0 for _, _, episodes in iterations)
  covered = sum(average * episodes for _, average, episodes in iterations)
  total, count = runner.finished_episodes()
  assert count == sum(episodes for _, _, episodes in iterations)
  assert covered == pytest.approx(total)
  assert 0 <= runner.env_step - total < 200
  assert results['final_training_score'] == iterations[-1][1]


@pytest.mark.parametrize('ratio', [0.25, 1, 3])
def test_replay_ratio_counts_are_exact_over_a_run_and_a_resume(tmp_path,
                                                               ratio):
  bindings = conftest.overridden(conftest.smoke_bindings('dense'),
                                 f'OffPolicy.replay_ratio = {ratio}')
  root = str(tmp_path / 'run')
  config.parse([conftest.gin_path('cartpole_dense.gin')], bindings)
  runner = Runner(root, verbose=False)
  runner.prepare()
  strategy = runner.experience

  def check(run):
    # After train step k: the 100 env steps of the initial collect and
    # ceil(k / ratio) more.
    assert run.env_step == 100 + strategy.env_steps_after(run.train_step)
  runner.env.reset()
  while runner.env_step < 100:
    runner.advance()
  while runner.env_step < 250:
    runner.advance(7)  # Chunks that end anywhere in the ratio's pattern.
    check(runner)
  runner.save()
  stopped_at = runner.train_step

  gin.clear_config()
  config.parse([conftest.gin_path('cartpole_dense.gin')], bindings)
  resumed = Runner(root, verbose=False)
  assert resumed.run() == 'finished'
  assert resumed.train_step == int(300 * ratio) == resumed.total_train_steps
  assert stopped_at < resumed.train_step
  check(resumed)
  assert resumed.env_step == 400


def test_dqn_trains_on_n_step_returns(tmp_path):
  runner = conftest.train_in_process(
      tmp_path / 'run', 'dqn', 'cartpole_rigl.gin', 'rigl',
      conftest.overridden(conftest.smoke_bindings('rigl'),
                          'OffPolicy.update_horizon = 3'))
  assert runner.experience.memory.update_horizon == 3
  batch = runner.experience.sample(256, runner.rng)
  # CartPole pays 1 a step: 3-step returns are 1 + 0.99 + 0.99^2 unless
  # an episode ended inside the window.
  rewards = batch.next_time_step.reward.numpy()
  assert np.isclose(rewards, 1 + 0.99 + 0.99**2).mean() > 0.8
  assert np.all(np.isclose(rewards[:, None], [1.0, 1.99, 2.9701]).any(axis=1))
  assert np.isfinite(runner.last_losses['loss'])


def test_dqn_on_prioritized_replay_weights_its_loss_and_updates_priorities(
    tmp_path):
  bindings = conftest.overridden(conftest.smoke_bindings('rigl'),
                                 'OffPolicy.replay = @PrioritizedReplay',
                                 'OffPolicy.update_horizon = 2')
  runner = conftest.train_in_process(tmp_path / 'run', 'dqn',
                                     'cartpole_rigl.gin', 'rigl', bindings)
  memory = runner.experience.memory
  assert memory.prioritized and memory.update_horizon == 2
  tree = memory.sampler.tree
  leaves = tree.get(tf.range(memory.capacity, dtype=tf.int64)).numpy()
  # Starts 0..398 of the 400 transitions may be drawn, no other.
  assert np.all(leaves[:399] > 0) and np.all(leaves[399:] == 0)
  assert tree.total.numpy() == pytest.approx(leaves.sum(), rel=1e-12)
  # Train steps set priorities from their losses: they are no longer all
  # the initial 1.
  assert len(np.unique(leaves[:399])) > 100
  # One more train step by hand: its loss is the importance-weighted mean
  # of the per-example losses before the step (plus the L2 term), and the
  # drawn starts then hold sqrt(loss + 1e-10).
  batch = memory.training_batch(32, runner.rng)
  trained = runner.bundle.trained[0]
  before = trained.per_example_loss(batch.experience).numpy()
  l2 = float(tf.add_n(trained.network.losses))
  weights = batch.weights.numpy()
  assert weights.max() == 1.0 and np.all(weights > 0)
  assert weights.min() < 0.9  # Priorities differ, so weights do.
  losses = runner._train_on(batch)  # pylint: disable=protected-access
  assert float(losses['loss']) == pytest.approx(
      np.mean(weights * before) + l2, rel=1e-6)
  assert np.mean(weights * before) != pytest.approx(np.mean(before),
                                                    rel=1e-3)
  np.testing.assert_allclose(tree.get(batch.indices).numpy(),
                             np.sqrt(before + 1e-10), rtol=1e-5)


def test_prioritized_replay_needs_per_example_losses(tmp_path):
  bindings = conftest.overridden(conftest.smoke_bindings('dense', 'sac'),
                                 'OffPolicy.replay = @PrioritizedReplay')
  config.parse([conftest.gin_path('pendulum_dense.gin', 'sac')], bindings)
  with pytest.raises(ConfigError, match='sac does not report per-example '
                     'losses.*OffPolicy.replay = @UniformReplay'):
    Runner(str(tmp_path / 'run'), verbose=False)


def test_priorities_resume_from_the_checkpoint(tmp_path):
  bindings = conftest.overridden(conftest.smoke_bindings('dense'),
                                 'OffPolicy.replay = @PrioritizedReplay')
  root = str(tmp_path / 'run')
  config.parse([conftest.gin_path('cartpole_dense.gin')], bindings)
  runner = Runner(root, verbose=False)
  runner.prepare()
  runner.env.reset()
  while runner.env_step < 250:
    runner.advance()
  runner.save()
  saved = runner.experience.memory.sampler.tree.nodes.numpy()
  assert len(np.unique(saved)) > 50  # Trained: priorities were set.

  gin.clear_config()
  config.parse([conftest.gin_path('cartpole_dense.gin')], bindings)
  resumed = Runner(root, verbose=False)
  resumed.prepare()
  tree = resumed.experience.memory.sampler.tree
  np.testing.assert_array_equal(tree.nodes.numpy(), saved)
  assert tree.max_priority.numpy() == (
      runner.experience.memory.sampler.tree.max_priority.numpy())
  assert resumed.run() == 'finished' and resumed.train_step == 300


def _checkpoint_tensors(runner, env_step):
  reader = tf.train.load_checkpoint(runner.checkpoints.path(env_step))
  return {key: reader.get_tensor(key)
          for key in reader.get_variable_to_shape_map()
          if key != '_CHECKPOINTABLE_OBJECT_GRAPH'}


def test_one_vectorised_env_reproduces_the_single_env_run(tmp_path,
                                                          monkeypatch):
  # gymnasium's SyncVectorEnv against the single-env wrapper stepped as the
  # loop stepped one env before vectorisation (reset right after LAST).
  bindings = conftest.overridden(conftest.smoke_bindings('rigl'),
                                 'OffPolicy.update_horizon = 3',
                                 'OffPolicy.replay_ratio = 0.5')
  vectorised = conftest.train_in_process(
      tmp_path / 'vector', 'dqn', 'cartpole_rigl.gin', 'rigl',
      bindings + ['Runner.num_envs = 1'])
  gin.clear_config()

  def single_env(spec, seed, num_envs):
    assert num_envs == 1
    return in_graph.InGraphVectorEnvironment(vector.PyEnvironments(
        [factory.make_py_environment(spec, seed)]))
  monkeypatch.setattr(factory, 'make_vector_environment', single_env)
  single = conftest.train_in_process(tmp_path / 'single', 'dqn',
                                     'cartpole_rigl.gin', 'rigl', bindings)
  first, second = (_checkpoint_tensors(run, 400)
                   for run in (vectorised, single))
  assert sorted(first) == sorted(second) and len(first) > 50
  for key, value in first.items():
    np.testing.assert_array_equal(value, second[key], err_msg=key)
  assert vectorised.finished_episodes() == single.finished_episodes()


def test_four_envs_keep_counts_returns_and_each_env_s_stream(tmp_path):
  recorder = _Recorder(40)
  config.parse([conftest.gin_path('cartpole_dense.gin')],
               conftest.smoke_bindings('dense') + [
                   'Runner.num_envs = 4', 'OffPolicy.update_horizon = 3'])
  runner = Runner(str(tmp_path / 'run'), extra_hooks=[recorder],
                  verbose=False)
  assert runner.run() == 'finished'
  assert (runner.env_step, runner.train_step) == (400, 300)
  # Hooks act on the one-env counts' env steps: after the initial collect
  # (100), iteration i (env step 100 + 4i) first trains step 4i - 3.
  assert recorder.positions == [(40, 0), (80, 0)] + [
      (env, env - 100 - 3) for env in range(120, 401, 40)]
  # Replay each env's stream through a CartPole of its seed with the stored
  # actions: every transition is that env's, in order.
  memory = runner.experience.memory
  assert int(memory.num_added) == 400
  stored = memory.gather(tf.range(400, dtype=tf.int64))
  observation = stored.time_step.observation.numpy()
  next_observation = stored.next_time_step.observation.numpy()
  actions = stored.action_step.action.numpy()
  rewards = stored.next_time_step.reward.numpy()
  ends = stored.next_time_step.step_type.numpy() == ts.StepType.LAST
  returns = []
  for env_index, seed in enumerate(vector.env_seeds(0, 4)):
    env = gym.make('CartPole-v0')
    current, _ = env.reset(seed=seed)
    episode_return = 0.0
    for position in range(env_index, 400, 4):
      np.testing.assert_array_equal(observation[position], current)
      current, reward, terminated, truncated, _ = env.step(
          int(actions[position]))
      np.testing.assert_array_equal(next_observation[position], current)
      assert rewards[position] == reward
      assert ends[position] == (terminated or truncated)
      episode_return += reward
      if terminated or truncated:
        returns.append(episode_return)
        episode_return = 0.0
        current, _ = env.reset()
  # The run reports exactly the episodes the four envs finished.
  total, count = runner.finished_episodes()
  assert count == len(returns) > 4
  assert total == sum(returns)


def test_env_step_counts_must_be_multiples_of_num_envs(tmp_path):
  config.parse([conftest.gin_path('cartpole_dense.gin')],
               conftest.smoke_bindings('dense') + ['Runner.num_envs = 3'])
  with pytest.raises(ConfigError, match=r'Runner.num_env_steps \(400\) is '
                     r'not a multiple of Runner.num_envs=3'):
    Runner(str(tmp_path / 'run'), verbose=False)
  gin.clear_config()
  config.parse([conftest.gin_path('cartpole_dense.gin')],
               conftest.overridden(conftest.smoke_bindings('dense'),
                                   'Runner.log_interval = 110') +
               ['Runner.num_envs = 4'])
  with pytest.raises(ConfigError,
                     match=r'Runner.log_interval \(110\) is not a multiple'):
    Runner(str(tmp_path / 'run2'), verbose=False)


def test_rollouts_split_equally_between_envs(tmp_path):
  config.parse([conftest.gin_path('cartpole_dense.gin', 'ppo')],
               conftest.smoke_bindings('dense', 'ppo') +
               ['Runner.num_envs = 3'])
  with pytest.raises(ConfigError, match=r'OnPolicy.rollout_length=128 does '
                     r'not split equally between Runner.num_envs=3'):
    Runner(str(tmp_path / 'run'), verbose=False)


def test_four_envs_fill_rollouts_with_each_env_s_steps_and_gae(tmp_path):
  recorder = _Recorder(128)
  config.parse([conftest.gin_path('cartpole_dense.gin', 'ppo')],
               conftest.smoke_bindings('dense', 'ppo') +
               ['Runner.num_envs = 4'])
  runner = Runner(str(tmp_path / 'run'), extra_hooks=[recorder],
                  verbose=False)
  assert runner.run() == 'finished'
  # One env's counts: 4 rollouts of 128 env steps, 2 epochs of 4 minibatches
  # each; rollout k (k = 1..4) is collected just before train step 8k - 7.
  assert (runner.env_step, runner.train_step) == (512, 32)
  assert recorder.positions == [(128, 1), (256, 9), (384, 17), (512, 25)]
  stored = runner.experience.memory.raw.gather(tf.range(128, dtype=tf.int64))
  # [32 steps, 4 envs]: env n's step t at 4t + n.
  by_env = lambda t: np.reshape(t.numpy(), (32, 4) + t.shape[1:])
  observation = by_env(stored.time_step.observation)
  next_observation = by_env(stored.next_time_step.observation)
  ends = by_env(stored.next_time_step.step_type) == ts.StepType.LAST
  # Each column is one env's steps in order: where it did not end, its next
  # step starts from the state this one reached.
  continued = ~ends[:-1]
  assert continued.sum() > 100
  np.testing.assert_array_equal(next_observation[:-1][continued],
                                observation[1:][continued])
  # Its advantages follow GAE's recursion down each column, bootstrapping
  # from the same env's next value prediction (CartPole's discount is 1
  # until an episode ends): A_t = r_t + gamma V_{t+1} - V_t + gamma lambda
  # A_{t+1}.
  info = runner.experience.prepared_rollout().policy_info
  advantage, value = by_env(info['advantage'][:, 0]), by_env(
      info['value_prediction'][:, 0])
  reward = by_env(stored.next_time_step.reward)
  gamma, lambda_ = 0.99, 0.95
  expected = (reward[:-1] + gamma * value[1:] - value[:-1] +
              gamma * lambda_ * advantage[1:])
  np.testing.assert_allclose(advantage[:-1][continued], expected[continued],
                             rtol=1e-4, atol=1e-4)
