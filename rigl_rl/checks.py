"""Type and range checks on configured values, where they are consumed.

gin passes any Python literal through, so a step count of 2500.5 or a
learning rate of "fast" reaches the code that uses it unless it is checked
there; these checks turn such values into a ConfigError naming the binding
(and the macro that sets it, when one does) before any work starts.
"""
import math
import numbers

import gin

from rigl_rl.errors import ConfigError


def _macro(owner: str, name: str) -> str:
  """' (set by MACRO)' when gin binds `owner.name` to a macro, else ''."""
  try:
    value = gin.query_parameter(f'{owner}.{name}')
  except (ValueError, KeyError):  # Not bound, or owner is no configurable.
    return ''
  if (isinstance(value, gin.config.ConfigurableReference) and
      value.selector == 'gin.macro'):
    return f' (set by {value.scoped_selector.rsplit("/", 1)[0]})'
  return ''


def _fail(owner: str, name: str, wanted: str, value) -> None:
  raise ConfigError(f'{owner}.{name}{_macro(owner, name)} must be {wanted}, '
                    f'got {value!r}; fix its binding')


def _is_int(value) -> bool:
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
  """Whether `value` is a finite real number (a bool is not one)."""
  return (isinstance(value, numbers.Real) and not isinstance(value, bool) and
          math.isfinite(value))


def ints(owner: str, minimum: int = 1, **values) -> None:
  """Raises ConfigError unless every value is an integer >= `minimum`.

  Args:
    owner: the configurable the values belong to, e.g. 'Runner'.
    minimum: the smallest value allowed.
    **values: parameter name -> value.
  """
  for name, value in values.items():
    if not _is_int(value) or value < minimum:
      _fail(owner, name, f'an integer >= {minimum}', value)


def positive_numbers(owner: str, **values) -> None:
  """Raises ConfigError unless every value is a finite number > 0.

  Args:
    owner: the configurable the values belong to, e.g. 'dqn_agent'.
    **values: parameter name -> value.
  """
  for name, value in values.items():
    if not is_number(value) or value <= 0:
      _fail(owner, name, 'a number > 0', value)


def probabilities(owner: str, **values) -> None:
  """Raises ConfigError unless every value is a number in [0, 1].

  Args:
    owner: the configurable the values belong to, e.g. 'dqn_agent'.
    **values: parameter name -> value.
  """
  for name, value in values.items():
    if not is_number(value) or not 0 <= value <= 1:
      _fail(owner, name, 'a number in [0, 1]', value)


def int_lists(owner: str, **lists) -> None:
  """Raises ConfigError unless every value is a list or tuple of integers
  >= 1, such as hidden units per layer.

  Args:
    owner: the configurable the values belong to, e.g. 'mlp_layers'.
    **lists: parameter name -> value.
  """
  for name, values in lists.items():
    if not isinstance(values, (list, tuple)):
      _fail(owner, name, 'a list of integers >= 1', values)
    ints(owner, **{f'{name}[{i}]': value for i, value in enumerate(values)})


def require_empty_gin() -> None:
  """Refuses to build from a configuration while gin holds another.

  gin has one process-global configuration; code that parses its own must
  not discard one its caller parsed.

  Raises:
    RuntimeError: if gin holds a configuration. Its owner clears it
      (`gin.clear_config()`) when done with it.
  """
  if gin.config_str() or gin.config_is_locked():
    raise RuntimeError(
        'gin already holds a configuration; clear it (gin.clear_config()) '
        'once done with it, before building from another')
