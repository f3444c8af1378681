"""The environment registry: spec names and the gin files named after them."""
import pytest

from rigl_rl.analysis import scores
from rigl_rl.envs import names


@pytest.mark.parametrize('spec,gin_name', [
    ('CartPole-v1', 'cartpole'),
    ('MountainCar-v0', 'mountaincar'),
    ('HalfCheetah-v5', 'halfcheetah'),
    ('Walker2d-v5', 'walker2d'),
    ('minatar:space_invaders', 'minatar_space_invaders'),
])
def test_gin_name(spec, gin_name):
  assert names.gin_name(spec) == gin_name


def test_pixel_specs():
  assert names.pixel_spec(names.ATARI, 'Pong') == 'atari:Pong'
  assert scores.atari_game(names.pixel_spec(names.ATARI, 'Pong')) == 'Pong'
  assert scores.suite(names.pixel_spec(names.MINATAR, 'breakout')) == (
      names.MINATAR)


def test_every_paper_atari_game_has_reference_scores():
  assert set(scores.ATARI_RANDOM_HUMAN) == set(names.ATARI_GAMES)
