"""Resident memory and sampling time of a full 1M-transition Atari replay
(FrameReplay, or PrioritizedFrameReplay with --prioritized).

Fills Dopamine's frame-storing memory with 84x84 frames through the same
`_add` the run loop's graph calls (episodes of 2,000 steps; random
priorities on a prioritized memory's transitions), then reports the
process's resident memory before and after (the target is under 9 GB), and
the time to sample a batch of stacked transitions for each batch size: in a
tf.function as the loop samples (the host call and TensorFlow's share), and
on the host alone, checked and gathered as FrameReplay does it, and one
index at a time through Dopamine's own `is_valid_transition` and
`sample_transition_batch` (as FrameReplay did before), on the same indices.

  python benchmarks/replay_memory.py [--capacity=1000000] [--batch_sizes=32,64]
      [--update_horizon=1] [--prioritized]

The last line of output is one JSON object.
"""
import itertools
import json
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import rigl_rl  # pylint: disable=g-import-not-at-top,unused-import  # Keras 2 first.
from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from rigl_rl.training import replay

flags.DEFINE_integer('capacity', 1_000_000, 'Transitions the memory holds.')
flags.DEFINE_integer('episode_length', 2000, 'Agent steps per episode.')
flags.DEFINE_list('batch_sizes', ['32', '64'], 'Batch sizes to time.')
flags.DEFINE_integer('update_horizon', 1, 'Transitions per sampled return.')
flags.DEFINE_integer('repeats', 20, 'Batches timed per round (of 5).')
flags.DEFINE_bool('prioritized', False, 'Time PrioritizedFrameReplay.')
FLAGS = flags.FLAGS


def resident_gib() -> float:
  """This process's resident set size (VmRSS), in GiB."""
  with open('/proc/self/status') as f:
    for line in f:
      if line.startswith('VmRSS:'):
        return int(line.split()[1]) / 2**20
  raise RuntimeError('no VmRSS in /proc/self/status')


def milliseconds(*functions, repeats: int, rounds: int = 5) -> list:
  """Per function, ms per call: the mean over `repeats` calls in the
  fastest of `rounds` rounds, the functions taking turns each round (so a
  busy machine's drift reaches them alike)."""
  best = [float('inf')] * len(functions)
  for function in functions:
    function()
  for _ in range(rounds):
    for k, function in enumerate(functions):
      start = time.perf_counter()
      for _ in range(repeats):
        function()
      best[k] = min(best[k], (time.perf_counter() - start) * 1000 / repeats)
  return best


def one_index_at_a_time(buffer, indices) -> None:
  """The batch as Dopamine's methods check and gather it, index by index
  (with FrameReplay's rule that no earlier frame of a stack ends an
  episode)."""
  base = replay.circular_replay_buffer.OutOfGraphReplayBuffer
  for index in indices:
    earlier = replay.circular_replay_buffer.modulo_range(
        index - buffer._stack_size + 1, buffer._stack_size - 1,  # pylint: disable=protected-access
        buffer._replay_capacity)  # pylint: disable=protected-access
    if not base.is_valid_transition(buffer, index) or any(
        i in buffer.episode_end_indices for i in earlier):
      raise RuntimeError(f'index {index} is not a valid transition')
  base.sample_transition_batch(buffer, len(indices), indices)


def main(argv):
  del argv
  observation = tensor_spec.BoundedTensorSpec((84, 84, 4), tf.uint8, 0, 255)
  action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 5)
  before = resident_gib()
  kind = (replay.PrioritizedFrameReplay if FLAGS.prioritized else
          replay.FrameReplay)
  memory = kind(ts.time_step_spec(observation), action, FLAGS.capacity,
                update_horizon=FLAGS.update_horizon)
  frames = np.random.default_rng(0).integers(0, 256, (97, 84, 84), np.uint8)
  transitions = np.zeros(FLAGS.capacity, bool)  # Not padding.
  start = time.perf_counter()
  for i in range(FLAGS.capacity):
    last = (i + 1) % FLAGS.episode_length == 0
    add = (frames[i % len(frames)], i % 6, 1.0,
           ts.StepType.LAST if last else ts.StepType.MID, 0.0 if last else 1.0)
    if FLAGS.prioritized:
      # One env: a batch of 1.
      written, transition = memory._add_where(*(np.asarray([a]) for a in add))  # pylint: disable=protected-access
      transitions[written[transition]] = True
    else:
      memory._add(*add)  # pylint: disable=protected-access
    if (i + 1) % 100_000 == 0:
      print(f'{i + 1} frames added ({time.perf_counter() - start:.0f} s, '
            f'resident {resident_gib():.2f} GiB)', flush=True)
  if FLAGS.prioritized:
    priorities = np.random.default_rng(1).uniform(0.1, 2.0, FLAGS.capacity)
    memory.sampler.tree.set(tf.range(FLAGS.capacity, dtype=tf.int64),
                            tf.constant(np.where(transitions, priorities, 0)))
  after = resident_gib()
  rng = tf.random.Generator.from_seed(0)
  generator = np.random.default_rng(0)
  buffer = memory.buffers[0]
  stored = sum(array.nbytes for array in buffer._store.values())  # pylint: disable=protected-access
  result = {
      'memory': kind.__name__,
      'capacity': FLAGS.capacity,
      'update_horizon': FLAGS.update_horizon,
      'resident_gib_before': round(before, 3),
      'resident_gib_after': round(after, 3),
      'replay_gib': round(after - before, 3),
      'stored_arrays_gib': round(stored / 2**30, 3),
  }
  print(f'Replay of {FLAGS.capacity} transitions: {after - before:.2f} GiB '
        f'resident (process {after:.2f} GiB; target < 9 GB)')
  for batch_size in map(int, FLAGS.batch_sizes):
    in_graph = tf.function(
        lambda: memory.training_batch(batch_size, rng).experience)  # pylint: disable=cell-var-from-loop
    # Both host ways see the same batches in turn, fresh ones each call (as
    # sampling a large memory reads frames out of cache).
    batches = [memory._sample_indices(batch_size, generator)  # pylint: disable=protected-access
               for _ in range(FLAGS.repeats)]
    batched, one_at_a_time = itertools.cycle(batches), itertools.cycle(batches)

    def host_batched():
      indices = next(batched)  # pylint: disable=cell-var-from-loop
      return memory.valid(indices), memory._gather(indices)  # pylint: disable=protected-access

    graph_ms, batched_ms, dopamine_ms = milliseconds(
        in_graph, host_batched,
        lambda: one_index_at_a_time(buffer, next(one_at_a_time).tolist()),  # pylint: disable=cell-var-from-loop
        repeats=FLAGS.repeats)
    result.update({
        f'batch_{batch_size}_ms': round(graph_ms, 3),
        f'host_{batch_size}_ms': round(batched_ms, 3),
        f'host_one_at_a_time_{batch_size}_ms': round(dopamine_ms, 3),
        f'host_speedup_{batch_size}': round(dopamine_ms / batched_ms, 1),
    })
    print(f'A batch of {batch_size}: {graph_ms:.2f} ms in a tf.function; on '
          f'the host {batched_ms:.2f} ms batched, {dopamine_ms:.2f} ms one '
          f'index at a time (Dopamine), {dopamine_ms / batched_ms:.1f}x')
  print(json.dumps(result))


if __name__ == '__main__':
  app.run(main)
