"""Evaluates a run's latest checkpoint under Gaussian pixel noise.

  rigl-evaluate --root_dir=/tmp/runs/pong --sigmas=0,10,20,30 --episodes=10
      # -> /tmp/runs/pong/robustness/noise_robustness.{json,png}
"""
from absl import flags

from rigl_rl import api
from rigl_rl import cli
from rigl_rl.errors import ConfigError

cli.define_root_dir('A run directory written by rigl-train.')
flags.DEFINE_list('sigmas', [f'{sigma:g}' for sigma in api.DEFAULT_SIGMAS],
                  'Noise standard deviations, in pixel levels (0-255); '
                  'section 8 of Graesser et al. 2022 spans 0 to 30.')
flags.DEFINE_integer('episodes', 10, 'Evaluation episodes per sigma.')
flags.DEFINE_integer('seed', 0, 'Seeds the environment, noise and policy.')
flags.DEFINE_string('out_dir', None,
                    'Where results go; default <root_dir>/robustness.')
FLAGS = flags.FLAGS


def main():
  cli.quiet()
  with cli.user_errors():
    try:
      sigmas = [float(s) for s in FLAGS.sigmas]
    except ValueError:
      raise ConfigError('--sigmas must be numbers, got '
                        f'{",".join(FLAGS.sigmas)}') from None
    api.evaluate(FLAGS.root_dir, sigmas, FLAGS.episodes, FLAGS.seed,
                 FLAGS.out_dir)


if __name__ == '__main__':
  cli.run(main)
