"""Env-steps/s of the run loop, one train step per env step.

--suite=cartpole_dqn (default): CartPole DQN (512-512, batch 128) for dense
and each sparse method (mask updates every 1,000 train steps, as in the gin
files), the plain TF-Agents tutorial loop (DynamicStepDriver +
TFUniformReplayBuffer dataset + agent.train) on the same network and batch,
and the dense train step alone on a fixed batch (the bound on any loop).
--suite=halfcheetah_sac: SAC on HalfCheetah-v5 (256-256 actor and two critics,
batch 256) for each method, with its gin files' update intervals.
--suite=minatar_breakout: DQN on MinAtar Breakout (Young & Tian's network,
batch 32, a train step per env step), dense and RigL at 90%.
--suite=minatar_rainbow: Rainbow on MinAtar Breakout (the same network with
51 atoms per action, batch 32, 3-step prioritized replay, a train step every
4 env steps as its gin files), dense and RigL at 90%.
--suite=atari_pong: DQN on Atari Pong with the Nature CNN (batch 32, a train
step every 4 env steps, frame replay of 100k), dense and RigL at 90%.
--suite=cartpole_ppo: PPO on CartPole (as its gin files: rollouts of 2,048 env
steps, 10 epochs of 64-transition minibatches), dense and RigL at 90%.
--suite=minatar_fixed: DQN on MinAtar Breakout with paper 000's single hidden
layer of 1,600 units (batch 32, a train step per env step), Dense and Random
91% sparse, each frozen and learned, and each train step alone on a fixed
batch: what masking and learning the hidden layer cost.
--num_envs=1,8 times each method collecting with 1 and with 8 envs
(`Runner.num_envs`; the same replay ratio, so 8 envs take as many train steps
per env step) and prints each count's speed-up over one env.
Measurements are interleaved over rounds and the median is reported, because
this machine's speed drifts by up to 30% over minutes.

  python benchmarks/throughput.py [--suite=halfcheetah_sac] [--steps=3000]
      [--rounds=3] [--num_envs=1,8]

The last line of output is one JSON object: method -> env steps/s.
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
import tensorflow as tf
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import tf_py_environment
from tf_agents.policies import random_tf_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.utils import common

from rigl_rl import config
from rigl_rl import methods
from rigl_rl.training.loop import Runner
from rigl_rl.envs import factory

flags.DEFINE_enum('suite', 'cartpole_dqn',
                  ['cartpole_dqn', 'halfcheetah_sac', 'minatar_breakout',
                   'minatar_rainbow', 'minatar_fixed', 'atari_pong',
                   'cartpole_ppo'],
                  'Which agent and environment to time.')
flags.DEFINE_integer('steps', 3000, 'Train steps timed per method and round.')
flags.DEFINE_integer('rounds', 3, 'Interleaved rounds; the median is kept.')
flags.DEFINE_list('num_envs', ['1'], 'Env counts collecting together '
                  '(Runner.num_envs) each method is timed with.')
FLAGS = flags.FLAGS

GIN_DIR = os.path.join(os.path.dirname(__file__), '..', 'gin')
INITIAL_COLLECT = 1000
# Off-policy suites start training after a short collect.
SHORT_COLLECT = [f'OffPolicy.initial_collect_steps = {INITIAL_COLLECT}']
# suite -> (gin file prefix, methods timed, extra bindings, at least the env
# steps per train step).
SUITES = {
    'cartpole_dqn': ('dqn/cartpole', methods.CORE, SHORT_COLLECT, 4),
    'halfcheetah_sac': ('sac/halfcheetah', methods.CORE, SHORT_COLLECT, 4),
    'minatar_breakout': ('dqn/minatar_breakout', ('dense', 'rigl'),
                         SHORT_COLLECT, 4),
    'minatar_rainbow': ('rainbow/minatar_breakout', ('dense', 'rigl'),
                        SHORT_COLLECT, 4),
    # The first method is the one the others are compared with.
    'minatar_fixed': ('dqn/minatar_breakout_fixed',
                      ('dense_learned', 'dense_frozen', 'random_learned',
                       'random_frozen'), SHORT_COLLECT, 4),
    'atari_pong': ('dqn/atari_nature', ('dense', 'rigl'),
                   SHORT_COLLECT + ["atari.game = 'Pong'",
                                    'OffPolicy.replay_capacity = 100000'], 4),
    # 320 train steps per 2,048-step rollout (6.4 env steps each), and the
    # warm-up may take a rollout more: twice that.
    'cartpole_ppo': ('ppo/cartpole', ('dense', 'rigl'), [], 13),
}


class RunLoop:
  """One rigl_rl Runner, advanced chunk by chunk without eval or checkpoints."""

  def __init__(self, suite: str, method: str, steps: int, rounds: int,
               num_envs: int = 1):
    gin.clear_config()
    # One more round's worth of steps covers the untimed warm-up chunk.
    prefix, _, extra, env_steps_per_train_step = SUITES[suite]
    # A generous bound. Env-step counts are multiples of num_envs
    # (INITIAL_COLLECT is, for 1-8).
    total = INITIAL_COLLECT + (env_steps_per_train_step * steps *
                               (rounds + 1) * num_envs)
    bindings = [f'NUM_ENV_STEPS = {total}', f'EVAL_INTERVAL = {total}',
                f'CHECKPOINT_INTERVAL = {total}',
                f'Runner.num_envs = {num_envs}',
                # A chunk never runs past the timed window.
                f'Runner.max_chunk = {min(1000, steps)}'] + extra
    if method != SUITES[suite][1][0]:
      # Mask updates (where the method has any) at the gin file's interval throughout the timed window.
      bindings += ['UpdateSchedule.begin_fraction = 0.0',
                   'UpdateSchedule.end_fraction = 1.0']
    config.parse([os.path.join(GIN_DIR, f'{prefix}_{method}.gin')], bindings)
    self.runner = Runner(tempfile.mkdtemp(), verbose=False)
    self.runner.env.reset()
    while int(self.runner.env_steps.numpy()) < INITIAL_COLLECT:
      self.runner.advance()
    # Trace the compiled functions (and the first mask update) untimed.
    self.runner.advance()

  def measure(self, steps: int) -> float:
    runner = self.runner
    start_env, start = int(runner.env_steps.numpy()), time.perf_counter()
    goal = runner.train_step + steps
    while runner.train_step < goal:
      if runner.done:
        raise RuntimeError(
            f'the run ended at train step {runner.train_step}, before '
            f'{goal}: raise the suite\'s env steps per train step')
      runner.advance()
    return (int(runner.env_steps.numpy()) - start_env) / (
        time.perf_counter() - start)


class TrainStepOnly:
  """An agent's train step alone, on one fixed batch, in a compiled loop:
  what any loop around this agent costs at least."""

  def __init__(self, suite: str, method: str, steps: int, rounds: int):
    runner = RunLoop(suite, method, steps, rounds).runner
    train, batch = runner.bundle.agent.train, runner.last_batch

    @tf.function
    def train_steps(count):
      for _ in tf.range(count):
        train(batch)

    self._train_steps = train_steps
    self._train_steps(tf.constant(5))

  def measure(self, steps: int) -> float:
    start = time.perf_counter()
    self._train_steps(tf.constant(steps))
    return steps / (time.perf_counter() - start)


class TutorialLoop:
  """The TF-Agents DQN tutorial loop on the same agent configuration."""

  def __init__(self):
    gin.clear_config()
    config.parse([os.path.join(GIN_DIR, 'dqn', 'cartpole_dense.gin')], [])
    env = tf_py_environment.TFPyEnvironment(
        factory.GymnasiumEnvironment(
            factory.gym.make('CartPole-v1'), seed=0, handle_auto_reset=True))
    bundle = gin.get_configurable('dqn_agent')(
        env.time_step_spec(), env.action_spec(), seed=0)
    self.agent = bundle.agent
    replay = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        self.agent.collect_data_spec, batch_size=1, max_length=100_000)
    random_driver = dynamic_step_driver.DynamicStepDriver(
        env, random_tf_policy.RandomTFPolicy(env.time_step_spec(),
                                             env.action_spec()),
        observers=[replay.add_batch], num_steps=INITIAL_COLLECT)
    random_driver.run()
    self.driver = dynamic_step_driver.DynamicStepDriver(
        env, self.agent.collect_policy, observers=[replay.add_batch],
        num_steps=1)
    self.driver.run = common.function(self.driver.run)
    self.train = common.function(self.agent.train)
    dataset = replay.as_dataset(
        num_parallel_calls=3, sample_batch_size=128, num_steps=2).prefetch(3)
    self.iterator = iter(dataset)
    self.time_step = None
    self.measure(5)

  def measure(self, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
      self.time_step, _ = self.driver.run(self.time_step)
      experience, _ = next(self.iterator)
      self.train(experience)
    return steps / (time.perf_counter() - start)


def main(argv):
  del argv
  timed = SUITES[FLAGS.suite][1]
  counts = [int(n) for n in FLAGS.num_envs]
  key = lambda method, n: method if n == 1 else f'{method}_{n}envs'
  loops = {
      key(method, n): RunLoop(FLAGS.suite, method, FLAGS.steps,
                               FLAGS.rounds, n)
      for n in counts for method in timed
  }
  if FLAGS.suite == 'cartpole_dqn':
    loops['train_step_only'] = TrainStepOnly(FLAGS.suite, methods.DENSE,
                                             FLAGS.steps, FLAGS.rounds)
    loops['tfagents_tutorial'] = TutorialLoop()
  if FLAGS.suite == 'minatar_fixed':
    for method in timed:
      loops[f'{method}_train_only'] = TrainStepOnly(
          FLAGS.suite, method, FLAGS.steps, FLAGS.rounds)
  rates = {name: [] for name in loops}
  for round_index in range(FLAGS.rounds):
    for name, loop in loops.items():
      rates[name].append(loop.measure(FLAGS.steps))
      print(f'round {round_index + 1}/{FLAGS.rounds}  {name:18s} '
            f'{rates[name][-1]:7.1f} env steps/s', flush=True)
  medians = {name: round(statistics.median(r), 1) for name, r in rates.items()}
  base = timed[0]
  # The sparse training methods' target against dense.
  target = ' (target >= 0.90)' if base == methods.DENSE else ''
  for method in timed[1:]:
    for n in counts:
      print(f'{key(method, n):6s} / {key(base, n)}    = '
            f'{medians[key(method, n)] / medians[key(base, n)]:.3f}{target}')
  for method in timed:
    for n in counts:
      if n != 1 and 1 in counts:
        print(f'{key(method, n)} / {method} (1 env) = '
              f'{medians[key(method, n)] / medians[method]:.2f} (env '
              'steps/s with vectorised collection)')
  dense = medians.get('dense')
  if 'tfagents_tutorial' in medians:
    print(f'dense  / tutorial = {dense / medians["tfagents_tutorial"]:.3f} '
          '(target >= 2.00)')
    print(f'dense  / train step alone = '
          f'{dense / medians["train_step_only"]:.3f} (the most any loop '
          'around this train step reaches is 1)')
  print(json.dumps(medians))


if __name__ == '__main__':
  app.run(main)
