"""Evaluating a run's latest checkpoint: plain returns on any environment,
optionally with episode videos; robustness.py adds observation noise."""
import os
import time
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf
from tf_agents.environments import py_environment

from rigl_rl import config
from rigl_rl.envs import factory
from rigl_rl.envs import in_graph
from rigl_rl.envs import video as video_lib
from rigl_rl.errors import ConfigError
from rigl_rl.training import checkpoints
from rigl_rl.training import loop
from rigl_rl.training import run_dir

RESULTS_FILE = 'evaluation.json'
VIDEO_DIR = 'videos'


def _checkpoints(root_dir: str) -> str:
  """The run's checkpoints directory.

  Raises:
    ConfigError: if `root_dir` holds no run or no checkpoint yet.
  """
  if not os.path.isfile(os.path.join(root_dir, run_dir.CONFIG_FILE)):
    raise ConfigError(f'{root_dir} holds no run ({run_dir.CONFIG_FILE} is '
                      'missing); pass the --root_dir a bin/train run wrote')
  directory = os.path.join(root_dir, 'checkpoints')
  if not checkpoints.CheckpointStore(directory, None).numbers():
    raise ConfigError(f'{root_dir} has no checkpoint yet; let bin/train run '
                      'to its first checkpoint (CHECKPOINT_INTERVAL)')
  return directory


def restore(root_dir: str, seed: int) -> Tuple[factory.Spec, object, str]:
  """The run's environment spec and agent, restored from its newest readable
  checkpoint; the run directory is left as it is.

  The run's config.gin lives in gin only while its agent is built
  (`config.parsed`): gin must hold no configuration when this is called,
  and holds none after.

  Returns:
    (environment spec, `AgentBundle`, checkpoint path).

  Raises:
    ConfigError: for a directory without a run or checkpoint.
    RuntimeError: if gin already holds a configuration.
  """
  directory = _checkpoints(root_dir)
  with config.parsed([os.path.join(root_dir, run_dir.CONFIG_FILE)], []):
    env_spec, bundle = config.configured_agent(seed)
  checkpoint = tf.train.Checkpoint(agent=bundle.agent)
  path = checkpoints.CheckpointStore(directory, checkpoint).restore_latest(
      lambda path: checkpoint.restore(path).assert_existing_objects_matched(
      ).expect_partial(), repair=False)
  return env_spec, bundle, path


def episode_returns(py_env: py_environment.PyEnvironment, bundle,
                    episodes: int, rng: tf.random.Generator) -> np.ndarray:
  """Undiscounted returns of `episodes` episodes of the bundle's evaluation
  policy on `py_env`."""
  evaluate_fn = tf.function(loop.evaluate_episodes)
  return evaluate_fn(in_graph.InGraphEnvironment(py_env), bundle.eval_action,
                     tf.constant(episodes), rng).numpy()


def check_episodes(episodes: int, video_episodes: int = 0) -> None:
  """Raises ConfigError for counts that cannot be evaluated."""
  if episodes < 1:
    raise ConfigError(f'--episodes must be >= 1, got {episodes}')
  if not 0 <= video_episodes <= episodes:
    raise ConfigError(f'--video_episodes must be between 0 and --episodes '
                      f'({episodes}), got {video_episodes}')


def evaluate(root_dir: str, episodes: int, seed: int = 0,
             video_dir: Optional[str] = None, video_episodes: int = 0,
             progress: Callable[[str], None] = print) -> Dict[str, object]:
  """Evaluates a run's latest checkpoint as it is, on any environment.

  Args:
    root_dir: a run directory written by bin/train.
    episodes: evaluation episodes.
    seed: seeds the environment and the policy's draws.
    video_dir: where videos go, when `video_episodes` > 0.
    video_episodes: the first episodes to record as MP4 files (gymnasium
      environments and Atari; MinAtar cannot).
    progress: called with a line when done.

  Returns:
    The run, its checkpoint, the mean, standard deviation and list of the
    episode returns, and the video files written.

  Raises:
    ConfigError: for a directory without a run or checkpoint, bad episode
      counts, or videos of an environment that cannot record them.
    RuntimeError: if gin already holds a configuration.
  """
  check_episodes(episodes, video_episodes)
  if video_episodes and not video_dir:
    raise ValueError('video_episodes needs a video_dir')
  env_spec, bundle, path = restore(root_dir, seed)
  video = (video_lib.Video(video_dir, video_episodes) if video_episodes
           else None)
  start = time.time()
  py_env = factory.make_py_environment(env_spec, seed, video)
  try:
    returns = episode_returns(py_env, bundle, episodes,
                              tf.random.Generator.from_seed(seed))
  finally:
    py_env.close()  # Ends the last video's file.
  videos = (sorted(os.path.join(video_dir, name)
                   for name in os.listdir(video_dir) if name.endswith('.mp4'))
            if video else [])
  progress(f'mean return {returns.mean():.2f} over {episodes} episodes '
           f'({time.time() - start:.0f} s)'
           + (f'; {len(videos)} videos in {video_dir}' if video else ''))
  return {**run_record(root_dir, path, env_spec, bundle, episodes, seed),
          **return_statistics(returns), 'videos': videos}


def run_record(root_dir: str, checkpoint: str, env_spec: factory.Spec,
               bundle, episodes: int, seed: int) -> Dict[str, object]:
  """What an evaluation's JSON says of the run it evaluated."""
  return {
      'run_dir': os.path.abspath(root_dir),
      'checkpoint': checkpoint,
      'env': factory.spec_name(env_spec),
      'method': bundle.method,
      'episodes': episodes,
      'seed': seed,
  }


def return_statistics(returns: np.ndarray) -> Dict[str, object]:
  """The mean, standard deviation and list of episode returns."""
  return {'mean_return': float(returns.mean()),
          'std_return': float(returns.std()),
          'returns': [float(r) for r in returns]}


def output_paths(out_dir: str) -> Dict[str, str]:
  """Where `write` puts the JSON and the videos; checked before evaluating.

  Raises:
    ConfigError: if either already exists.
  """
  paths = {'json': os.path.join(out_dir, RESULTS_FILE),
           'videos': os.path.join(out_dir, VIDEO_DIR)}
  existing = [p for p in paths.values() if os.path.exists(p)]
  if existing:
    raise ConfigError(f'{existing[0]} exists; pass another --out_dir or move '
                      'it away')
  return paths


def write(results: Dict[str, object], out_dir: str) -> str:
  """Writes the JSON into `out_dir`, refusing to overwrite.

  Returns:
    Its path.

  Raises:
    ConfigError: if it already exists.
  """
  path = os.path.join(out_dir, RESULTS_FILE)
  if os.path.exists(path):
    raise ConfigError(f'{path} exists; pass another --out_dir or move it away')
  os.makedirs(out_dir, exist_ok=True)
  run_dir.write_json(path, results)
  return path
