"""Lottery-ticket rewinding (Frankle & Carbin 2018), as Obando-Ceron et al.
2024 (section 5.1) use it: take the final masks of a finished sparse run and
retrain from that run's initial weights with those masks fixed."""
import json
import os
from typing import Dict, Sequence

import gin
import numpy as np
import tensorflow as tf

from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import updaters
from rigl_rl.training import run_dir as run_dir_lib


def finished_run(run_dir: str, parameter: str) -> Dict[str, object]:
  """The results.json of the finished run in `run_dir`, which must hold its
  initial and final networks (what later runs read from it).

  Args:
    run_dir: the root_dir of the earlier run.
    parameter: the gin parameter that named it, for error messages.

  Raises:
    ConfigError: if the run is missing, unfinished, or was made before runs
      saved their networks.
  """
  path = os.path.join(run_dir, run_dir_lib.RESULTS_FILE)
  if not os.path.isfile(path):
    raise ConfigError(f'{parameter} {run_dir!r} holds no '
                      f'{run_dir_lib.RESULTS_FILE}; point it at the root_dir '
                      'of a finished run')
  with open(path) as f:
    results = json.load(f)
  if not results.get('finished'):
    raise ConfigError(f'the run in {run_dir!r} has not finished; rerun its '
                      'bin/train command to finish it first')
  for name in (run_dir_lib.INITIAL_NETWORKS, run_dir_lib.FINAL_NETWORKS):
    if not tf.io.gfile.glob(os.path.join(run_dir, name) + '.index'):
      raise ConfigError(f'the run in {run_dir!r} has no {name} networks '
                        '(runs made before they were saved); rerun it')
  return results


@gin.configurable
class LotteryTicket:
  """Where a network's masks and initial weights come from: an earlier run.

  Used in place of `SparseTraining`, e.g. `dqn_agent.sparse = @LotteryTicket()`.
  """

  method = 'lottery'

  def __init__(self, run_dir: str = gin.REQUIRED):
    """Checks that `run_dir` holds a finished sparse run.

    Args:
      run_dir: the root_dir of the earlier run (e.g. a pruning run).

    Raises:
      ConfigError: if the run is missing, unfinished, dense, or was made
        before runs saved their initial networks.
    """
    results = finished_run(run_dir, 'LotteryTicket.run_dir')
    if results.get('method') == 'dense':
      raise ConfigError(f'the run in {run_dir!r} is dense: it has no masks; '
                        'use a sparse run such as a pruning run')
    self.run_dir = run_dir
    self.sparsity = float(results['sparsity'])

  def _read(self, which: str, name: str, network: tf.Module) -> None:
    checkpoint = tf.train.Checkpoint(**{name: network})
    path = os.path.join(self.run_dir, which)
    try:
      checkpoint.read(path).assert_existing_objects_matched()
    except (AssertionError, ValueError) as e:
      raise ConfigError(
          f'network {name!r} does not match the one saved in {path}; use the '
          f'same network settings as that run ({str(e).splitlines()[0]})'
      ) from e

  def attach(self, name: str, network: tf.Module, targets: Sequence[tf.Module],
             rng: np.random.Generator,
             soft_targets: bool = False) -> masking.SparseNetwork:
    """Loads the earlier run's final masks and initial weights into `network`.

    Args:
      name: the network's name in both runs, e.g. 'q'.
      network: the built online network, with SparseWrappers.
      targets: networks that carry the same masks.
      rng: unused; the earlier run fixed everything.
      soft_targets: whether the agent updates the targets softly.

    Returns:
      The network's sparse state, with masks that never change.
    """
    del rng
    self._read(run_dir_lib.FINAL_NETWORKS, name, network)
    layers = masking.sparse_layers(network)
    masks = [layer.mask.numpy() for layer in layers]
    self._read(run_dir_lib.INITIAL_NETWORKS, name, network)
    sparsities = {layer.layer.name: 1.0 - float(mask.mean())
                  for layer, mask in zip(layers, masks)}
    sparse_network = masking.SparseNetwork(
        name, network, updaters.Static(), self.sparsity, sparsities, targets,
        method=self.method, soft_targets=soft_targets)
    sparse_network.install_masks(masks)
    return sparse_network
