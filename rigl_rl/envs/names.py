"""The environments, named in one place.

A spec is a gymnasium id ('CartPole-v1', 'HalfCheetah-v5') or
'<suite>:<game>' for the pixel suites ('minatar:breakout', 'atari:Pong').
`factory` builds them, the report groups results by suite, and gin files are
named after them (`gin_name`). Imports nothing, so reports read it without
loading gymnasium or TensorFlow.
"""

# CartPole-v0 (200-step episodes) is DQN's, as in the reference code;
# CartPole-v1 (500) is PPO's and Table 6's.
CLASSIC_CONTROL = ('CartPole-v0', 'CartPole-v1', 'Acrobot-v1',
                   'MountainCar-v0', 'Pendulum-v1')
# Through gymnasium[mujoco]: the `mujoco` wheel, no mujoco-py.
MUJOCO = ('HalfCheetah-v5', 'Hopper-v5', 'Walker2d-v5', 'Ant-v5',
          'Humanoid-v5')
GYMNASIUM = CLASSIC_CONTROL + MUJOCO

# The pixel suites, as spec prefixes.
MINATAR = 'minatar'
ATARI = 'atari'
MINATAR_GAMES = ('asterix', 'breakout', 'freeway', 'seaquest',
                 'space_invaders')
# Appendix A.4 of Graesser et al. 2022 (002_468a9ec57e6a49fe.txt).
ATARI_GAMES = ('Assault', 'Asterix', 'BeamRider', 'Boxing', 'Breakout',
               'CrazyClimber', 'DemonAttack', 'Enduro', 'FishingDerby',
               'MsPacman', 'Pong', 'Qbert', 'SpaceInvaders', 'Tutankham',
               'VideoPinball')


def pixel_spec(suite: str, game: str) -> str:
  """The spec of a pixel suite's game, e.g. 'atari:Pong'."""
  return f'{suite}:{game}'


def gin_name(spec: str) -> str:
  """The <env> of gin/<agent>/<env>_<method>.gin for a spec.

  'CartPole-v1' -> 'cartpole', 'minatar:space_invaders' ->
  'minatar_space_invaders'. Atari files are named after their network
  ('atari_nature', 'atari_impala') and set the game in gin instead.
  """
  if ':' in spec:
    return spec.replace(':', '_')
  return spec.split('-')[0].lower()
