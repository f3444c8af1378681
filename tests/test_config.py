"""Parsing gin: includes resolved next to their files, gin's global
configuration changed only by the caller, and bindings that would change
nothing refused."""
import os

import gin
import pytest

from rigl_rl import config
from rigl_rl.errors import ConfigError
from rigl_rl.training.loop import Runner
from tests import conftest


def _write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    f.write(text)
  return str(path)


def test_includes_resolve_next_to_the_file_then_its_parent(tmp_path):
  # Each macro is read, so that a binding may set it.
  top = _write(tmp_path / 'agent' / 'env_rigl.gin',
               "include 'common/rigl.gin'  # the method\nTOP = 1\n"
               'Runner.seed = %TOP\n')
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
  path = _write(tmp_path / 'a.gin', 'X = 1\nRunner.seed = %X\n')
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


def _refused(gin_file, bindings, agent='dqn'):
  """The one-line message of the ConfigError parsing and building give."""
  gin.clear_config()  # Parsing locks gin; some tests parse more than once.
  with pytest.raises(ConfigError) as error:
    config.parse([conftest.gin_path(gin_file, agent)], bindings)
    with config.building(bindings):
      Runner('/nonexistent/never/written', verbose=False)
  message = str(error.value)
  assert len(message.splitlines()) == 1, message
  return message


def test_a_misspelt_macro_names_the_nearest_one():
  message = _refused('cartpole_rigl.gin', ['SPARSTY = 0.95'])
  assert 'SPARSTY' in message and 'did you mean SPARSITY?' in message


def test_a_macro_the_config_never_reads_is_refused():
  # The dense file has no SPARSITY for the binding to set.
  message = _refused('cartpole_dense.gin', ['SPARSITY = 0.95'])
  assert 'no binding of this configuration reads it' in message
  assert 'NUM_ENV_STEPS' in message  # The macros it does read.


def test_a_binding_of_a_configurable_the_run_never_calls_is_refused():
  message = _refused('cartpole_dense.gin', ['SparseTraining.sparsity = 0.5'])
  assert 'SparseTraining.sparsity' in message
  assert 'never calls SparseTraining' in message
  message = _refused('cartpole_dense.gin', ['NatureCNN.width = 2.0'])
  assert 'did you mean mlp_layers.width?' in message


def test_conflicting_bindings_are_refused_and_repeats_are_not():
  message = _refused('cartpole_rigl.gin', ['SPARSITY = 0.9', 'SPARSITY = 0.95'])
  assert "'SPARSITY = 0.9' and 'SPARSITY = 0.95'" in message
  message = _refused('cartpole_rigl.gin', ['Runner.seed = 1',
                                           'loop.Runner.seed = 2'])
  assert 'Runner.seed twice' in message
  gin.clear_config()
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               ['SPARSITY = 0.95', 'SPARSITY = 0.95'])


def test_unknown_names_name_the_nearest_known_one():
  assert 'did you mean learning_rate?' in _refused(
      'cartpole_rigl.gin', ['dqn_agent.learning_rat = 0.1'])
  assert 'did you mean SparseTraining?' in _refused(
      'cartpole_rigl.gin', ['SparseTrainin.sparsity = 0.1'])


@pytest.mark.parametrize('gin_file,agent,bindings', [
    ('pendulum_rigl.gin', 'sac', ['ACTOR_SPARSITY = 0.8',
                                  'CRITIC_SPARSITY = 0.95']),
    ('cartpole_rigl.gin', 'dqn', ['Runner.diagnostics = None']),
    ('cartpole_rigl.gin', 'dqn', ['Runner.num_env_steps = 5000']),
], ids=['split-sparsity', 'no-diagnostics', 'parameter-under-a-macro'])
def test_the_files_own_bindings_may_go_unread(gin_file, agent, bindings):
  # SPARSITY, Diagnostics.* and NUM_ENV_STEPS are the gin files' own.
  bindings = bindings + ['OffPolicy.replay_capacity = 1000']
  config.parse([conftest.gin_path(gin_file, agent)], bindings)
  with config.building(bindings):
    Runner('/nonexistent/never/written', verbose=False)


def test_an_empty_gin_file_is_refused(tmp_path):
  empty = _write(tmp_path / 'empty.gin', '# nothing but a comment\n\n')
  with pytest.raises(ConfigError, match='binds nothing'):
    config.parse([empty], [])


def test_a_file_including_itself_is_one_line(tmp_path):
  path = _write(tmp_path / 'self.gin', "include 'self.gin'\n")
  with pytest.raises(ConfigError, match='cycle') as error:
    config.parse([path], [])
  assert len(str(error.value).splitlines()) == 1


def test_a_config_without_a_run_names_what_it_lacks():
  message = _refused('common/classic_control_rigl.gin', [])
  assert 'Runner.env_name' in message and 'cartpole_rigl.gin' in message
