"""Pixel suites: MinAtar and Atari 2600 (ALE v5), with their preprocessing.

Each suite is a gin-configurable game: `Runner.env_name = @atari()` with
`atari.game = 'Pong'` in gin, or the spec strings 'atari:Pong' and
'minatar:breakout' through `factory.make_py_environment`. Observations are
uint8 (Atari 0-255 grey levels, MinAtar 0/1 channels); networks rescale them.
"""
from typing import Optional

import gin
import gymnasium as gym
import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec

from rigl_rl.envs import names
from rigl_rl.envs import time_steps
from rigl_rl.envs import video as video_lib
from rigl_rl.errors import ConfigError


class _DiscreteUint8Environment(py_environment.PyEnvironment):
  """The specs the pixel suites share: uint8 observations, discrete actions."""

  def __init__(self, observation_shape, maximum: int, num_actions: int):
    super().__init__(handle_auto_reset=False)
    self._observation_spec = array_spec.BoundedArraySpec(
        tuple(observation_shape), np.uint8, 0, maximum, name='observation')
    self._action_spec = array_spec.BoundedArraySpec(
        (), np.int64, 0, num_actions - 1, name='action')

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec


class MinAtarEnvironment(_DiscreteUint8Environment):
  """A MinAtar game: 10x10xC observations of 0/1 channels."""

  def __init__(self, game: str, seed: int, sticky_action_probability: float,
               difficulty_ramping: bool, minimal_action_set: bool):
    import minatar  # pylint: disable=g-import-not-at-top
    self._game = minatar.Environment(
        game, sticky_action_prob=sticky_action_probability,
        difficulty_ramping=difficulty_ramping)
    self._game.seed(seed)
    self._actions = (list(self._game.minimal_action_set())
                     if minimal_action_set else
                     list(range(self._game.num_actions())))
    super().__init__(self._game.state_shape(), 1, len(self._actions))

  def _observation(self) -> np.ndarray:
    return self._game.state().astype(np.uint8)

  def _reset(self):
    self._game.reset()
    return time_steps.first(self._observation())

  def _step(self, action):
    reward, terminal = self._game.act(self._actions[int(action)])
    return time_steps.step(self._observation(), reward, terminal)


class AtariEnvironment(_DiscreteUint8Environment):
  """An ALE v5 game with Dopamine's preprocessing (Machado et al. 2018).

  Frames are max-pooled over the last two of each skip, grey-scaled and
  resized; the observation stacks the latest `stack_size` frames on the last
  axis, zeros before the first frame of an episode (as Dopamine's replay pads
  episode starts). Episodes end on game over (discount 0) or after
  `max_episode_steps` agent steps (discount 1). Rewards are unclipped here:
  clipping is a training choice (`OffPolicy.reward_clip`).
  """

  def __init__(self, game: str, seed: int, sticky_action_probability: float,
               frame_skip: int, screen_size: int, stack_size: int,
               max_episode_steps: int, full_action_space: bool,
               terminal_on_life_loss: bool,
               video: Optional[video_lib.Video] = None):
    import ale_py  # pylint: disable=g-import-not-at-top
    gym.register_envs(ale_py)
    try:
      env = gym.make(f'ALE/{game}-v5', frameskip=1,
                     repeat_action_probability=sticky_action_probability,
                     full_action_space=full_action_space,
                     max_num_frames_per_episode=None,
                     render_mode='rgb_array' if video else None)
    except gym.error.Error as e:
      raise ConfigError(f'unknown Atari game {game!r} ({e}); the paper\'s '
                        f'games are {", ".join(names.ATARI_GAMES)}') from e
    env = gym.wrappers.AtariPreprocessing(
        env, noop_max=0, frame_skip=frame_skip, screen_size=screen_size,
        terminal_on_life_loss=terminal_on_life_loss, grayscale_obs=True)
    # Outermost, so a video has one frame per agent step: the ALE's 60
    # frames a second, skipped.
    self._env = video_lib.recorded(
        gym.wrappers.TimeLimit(env, max_episode_steps), video,
        fps=max(1, round(60 / frame_skip)))
    self._seed: Optional[int] = seed
    self._stack = np.zeros((screen_size, screen_size, stack_size), np.uint8)
    super().__init__(self._stack.shape, 255, env.action_space.n)

  def _push(self, frame: np.ndarray) -> np.ndarray:
    self._stack = np.roll(self._stack, -1, axis=-1)
    self._stack[..., -1] = frame
    return self._stack.copy()

  def _reset(self):
    frame, _ = self._env.reset(seed=self._seed)
    self._seed = None  # Later resets continue the env's own stream.
    self._stack[:] = 0
    return time_steps.first(self._push(frame))

  def _step(self, action):
    frame, reward, terminated, truncated, _ = self._env.step(int(action))
    return time_steps.step(self._push(frame), reward, terminated, truncated)

  def close(self):
    self._env.close()


class Game:
  """A configured game of a pixel suite: a name and a way to build it."""

  name: str

  def make(self, seed: int, video: Optional[video_lib.Video] = None
           ) -> py_environment.PyEnvironment:
    """The game's environment, seeded; `video` records its first episodes.

    Raises:
      ConfigError: if the suite cannot record `video`.
    """
    raise NotImplementedError


@gin.configurable('minatar')
class MinAtar(Game):
  """A MinAtar game (Young & Tian 2019) and its settings."""

  def __init__(self,
               game: str = gin.REQUIRED,
               sticky_action_probability: float = 0.1,
               difficulty_ramping: bool = True,
               minimal_action_set: bool = False):
    """Checks and stores the settings.

    Args:
      game: one of `names.MINATAR_GAMES`.
      sticky_action_probability: chance the previous action repeats
        (MinAtar's default, 0.1).
      difficulty_ramping: games speed up as they go (MinAtar's default).
      minimal_action_set: the game's own actions instead of all six.

    Raises:
      ConfigError: for an unknown game.
    """
    if game not in names.MINATAR_GAMES:
      raise ConfigError(f'unknown MinAtar game {game!r}; use one of '
                        f'{", ".join(names.MINATAR_GAMES)}')
    self.name = names.pixel_spec(names.MINATAR, game)
    self._settings = (game, sticky_action_probability, difficulty_ramping,
                      minimal_action_set)

  def make(self, seed: int, video: Optional[video_lib.Video] = None
           ) -> MinAtarEnvironment:
    if video is not None:
      raise ConfigError(
          'MinAtar cannot record videos here: its environment renders to a '
          'matplotlib window, not to frames; evaluate without '
          '--video_episodes')
    return MinAtarEnvironment(self._settings[0], seed, *self._settings[1:])


@gin.configurable('atari')
class Atari(Game):
  """An Atari 2600 game and its preprocessing (every value a gin setting)."""

  def __init__(self,
               game: str = gin.REQUIRED,
               sticky_action_probability: float = 0.25,
               frame_skip: int = 4,
               screen_size: int = 84,
               stack_size: int = 4,
               max_episode_steps: int = 27_000,
               full_action_space: bool = False,
               terminal_on_life_loss: bool = False):
    """Stores the settings (the defaults are Dopamine's, Machado et al.).

    Args:
      game: an ALE game name, e.g. 'Pong' (`names.ATARI_GAMES` lists the
        paper's).
      sticky_action_probability: chance each emulator frame repeats the
        previous action.
      frame_skip: emulator frames per agent step; the observation is the
        pixel-wise max of the last two.
      screen_size: frames are resized to screen_size x screen_size.
      stack_size: frames per observation.
      max_episode_steps: agent steps after which an episode is cut
        (27,000 = 108,000 frames, 30 minutes of play).
      full_action_space: all 18 actions instead of the game's minimal set.
      terminal_on_life_loss: end episodes when a life is lost (off in
        Machado et al.'s protocol).
    """
    self.name = names.pixel_spec(names.ATARI, game)
    self._game = game
    self._settings = (sticky_action_probability, frame_skip, screen_size,
                      stack_size, max_episode_steps, full_action_space,
                      terminal_on_life_loss)

  def make(self, seed: int, video: Optional[video_lib.Video] = None
           ) -> AtariEnvironment:
    return AtariEnvironment(self._game, seed, *self._settings, video=video)
