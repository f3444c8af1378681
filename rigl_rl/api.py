"""Training and evaluating from Python, as the binaries do.

  import rigl_rl
  results = rigl_rl.train('/tmp/runs/cp', ['dqn/cartpole_rigl.gin'],
                          ['SPARSITY = 0.95'])

Each call is a whole experiment with gin to itself: gin must hold no
configuration when it is called (a RuntimeError says so, rather than
discarding a configuration the caller parsed), and it clears the one it
parsed when it returns, so calls can follow one another in one process.
rigl-train, rigl-evaluate and rigl-export parse their flags and call these. TensorFlow loads on the first call, not on
`import rigl_rl`.
"""
import json
import os
from typing import Callable, Dict, Optional, Sequence

import gin

from rigl_rl import checks
from rigl_rl import cli
from rigl_rl.errors import Interrupted

# bin/evaluate's default noise levels, in pixel levels (0-255): section 8 of
# Graesser et al. 2022 spans 0 to 30.
DEFAULT_SIGMAS = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)


def train(root_dir: str, gin_files: Sequence[str],
          bindings: Sequence[str] = ()) -> Dict[str, object]:
  """Trains the run in `root_dir`, resuming it from its checkpoints.

  gin must hold no configuration on entry (the run is exactly these files
  and bindings), and holds none after, so the next call starts clean. As
  rigl-train, it refuses a root_dir of another configuration and leaves a finished run as
  it is.

  Args:
    root_dir: the run directory; train it again to resume.
    gin_files: gin files, paths or shipped names such as
      'dqn/cartpole_rigl.gin' (`rigl-train --list`), parsed in order.
    bindings: gin bindings, e.g. 'SPARSITY = 0.95', parsed after the files.

  Returns:
    The run's results.json.

  Raises:
    ConfigError: for anything the user can fix, before any work where it
      can be found then.
    Interrupted: if SIGINT or SIGTERM stopped the run (its checkpoint is
      saved).
    RuntimeError: if gin already holds a configuration.
  """
  checks.require_empty_gin()
  try:
    with cli.startup() as startup:  # TensorFlow's chatter, held.
      cli.writable_dir('root_dir', root_dir)
      from rigl_rl import config  # pylint: disable=g-import-not-at-top
      runner = config.build_runner(root_dir, list(gin_files),
                                   list(bindings))  # Touches no disk.
      runner.prepare()
    runner.save_startup_log(startup.text())
    status = runner.run()
  finally:
    gin.clear_config()
  from rigl_rl.training import run_dir  # pylint: disable=g-import-not-at-top
  with open(os.path.join(root_dir, run_dir.RESULTS_FILE)) as f:
    results = json.load(f)
  if status == 'interrupted':
    raise Interrupted(runner.interrupted, root_dir, results)
  return results


def evaluate(root_dir: str, episodes: int = 10, seed: int = 0,
             out_dir: Optional[str] = None, video_episodes: int = 0,
             progress: Callable[[str], None] = print) -> Dict[str, object]:
  """Evaluates a run's latest checkpoint as it is, on any environment.

  Writes evaluation.json (and videos/ of the first `video_episodes`
  episodes) to `out_dir`, refusing, before the work, to overwrite either.
  gin must hold no configuration on entry, and holds none after, as
  `train`.

  Args:
    root_dir: a run directory written by `train` (rigl-train).
    episodes: evaluation episodes.
    seed: seeds the environment and the policy's draws.
    out_dir: where the files go; default <root_dir>/evaluation.
    video_episodes: episodes to record as MP4 files (needs
      `pip install "rigl_rl[video]"`; MinAtar cannot record).
    progress: called with a line when done, and with the file written.

  Returns:
    What evaluation.json holds: the run, its checkpoint, the mean, standard
    deviation and list of the episode returns, and the videos written.

  Raises:
    ConfigError: for a directory without a run or checkpoint, bad episode
      counts, videos of an environment that cannot record them, or files
      that exist.
  """
  cli.existing_dir('root_dir', root_dir,
                   'a run directory written by rigl-train')
  with cli.startup():  # TensorFlow's chatter, held.
    from rigl_rl.analysis import evaluation  # pylint: disable=g-import-not-at-top
  out_dir = out_dir or os.path.join(root_dir, 'evaluation')
  paths = evaluation.output_paths(out_dir)  # Refuse before the work.
  results = evaluation.evaluate(root_dir, episodes, seed, paths['videos'],
                                video_episodes, progress)
  progress(f'Wrote {evaluation.write(results, out_dir)}')
  return results


def noise_robustness(root_dir: str,
                     sigmas: Sequence[float] = DEFAULT_SIGMAS,
                     episodes: int = 10, seed: int = 0,
                     out_dir: Optional[str] = None,
                     progress: Callable[[str], None] = print
                     ) -> Dict[str, object]:
  """Evaluates a pixel run's latest checkpoint under Gaussian pixel noise.

  Writes noise_robustness.json and noise_robustness.png to `out_dir`,
  refusing, before the work, to overwrite either. gin must hold no
  configuration on entry, and holds none after, as `train` (section 8 of
  Graesser et al. 2022).

  Args:
    root_dir: a run directory written by `train` (rigl-train).
    sigmas: noise standard deviations, in pixel levels (0-255).
    episodes: evaluation episodes per sigma.
    seed: seeds the environment, noise and policy.
    out_dir: where the files go; default <root_dir>/robustness.
    progress: called with a line after each sigma, and with the files
      written.

  Returns:
    What noise_robustness.json holds: the run, its checkpoint and, per
    sigma, the mean, standard deviation and list of episode returns.

  Raises:
    ConfigError: for a directory without a run or checkpoint, bad sigmas or
      episodes, a run whose observations are not pixels, or files that
      exist.
  """
  cli.existing_dir('root_dir', root_dir,
                   'a run directory written by rigl-train')
  with cli.startup():  # TensorFlow's chatter, held.
    from rigl_rl.analysis import robustness  # pylint: disable=g-import-not-at-top
  out_dir = out_dir or os.path.join(root_dir, 'robustness')
  robustness.output_paths(out_dir)  # Refuse before the work, not after.
  results = robustness.evaluate(root_dir, list(sigmas), episodes, seed,
                                progress)
  paths = robustness.write(results, out_dir)
  progress(f'Wrote {paths["json"]} and {paths["plot"]}')
  return results


def export_policy(root_dir: str, out_dir: str, observations: int = 256,
                  seed: int = 0,
                  progress: Callable[[str], None] = print) -> Dict[str, object]:
  """Exports a DQN run's greedy policy as a SavedModel and a sparse TFLite
  model, checked against the trained network (`rigl_rl.export.export_run`).

  Refuses an out_dir that exists. gin must hold no configuration on entry,
  and holds none after, as `train`.

  Args:
    root_dir: a run directory written by `train` (rigl-train).
    out_dir: a new directory for saved_model/, policy.tflite, export.json.
    observations: observations recorded from the environment for the check.
    seed: seeds the environment and the recording.
    progress: called with the check's lines and the files written.

  Returns:
    What export.json holds: the run, its checkpoint, the max abs Q-value
    difference of each exported model, and the TFLite model's size.

  Raises:
    ConfigError: for a directory without a run or checkpoint, a run that is
      not DQN, an out_dir that exists, or LiteRT not installed.
    ExportMismatch: if an exported model's greedy actions differ from the
      trained network's (nothing is written).
  """
  cli.existing_dir('root_dir', root_dir,
                   'a run directory written by rigl-train')
  with cli.startup():  # TensorFlow's chatter, held.
    from rigl_rl import export  # pylint: disable=g-import-not-at-top
  return export.export_run(root_dir, out_dir, observations, seed, progress)
