"""The cost of the diagnostics against the training they watch.

For CartPole DQN (512-512, batch 128) dense and RigL 90%, in one process:
the median time of one diagnostics computation (probe batch 512, per-example
gradients of 64 examples, mask images) and the median time of a train step
(collect + train, diagnostics off), interleaved over rounds because this
machine's speed drifts. The overhead at the gin files' interval is
diagnostics time / (interval * train step time).

  python benchmarks/diagnostics_overhead.py [--steps=2000] [--rounds=3]

The last line of output is one JSON object: method -> numbers.
"""
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import rigl_rl  # pylint: disable=g-import-not-at-top,unused-import  # Keras 2 first.
from absl import app
from absl import flags
import gin

from rigl_rl import config
from rigl_rl.training.loop import Runner

flags.DEFINE_integer('steps', 2000, 'Train steps timed per method and round.')
flags.DEFINE_integer('rounds', 3, 'Interleaved rounds; medians are kept.')
flags.DEFINE_integer('repeats', 5, 'Diagnostics computations per round.')
FLAGS = flags.FLAGS

GIN_DIR = os.path.join(os.path.dirname(__file__), '..', 'gin', 'dqn')
METHODS = ('dense', 'rigl')


def _runner(method: str, bindings):
  gin.clear_config()
  config.parse([os.path.join(GIN_DIR, f'cartpole_{method}.gin')],
               ['NUM_ENV_STEPS = 1000000'] + bindings)
  runner = Runner(tempfile.mkdtemp(), verbose=False)
  runner.env.reset()
  while runner.train_step < 1:  # The initial collect and a first chunk.
    runner.advance()
  return runner


def main(argv):
  del argv
  trainers, watched, interval = {}, {}, {}
  for method in METHODS:
    trainers[method] = _runner(method, ['Runner.diagnostics = None'])
    watched[method] = _runner(method, [])
    interval[method] = watched[method].diagnostics.interval
  steps = {m: [] for m in METHODS}
  diagnose = {m: [] for m in METHODS}
  for round_index in range(FLAGS.rounds + 1):
    for method in METHODS:
      runner = trainers[method]
      goal = runner.train_step + FLAGS.steps
      start = time.perf_counter()
      while runner.train_step < goal:
        runner.advance()
      per_step = (time.perf_counter() - start) / FLAGS.steps
      runner = watched[method]
      networks = list(runner.bundle.sparse)
      times = []
      for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        runner.diagnostics.compute(runner.bundle.trained, networks)
        times.append(time.perf_counter() - start)
      if round_index:  # Round 0 traces the compiled functions.
        steps[method].append(per_step)
        diagnose[method].append(statistics.median(times))
      print(f'round {round_index} {method}: train step {1e3 * per_step:.2f} '
            f'ms, diagnostics {1e3 * statistics.median(times):.0f} ms',
            flush=True)
  results = {}
  for method in METHODS:
    step, diag = statistics.median(steps[method]), statistics.median(
        diagnose[method])
    results[method] = {
        'train_step_ms': round(1e3 * step, 2),
        'diagnostics_ms': round(1e3 * diag, 1),
        'interval': interval[method],
        'overhead_percent': round(100 * diag / (interval[method] * step), 2),
    }
  print(json.dumps(results))


if __name__ == '__main__':
  app.run(main)
