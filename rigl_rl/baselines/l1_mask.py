"""000's L1-Reg topology: the mask of a layer read from an earlier dense run
trained with an L1 penalty on that layer (`FlatQNet.hidden_l1`).

000 A.3: train the dense network with L1 on the hidden weights for 5M steps
(coefficients 2.5e-5 Breakout, 2e-5 Space Invaders, Figures 10-11), then mask
out the final hidden weights whose magnitude is below the layer's average
(`topologies.below_mean_mask`). The earlier run is checked and found as the
lottery ticket finds its run (`lottery.finished_run`).
"""
import os

import gin
import numpy as np
import tensorflow as tf

from rigl_rl.baselines import lottery
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import topologies
from rigl_rl.training import run_dir as run_dir_lib

# How tf.train.Checkpoint names a variable's value.
_VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'


@gin.configurable
class L1Mask(topologies.Topology):
  """The below-mean mask of the final kernel of an L1-penalised dense run."""

  name = 'l1'

  def __init__(self, run_dir: str = gin.REQUIRED):
    """Checks that `run_dir` holds a finished run.

    Args:
      run_dir: the root_dir of the L1 source run (the
        minatar_<game>_fixed_l1_source.gin run).

    Raises:
      ConfigError: if the run is missing, unfinished, or sparse.
    """
    results = lottery.finished_run(run_dir, 'L1Mask.run_dir')
    if results.get('method') != 'dense':
      raise ConfigError(
          f'the run in {run_dir!r} is {results.get("method")!r}, not dense; '
          'L1Mask reads a dense run trained with FlatQNet.hidden_l1 > 0 '
          '(gin/dqn/minatar_<game>_fixed_l1_source.gin)')
    self.run_dir = run_dir

  def final_kernel(self, layer: topologies.MaskedLayer) -> np.ndarray:
    """The source run's final kernel of `layer`'s shape in its network.

    The source is dense and this run's network is wrapped for masks, so the
    checkpoints' object paths differ; the kernel is found by network and
    shape instead (the flat Q-network has one of each shape).

    Raises:
      ConfigError: unless exactly one kernel of that network has the shape.
    """
    path = os.path.join(self.run_dir, run_dir_lib.FINAL_NETWORKS)
    reader = tf.train.load_checkpoint(path)
    shapes = reader.get_variable_to_shape_map()
    found = [key for key, shape in shapes.items()
             if key.startswith(f'{layer.network}/')
             and key.endswith('/kernel' + _VALUE_SUFFIX)
             and tuple(shape) == tuple(layer.kernel_shape)]
    if len(found) != 1:
      raise ConfigError(
          f'the final {layer.network!r} network in {path} has '
          f'{len(found)} kernels of shape {tuple(layer.kernel_shape)}, not '
          f'one; train the L1 source with the same network as this run')
    return reader.get_tensor(found[0])

  def mask(self, layer, rng):
    del rng
    return topologies.below_mean_mask(self.final_kernel(layer))
