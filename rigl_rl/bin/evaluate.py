"""Evaluates a run's latest checkpoint: as it is, or under pixel noise.

  rigl-evaluate --root_dir=/tmp/runs/cp --mode=plain --episodes=20 --video_episodes=2
      # -> /tmp/runs/cp/evaluation/evaluation.json and videos/*.mp4
  rigl-evaluate --root_dir=/tmp/runs/pong --sigmas=0,10,20,30 --episodes=10
      # -> /tmp/runs/pong/robustness/noise_robustness.{json,png}
"""
from absl import flags

from rigl_rl import api
from rigl_rl import cli
from rigl_rl.errors import ConfigError

cli.define_root_dir('A run directory written by rigl-train.')
flags.DEFINE_enum('mode', 'noise', ['noise', 'plain'],
                  'noise: returns under Gaussian pixel noise of each --sigmas '
                  '(pixel environments); plain: returns as the agent is, on '
                  'any environment.')
flags.DEFINE_list('sigmas', [f'{sigma:g}' for sigma in api.DEFAULT_SIGMAS],
                  'Noise standard deviations, in pixel levels (0-255); '
                  'section 8 of Graesser et al. 2022 spans 0 to 30. '
                  '--mode=noise only.')
flags.DEFINE_integer('episodes', 10, 'Evaluation episodes (per sigma).')
flags.DEFINE_integer('video_episodes', 0,
                     'Records the first N episodes as MP4 files in '
                     '<out_dir>/videos (needs moviepy: pip install '
                     '"rigl_rl[video]"). --mode=plain only.')
flags.DEFINE_integer('seed', 0, 'Seeds the environment, noise and policy.')
flags.DEFINE_string('out_dir', None,
                    'Where results go; default <root_dir>/robustness '
                    '(noise) or <root_dir>/evaluation (plain).')
FLAGS = flags.FLAGS


def main():
  cli.quiet()
  with cli.user_errors():
    if FLAGS.mode == 'plain':
      if FLAGS['sigmas'].present:
        raise ConfigError('--sigmas applies to --mode=noise; drop it or pass '
                          '--mode=noise')
      api.evaluate(FLAGS.root_dir, FLAGS.episodes, FLAGS.seed, FLAGS.out_dir,
                   FLAGS.video_episodes)
      return
    if FLAGS.video_episodes:
      raise ConfigError('--video_episodes applies to --mode=plain; drop it '
                        'or pass --mode=plain')
    try:
      sigmas = [float(s) for s in FLAGS.sigmas]
    except ValueError:
      raise ConfigError('--sigmas must be numbers, got '
                        f'{",".join(FLAGS.sigmas)}') from None
    api.noise_robustness(FLAGS.root_dir, sigmas, FLAGS.episodes, FLAGS.seed,
                         FLAGS.out_dir)


if __name__ == '__main__':
  cli.run(main)
