"""Parsing gin: includes resolved next to their files, and gin's global
configuration changed only by the caller."""
import os

import gin
import pytest

from rigl_rl import config
from rigl_rl.errors import ConfigError


def _write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    f.write(text)
  return str(path)


def test_includes_resolve_next_to_the_file_then_its_parent(tmp_path):
  top = _write(tmp_path / 'agent' / 'env_rigl.gin',
               "include 'common/rigl.gin'  # the method\nTOP = 1\n")
  # Under common/, 'common/sparse.gin' is found from the parent directory.
  _write(tmp_path / 'agent' / 'common' / 'rigl.gin',
         "include 'common/sparse.gin'\nMETHOD = 2\n")
  _write(tmp_path / 'agent' / 'common' / 'sparse.gin', 'SHARED = 3\n')
  config.parse([top], ['TOP = 4'])
  assert [gin.query_parameter(f'%{name}')
          for name in ('TOP', 'METHOD', 'SHARED')] == [4, 2, 3]


def test_a_missing_include_names_the_file_and_where_it_looked(tmp_path):
  top = _write(tmp_path / 'a.gin', "include 'nope.gin'\n")
  with pytest.raises(ConfigError, match=r"a.gin' includes 'nope.gin', but "
                     'none of .* exists'):
    config.parse([top], [])


def test_an_include_cycle_is_an_error(tmp_path):
  first = _write(tmp_path / 'a.gin', "include 'b.gin'\n")
  _write(tmp_path / 'b.gin', "include 'a.gin'\n")
  with pytest.raises(ConfigError, match='cycle'):
    config.parse([first], [])


def test_parse_adds_to_what_gin_holds(tmp_path):
  gin.parse_config('EARLIER = 1')
  config.parse([_write(tmp_path / 'a.gin', 'LATER = 2\n')], [])
  assert gin.query_parameter('%EARLIER') == 1


def test_parsed_holds_its_config_for_the_block_only(tmp_path):
  path = _write(tmp_path / 'a.gin', 'X = 1\n')
  with config.parsed([path], ['X = 2']):
    assert gin.query_parameter('%X') == 2
  assert not gin.config_str()
  with pytest.raises(ConfigError):
    with config.parsed([path], ['Y = @nope']):
      pass
  assert not gin.config_str() and not gin.config_is_locked()


def test_parsed_never_discards_the_callers_config(tmp_path):
  gin.parse_config('MINE = 1')
  with pytest.raises(RuntimeError, match='already holds a configuration'):
    with config.parsed([_write(tmp_path / 'a.gin', 'X = 1\n')], []):
      pass
  assert gin.query_parameter('%MINE') == 1


def test_gin_errors_point_into_the_included_file(tmp_path):
  # gin notices the unclosed list at line 3, in base.gin, not in top.gin.
  _write(tmp_path / 'base.gin', 'X = 1\nY = [1, 2\nW = 3\n')
  top = _write(tmp_path / 'top.gin', "Z = 0\ninclude 'base.gin'\n")
  with pytest.raises(ConfigError, match=r'\(base.gin, line 3\)'):
    config.parse([top], [])
