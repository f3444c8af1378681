"""The frame replay rebuilds the stacks the environment showed, across
episode boundaries, and survives a save and load."""
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from rigl_rl.errors import ConfigError
from rigl_rl.training import experience
from rigl_rl.training import replay

STACK = 4
SPEC = ts.time_step_spec(
    tensor_spec.BoundedTensorSpec((2, 3, STACK), tf.uint8, 0, 255))
ACTIONS = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 5)


def _episodes(lengths, truncated=()):
  """Frames numbered 1, 2, ... across episodes, with the stacks an agent
  saw: zeros before each episode's first frame, as the Atari env pads.

  Yields:
    (stack, action, reward, step_type of the next step, discount, frame
    numbers of the stack) per transition.
  """
  number = 0
  for episode, length in enumerate(lengths):
    numbers = list(range(number + 1, number + length + 2))  # One more frame:
    number += length + 1                                    # the last state.
    for t in range(length):
      window = [0] * max(0, STACK - 1 - t) + numbers[max(0, t - STACK + 1):t + 1]
      stack = np.stack([np.full((2, 3), n, np.uint8) for n in window], -1)
      last = t == length - 1
      discount = 1.0 if (not last or episode in truncated) else 0.0
      yield (stack, numbers[t] % 6, float(numbers[t]),
             ts.StepType.LAST if last else ts.StepType.MID, discount, window)


def _fill(memory, lengths, truncated=()):
  expected = {}
  for stack, action, reward, step_type, discount, window in _episodes(
      lengths, truncated):
    memory._add(stack[..., -1], action, reward, step_type, discount)  # pylint: disable=protected-access
    expected[window[-1]] = (window, step_type, discount)
  return expected


def _check_batch(batch, expected):
  """Every sampled transition is one the agent made, stacks and all."""
  states = batch.time_step.observation.numpy()
  next_states = batch.next_time_step.observation.numpy()
  for i in range(states.shape[0]):
    window = list(states[i, 0, 0, :])
    assert (states[i] == states[i, :1, :1, :]).all()  # Whole frames.
    newest = window[-1]
    assert newest in expected
    want, step_type, discount = expected[newest]
    assert window == want
    assert batch.action_step.action.numpy()[i] == newest % 6
    assert batch.next_time_step.reward.numpy()[i] == newest
    assert batch.next_time_step.discount.numpy()[i] == discount
    assert batch.next_time_step.step_type.numpy()[i] == (
        ts.StepType.LAST if discount == 0.0 else ts.StepType.MID)
    if discount:  # The next state shifts in the next frame of the episode.
      assert list(next_states[i, 0, 0, :]) == want[1:] + [newest + 1]
  return states[:, 0, 0, -1]


def test_stacks_are_rebuilt_across_episode_boundaries():
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=100)
  # Episodes shorter and longer than the stack; the third is cut by a time
  # limit, whose last transition has no stored next frame.
  expected = _fill(memory, [2, 6, 3, 5], truncated=(2,))
  batch = memory.sample(512, tf.random.Generator.from_seed(0))
  newest = _check_batch(batch, expected)
  truncated_end = [n for n, (_, step, d) in expected.items()
                   if step == ts.StepType.LAST and d == 1.0]
  assert not set(newest) & set(truncated_end)
  # Every other transition (but the newest, whose next frame is not in yet)
  # is drawn.
  sampleable = set(expected) - set(truncated_end) - {max(expected)}
  assert set(newest) == sampleable


def test_ring_wrap_keeps_stacks_whole():
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=24)
  expected = _fill(memory, [7, 9, 5, 8])  # 29 frames + padding > capacity.
  batch = memory.sample(256, tf.random.Generator.from_seed(1))
  newest = _check_batch(batch, expected)
  assert min(newest) > 10  # The oldest frames were overwritten.


def test_samples_follow_the_run_generator():
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=100)
  _fill(memory, [10, 10])
  first = memory.sample(16, tf.random.Generator.from_seed(3))
  again = memory.sample(16, tf.random.Generator.from_seed(3))
  np.testing.assert_array_equal(first.time_step.observation.numpy(),
                                again.time_step.observation.numpy())


def test_save_and_load_round_trip(tmp_path):
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=50)
  expected = _fill(memory, [6, 8])
  memory.save_files(str(tmp_path / 'replay-7'))
  assert not (tmp_path / 'replay-7.partial').exists()
  restored = replay.FrameReplay(SPEC, ACTIONS, capacity=50)
  restored.load_files(str(tmp_path / 'replay-7'))
  for name, array in memory.buffers[0]._store.items():  # pylint: disable=protected-access
    np.testing.assert_array_equal(restored.buffers[0]._store[name][:16],  # pylint: disable=protected-access
                                  array[:16])
  # The episode in flight was closed; a new one starts after the resume.
  newer = _fill(restored, [3])
  renumbered = {n + 16: (window, step, d) for n, (window, step, d) in
                [(n, ([w + 16 if w else 0 for w in window], s, d))
                 for n, (window, s, d) in newer.items()]}
  expected.update(renumbered)
  _check_batch(restored.sample(256, tf.random.Generator.from_seed(0)),
               expected)


def test_saving_again_replaces_the_files(tmp_path):
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=50)
  _fill(memory, [6])
  memory.save_files(str(tmp_path / 'replay-7'))
  first = int(memory.buffers[0].add_count)
  _fill(memory, [4])
  memory.save_files(str(tmp_path / 'replay-7'))
  assert sorted(os.listdir(tmp_path)) == ['replay-7']
  restored = replay.FrameReplay(SPEC, ACTIONS, capacity=50)
  restored.load_files(str(tmp_path / 'replay-7'))
  assert restored.buffers[0].add_count == memory.buffers[0].add_count > first


def test_too_few_transitions_say_so():
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=50)
  _fill(memory, [1])
  with pytest.raises(RuntimeError, match='no complete'):
    memory.sample(4, tf.random.Generator.from_seed(0))


def test_vector_observations_are_refused():
  flat = ts.time_step_spec(tensor_spec.TensorSpec((4,), tf.float32))
  with pytest.raises(ValueError, match='UniformReplay'):
    replay.FrameReplay(flat, ACTIONS, capacity=10)


def test_off_policy_clips_stored_rewards_only():
  strategy = experience.OffPolicy(replay_capacity=8, reward_clip=1.0)
  spec = ts.time_step_spec(tensor_spec.TensorSpec((1,), tf.float32))
  strategy.memory = replay.UniformReplay(spec, ACTIONS, 8)
  step = ts.TimeStep(tf.constant([1]), tf.constant([0.0]), tf.constant([1.0]),
                     tf.constant([[0.0]]))
  for reward in (-7.0, 0.5, 21.0):
    strategy.add(step, tf.constant([0], tf.int64),
                 step._replace(reward=tf.constant([reward])))
  stored = strategy.memory.gather(tf.range(3, dtype=tf.int64))
  np.testing.assert_array_equal(stored.next_time_step.reward.numpy(),
                                [-1.0, 0.5, 1.0])


def _copy(run, tmp_path, finished):
  """A copy of a run's directory; not finished: as if stopped after its last
  checkpoint, before it wrote its results."""
  # pylint: disable=g-import-not-at-top
  import json
  import shutil
  copy = str(tmp_path / 'run')
  shutil.copytree(run.root_dir, copy, ignore=shutil.ignore_patterns('.lock'))
  results = os.path.join(copy, 'results.json')
  with open(results) as f:
    written = json.load(f)
  written['finished'] = finished
  with open(results, 'w') as f:
    json.dump(written, f)
  return copy


def test_run_resumes_with_the_replay_saved_beside_its_checkpoint(
    atari_rigl_run, tmp_path):
  # pylint: disable=g-import-not-at-top
  from rigl_rl import config
  from rigl_rl.training.loop import Runner
  from tests import conftest
  root = _copy(atari_rigl_run, tmp_path, finished=False)
  checkpoints = os.path.join(root, 'checkpoints')
  kept = sorted(name for name in os.listdir(checkpoints)
                if name.startswith('replay-'))
  assert kept == ['replay-300', 'replay-400']  # One per kept checkpoint.
  config.parse([conftest.gin_path('atari_nature_rigl.gin')],
               conftest.ATARI_SMOKE_BINDINGS)
  resumed = Runner(root, verbose=False)
  resumed.prepare()
  assert resumed.train_step == atari_rigl_run.train_step == 50
  original = atari_rigl_run.experience.memory.buffers[0]
  restored = resumed.experience.memory.buffers[0]
  # 400 frames, and the zero padding before each episode.
  assert restored.add_count == original.add_count > 400
  for name, array in original._store.items():  # pylint: disable=protected-access
    np.testing.assert_array_equal(restored._store[name], array)  # pylint: disable=protected-access


def test_missing_replay_files_fall_back_then_stop_the_resume(atari_rigl_run,
                                                            tmp_path):
  # pylint: disable=g-import-not-at-top
  import shutil
  from rigl_rl import config
  from rigl_rl.errors import ConfigError
  from rigl_rl.training.loop import Runner
  from tests import conftest
  copy = _copy(atari_rigl_run, tmp_path, finished=False)
  checkpoints = os.path.join(copy, 'checkpoints')
  config.parse([conftest.gin_path('atari_nature_rigl.gin')],
               conftest.ATARI_SMOKE_BINDINGS)
  shutil.rmtree(os.path.join(checkpoints, 'replay-300'))
  shutil.rmtree(os.path.join(checkpoints, 'replay-400'))
  with pytest.raises(ConfigError, match='none of the 2 checkpoints .*'
                     'replay-400 is missing'):
    Runner(copy, verbose=False).prepare()
  # With the older one's files back, the resume starts there.
  shutil.copytree(
      os.path.join(atari_rigl_run.root_dir, 'checkpoints', 'replay-300'),
      os.path.join(checkpoints, 'replay-300'))
  runner = Runner(copy, verbose=False)
  runner.prepare()
  assert runner.env_step == 300
  assert sorted(os.listdir(os.path.join(checkpoints, 'unreadable'))) == [
      'ckpt-400.data-00000-of-00001', 'ckpt-400.index']

def test_a_finished_run_does_not_read_its_replay(atari_rigl_run, tmp_path):
  # pylint: disable=g-import-not-at-top
  import shutil
  from rigl_rl import config
  from rigl_rl.training.loop import Runner
  from tests import conftest
  copy = _copy(atari_rigl_run, tmp_path, finished=True)
  for kept in ('replay-300', 'replay-400'):
    shutil.rmtree(os.path.join(copy, 'checkpoints', kept))
  config.parse([conftest.gin_path('atari_nature_rigl.gin')],
               conftest.ATARI_SMOKE_BINDINGS)
  runner = Runner(copy, verbose=False)
  assert runner.run() == 'finished'
  assert runner.already_finished and runner.train_step == 50
  assert runner.experience.memory.buffers[0].add_count == 0


def test_n_step_returns_stop_at_the_terminal():
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=100, update_horizon=3,
                              gamma=0.5)
  # Transitions of frames 1-5 and 7-14 (rewards = frame numbers), each
  # episode ending on a terminal.
  _fill(memory, [5, 8])
  batch = memory.sample(512, tf.random.Generator.from_seed(0))
  newest = batch.time_step.observation.numpy()[:, 0, 0, -1].astype(int)
  for i, frame in enumerate(newest):
    last = 5 if frame <= 5 else 14
    summed = min(3, last - frame + 1)
    reward = sum(0.5**j * (frame + j) for j in range(summed))
    assert batch.next_time_step.reward.numpy()[i] == pytest.approx(reward)
    # gamma * discount bootstraps with gamma^3, or not after a terminal.
    assert batch.next_time_step.discount.numpy()[i] == (
        0.0 if frame + summed - 1 == last else 0.25)
  # Starts before the first terminal are drawn, windows cut short; the
  # newest n (12-14) are not, as in Dopamine, their steps not all stored.
  assert {3, 4, 5} <= set(newest) and not {12, 13, 14} & set(newest)


# Episodes as (length, how it ends): shorter and longer than the stack,
# terminals and time limits, the last one still in flight.
_MIXED_EPISODES = [(1, 'terminal'), (6, 'time limit'), (2, 'time limit'),
                   (9, 'terminal'), (3, 'terminal'), (1, 'time limit'),
                   (7, 'terminal'), (4, 'time limit'), (12, 'in flight')]


def _mixed_adds():
  """`_add` arguments of _MIXED_EPISODES: random frames and rewards."""
  rng = np.random.default_rng(0)
  for length, end in _MIXED_EPISODES:
    for t in range(length):
      last = t == length - 1 and end != 'in flight'
      yield (rng.integers(0, 256, (2, 3), np.uint8), int(rng.integers(6)),
             float(rng.normal()),
             ts.StepType.LAST if last else ts.StepType.MID,
             0.0 if last and end == 'terminal' else 1.0)


def _reference_valid(buffer, index):
  """Dopamine's own check, and no episode end among the stack's earlier
  frames."""
  base = replay.circular_replay_buffer.OutOfGraphReplayBuffer
  earlier = {(index - k) % buffer._replay_capacity  # pylint: disable=protected-access
             for k in range(1, buffer._stack_size)}  # pylint: disable=protected-access
  return (base.is_valid_transition(buffer, index) and
          not earlier & buffer.episode_end_indices)


def _check_against_dopamine(buffer):
  """Batched validity and batches equal Dopamine's one index at a time, on
  every index of the ring; returns the valid ones."""
  every = np.arange(buffer._replay_capacity)  # pylint: disable=protected-access
  valid = buffer.valid(every)
  np.testing.assert_array_equal(
      valid, [_reference_valid(buffer, int(i)) for i in every])
  indices = every[valid]
  if len(indices):
    # Every index twice, shuffled, as a batch draws them.
    indices = np.random.default_rng(len(indices)).permutation(
        np.concatenate([indices, indices]))
    base = replay.circular_replay_buffer.OutOfGraphReplayBuffer
    want = base.sample_transition_batch(buffer, len(indices), list(indices))
    got = buffer.sample_transition_batch(len(indices), indices)
    for element, w, g in zip(buffer.get_transition_elements(len(indices)),
                             want, got):
      assert g.dtype == w.dtype and g.shape == w.shape, element.name
      np.testing.assert_array_equal(g, w, err_msg=element.name)
  return set(indices.tolist())


@pytest.mark.parametrize('update_horizon', [1, 3])
def test_batched_sampling_equals_dopamine_one_index_at_a_time(update_horizon,
                                                              tmp_path):
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=23,
                              update_horizon=update_horizon, gamma=0.9)
  ever_valid, filling = set(), set()
  adds = list(_mixed_adds())
  for add in adds:
    memory._add(*add)  # pylint: disable=protected-access
    ever_valid |= _check_against_dopamine(memory.buffers[0])
    filling.add(bool(memory.buffers[0].is_full()))
  # Checked before and after the ring was full; it wrapped (45 transitions
  # and 27 padding frames in 23 slots), and most indices were valid at some
  # point.
  assert filling == {False, True}
  assert memory.buffers[0].add_count == 72
  assert len(ever_valid) > memory.capacity // 2
  # A memory read back has the same episode ends, and the episode in flight
  # closed.
  memory.save_files(str(tmp_path / 'replay-1'))
  restored = replay.FrameReplay(SPEC, ACTIONS, capacity=23,
                                update_horizon=update_horizon, gamma=0.9)
  restored.load_files(str(tmp_path / 'replay-1'))
  _check_against_dopamine(restored.buffers[0])
  for add in adds[:5]:
    restored._add(*add)  # pylint: disable=protected-access
    _check_against_dopamine(restored.buffers[0])


def test_batched_draws_are_the_draws_one_at_a_time():
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=23, update_horizon=3)
  for add in _mixed_adds():
    memory._add(*add)  # pylint: disable=protected-access
  buffer = memory.buffers[0]
  cursor = buffer.cursor()
  low, high = cursor - 23 + STACK - 1, cursor - 1
  generator = np.random.default_rng(11)
  want = []
  while len(want) < 64:
    index = int(generator.integers(low, high)) % 23
    if _reference_valid(buffer, index):
      want.append(index)
  got = memory._sample_indices(64, np.random.default_rng(11))  # pylint: disable=protected-access
  np.testing.assert_array_equal(got, want)


def _add_in_graph_order(memory, lengths, truncated=()):
  """`_fill` through `add`, as the loop adds (so priorities are set)."""
  expected = {}
  for stack, action, reward, step_type, discount, window in _episodes(
      lengths, truncated):
    step = lambda kind, value, d, observation: ts.TimeStep(
        step_type=tf.constant([kind], tf.int32),
        reward=tf.constant([value], tf.float32),
        discount=tf.constant([d], tf.float32),
        observation=tf.constant(observation[None]))
    memory.add(step(ts.StepType.MID, 0.0, 1.0, stack),
               tf.constant([action], tf.int64),
               step(step_type, reward, discount, stack))
    expected[window[-1]] = (window, step_type, discount)
  return expected


def _frame_leaves(memory):
  return memory.sampler.tree.get(
      tf.range(memory.capacity, dtype=tf.int64)).numpy()


def test_prioritized_frames_enter_at_the_max_and_padding_at_zero():
  memory = replay.PrioritizedFrameReplay(SPEC, ACTIONS, capacity=40)
  _add_in_graph_order(memory, [5, 8])
  # Dopamine's layout: 3 padding frames, the 5 transitions of episode 1,
  # 3 padding frames, the 8 of episode 2.
  want = np.zeros(40)
  want[3:8] = want[11:19] = 1.0
  np.testing.assert_array_equal(_frame_leaves(memory), want)
  memory.update_priorities(tf.constant([4], tf.int64), tf.constant([8.0]))
  _add_in_graph_order(memory, [1])
  assert _frame_leaves(memory)[22] == np.float64(8 + 1e-10)**0.5


def test_prioritized_frames_sample_valid_starts_by_priority():
  memory = replay.PrioritizedFrameReplay(SPEC, ACTIONS, capacity=40,
                                         max_sample_attempts=100_000)
  expected = _add_in_graph_order(memory, [5, 8])
  # Valid starts: frames 1-5 (indices 3-7) and 7-13 (indices 11-17); index
  # 18 (frame 14) has no next frame yet. Priorities 1..12 on the valid
  # ones, 20 on index 18, whose draws must all be drawn again.
  valid = np.array(list(range(3, 8)) + list(range(11, 18)))
  memory.update_priorities(tf.constant(valid, tf.int64),
                           tf.constant(np.arange(1.0, 13.0)**2))
  memory.update_priorities(tf.constant([18], tf.int64),
                           tf.constant([400.0]))
  rng = tf.random.Generator.from_seed(4)
  counts = np.zeros(40)
  draws = 0
  for _ in range(20):
    batch = memory.training_batch(512, rng)
    indices = batch.indices.numpy()
    _check_batch(batch.experience, expected)
    priorities = np.sqrt(np.arange(1.0, 13.0)**2 + 1e-10)
    p = dict(zip(valid, priorities))
    drawn = np.array([p[i] for i in indices])
    np.testing.assert_allclose(batch.weights.numpy(),
                               np.sqrt(drawn.min() / drawn), rtol=1e-6)
    counts += np.bincount(indices, minlength=40)
    draws += len(indices)
  assert counts[18] == 0 and counts[valid].sum() == draws
  # Frequencies within 5 standard deviations (at most 0.016) of p_i / sum
  # over the valid starts (1/78 .. 12/78): uniform draws (1/12) cannot pass.
  expected_frequency = np.arange(1.0, 13.0) / 78.0
  tolerance = 5 * np.sqrt(expected_frequency * (1 - expected_frequency) /
                          draws)
  np.testing.assert_array_less(
      np.abs(counts[valid] / draws - expected_frequency), tolerance)


def test_prioritized_frames_round_trip(tmp_path):
  memory = replay.PrioritizedFrameReplay(SPEC, ACTIONS, capacity=40)
  _add_in_graph_order(memory, [5, 8])
  memory.update_priorities(tf.constant([3, 12, 17], tf.int64),
                           tf.constant([4.0, 0.0, 49.0]))
  path = tf.train.Checkpoint(memory=memory).write(str(tmp_path / 'ckpt-1'))
  memory.write_beside(path, lambda message: None)
  restored = replay.PrioritizedFrameReplay(SPEC, ACTIONS, capacity=40)
  tf.train.Checkpoint(memory=restored).read(path).assert_consumed()
  restored.read_beside(path)
  np.testing.assert_array_equal(restored.sampler.tree.nodes.numpy(),
                                memory.sampler.tree.nodes.numpy())
  original = memory.training_batch(64, tf.random.Generator.from_seed(7))
  again = restored.training_batch(64, tf.random.Generator.from_seed(7))
  np.testing.assert_array_equal(original.indices, again.indices)
  np.testing.assert_array_equal(original.weights, again.weights)
  np.testing.assert_array_equal(original.experience.time_step.observation,
                                again.experience.time_step.observation)


def test_atari_dqn_trains_on_prioritized_frames(tmp_path):
  # pylint: disable=g-import-not-at-top
  from tests import conftest
  bindings = conftest.overridden(
      conftest.ATARI_SMOKE_BINDINGS,
      'OffPolicy.replay = @PrioritizedFrameReplay',
      'OffPolicy.update_horizon = 3')
  runner = conftest.train_in_process(tmp_path / 'run', 'dqn',
                                     'atari_nature_rigl.gin', 'rigl',
                                     bindings)
  memory = runner.experience.memory
  assert memory.prioritized and runner.train_step == 50
  leaves = _frame_leaves(memory)
  # Train steps set the drawn starts' priorities from their losses; the
  # padding frames of each episode stay at 0.
  assert len(np.unique(leaves)) > 20
  written = int(memory.buffers[0].add_count)
  episodes = runner.finished_episodes()[1] + 1  # With the one in flight.
  assert np.sum(leaves[:written] == 0) == 3 * episodes
  assert np.all(leaves[written:] == 0)
  assert np.isfinite(runner.last_losses['loss'])


def _two_env_adds(lengths_0, lengths_1, offset=100):
  """Batch-2 adds of two envs' episodes (env 1's frames numbered from
  `offset`), and the expected transitions of each env."""
  streams = [list(_episodes(lengths_0)),
             [(np.where(stack, stack + offset, 0).astype(np.uint8),
               (window[-1] + offset) % 6, r + offset, k, d,
               [w + offset if w else 0 for w in window])
              for stack, _, r, k, d, window in _episodes(lengths_1)]]
  assert len(streams[0]) == len(streams[1])  # The envs step together.
  return list(zip(*streams))


def _add_two_envs(memory, adds):
  for pair in adds:
    stacks = np.stack([p[0] for p in pair])
    step = lambda kinds, values, d: ts.TimeStep(
        step_type=tf.constant(kinds, tf.int32),
        reward=tf.constant(values, tf.float32),
        discount=tf.constant(d, tf.float32),
        observation=tf.constant(stacks))
    memory.add(step([ts.StepType.MID] * 2, [0.0, 0.0], [1.0, 1.0]),
               tf.constant([p[1] for p in pair], tf.int64),
               step([p[3] for p in pair], [p[2] for p in pair],
                    [p[4] for p in pair]))


def test_each_env_has_a_memory_of_its_own_and_batches_draw_from_all():
  adds = _two_env_adds([2, 6, 3, 5], [5, 4, 7])
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=200, num_envs=2)
  _add_two_envs(memory, adds)
  # Env i's memory is the one-env memory of its own transitions, of half
  # the capacity.
  for env in range(2):
    alone = replay.FrameReplay(SPEC, ACTIONS, capacity=100)
    for pair in adds:
      stack, action, reward, step_type, discount, _ = pair[env]
      alone._add(stack[..., -1], action, reward, step_type, discount)  # pylint: disable=protected-access
    mine = memory.buffers[env]
    assert mine.add_count == alone.buffers[0].add_count
    assert mine.episode_end_indices == alone.buffers[0].episode_end_indices
    written = int(mine.add_count)  # Dopamine leaves the rest unset.
    for name, array in alone.buffers[0]._store.items():  # pylint: disable=protected-access
      np.testing.assert_array_equal(mine._store[name][:written],  # pylint: disable=protected-access
                                    array[:written])
  # Every stack holds one env's frames, and every sampleable transition of
  # both envs is drawn.
  expected = {p[5][-1]: (p[5], p[3], p[4]) for pair in adds for p in pair}
  newest = _check_batch(memory.sample(1024, tf.random.Generator.from_seed(0)),
                        expected)
  newest_of_each = {max(p[5][-1] for p in column) for column in zip(*adds)}
  assert set(newest) == set(expected) - newest_of_each
  assert set(newest) & set(range(1, 100)) and set(newest) & set(range(100, 200))


def test_two_env_memory_wraps_each_ring_and_survives_a_save(tmp_path):
  adds = _two_env_adds([7, 9, 5, 8], [12, 3, 9, 5])  # Past 24 each.
  memory = replay.FrameReplay(SPEC, ACTIONS, capacity=48, num_envs=2)
  _add_two_envs(memory, adds)
  assert all(buffer.is_full() for buffer in memory.buffers)
  expected = {p[5][-1]: (p[5], p[3], p[4]) for pair in adds for p in pair}
  newest = _check_batch(memory.sample(256, tf.random.Generator.from_seed(1)),
                        expected)
  assert min(n for n in newest if n < 100) > 10   # Overwritten in env 0,
  assert min(n for n in newest if n > 100) > 110  # and in env 1.
  memory.save_files(str(tmp_path / 'replay-9'))
  # Env 0's files are named as a one-env memory's.
  assert (tmp_path / 'replay-9' / 'observation.npy.gz').is_file()
  assert (tmp_path / 'replay-9' / 'env1.observation.npy.gz').is_file()
  restored = replay.FrameReplay(SPEC, ACTIONS, capacity=48, num_envs=2)
  restored.load_files(str(tmp_path / 'replay-9'))
  for mine, theirs in zip(restored.buffers, memory.buffers):
    assert mine.add_count == theirs.add_count
    for name, array in theirs._store.items():  # pylint: disable=protected-access
      np.testing.assert_array_equal(mine._store[name], array)  # pylint: disable=protected-access
  np.testing.assert_array_equal(
      restored._sample_indices(64, np.random.default_rng(5)),  # pylint: disable=protected-access
      memory._sample_indices(64, np.random.default_rng(5)))  # pylint: disable=protected-access
  one_env = replay.FrameReplay(SPEC, ACTIONS, capacity=48)
  with pytest.raises(ConfigError, match=r'saved by more than '
                     r'Runner.num_envs=1 envs .*resume with the num_envs it '
                     r'ran with'):
    one_env.load_files(str(tmp_path / 'replay-9'))
  four_envs = replay.FrameReplay(SPEC, ACTIONS, capacity=48, num_envs=4)
  with pytest.raises(ConfigError, match=r'env2.observation.npy.gz is '
                     r'missing'):
    four_envs.load_files(str(tmp_path / 'replay-9'))
  larger = replay.FrameReplay(SPEC, ACTIONS, capacity=60, num_envs=2)
  with pytest.raises(ConfigError, match=r'holds 24 frames per env, this one '
                     r'30; resume with the OffPolicy.replay_capacity and '
                     r'Runner.num_envs it ran with'):
    larger.load_files(str(tmp_path / 'replay-9'))
  assert all(buffer.add_count == 0 for buffer in larger.buffers)


def test_atari_dqn_collects_with_two_envs_and_resumes(tmp_path):
  # pylint: disable=g-import-not-at-top
  from rigl_rl import config
  from rigl_rl.training.loop import Runner
  from tests import conftest
  bindings = list(conftest.ATARI_SMOKE_BINDINGS) + ['Runner.num_envs = 2']
  runner = conftest.train_in_process(tmp_path / 'train', 'dqn',
                                     'atari_nature_rigl.gin', 'rigl',
                                     bindings)
  # The one-env counts: 400 env steps, a train step every 4 after 200.
  assert (runner.env_step, runner.train_step) == (400, 50)
  memory = runner.experience.memory
  episodes = runner.finished_episodes()[1]
  # Each env stored its 200 transitions, and 3 padding frames before each
  # of its episodes (at least the first).
  added = [int(buffer.add_count) for buffer in memory.buffers]
  assert all(count - 200 >= 3 and (count - 200) % 3 == 0 for count in added)
  assert sum(count - 200 for count in added) // 3 == episodes + 2
  assert np.isfinite(runner.last_losses['loss'])
  # A resume reads both envs' memories from beside the checkpoint.
  copy = _copy(runner, tmp_path, finished=False)
  gin.clear_config()
  config.parse([conftest.gin_path('atari_nature_rigl.gin')], bindings)
  resumed = Runner(copy, verbose=False)
  resumed.prepare()
  assert resumed.env_step == 400
  for mine, theirs in zip(resumed.experience.memory.buffers, memory.buffers):
    assert mine.add_count == theirs.add_count
    for name, array in theirs._store.items():  # pylint: disable=protected-access
      np.testing.assert_array_equal(mine._store[name], array)  # pylint: disable=protected-access


def test_frame_replay_capacity_must_split_between_the_envs():
  with pytest.raises(ConfigError, match=r'splits OffPolicy.replay_capacity '
                     r'\(10\) equally between Runner.num_envs=3 envs; make '
                     r'it a multiple of num_envs'):
    replay.FrameReplay(SPEC, ACTIONS, capacity=10, num_envs=3)


def test_two_env_prioritized_frames_enter_each_env_s_leaves():
  adds = _two_env_adds([5, 8], [9, 4])
  memory = replay.PrioritizedFrameReplay(SPEC, ACTIONS, capacity=80,
                                         num_envs=2)
  _add_two_envs(memory, adds)
  # Env 0's leaves 0-39: 3 padding frames, 5 transitions, 3, 8; env 1's
  # from 40: 3, 9, 3, 4.
  want = np.zeros(80)
  want[3:8] = want[11:19] = 1.0
  want[43:52] = want[55:59] = 1.0
  np.testing.assert_array_equal(_frame_leaves(memory), want)
  expected = {p[5][-1]: (p[5], p[3], p[4]) for pair in adds for p in pair}
  batch = memory.training_batch(256, tf.random.Generator.from_seed(2))
  newest = _check_batch(batch.experience, expected)
  assert set(newest) & set(range(1, 100)) and set(newest) & set(range(100, 200))
  # A start's priority moves the leaf of its own env's memory.
  memory.update_priorities(tf.constant([44], tf.int64), tf.constant([8.0]))
  assert _frame_leaves(memory)[44] == np.float64(8 + 1e-10)**0.5
  assert _frame_leaves(memory)[4] == 1.0
