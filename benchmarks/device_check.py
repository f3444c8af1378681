"""What this machine's devices give Atari DQN with RigL, and where the time goes.

Prints the devices TensorFlow finds, then, for the Nature CNN and the Impala
ResNet at widths 1 and 3 (Atari Pong, RigL at 90%, replay ratio 0.25, frame
replay of 100k), trains `--agent_steps` agent steps through the run loop and
prints agent steps/s and train steps/s. It then times each part of an agent
step on its own, in a compiled loop of its own:

- acting: the collect policy's action for one observation;
- env stepping: an environment step with a random action and its replay add
  (the host round trip of `tf.numpy_function`);
- sampling: one replay batch;
- training: one train step on a fixed batch (the mask update excluded),

and gives each part's share of their sum per agent step (sampling and
training count 0.25 of the time: one train step every 4 agent steps). The
loop's measured time per agent step, beside that sum, says how much went to
neither (loop overhead, mask updates, summaries).

TensorFlow places every op on its first GPU when one is found; this check
says which device that was. Run it on a GPU machine as

  pip install -e ".[gpu]" && python benchmarks/device_check.py

The last line of output is one JSON object: network -> measured numbers.
"""
import json
import os
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import rigl_rl  # pylint: disable=g-import-not-at-top,unused-import  # Keras 2 first.
from absl import app
from absl import flags
import gin
import tensorflow as tf

from rigl_rl import config
from rigl_rl.training.loop import Runner

flags.DEFINE_integer('agent_steps', 4000,
                     'Agent steps timed in the run loop per network.')
flags.DEFINE_integer('part_steps', 200,
                     'Calls timed for each part of an agent step.')
FLAGS = flags.FLAGS

GIN_DIR = os.path.join(os.path.dirname(__file__), '..', 'gin')
# name -> (gin file, extra bindings).
NETWORKS = {
    'nature_cnn': ('dqn/atari_nature_rigl.gin', []),
    'impala_width_1': ('dqn/atari_impala_rigl.gin', ['ImpalaResNet.width = 1.0']),
    'impala_width_3': ('dqn/atari_impala_rigl.gin', ['ImpalaResNet.width = 3.0']),
}
INITIAL_COLLECT = 1000
REPLAY_RATIO = 0.25


def devices() -> str:
  """The physical devices TensorFlow found, one kind a line."""
  lines = []
  for kind in ('CPU', 'GPU', 'TPU'):
    found = tf.config.list_physical_devices(kind)
    lines.append(f'{kind}: {len(found)} '
                 f'{", ".join(device.name for device in found)}'.rstrip())
  for device in tf.config.list_physical_devices('GPU'):
    details = tf.config.experimental.get_device_details(device)
    lines.append(f'  {device.name}: {details.get("device_name", "?")}')
  return '\n'.join(lines)


def build_runner(gin_file: str, extra, agent_steps: int) -> Runner:
  """A Runner on Pong with mask updates throughout, without eval or saves."""
  gin.clear_config()
  total = INITIAL_COLLECT + 2 * agent_steps
  config.parse([os.path.join(GIN_DIR, gin_file)],
               [f'NUM_ENV_STEPS = {total}', f'EVAL_INTERVAL = {total}',
                f'CHECKPOINT_INTERVAL = {total}',
                "atari.game = 'Pong'", 'OffPolicy.replay_capacity = 100000',
                f'OffPolicy.initial_collect_steps = {INITIAL_COLLECT}',
                f'OffPolicy.replay_ratio = {REPLAY_RATIO}',
                'UpdateSchedule.begin_fraction = 0.0',
                'UpdateSchedule.end_fraction = 1.0',
                'Runner.max_chunk = 250'] + list(extra))
  runner = Runner(tempfile.mkdtemp(), verbose=False)
  runner.env.reset()
  while runner.collecting:
    runner.advance()
  runner.advance()  # Traces the train chunk (and a mask update) untimed.
  return runner


def seconds_per_call(fn, calls: int) -> float:
  """Seconds a call of `fn` takes inside one compiled loop of `calls`."""
  @tf.function
  def loop(count):
    # Each result feeds the next iteration's sum, so no call is pruned as
    # unused (a stateless forward pass would be).
    total = tf.constant(0.0)
    for _ in tf.range(count):
      total += tf.reduce_sum(tf.cast(tf.nest.flatten(fn())[0], tf.float32))
    return total

  loop(tf.constant(2))
  start = time.perf_counter()
  loop(tf.constant(calls))
  return (time.perf_counter() - start) / calls


def measure(runner: Runner, agent_steps: int, part_steps: int) -> dict:
  """The loop's rates and the time of each part of an agent step."""
  start_env, start_train = runner.env_step, runner.train_step
  start = time.perf_counter()
  while runner.env_step - start_env < agent_steps:
    runner.advance()
  elapsed = time.perf_counter() - start
  env_steps = runner.env_step - start_env
  train_steps = runner.train_step - start_train

  bundle, experience = runner.bundle, runner.experience
  batch = runner.last_batch
  observation = runner.env.current_time_step()
  parts = {
      'acting': seconds_per_call(
          lambda: bundle.collect_action(observation, runner.env_steps,
                                        runner.rng), part_steps),
      'sampling': seconds_per_call(
          lambda: experience.sample(experience.batch_size, runner.rng),
          part_steps),
      'training': seconds_per_call(lambda: bundle.agent.train(batch),
                                   part_steps),
  }
  # Random actions, env steps and replay adds, as the initial collect.
  start = time.perf_counter()
  runner._collect_chunk(tf.constant(part_steps))  # pylint: disable=protected-access
  parts['env stepping'] = (time.perf_counter() - start) / part_steps
  per_agent_step = {
      'acting': parts['acting'],
      'env stepping': parts['env stepping'],
      'sampling': REPLAY_RATIO * parts['sampling'],
      'training': REPLAY_RATIO * parts['training'],
  }
  total = sum(per_agent_step.values())
  return {
      'agent_steps_per_s': round(env_steps / elapsed, 1),
      'train_steps_per_s': round(train_steps / elapsed, 1),
      'ms_per_agent_step_measured': round(1e3 * elapsed / env_steps, 3),
      'ms_per_agent_step_parts': round(1e3 * total, 3),
      'ms_per_call': {name: round(1e3 * value, 3)
                      for name, value in parts.items()},
      'share': {name: round(value / total, 3)
                for name, value in per_agent_step.items()},
  }


def main(argv):
  del argv
  print(devices(), flush=True)
  gpus = tf.config.list_physical_devices('GPU')
  print(f'ops run on: {gpus[0].name if gpus else "the CPU"}', flush=True)
  results = {}
  for name, (gin_file, extra) in NETWORKS.items():
    runner = build_runner(gin_file, extra, FLAGS.agent_steps)
    results[name] = measure(runner, FLAGS.agent_steps, FLAGS.part_steps)
    numbers = results[name]
    shares = '  '.join(f'{part} {share:.0%}'
                       for part, share in numbers['share'].items())
    print(f'{name:15s} {numbers["agent_steps_per_s"]:8.1f} agent steps/s '
          f'{numbers["train_steps_per_s"]:7.1f} train steps/s  '
          f'({numbers["ms_per_agent_step_measured"]:.2f} ms an agent step; '
          f'its parts {numbers["ms_per_agent_step_parts"]:.2f} ms: {shares})',
          flush=True)
  print(json.dumps(results))


if __name__ == '__main__':
  app.run(main)
