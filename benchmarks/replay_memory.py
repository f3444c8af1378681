"""Resident memory of a full 1M-transition Atari replay (FrameReplay).

Fills Dopamine's frame-storing memory with 84x84 frames through the same
`_add` the run loop's graph calls (episodes of 2,000 steps), then reports
the process's resident memory before and after, and the time to sample a
batch of 32 stacked transitions. The target is under 9 GB.

  python benchmarks/replay_memory.py [--capacity=1000000]

The last line of output is one JSON object.
"""
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
FLAGS = flags.FLAGS


def resident_gib() -> float:
  """This process's resident set size (VmRSS), in GiB."""
  with open('/proc/self/status') as f:
    for line in f:
      if line.startswith('VmRSS:'):
        return int(line.split()[1]) / 2**20
  raise RuntimeError('no VmRSS in /proc/self/status')


def main(argv):
  del argv
  observation = tensor_spec.BoundedTensorSpec((84, 84, 4), tf.uint8, 0, 255)
  action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 5)
  before = resident_gib()
  memory = replay.FrameReplay(ts.time_step_spec(observation), action,
                              FLAGS.capacity)
  frames = np.random.default_rng(0).integers(0, 256, (97, 84, 84), np.uint8)
  start = time.perf_counter()
  for i in range(FLAGS.capacity):
    last = (i + 1) % FLAGS.episode_length == 0
    memory._add(frames[i % len(frames)], i % 6, 1.0,  # pylint: disable=protected-access
                ts.StepType.LAST if last else ts.StepType.MID, 0.0 if last else 1.0)
    if (i + 1) % 100_000 == 0:
      print(f'{i + 1} frames added ({time.perf_counter() - start:.0f} s, '
            f'resident {resident_gib():.2f} GiB)', flush=True)
  after = resident_gib()
  rng = tf.random.Generator.from_seed(0)
  memory.sample(32, rng)
  start = time.perf_counter()
  for _ in range(100):
    memory.sample(32, rng)
  sample_ms = (time.perf_counter() - start) * 10
  stored = sum(array.nbytes for array in memory.buffer._store.values())  # pylint: disable=protected-access
  result = {
      'capacity': FLAGS.capacity,
      'resident_gib_before': round(before, 3),
      'resident_gib_after': round(after, 3),
      'replay_gib': round(after - before, 3),
      'stored_arrays_gib': round(stored / 2**30, 3),
      'sample_32_ms': round(sample_ms, 2),
  }
  print(f'Replay of {FLAGS.capacity} transitions: {after - before:.2f} GiB '
        f'resident (process {after:.2f} GiB; target < 9 GB); a batch of 32 '
        f'samples in {sample_ms:.1f} ms')
  print(json.dumps(result))


if __name__ == '__main__':
  app.run(main)
