"""Parsing gin files and bindings, with errors a user can act on.

gin holds one process-global configuration, and nothing here changes it
behind a caller's back: `parse` adds to it, as gin's own parsing does, and
whoever owns the process (a binary, a test) decides when to clear it;
`parsed` holds a configuration for one block only, and so needs an empty one
on entry and leaves an empty one. Includes are resolved here, next to the
file that includes them, so gin's process-global include search path is
never touched.
"""
import contextlib
import difflib
import inspect
import io
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import gin
from gin import config_parser

# Registers every configurable the gin files may name.
import rigl_rl.agents  # pylint: disable=unused-import
import rigl_rl.analysis.diagnostics  # pylint: disable=unused-import
import rigl_rl.baselines  # pylint: disable=unused-import
import rigl_rl.sparsity  # pylint: disable=unused-import
import rigl_rl.training.experience  # pylint: disable=unused-import
import rigl_rl.training.loop
import rigl_rl.training.tracking  # pylint: disable=unused-import
from rigl_rl import checks
from rigl_rl import experiments
from rigl_rl import methods
from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line

# gin's include statement: `include 'common/mujoco.gin'`, alone on its line.
_INCLUDE = re.compile(r"""^\s*include\s+(['"])(.*)\1\s*(#.*)?$""")
_INCLUDE_KEYWORD = re.compile(r'^\s*include\s')
# A line that binds something: neither blank nor a comment.
_STATEMENT = re.compile(r'^\s*[^\s#]')
# The selectors gin files its macros and constants under, e.g. the binding
# `SPARSITY = 0.9` is `('SPARSITY', 'gin.macro')`, holding {'value': 0.9}.
_MACRO = 'gin.macro'
_CONSTANT = 'gin.constant'


def _include_path(name: str, including: str) -> str:
  """The file an include statement in `including` names.

  Relative names are looked up next to the including file, then in its
  parent directory (so that files under common/ find the other common files
  of their own agent: gin/sac and gin/ppo both hold 'common/mujoco.gin'),
  then in the working directory.

  Raises:
    ConfigError: if none of those holds the file.
  """
  directory = os.path.dirname(os.path.abspath(including))
  bases = ([''] if os.path.isabs(name) else
           [directory, os.path.dirname(directory), os.getcwd()])
  candidates = [os.path.join(base, name) for base in bases]
  for candidate in candidates:
    if os.path.isfile(candidate):
      return candidate
  raise ConfigError(f'gin file {including!r} includes {name!r}, but none of '
                    f'{", ".join(candidates)} exists')


def _parse_file(path: str, including: Tuple[str, ...] = ()) -> None:
  """Parses a gin file into gin's configuration, its includes in place.

  The text between includes goes to gin as it is, named after the file and
  padded to its line numbers, so that gin's errors point into the file.

  Args:
    path: the gin file.
    including: the files whose includes led here, outermost first.

  Raises:
    ConfigError: for a missing or malformed include, or an include cycle.
  """
  resolved = os.path.abspath(path)
  if resolved in including:
    chain = ' -> '.join(including + (resolved,))
    raise ConfigError(f'gin files include each other in a cycle: {chain}')
  with open(path) as f:
    lines = f.read().splitlines()

  def parse_lines(begin, end):
    text = io.StringIO('\n' * begin + '\n'.join(lines[begin:end]))
    text.name = path
    gin.parse_config(text)

  begin = 0
  for index, line in enumerate(lines):
    match = _INCLUDE.match(line)
    if match:
      parse_lines(begin, index)
      _parse_file(_include_path(match.group(2), path), including + (resolved,))
      begin = index + 1
    elif _INCLUDE_KEYWORD.match(line):
      # Left to gin, it would search its own global path.
      raise ConfigError(f"{path}, line {index + 1}: write includes as "
                        f"include 'file.gin', got {line.strip()!r}")
  parse_lines(begin, len(lines))


def _closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str:
  """'; did you mean X?' for the known name nearest `name`, else ''."""
  matches = difflib.get_close_matches(name, sorted(set(known)), n=1,
                                      cutoff=cutoff)
  return f'; did you mean {matches[0]}?' if matches else ''


def _did_you_mean(message: str) -> str:
  """The nearest known name to the unknown one of a gin parse error."""
  parameter = re.search(
      r"Configurable '([\w.]+)' doesn't have a parameter named '(\w+)'",
      message)
  if parameter:
    wrapped = gin.config._REGISTRY.get_match(parameter.group(1)).wrapped  # pylint: disable=protected-access
    return _closest(parameter.group(2), inspect.signature(wrapped).parameters)
  configurable = re.search(r"No configurable matching '([\w.]+)'", message)
  if configurable:
    return _closest(configurable.group(1), (
        gin.config._REGISTRY.minimal_selector(selector)  # pylint: disable=protected-access
        for selector, _ in gin.config._REGISTRY.items()))  # pylint: disable=protected-access
  return ''


# A bound value's place in gin's configuration: ((scope, selector), parameter),
# a macro's being ((its scoped name, 'gin.macro'), 'value').
Key = Tuple[Tuple[str, str], str]


def _keys(gin_bindings: Sequence[str]) -> List[Tuple[Key, str, str]]:
  """(key, the binding's text, its value's repr) of each binding given.

  Call after gin has parsed them: unknown names are gin's errors.
  """
  keys = []
  for statement in config_parser.ConfigParser('\n'.join(gin_bindings),
                                              gin.config.ParserDelegate()):
    if not isinstance(statement, config_parser.BindingStatement):
      continue
    if statement.arg_name:
      complete = gin.config._REGISTRY.get_match(statement.selector).selector  # pylint: disable=protected-access
      key = ((statement.scope, complete), statement.arg_name)
    else:
      name = '/'.join(filter(None, (statement.scope, statement.selector)))
      key = ((name, _MACRO), 'value')
    keys.append((key, statement.location.line_content.strip(),
                 repr(statement.value)))
  return keys


def _key_name(key: Key) -> str:
  """A key as a user writes it, e.g. 'actor/mlp_layers.width' or 'SEED'."""
  (scope, selector), parameter = key
  if selector == _MACRO:
    return scope
  minimal = gin.config._REGISTRY.minimal_selector(selector)  # pylint: disable=protected-access
  return f'{scope}/{minimal}.{parameter}' if scope else f'{minimal}.{parameter}'


def _check_no_conflicts(keys: Sequence[Tuple[Key, str, str]]) -> None:
  """Raises ConfigError if two bindings (`_keys`) give one key different
  values.

  gin would keep the last one silently, and the run would not be the one
  the other binding asked for.
  """
  seen: Dict[Key, Tuple[str, str]] = {}
  for key, text, value in keys:
    if seen.setdefault(key, (value, text))[0] != value:
      raise ConfigError(f'the gin bindings set {_key_name(key)} twice, as '
                        f'{seen[key][1]!r} and {text!r}; keep one')


def _check_macros_read(names: Iterable[str]) -> None:
  """Raises ConfigError for a macro of `names` that no binding reads.

  A misspelt macro (SPARSTY = 0.95), or one that this configuration has no
  use for (SPARSITY on a dense one), would otherwise change nothing.
  """
  read = {
      reference.scoped_selector.rsplit('/', 1)[0]
      for reference in gin.config.iterate_references(
          gin.config._CONFIG,  # pylint: disable=protected-access
          to=gin.config.get_configurable(gin.config.macro))
  }
  unread = sorted(set(names) - read)
  if unread:
    name = unread[0]
    hint = (_closest(name, read) or
            f' (this one reads {", ".join(sorted(read))})')
    raise ConfigError(
        f'gin macro {name} is set, but no binding of this configuration reads '
        f'it (as %{name}), so it would change nothing; drop it, or pick the '
        f'gin file that uses it{hint}')


def parse(gin_files: Sequence[str], gin_bindings: Sequence[str]) -> None:
  """Parses gin files, then bindings, into gin's configuration, and locks it.

  Unknown names are errors, and so are a macro that `gin_bindings` set but
  no binding reads, and two of `gin_bindings` that give one key different
  values: gin would ignore either silently. A gin file is a path or a shipped
  experiment's name (`experiments.resolve`); an include resolves next to the
  file that holds it (see `_include_path`). What gin held before stays;
  callers that want only these files clear gin first, or use `parsed`.

  A binding of a configurable that the run never calls can only be found
  once the run is built: see `building`.

  Args:
    gin_files: gin files (paths or shipped names such as
      'dqn/cartpole_rigl.gin'), parsed in order.
    gin_bindings: gin bindings, parsed after the files.

  Raises:
    ConfigError: for a missing or empty file, any parse error, a macro no
      binding reads or conflicting bindings, in one line.
  """
  if not gin_files:
    raise ConfigError('no --gin_files given; e.g. '
                      '--gin_files=dqn/cartpole_rigl.gin')
  gin_files = [experiments.resolve(path) for path in gin_files]
  for path in gin_files:
    with open(path) as f:
      if not any(_STATEMENT.match(line) for line in f):
        raise ConfigError(f'gin file {path!r} binds nothing; give a run '
                          'config such as gin/dqn/cartpole_rigl.gin')
  try:
    for path in gin_files:
      _parse_file(path)
    gin.parse_config(gin_bindings)
    gin.finalize()
  except ConfigError:
    raise  # Already one line, naming the include to fix.
  except (ValueError, KeyError, IOError, SyntaxError) as e:
    hint = ''
    if 'matching reference' in str(e):
      updaters = [f'@{name}()' for name in methods.UPDATERS.values()]
      hint = (f'; mask updaters are {", ".join(updaters[:-1])} and '
              f'{updaters[-1]}, agents @dqn_agent, @rainbow_agent, @iqn_agent, '
              '@sac_agent and @ppo_agent')
    macro = re.search(r"No bindings specified for '(\w+)/gin.macro'", str(e))
    if macro:
      raise ConfigError(
          f'gin macro {macro.group(1)} has no value; set it with '
          f"--gin_bindings='{macro.group(1)} = ...'") from e
    raise ConfigError(f'gin: {one_line(e).rstrip(".")}{hint}'
                      f'{_did_you_mean(str(e))}') from e
  keys = _keys(gin_bindings)
  _check_no_conflicts(keys)
  _check_macros_read(scope for ((scope, selector), _), _, _ in keys
                     if selector == _MACRO)


def _was_read(scope: str, selector: str, parameter: str,
              operative: Dict[Tuple[str, str], Dict[str, object]]) -> bool:
  """Whether a call of `selector` read the binding of `parameter` in
  `scope`: a call in that scope or one nested in it."""
  within = scope.split('/') if scope else []
  return any(
      called == selector and parameter in values and
      (called_scope.split('/') if called_scope else [])[:len(within)] == within
      for (called_scope, called), values in operative.items())


def check_all_used(gin_bindings: Optional[Sequence[str]] = None) -> None:
  """Raises ConfigError for a binding that nothing built so far has read.

  gin records the parameters of each configurable as it is called (its
  operative config). Called once the run's objects are built, this refuses a
  binding of a configurable the run never calls (SparseTraining.sparsity on
  a dense config), of a parameter every caller passes itself, or a macro no
  binding reads, instead of ignoring it.

  Args:
    gin_bindings: check only what these bind: the user's own bindings. The
      gin files' bindings may go unread by design (`Runner.diagnostics =
      None` leaves the Diagnostics bindings unread, ACTOR_SPARSITY and
      CRITIC_SPARSITY leave SPARSITY); None checks every binding.
  """
  config = gin.config._CONFIG  # pylint: disable=protected-access
  if gin_bindings is None:
    keys = [(config_key, parameter) for config_key, values in config.items()
            for parameter in values]
  else:
    keys = [key for key, _, _ in _keys(gin_bindings)]
  _check_macros_read(scope for (scope, selector), _ in keys
                     if selector == _MACRO)
  operative = gin.config._OPERATIVE_CONFIG  # pylint: disable=protected-access
  read = [_key_name((config_key, parameter))
          for config_key, values in operative.items() for parameter in values
          if config_key[1] not in (_MACRO, _CONSTANT)]
  for key in keys:
    (scope, selector), parameter = key
    if (selector in (_MACRO, _CONSTANT) or
        _was_read(scope, selector, parameter, operative)):
      continue
    name = _key_name(key)
    is_called = any(selector == called for _, called in operative)
    why = (f'every call passes {parameter} itself' if is_called else
           f'this run never calls {name.rsplit(".", 1)[0]}')
    # The same parameter of what the run does call, e.g. mlp_layers.width
    # for NatureCNN.width, however unlike the names.
    same = [known for known in read if known.endswith(f'.{parameter}')]
    raise ConfigError(f'gin binding {name} would change nothing: {why}; '
                      'drop it' + (_closest(name, same, cutoff=0) or
                                   _closest(name, read)))


@contextlib.contextmanager
def building(gin_bindings: Optional[Sequence[str]] = None):
  """A block that builds a run's objects from the parsed configuration.

  A parameter the configuration must give (gin.REQUIRED) but does not is a
  ConfigError, and so, on leaving the block, is a binding nothing read
  (`check_all_used`). Nothing in it should touch disk: the errors come
  before any work.

  Args:
    gin_bindings: as `check_all_used`: the user's bindings, each of which
      the run must read; None holds every binding to that.

  Raises:
    ConfigError: for a missing required binding or one nothing read.
  """
  try:
    yield
  except RuntimeError as e:
    missing = re.search(r'Required bindings for `([\w.]+)` not provided in '
                        r'config: \[(.*)\]', str(e))
    if not missing:
      raise
    names = ', '.join(f'{missing.group(1)}.{name}' for name in
                      re.findall(r"'(\w+)'", missing.group(2)))
    raise ConfigError(
        f'the gin files bind no {names}; give a run config such as '
        'gin/dqn/cartpole_rigl.gin (the files under common/ only complete '
        'one) or bind them') from e
  check_all_used(gin_bindings)


@contextlib.contextmanager
def parsed(gin_files: Sequence[str], gin_bindings: Sequence[str]):
  """Holds a configuration parsed by `parse` for the length of a block.

  For library code that builds from a configuration of its own, such as
  parameter matching or evaluating a run's checkpoint. gin has a single
  process-global configuration, so this needs it empty on entry and clears
  it on exit: it never discards a configuration it did not parse.

  Args:
    gin_files: gin files, parsed in order.
    gin_bindings: gin bindings, parsed after the files.

  Yields:
    Nothing; gin holds the configuration inside the block.

  Raises:
    RuntimeError: if gin already holds a configuration. Its owner clears it
      (`gin.clear_config()`) when done with it.
    ConfigError: as `parse`.
  """
  checks.require_empty_gin()
  try:
    parse(gin_files, gin_bindings)
    yield
  finally:
    gin.clear_config()


def build_runner(root_dir: str, gin_files: Sequence[str],
                 gin_bindings: Sequence[str], **kwargs):
  """Parses a run's configuration and builds its Runner, as bin/train does.

  Every check that needs no disk runs here, with nothing written: `parse`'s,
  the Runner's and its objects' own, and `building`'s. The caller owns gin's
  state, as with `parse`.

  Args:
    root_dir: the run directory (not touched).
    gin_files: gin files, parsed in order.
    gin_bindings: the user's gin bindings, each of which the run must read.
    **kwargs: more Runner arguments, e.g. verbose=False.

  Returns:
    The Runner, before `prepare`.

  Raises:
    ConfigError: for any of those checks, in one line.
  """
  parse(gin_files, gin_bindings)
  with building(gin_bindings):
    return rigl_rl.training.loop.Runner(root_dir, **kwargs)


def configured_agent(seed: int = 0):
  """The environment spec and a new agent of the parsed config's Runner.

  Builds the agent without episodes, replay or a run directory, e.g. to
  count its parameters or to load a checkpoint into it.

  Returns:
    (environment spec, `AgentBundle`).
  """
  # pylint: disable=g-import-not-at-top
  from rigl_rl.envs import factory
  env_spec = gin.query_parameter('Runner.env_name')
  if isinstance(env_spec, gin.config.ConfigurableReference):  # @atari()
    env_spec = env_spec.scoped_configurable_fn()
  agent_fn = gin.query_parameter('Runner.agent_fn').scoped_configurable_fn
  env = factory.make_environment(env_spec, seed=seed)
  return env_spec, agent_fn(env.time_step_spec(), env.action_spec(),
                            seed=seed)
