"""Robustness of a trained agent to observation noise (section 8 of
Graesser et al. 2022): evaluation returns under Gaussian pixel noise of
increasing standard deviation."""
import os
import time
from typing import Callable, Dict, Sequence

import tensorflow as tf

from rigl_rl.analysis import evaluation
from rigl_rl.analysis import plots
from rigl_rl.envs import factory
from rigl_rl.envs import noise
from rigl_rl.errors import ConfigError
from rigl_rl.training import run_dir

RESULTS_FILE = 'noise_robustness.json'
PLOT_FILE = 'noise_robustness.png'


def evaluate(root_dir: str, sigmas: Sequence[float], episodes: int,
             seed: int = 0,
             progress: Callable[[str], None] = print) -> Dict[str, object]:
  """Evaluates a run's latest checkpoint under pixel noise of each sigma.

  Args:
    root_dir: a run directory written by bin/train.
    sigmas: noise standard deviations, in pixel levels.
    episodes: evaluation episodes per sigma.
    seed: seeds the environments, the noise and the policy's draws.
    progress: called with a line after each sigma.

  Returns:
    The results: the run, its checkpoint and, per sigma, the mean, standard
    deviation and list of episode returns.

  The run's config.gin lives in gin only while its agent is built
  (`config.parsed`): gin must hold no configuration when this is called,
  and holds none after.

  Raises:
    ConfigError: for a directory without a run or checkpoint, bad sigmas or
      episodes, or a run whose observations are not pixels.
    RuntimeError: if gin already holds a configuration.
  """
  evaluation.check_episodes(episodes)
  if not sigmas or min(sigmas) < 0:
    raise ConfigError(f'--sigmas must be non-negative numbers, got {sigmas}')
  env_spec, bundle, path = evaluation.restore(root_dir, seed)
  rng = tf.random.Generator.from_seed(seed)
  rows = []
  for sigma in sigmas:
    start = time.time()
    try:
      env = noise.GaussianPixelNoise(
          factory.make_py_environment(env_spec, seed), sigma, seed)
    except ValueError as e:
      raise ConfigError(f'{factory.spec_name(env_spec)}: {e}') from e
    returns = evaluation.episode_returns(env, bundle, episodes, rng)
    rows.append({'sigma': float(sigma),
                 **evaluation.return_statistics(returns)})
    progress(f'sigma {sigma:g}: mean return {returns.mean():.2f} over '
             f'{episodes} episodes ({time.time() - start:.0f} s)')
  return {**evaluation.run_record(root_dir, path, env_spec, bundle, episodes,
                                  seed),
          'noise': rows}


def output_paths(out_dir: str) -> Dict[str, str]:
  """Where `write` puts the JSON and the plot; checked before evaluating.

  Raises:
    ConfigError: if either file already exists.
  """
  paths = {'json': os.path.join(out_dir, RESULTS_FILE),
           'plot': os.path.join(out_dir, PLOT_FILE)}
  existing = [p for p in paths.values() if os.path.exists(p)]
  if existing:
    raise ConfigError(f'{existing[0]} exists; pass another --out_dir or move '
                      'it away')
  return paths


def write(results: Dict[str, object], out_dir: str) -> Dict[str, str]:
  """Writes the JSON and the plot into `out_dir`, refusing to overwrite.

  Raises:
    ConfigError: if either file already exists.
  """
  paths = output_paths(out_dir)
  os.makedirs(out_dir, exist_ok=True)
  run_dir.write_json(paths['json'], results)
  rows = results['noise']
  plots.noise_robustness([row['sigma'] for row in rows],
                         [row['mean_return'] for row in rows],
                         [row['std_return'] for row in rows],
                         results['episodes'],
                         f'{results["env"]} ({results["method"]})',
                         paths['plot'])
  return paths
