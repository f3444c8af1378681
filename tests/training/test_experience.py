"""How env steps and train steps relate under each experience strategy."""
import types

import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.training import experience


def test_off_policy_step_arithmetic():
  strategy = experience.OffPolicy(initial_collect_steps=100,
                                  replay_ratio=0.25)
  # (1000 - 100) // 4 train steps.
  assert strategy.total_train_steps(1000) == 225
  # Env steps after t train steps: 100 + 4t.
  assert strategy.train_steps_until(100) == 0
  assert strategy.train_steps_until(101) == 1
  assert strategy.train_steps_until(104) == 1
  assert strategy.train_steps_until(105) == 2
  assert strategy.train_steps_until(50) == 0  # Still collecting.
  with pytest.raises(ConfigError, match='leaves no training'):
    strategy.total_train_steps(103)


@pytest.mark.parametrize('ratio, after', [
    # Env steps after the collect once k = 1..6 train steps are done:
    # ceil(k / ratio).
    (0.25, [4, 8, 12, 16, 20, 24]),
    (1, [1, 2, 3, 4, 5, 6]),
    (3, [1, 1, 1, 2, 2, 2]),
    (0.4, [3, 5, 8, 10, 13, 15]),
    (1.5, [1, 2, 2, 3, 4, 4]),
])
def test_replay_ratio_spaces_train_steps_exactly(ratio, after):
  strategy = experience.OffPolicy(initial_collect_steps=10,
                                  replay_ratio=ratio)
  assert [strategy.env_steps_after(k) for k in range(1, 7)] == after
  for k, env in enumerate(after, start=1):
    # The fewest train steps that reach each env step count.
    assert strategy.train_steps_until(10 + env) == min(
        j for j, e in enumerate(after, start=1) if e >= env)
  # floor(ratio * 100) train steps in 100 env steps after the collect.
  assert strategy.total_train_steps(110) == int(ratio * 100)


def test_on_policy_step_arithmetic():
  strategy = experience.OnPolicy(rollout_length=2048, epochs=10,
                                 minibatch_size=64)
  assert strategy.minibatches == 32 and strategy.cycle == 320
  # Whole rollouts only: 4 rollouts of 320 train steps.
  assert strategy.total_train_steps(10_000) == 1280
  # The first train step collects the first rollout (env steps 1..2048);
  # step 321 the second.
  assert strategy.train_steps_until(0) == 0
  assert strategy.train_steps_until(1) == 1
  assert strategy.train_steps_until(2048) == 1
  assert strategy.train_steps_until(2049) == 321
  assert strategy.train_steps_until(4096) == 321
  with pytest.raises(ConfigError, match='shorter than one rollout'):
    strategy.total_train_steps(2047)


def test_on_policy_minibatches_drop_the_remainder():
  strategy = experience.OnPolicy(rollout_length=100, epochs=3,
                                 minibatch_size=32)
  assert strategy.minibatches == 3 and strategy.cycle == 9


@pytest.mark.parametrize('kwargs,message', [
    (dict(minibatch_size=0), 'OnPolicy.minibatch_size must be an integer >= 1, got 0'),
    (dict(rollout_length=32, minibatch_size=64),
     'OnPolicy.minibatch_size=64 exceeds OnPolicy.rollout_length=32'),
    (dict(epochs=0), 'OnPolicy.epochs must be an integer >= 1'),
])
def test_on_policy_refuses_bad_sizes(kwargs, message):
  with pytest.raises(ConfigError, match=message):
    experience.OnPolicy(**kwargs)


def test_off_policy_refuses_bad_sizes():
  with pytest.raises(ConfigError, match='OffPolicy.batch_size must be an integer >= 1'):
    experience.OffPolicy(batch_size=0)


@pytest.mark.parametrize('kwargs,message', [
    (dict(batch_size='32'), "OffPolicy.batch_size must be an integer >= 1, "
     "got '32'"),
    (dict(replay_ratio=0), 'OffPolicy.replay_ratio must be a number > 0'),
    (dict(replay_ratio='4'), 'OffPolicy.replay_ratio must be a number > 0'),
    (dict(initial_collect_steps=-1),
     'OffPolicy.initial_collect_steps must be an integer >= 0'),
    (dict(reward_clip='1'), 'OffPolicy.reward_clip must be a number > 0'),
])
def test_off_policy_refuses_values_of_the_wrong_type(kwargs, message):
  with pytest.raises(ConfigError, match=message):
    experience.OffPolicy(**kwargs)


def test_a_replay_larger_than_memory_is_refused_before_it_is_allocated():
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from tf_agents.specs import tensor_spec
  from tf_agents.trajectories import time_step as ts
  from rigl_rl.training import replay
  observation = tensor_spec.TensorSpec([84, 84, 4], tf.uint8)
  action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 5)
  time_step_spec = ts.time_step_spec(observation)
  # 2 stacked observations of 28 KB, action, reward, discount, step type.
  assert replay.UniformReplay.nbytes(time_step_spec, action, 10) == (
      10 * (2 * 84 * 84 * 4 + 8 + 12))
  # One frame per step.
  assert replay.FrameReplay.nbytes(time_step_spec, action, 10) == (
      10 * (84 * 84 + 8 + 5))
  capacity = replay.available_memory_bytes() // (84 * 84) + 1
  strategy = experience.OffPolicy(replay_capacity=capacity,
                                  replay=replay.FrameReplay)
  bundle = types.SimpleNamespace(prepare_rollout=None)  # An off-policy one.
  with pytest.raises(ConfigError, match=r'needs about .* GiB, more than the '
                     r'.* GiB of memory available; lower '
                     r'OffPolicy.replay_capacity'):
    strategy.build(time_step_spec, action, bundle)
  assert strategy.memory is None


def _built(num_envs, **kwargs):
  """An OffPolicy built for `num_envs` envs on a tiny spec."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from tf_agents.specs import tensor_spec
  from tf_agents.trajectories import time_step as ts
  strategy = experience.OffPolicy(replay_capacity=16, **kwargs)
  bundle = types.SimpleNamespace(
      prepare_rollout=None, gamma=0.99, example_losses=None,
      agent=types.SimpleNamespace(train_step_counter=tf.Variable(0)))
  strategy.build(ts.time_step_spec(tensor_spec.TensorSpec([2], tf.float32)),
                 tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1), bundle,
                 num_envs=num_envs)
  return strategy


def test_n_envs_train_on_the_iteration_that_reaches_each_train_step():
  strategy = _built(8, initial_collect_steps=16, replay_ratio=1)
  assert strategy.memory.num_envs == 8
  # Train steps 1-8 all follow the first iteration of 8 env steps.
  assert [strategy.iterations_after(k) for k in range(10)] == (
      [0] + [1] * 8 + [2])
  assert strategy.train_steps_until(16) == 0
  assert strategy.train_steps_until(24) == 1
  assert strategy.train_steps_until(32) == 9
  # The same train steps in a run as with one env.
  assert strategy.total_train_steps(1016) == 1000


@pytest.mark.parametrize('num_envs', [1, 2, 3, 4, 8])
@pytest.mark.parametrize('ratio', [0.25, 1, 3, 0.4, 1.5])
def test_n_envs_keep_the_replay_ratio_s_positions(num_envs, ratio):
  collect = 24
  strategy = _built(num_envs, initial_collect_steps=collect,
                    replay_ratio=ratio)
  one_env = experience.OffPolicy(initial_collect_steps=collect,
                                 replay_ratio=ratio)
  env_after = lambda k: collect + num_envs * strategy.iterations_after(k)
  for k in range(1, 60):
    # Train step k follows the fewest whole iterations that reach the env
    # step one env trains it at.
    wanted = collect + one_env.env_steps_after(k)
    assert wanted <= env_after(k) < wanted + num_envs
  for env in range(collect, collect + 40 * num_envs, num_envs):
    assert strategy.train_steps_until(env) == min(
        k for k in range(0, 1000) if k == 0 and env == collect or
        k > 0 and env_after(k) >= env)
