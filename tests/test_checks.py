"""Type and range checks on configured values."""
import gin
import pytest

from rigl_rl import checks
from rigl_rl.errors import ConfigError
from rigl_rl.training import loop  # pylint: disable=unused-import  # Runner


@pytest.mark.parametrize('value', [0, -3, 2.5, '7', True, None, float('nan')])
def test_ints_refuses_what_is_not_an_integer_in_range(value):
  with pytest.raises(ConfigError, match=r'^Owner.count must be an integer '
                     r'>= 1, got .*; fix its binding$'):
    checks.ints('Owner', count=value)


def test_ints_takes_integers_from_the_minimum():
  checks.ints('Owner', a=1, b=10**12)
  checks.ints('Owner', minimum=0, seed=0)
  with pytest.raises(ConfigError, match='>= 0, got -1'):
    checks.ints('Owner', minimum=0, seed=-1)


@pytest.mark.parametrize('value', [0, -1e-3, 'fast', False, float('inf'),
                                   float('nan'), None])
def test_positive_numbers_refuses_the_rest(value):
  with pytest.raises(ConfigError, match='Owner.rate must be a number > 0'):
    checks.positive_numbers('Owner', rate=value)


@pytest.mark.parametrize('value', [-0.01, 1.5, '0.1', True, float('nan')])
def test_probabilities_refuse_what_is_outside_zero_to_one(value):
  with pytest.raises(ConfigError, match=r'Owner.epsilon must be a number in '
                     r'\[0, 1\]'):
    checks.probabilities('Owner', epsilon=value)


def test_probabilities_take_both_ends():
  checks.probabilities('Owner', greedy=0, uniform=1, some=0.01)


def test_positive_numbers_takes_ints_and_floats():
  checks.positive_numbers('Owner', a=1, b=3e-4)


@pytest.mark.parametrize('value,message', [
    ('64', 'units must be a list of integers >= 1'),
    (64, 'units must be a list of integers >= 1'),
    ((64, 0), r'units\[1\] must be an integer >= 1, got 0'),
    ([32, 1.5], r'units\[1\] must be an integer >= 1, got 1.5'),
])
def test_int_lists_names_the_bad_element(value, message):
  with pytest.raises(ConfigError, match=message):
    checks.int_lists('Owner', units=value)
  checks.int_lists('Owner', units=(), more=[1, 2])


def test_a_value_set_by_a_macro_names_the_macro():
  gin.parse_config(['STEPS = 2.5', 'Runner.num_env_steps = %STEPS'])
  with pytest.raises(ConfigError,
                     match=r'Runner.num_env_steps \(set by STEPS\) must be'):
    checks.ints('Runner', num_env_steps=2.5)
