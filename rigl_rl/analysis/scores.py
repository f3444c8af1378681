"""Reference scores for normalising returns across environments."""
import dataclasses
from typing import Dict, Optional, Tuple

from rigl_rl.envs import names

# Atari (random, human) scores as published with the DQN Nature paper (Mnih
# et al. 2015) and collected in Badia et al. 2020 (Agent57), for the 15 games
# of Graesser et al. 2022, A.4; env specs are 'atari:<Game>'.
ATARI_RANDOM_HUMAN: Dict[str, Tuple[float, float]] = {
    'Assault': (222.4, 742.0),
    'Asterix': (210.0, 8503.3),
    'BeamRider': (363.9, 16926.5),
    'Boxing': (0.1, 12.1),
    'Breakout': (1.7, 30.5),
    'CrazyClimber': (10780.5, 35829.4),
    'DemonAttack': (152.1, 1971.0),
    'Enduro': (0.0, 860.5),
    'FishingDerby': (-91.7, -38.7),
    'MsPacman': (307.3, 6951.6),
    'Pong': (-20.7, 14.6),
    'Qbert': (163.9, 13455.0),
    'SpaceInvaders': (148.0, 1668.7),
    'Tutankham': (11.4, 167.6),
    'VideoPinball': (16256.9, 17667.9),
}

# Mean return of the uniform random policy (measured with gymnasium 1.x over
# 3,000 CartPole and 300 Acrobot / MountainCar episodes). Dense-normalised
# scores are (score - floor) / (dense - floor), so that a worse return is a
# lower score even when returns are negative; environments not listed use a
# floor of 0, Fig. 1's plain ratio to dense.
RANDOM_POLICY: Dict[str, float] = {
    'CartPole-v0': 22.2,  # v1's: no random episode of 3,000 reached 200.
    'CartPole-v1': 22.2,
    'Acrobot-v1': -498.0,
    'MountainCar-v0': -200.0,
}


def suite(env: str) -> str:
  """The benchmark suite an environment spec belongs to; aggregates stay
  within one suite."""
  if ':' in env:
    return env.split(':', 1)[0]
  if env in names.CLASSIC_CONTROL:
    return 'classic_control'
  if env in names.MUJOCO:
    return 'mujoco'
  return 'other'


def atari_game(env: str) -> Optional[str]:
  prefix = names.pixel_spec(names.ATARI, '')
  return env[len(prefix):] if env.startswith(prefix) else None


def human_normalized(env: str, score: float) -> float:
  """(score - random) / (human - random) for an 'atari:<Game>' spec.

  Raises:
    KeyError: for a game without published scores here.
  """
  random, human = ATARI_RANDOM_HUMAN[atari_game(env)]
  return (score - random) / (human - random)


def dense_normalized(env: str, score: float, dense: float) -> float:
  """(score - floor) / (dense - floor), floor the random policy's return."""
  floor = RANDOM_POLICY.get(env, 0.0)
  return (score - floor) / (dense - floor)


@dataclasses.dataclass(frozen=True)
class Score:
  """Which of results.json's scores a report ranks runs by."""
  key: str  # The final score's key.
  curve: str  # The key of its history: [env_step, value, ...] entries.
  description: str


SCORES = {
    'eval': Score('final_score', 'eval',
                  'the mean return of the last 10% of evaluations of a run '
                  '(as 002 reports)'),
    'training': Score('final_training_score', 'train_returns',
                      "the mean return of the training episodes that ended "
                      "in a run's last iteration (Dopamine's score, as 004 "
                      'reports)'),
}
