"""Env steps/s of N Atari environments stepped in turn against on N threads.

Why the run loop steps `Runner.num_envs` Atari environments one after the
other on the host: if ale-py released the GIL while it emulates, N threads
would step N games at once. Steps N games with uniform random actions (no
agent, no TensorFlow work) for `--steps` rounds, first in turn, then one
thread per game, interleaved over `--rounds`, and prints the median of each
and their ratio (above 1: threads help).

  python benchmarks/atari_stepping.py [--game=Pong] [--num_envs=8]
      [--steps=300] [--rounds=3]

The last line of output is one JSON object.
"""
import concurrent.futures
import json
import os
import statistics
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import rigl_rl  # pylint: disable=g-import-not-at-top,unused-import  # Keras 2 first.
from absl import app
from absl import flags
import numpy as np

from rigl_rl.envs import pixels

flags.DEFINE_string('game', 'Pong', 'ALE game name.')
flags.DEFINE_integer('num_envs', 8, 'Games stepped together.')
flags.DEFINE_integer('steps', 300, 'Steps of every game per round.')
flags.DEFINE_integer('rounds', 3, 'Interleaved rounds; the median is kept.')
FLAGS = flags.FLAGS


class Games:
  """N seeded games with their own action streams, reset on episode ends."""

  def __init__(self, game: str, count: int):
    self.envs = [pixels.Atari(game=game).make(seed) for seed in range(count)]
    self.rngs = [np.random.default_rng(seed) for seed in range(count)]
    self.actions = self.envs[0].action_spec().maximum + 1
    for env in self.envs:
      env.reset()

  def step(self, index: int) -> None:
    """One random-action step of game `index`."""
    action = np.int64(self.rngs[index].integers(self.actions))
    if self.envs[index].step(action).is_last():
      self.envs[index].reset()


def main(argv):
  del argv
  games = Games(FLAGS.game, FLAGS.num_envs)
  indices = range(FLAGS.num_envs)
  pool = concurrent.futures.ThreadPoolExecutor(FLAGS.num_envs)

  def in_turn():
    for index in indices:
      games.step(index)

  def threaded():
    list(pool.map(games.step, indices))

  speeds = {'in_turn': [], 'threads': []}
  for round_index in range(FLAGS.rounds):
    for name, step_all in (('in_turn', in_turn), ('threads', threaded)):
      start = time.perf_counter()
      for _ in range(FLAGS.steps):
        step_all()
      speed = FLAGS.steps * FLAGS.num_envs / (time.perf_counter() - start)
      speeds[name].append(speed)
      print(f'round {round_index + 1}/{FLAGS.rounds}  {name:8s} '
            f'{speed:8.0f} env steps/s', flush=True)
  pool.shutdown()
  result = {name: round(statistics.median(values), 1)
            for name, values in speeds.items()}
  print(f'threads / in turn = {result["threads"] / result["in_turn"]:.2f} '
        f'({FLAGS.num_envs} {FLAGS.game} envs)')
  print(json.dumps(result))


if __name__ == '__main__':
  app.run(main)
