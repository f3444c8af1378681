"""The uniform replay memory stores what it is given and wraps around."""
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from rigl_rl.errors import ConfigError
from rigl_rl.training import replay


def _step(value, step_type=ts.StepType.MID, discount=1.0):
  return ts.TimeStep(
      step_type=tf.constant([step_type], tf.int32),
      reward=tf.constant([value], tf.float32),
      discount=tf.constant([discount], tf.float32),
      observation=tf.fill([1, 3], float(value)))


def test_round_trip_and_ring_wrap():
  spec = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))
  action_spec = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1)
  memory = replay.UniformReplay(spec, action_spec, capacity=4)
  for i in range(6):  # Items 0 and 1 are overwritten by 4 and 5.
    last = i == 5
    memory.add(_step(i), tf.constant([i % 2], tf.int64),
               _step(i + 1, ts.StepType.LAST if last else ts.StepType.MID,
                     0.0 if last else 1.0))
  assert int(memory.size) == 4
  batch = memory.sample(256, tf.random.Generator.from_seed(0))
  observations = batch.time_step.observation.numpy()[:, 0]
  assert set(observations.astype(int)) == {2, 3, 4, 5}
  # Each sample is one stored transition, fields aligned.
  np.testing.assert_array_equal(batch.next_time_step.observation.numpy()[:, 0],
                                observations + 1)
  np.testing.assert_array_equal(batch.next_time_step.reward.numpy(),
                                observations + 1)
  np.testing.assert_array_equal(batch.action_step.action.numpy(),
                                observations.astype(int) % 2)
  terminal = observations == 5
  assert np.all(batch.next_time_step.discount.numpy()[terminal] == 0.0)
  assert np.all(batch.next_time_step.step_type.numpy()[terminal] ==
                ts.StepType.LAST)
  assert np.all(batch.next_time_step.discount.numpy()[~terminal] == 1.0)


def _add(memory, observation, reward, next_observation,
         step_type=ts.StepType.MID, discount=1.0):
  def time_step(value, kind, reward_value, discount_value):
    return ts.TimeStep(step_type=tf.constant([kind], tf.int32),
                       reward=tf.constant([reward_value], tf.float32),
                       discount=tf.constant([discount_value], tf.float32),
                       observation=tf.fill([1, 3], float(value)))
  memory.add(time_step(observation, ts.StepType.MID, 0.0, 1.0),
             tf.constant([0], tf.int64),
             time_step(next_observation, step_type, reward, discount))


def _n_step_memory(capacity=16):
  spec = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))
  action_spec = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1)
  return replay.UniformReplay(spec, action_spec, capacity, update_horizon=3,
                              gamma=0.5)


def test_n_step_returns_stop_at_episode_ends_by_hand():
  memory = _n_step_memory()
  # Episode A: observations 0-3, rewards 1-4, a terminal after 3 (next 4).
  for t in range(4):
    last = t == 3
    _add(memory, t, t + 1.0, t + 1,
         ts.StepType.LAST if last else ts.StepType.MID, 0.0 if last else 1.0)
  # Episode B: observations 10-12, rewards 10, 20, 30, cut by the time
  # limit after 12 (next 13, discount 1); then one step of episode C.
  for t, reward in enumerate((10.0, 20.0, 30.0)):
    _add(memory, 10 + t, reward, 11 + t,
         ts.StepType.LAST if t == 2 else ts.StepType.MID)
  _add(memory, 20, 100.0, 21)
  batch = memory._multi_step(tf.range(6, dtype=tf.int64))  # pylint: disable=protected-access
  # gamma 0.5: start -> (sum of up to 3 rewards, next obs, bootstrap
  # discount gamma^(m-1) * the last one's).
  expected = [
      (1 + 0.5 * 2 + 0.25 * 3, 3, 0.25),   # 0: three MID steps.
      (2 + 0.5 * 3 + 0.25 * 4, 4, 0.0),    # 1: ends on the terminal.
      (3 + 0.5 * 4, 4, 0.0),               # 2: stops at the terminal.
      (4.0, 4, 0.0),                       # 3: the terminal alone.
      (10 + 0.5 * 20 + 0.25 * 30, 13, 0.25),  # 4: ends on the cut.
      (20 + 0.5 * 30, 13, 0.5),            # 5: stops at the cut.
  ]
  np.testing.assert_allclose(batch.next_time_step.reward.numpy(),
                             [r for r, _, _ in expected])
  np.testing.assert_allclose(batch.next_time_step.observation.numpy()[:, 0],
                             [o for _, o, _ in expected])
  np.testing.assert_allclose(batch.next_time_step.discount.numpy(),
                             [d for _, _, d in expected])
  np.testing.assert_array_equal(batch.time_step.observation.numpy()[:, 0],
                                [0, 1, 2, 3, 10, 11])
  # Sampling draws only starts whose three transitions are stored.
  sampled = memory.sample(512, tf.random.Generator.from_seed(0))
  starts = set(sampled.time_step.observation.numpy()[:, 0].astype(int))
  assert starts == {0, 1, 2, 3, 10, 11}


def test_n_step_windows_never_cross_a_resume():
  memory = _n_step_memory()
  _add(memory, 0, 1.0, 1)
  _add(memory, 1, 2.0, 2)
  memory.close_episode()  # A resumed run starts a new episode here.
  _add(memory, 5, 4.0, 6)
  batch = memory._multi_step(tf.constant([0], tf.int64))  # pylint: disable=protected-access
  assert batch.next_time_step.reward.numpy() == [1 + 0.5 * 2]
  assert batch.next_time_step.observation.numpy()[0, 0] == 2
  assert batch.next_time_step.discount.numpy() == [0.5]


def test_n_step_sampling_stays_inside_a_wrapped_ring():
  memory = _n_step_memory(capacity=5)
  for t in range(12):  # Holds transitions 7-11.
    _add(memory, t, float(t), t + 1)
  batch = memory.sample(256, tf.random.Generator.from_seed(1))
  starts = batch.time_step.observation.numpy()[:, 0].astype(int)
  assert set(starts) == {7, 8, 9}
  np.testing.assert_allclose(batch.next_time_step.reward.numpy(),
                             starts + 0.5 * (starts + 1) + 0.25 * (starts + 2))
  np.testing.assert_allclose(batch.next_time_step.observation.numpy()[:, 0],
                             starts + 3)


def _prioritized(capacity, update_horizon=1, **kwargs):
  spec = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))
  action_spec = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1)
  return replay.PrioritizedReplay(spec, action_spec, capacity,
                                  update_horizon=update_horizon, gamma=0.5,
                                  **kwargs)


def _leaves(memory):
  return memory.sampler.tree.get(
      tf.range(memory.capacity, dtype=tf.int64)).numpy()


def test_prioritized_starts_enter_at_the_max_and_leave_when_overwritten():
  memory = _prioritized(5, update_horizon=3)
  _add(memory, 0, 1.0, 1)
  _add(memory, 1, 1.0, 2)
  # No start has its three transitions yet.
  np.testing.assert_array_equal(_leaves(memory), [0, 0, 0, 0, 0])
  _add(memory, 2, 1.0, 3)
  np.testing.assert_array_equal(_leaves(memory), [1, 0, 0, 0, 0])
  memory.update_priorities(tf.constant([0], tf.int64), tf.constant([24.0]))
  # (24 + 1e-10)^0.5: the new max, given to the starts that enter next.
  for t in range(3, 7):
    _add(memory, t, 1.0, t + 1)
  # Transitions 2-6 are held (5 and 6 at positions 0 and 1); starts 2-4
  # may be drawn, each entered at the max after the update; start 0 (at
  # that max) left when transition 5 overwrote it.
  np.testing.assert_allclose(_leaves(memory),
                             [0, 0, 24**0.5, 24**0.5, 24**0.5])
  # Exactly the starts uniform sampling draws.
  drawn = memory.training_batch(256, tf.random.Generator.from_seed(0))
  assert set(drawn.experience.time_step.observation.numpy()[:, 0]) == {2, 3,
                                                                       4}


def test_importance_weights_and_priority_updates_by_hand():
  memory = _prioritized(3, importance_exponent=0.5)
  for t in range(3):
    _add(memory, t, 10.0 * t, t + 1)
  # Losses 1, 1, 4 -> priorities sqrt(l + 1e-10) = 1, 1, 2; total 4.
  memory.update_priorities(tf.constant([0, 1, 2], tf.int64),
                           tf.constant([1.0, 1.0, 4.0]))
  np.testing.assert_allclose(_leaves(memory), [1, 1, 2], rtol=1e-9)
  rng = tf.random.Generator.from_seed(0)
  for _ in range(5):
    # Two segments, [0, 2) -> start 0 or 1 and [2, 4) -> start 2: weights
    # (min p / p)^0.5 = 1 and (1/2)^0.5.
    batch = memory.training_batch(2, rng)
    assert batch.indices.numpy()[1] == 2 and batch.indices.numpy()[0] < 2
    np.testing.assert_allclose(batch.weights.numpy(), [1.0, 0.5**0.5],
                               rtol=1e-6)
    # The batch is the drawn transitions, fields aligned.
    np.testing.assert_array_equal(batch.experience.time_step.observation[:, 0],
                                  batch.indices.numpy())
    np.testing.assert_array_equal(batch.experience.next_time_step.reward,
                                  10.0 * batch.indices.numpy())
  # beta = 1 and alpha = 1: weights min p / p from priorities l + eps.
  memory = _prioritized(3, importance_exponent=1.0, priority_exponent=1.0)
  for t in range(3):
    _add(memory, t, 0.0, t + 1)
  memory.update_priorities(tf.constant([0, 1, 2], tf.int64),
                           tf.constant([1.0, 1.0, 2.0]))
  batch = memory.training_batch(2, rng)
  np.testing.assert_allclose(batch.weights.numpy(), [1.0, 0.5], rtol=1e-6)


def test_prioritized_n_step_batches_are_the_uniform_memory_s():
  memory = _prioritized(16, update_horizon=3)
  for t in range(4):
    last = t == 3
    _add(memory, t, t + 1.0, t + 1,
         ts.StepType.LAST if last else ts.StepType.MID, 0.0 if last else 1.0)
  batch = memory.training_batch(64, tf.random.Generator.from_seed(2))
  starts = batch.indices.numpy()
  assert set(starts) == {0, 1}  # Starts 2 and 3 lack their 3 transitions.
  # As test_n_step_returns_stop_at_episode_ends_by_hand: start 0 sums three
  # MID steps, start 1 ends on the terminal.
  np.testing.assert_allclose(batch.experience.next_time_step.reward,
                             np.where(starts == 0, 1 + 0.5 * 2 + 0.25 * 3,
                                      2 + 0.5 * 3 + 0.25 * 4))
  np.testing.assert_allclose(batch.experience.next_time_step.discount,
                             np.where(starts == 0, 0.25, 0.0))


def test_prioritized_memory_round_trips_through_a_checkpoint(tmp_path):
  memory = _prioritized(8, update_horizon=2)
  for t in range(11):
    _add(memory, t, float(t), t + 1)
  memory.update_priorities(tf.constant([3, 5, 6], tf.int64),
                           tf.constant([9.0, 0.25, 100.0]))
  path = tf.train.Checkpoint(memory=memory).write(str(tmp_path / 'ckpt'))
  restored = _prioritized(8, update_horizon=2)
  tf.train.Checkpoint(memory=restored).read(path).assert_consumed()
  tree, again_tree = memory.sampler.tree, restored.sampler.tree
  np.testing.assert_array_equal(again_tree.nodes.numpy(), tree.nodes.numpy())
  assert again_tree.max_priority.numpy() == tree.max_priority.numpy()
  assert again_tree.max_priority.numpy() == np.float64(100 + 1e-10)**0.5
  original = memory.training_batch(32, tf.random.Generator.from_seed(5))
  again = restored.training_batch(32, tf.random.Generator.from_seed(5))
  np.testing.assert_array_equal(original.indices, again.indices)
  np.testing.assert_array_equal(original.weights, again.weights)
  np.testing.assert_array_equal(original.experience.next_time_step.reward,
                                again.experience.next_time_step.reward)
  # And both go on alike: the next start enters at the restored max.
  _add(restored, 11, 11.0, 12)
  assert _leaves(restored)[10 % 8] == np.float64(100 + 1e-10)**0.5


def test_prioritized_exponents_must_be_positive():
  with pytest.raises(ConfigError, match='PrioritizedReplay.importance_exponent '
                     'must be a number > 0, got 0'):
    _prioritized(4, importance_exponent=0)


def _add_envs(memory, observations, rewards, ends=()):
  """One add of len(observations) envs: env e goes from observations[e] to
  observations[e] + 1 with rewards[e]; envs in `ends` terminate."""
  n = len(observations)
  last = [e in ends for e in range(n)]

  def time_step(values, kinds, reward, discount):
    return ts.TimeStep(step_type=tf.constant(kinds, tf.int32),
                       reward=tf.constant(reward, tf.float32),
                       discount=tf.constant(discount, tf.float32),
                       observation=tf.constant(
                           [[float(v)] * 3 for v in values]))
  memory.add(time_step(observations, [ts.StepType.MID] * n, [0.0] * n,
                       [1.0] * n),
             tf.zeros([n], tf.int64),
             time_step([o + 1 for o in observations],
                       [ts.StepType.LAST if l else ts.StepType.MID
                        for l in last], rewards,
                       [0.0 if l else 1.0 for l in last]))


def test_n_step_windows_follow_one_env_through_interleaved_adds():
  spec = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))
  action_spec = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1)
  memory = replay.UniformReplay(spec, action_spec, 16, update_horizon=3,
                                gamma=0.5, num_envs=2)
  # Env 0 observes 0, 1, 2, 3 (rewards 1-4); env 1 observes 100-103
  # (rewards 10-40) and terminates after its 2nd step.
  for t in range(4):
    _add_envs(memory, [t, 100 + t], [t + 1.0, 10.0 * (t + 1)],
              ends=(1,) if t == 1 else ())
  assert int(memory.num_added) == 8
  # Entries in add order: env 0 at even positions, env 1 at odd ones.
  batch = memory._multi_step(tf.range(4, dtype=tf.int64))  # pylint: disable=protected-access
  np.testing.assert_allclose(batch.time_step.observation.numpy()[:, 0],
                             [0, 100, 1, 101])
  np.testing.assert_allclose(batch.next_time_step.reward.numpy(), [
      1 + 0.5 * 2 + 0.25 * 3,  # Env 0's steps 0-2, not env 1's.
      10 + 0.5 * 20,           # Stops at env 1's terminal.
      2 + 0.5 * 3 + 0.25 * 4,
      20.0])
  np.testing.assert_allclose(batch.next_time_step.observation.numpy()[:, 0],
                             [3, 102, 4, 102])
  np.testing.assert_allclose(batch.next_time_step.discount.numpy(),
                             [0.25, 0.0, 0.25, 0.0])
  # Only starts whose env has two more transitions stored are drawn:
  # positions 0-3, not env 0's 2 and 3 nor env 1's 102 and 103.
  sampled = memory.sample(512, tf.random.Generator.from_seed(0))
  assert set(sampled.time_step.observation.numpy()[:, 0].astype(int)) == {
      0, 1, 100, 101}
  # A resume ends each env's newest transition.
  memory.close_episode()
  assert memory.gather(tf.constant([6, 7], tf.int64)).next_time_step \
      .step_type.numpy().tolist() == [ts.StepType.LAST] * 2
  assert memory.gather(tf.constant([5], tf.int64)).next_time_step \
      .step_type.numpy().tolist() == [ts.StepType.MID]


def test_prioritized_starts_of_n_envs_enter_when_their_window_is_stored():
  memory = _prioritized(8, update_horizon=2, num_envs=2)
  _add_envs(memory, [0, 100], [1.0, 1.0])
  np.testing.assert_array_equal(_leaves(memory), [0] * 8)
  _add_envs(memory, [1, 101], [1.0, 1.0])
  # Each env's first transition now has its 2-step window.
  np.testing.assert_array_equal(_leaves(memory), [1, 1, 0, 0, 0, 0, 0, 0])
  for t in range(2, 5):
    _add_envs(memory, [t, 100 + t], [1.0, 1.0])
  # 10 added into 8: positions 0 and 1 hold the newest (no window yet),
  # 2-7 the starts whose windows are stored.
  np.testing.assert_array_equal(_leaves(memory), [0, 0, 1, 1, 1, 1, 1, 1])
  drawn = memory.training_batch(256, tf.random.Generator.from_seed(0))
  assert set(drawn.experience.time_step.observation.numpy()[:, 0]) == {
      1, 2, 3, 101, 102, 103}
