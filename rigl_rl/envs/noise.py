"""Observation noise for robustness evaluations (section 8 of Graesser et al.
2022): Gaussian pixel noise, quantized to integers, added to the raw
observation before the network rescales it."""
import numpy as np
from tf_agents.environments import py_environment
from tf_agents.environments import wrappers


class GaussianPixelNoise(wrappers.PyEnvironmentBaseWrapper):
  """Adds round(N(0, sigma)) to every entry of integer observations.

  The noisy observation is clipped to the spec's bounds (0-255 for Atari,
  0-1 for MinAtar's channels) and keeps its dtype.
  """

  def __init__(self, env: py_environment.PyEnvironment, sigma: float,
               seed: int):
    """Wraps `env`.

    Args:
      env: an environment with bounded integer observations.
      sigma: the noise's standard deviation, in pixel levels.
      seed: seeds the noise.

    Raises:
      ValueError: for a negative sigma or non-integer observations.
    """
    super().__init__(env)
    spec = env.observation_spec()
    if sigma < 0:
      raise ValueError(f'sigma must be >= 0, got {sigma}')
    if not np.issubdtype(spec.dtype, np.integer):
      raise ValueError('pixel noise needs integer (pixel) observations; '
                       f'this environment gives {spec.dtype}')
    self._sigma = sigma
    self._low, self._high = spec.minimum, spec.maximum
    self._rng = np.random.default_rng(seed)

  def _noisy(self, time_step):
    observation = time_step.observation
    noise = np.rint(self._rng.normal(0.0, self._sigma, observation.shape))
    noisy = np.clip(observation.astype(np.int64) + noise.astype(np.int64),
                    self._low, self._high)
    return time_step._replace(observation=noisy.astype(observation.dtype))

  def _reset(self):
    return self._noisy(self._env.reset())

  def _step(self, action):
    return self._noisy(self._env.step(action))
