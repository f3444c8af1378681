"""Running a sweep's runs as Ray tasks, each a rigl-train process.

Each task runs `python -m rigl_rl.bin.train` in a child process, so every run has its own
TensorFlow and gin state and its output goes to `<run>/train.log`; a run that
stops half-way resumes from its checkpoints the next time, as rigl-train does.
"""
import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from rigl_rl import experiments
from rigl_rl import logs
from rigl_rl.errors import ConfigError
from rigl_rl.sweep import spec as spec_lib
from rigl_rl.training import run_dir

# rigl-train, as the installed package runs it: the Python of this driver,
# whose environment every Ray worker (and so every node) must share.
TRAIN_MODULE = 'rigl_rl.bin.train'
STATUS_FILE = 'sweep_status.json'
STOP_FILE = '.stop'  # Ctrl-C's stop level, read by the tasks.
LOG_FILE = 'train.log'
# rigl-train's exit status after Ctrl-C, once its checkpoint is saved.
INTERRUPTED = 130
# Ray's notice, at every local start, that it turned on token authentication
# by default; the user's RAY_AUTH_MODE decides, and the notice is only noise.
RAY_TOKEN_LOGGER = 'ray._private.authentication.authentication_token_setup'
RAY_TOKEN_NOTICE = 'Token authentication is enabled for this Ray cluster.'


def finished(root_dir: str) -> bool:
  """Whether the run in `root_dir` trained to its end."""
  path = os.path.join(root_dir, run_dir.RESULTS_FILE)
  try:
    with open(path) as f:
      return bool(json.load(f).get('finished'))
  except (FileNotFoundError, json.JSONDecodeError):
    return False


def progress(root_dir: str) -> Optional[float]:
  """Fraction of env steps done, from the run's last results.json."""
  try:
    with open(os.path.join(root_dir, run_dir.RESULTS_FILE)) as f:
      results = json.load(f)
    return results['env_steps_done'] / results['num_env_steps']
  except (FileNotFoundError, json.JSONDecodeError, KeyError,
          ZeroDivisionError):
    return None


def last_error(log_path: str) -> str:
  """The line that says why a run failed: its last non-empty log line."""
  try:
    with open(log_path, errors='replace') as f:
      lines = [line.strip() for line in f if line.strip()]
  except FileNotFoundError:
    return 'no log written'
  return lines[-1] if lines else 'exited with no output'


def train_command(run: spec_lib.Run, root_dir: str) -> List[str]:
  """The rigl-train command line of one run."""
  command = [sys.executable, '-m', TRAIN_MODULE, f'--root_dir={root_dir}']
  command += [f'--gin_files={path}' for path in run.gin_files]
  command += [f'--gin_bindings={binding}' for binding in run.bindings]
  return command


def _gin_names(paths: Sequence[str]) -> List[str]:
  # Shipped files by name, so that a sweep dir moved to another checkout
  # still matches its spec.
  return [experiments.shipped_name(path) for path in paths]


def record_spec(sweep_dir: str, spec_path: str) -> str:
  """Copies the spec file into the sweep dir, for reports to cite.

  A relaunch with the same text leaves the copy as it is; one with other
  text (e.g. more seeds) keeps the earlier copy as sweep_spec.<n>.yaml.

  Returns:
    The copy's path.
  """
  with open(spec_path) as f:
    text = f.read()
  path = os.path.join(sweep_dir, run_dir.SWEEP_SPEC_FILE)
  if os.path.exists(path):
    with open(path) as f:
      if f.read() == text:
        return path
    stem, ext = os.path.splitext(path)
    number = 1
    while os.path.exists(f'{stem}.{number}{ext}'):
      number += 1
    os.rename(path, f'{stem}.{number}{ext}')
  run_dir.write_atomic(path, text)
  return path


# Seconds between a task's looks at the sweep's stop file.
_POLL_SECONDS = 1.0
# Seconds between the driver's looks at which runs have started.
_REFRESH_SECONDS = 10.0


def stop_level(stop_file: str) -> int:
  """0 while the sweep runs; 1 to stop at a checkpoint, 2 to stop at once."""
  try:
    with open(stop_file) as f:
      return int(f.read().strip() or 0)
  except (FileNotFoundError, ValueError):
    return 0


def train_process(command: Sequence[str], log_path: str, threads: int,
                  stop_file: str) -> Optional[int]:
  """Runs rigl-train to its end; the body of a sweep's Ray task.

  rigl-train gets one SIGINT for each level the stop file rises to: at 1 it
  saves a checkpoint and exits, at 2 it exits at once. Interrupting the task
  itself counts as level 1. A file, not a Ray call: a task blocked in a Ray
  call lends its CPU to another task.

  Args:
    command: the rigl-train command line.
    log_path: where its output is appended.
    threads: TensorFlow intra- and inter-op threads.
    stop_file: the sweep's stop file, polled every second.

  Returns:
    rigl-train's exit status, or None if the sweep was stopping before the
    run started.
  """
  if stop_level(stop_file):
    return None
  env = dict(os.environ,
             TF_NUM_INTRAOP_THREADS=str(threads),
             TF_NUM_INTEROP_THREADS=str(threads))
  with open(log_path, 'a') as log:
    # Its own session: a terminal's Ctrl-C reaches it only through us.
    child = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
    forwarded = 0
    while True:
      try:
        return child.wait(timeout=_POLL_SECONDS)
      except subprocess.TimeoutExpired:
        level = stop_level(stop_file)
      except KeyboardInterrupt:
        level = max(1, stop_level(stop_file))
      while forwarded < min(level, 2):
        child.send_signal(signal.SIGINT)
        forwarded += 1


STATES = ('done', 'running', 'pending', 'interrupted', 'failed')


class Sweep:
  """Runs every run of a spec once to its end, on Ray."""

  def __init__(self, sweep_dir: str, runs: Sequence[spec_lib.Run],
               cpus_per_run: float, ray_address: Optional[str] = None,
               progress_interval: float = 60.0, out=sys.stdout,
               spec_path: Optional[str] = None, gpus_per_run: float = 0):
    """Prepares the sweep directory.

    Args:
      sweep_dir: where each run gets its directory.
      runs: the runs, matched dense runs included.
      cpus_per_run: Ray CPUs each run takes; also its TensorFlow threads.
      ray_address: an existing Ray cluster, e.g. 'ray://head:10001'; None
        starts a local Ray with this machine's cores.
      progress_interval: seconds between progress lines while runs go on.
      out: where progress lines go.
      spec_path: the spec file the runs come from; copied into the sweep
        dir (`record_spec`) once the runs are checked against it.
      gpus_per_run: Ray GPUs each run takes (a fraction shares one).
    """
    self.sweep_dir = sweep_dir
    self.runs = list(runs)
    self.cpus_per_run = cpus_per_run
    self.gpus_per_run = gpus_per_run
    self.ray_address = ray_address
    self.progress_interval = progress_interval
    self.out = out
    self.spec_path = spec_path
    # Run name -> one of STATES; why each failed run failed.
    self.states: Dict[str, str] = {}
    self.errors: Dict[str, str] = {}
    self._start = time.time()

  def _print(self, message: str) -> None:
    elapsed = time.time() - self._start
    print(f'[sweep {elapsed / 60:5.1f} min] {message}', file=self.out,
          flush=True)

  def _root(self, run: spec_lib.Run) -> str:
    return os.path.join(self.sweep_dir, run.name)

  def _named(self, state: str) -> List[str]:
    return [name for name, s in self.states.items() if s == state]

  def _count_line(self) -> str:
    counts = {state: len(self._named(state)) for state in STATES}
    stopped = (f', {counts["interrupted"]} stopped at a checkpoint'
               if counts['interrupted'] else '')
    return (f'{counts["done"]}/{len(self.runs)} done, {counts["running"]} '
            f'running, {counts["failed"]} failed, {counts["pending"]} '
            f'pending{stopped}')

  def _write_status(self) -> None:
    status = {run.name: {'state': self.states[run.name]} for run in self.runs}
    for name, error in self.errors.items():
      status[name]['error'] = error
    run_dir.write_json(os.path.join(self.sweep_dir, STATUS_FILE), status)

  def _check_recorded(self) -> None:
    """Refuses a spec that would give an existing run other gin files or
    bindings: a finished run would be skipped, and reported, as if it
    matched."""
    for run in self.runs:
      path = os.path.join(self._root(run), run_dir.SWEEP_RUN_FILE)
      if not os.path.exists(path):
        continue
      with open(path) as f:
        recorded = json.load(f)
      if (_gin_names(recorded['gin_files']), recorded['bindings']) != (
          _gin_names(run.gin_files), list(run.bindings)):
        raise ConfigError(
            f'{self._root(run)} was made with other gin files or bindings '
            f'(see its {run_dir.SWEEP_RUN_FILE}); pass a new --sweep_dir for '
            'a changed spec')

  def _record_run(self, run: spec_lib.Run) -> None:
    """Writes how the sweep made the run, once."""
    path = os.path.join(self._root(run), run_dir.SWEEP_RUN_FILE)
    if not os.path.exists(path):
      run_dir.write_json(path, {
          'name': run.name,
          'gin_files': _gin_names(run.gin_files),
          'bindings': list(run.bindings),
          'labels': dict(run.labels),
      })

  def run(self) -> str:
    """Runs what is not finished yet. Ctrl-C stops every run at a checkpoint.

    Returns:
      'finished', 'failed' (some run failed; the others went on) or
      'interrupted'.

    Raises:
      ConfigError: if a run dir was made with other bindings, the Ray
        cluster cannot be reached, or it has fewer CPUs than a run needs.
    """
    import ray  # pylint: disable=g-import-not-at-top

    self._check_recorded()
    if self.spec_path:
      record_spec(self.sweep_dir, self.spec_path)
    # Left by a driver that died while stopping; this one holds the lock.
    if os.path.exists(os.path.join(self.sweep_dir, STOP_FILE)):
      os.remove(os.path.join(self.sweep_dir, STOP_FILE))
    todo = []
    # Seed by seed, so a sweep stopped early has whole seeds of every config.
    for run in sorted(self.runs, key=lambda run: run.seed):
      if finished(self._root(run)):
        self.states[run.name] = 'done'
      else:
        self.states[run.name] = 'pending'
        todo.append(run)
    resumed = sum(os.path.exists(os.path.join(self._root(r), run_dir.CONFIG_FILE))
                  for r in todo)
    self._print(f'{len(self.runs)} runs: {len(self.runs) - len(todo)} finished '
                f'before (skipped), {resumed} to resume, {len(todo) - resumed} '
                'to start.')
    if not todo:
      self._write_status()
      return 'finished'

    with logs.without(logging.getLogger(RAY_TOKEN_LOGGER), RAY_TOKEN_NOTICE):
      if self.ray_address:
        try:
          ray.init(address=self.ray_address, log_to_driver=False,
                   logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as e:
          raise ConfigError(
              f'cannot reach Ray at --ray_address={self.ray_address}: '
              f'{str(e).strip().splitlines()[0]}') from None
      else:
        # 'local': a new instance, never a cluster `ray start` left running.
        ray.init(address='local', include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
    resources = ray.cluster_resources()
    cpus, gpus = resources.get('CPU', 0), resources.get('GPU', 0)
    for have, need, what in ((cpus, self.cpus_per_run, 'CPU'),
                             (gpus, self.gpus_per_run, 'GPU')):
      if have < need:
        ray.shutdown()
        raise ConfigError(f'the Ray cluster has {have:g} {what}s; a run needs '
                          f'{need:g} ({what.lower()}s_per_run in the spec)')
    at_once = cpus // self.cpus_per_run
    if self.gpus_per_run:
      at_once = min(at_once, gpus // self.gpus_per_run)
    self._print(f'Ray: {cpus:g} CPUs, {gpus:g} GPUs, up to {int(at_once)} '
                'runs at once; logs in <run>/train.log, status in '
                f'{STATUS_FILE}.')
    stop_file = os.path.join(self.sweep_dir, STOP_FILE)
    # Ray gives a run with GPUs its own CUDA_VISIBLE_DEVICES.
    task = ray.remote(train_process).options(num_cpus=self.cpus_per_run,
                                             num_gpus=self.gpus_per_run,
                                             max_retries=0)
    threads = max(1, int(self.cpus_per_run))
    refs = {}
    for run in todo:
      root = self._root(run)
      os.makedirs(root, exist_ok=True)
      self._record_run(run)
      refs[task.remote(train_command(run, root), os.path.join(root, LOG_FILE),
                       threads, stop_file)] = run
    interrupted = False
    try:
      self._wait(ray, refs)
    except KeyboardInterrupt:
      interrupted = True
      self._print('Interrupt: every run saves a checkpoint and stops (press '
                  'Ctrl-C again to stop them at once)...')
      run_dir.write_atomic(stop_file, '1')
      while refs:
        try:
          self._wait(ray, refs, stopping=True)
        except KeyboardInterrupt:
          self._print('Stopping every run at once...')
          run_dir.write_atomic(stop_file, '2')
    finally:
      self._write_status()
      ray.shutdown()
      if os.path.exists(stop_file):
        os.remove(stop_file)
    return self._conclude(interrupted)

  def _conclude(self, interrupted: bool) -> str:
    """Prints how the sweep ended and what to do next; returns how."""
    # Runs also stop short without this driver's Ctrl-C: a stop file from a
    # driver that died, or an interrupt sent to a run's own process.
    if interrupted or self._named('interrupted') or self._named('pending'):
      self._print(f'Stopped: {self._count_line()}. Run the same command to '
                  'go on.')
      return 'interrupted'
    if self.errors:
      self._print(f'{self._count_line()}. Failed runs:')
      for name, error in sorted(self.errors.items()):
        self._print(f'  {name}: {error}')
      self._print('Fix them and run the same command: finished runs are '
                  'skipped, failed ones retried from their checkpoints.')
      return 'failed'
    self._print(f'All {len(self.runs)} runs finished.')
    return 'finished'

  def _wait(self, ray, refs: Dict, stopping: bool = False) -> None:
    """Collects tasks as they end, printing progress."""
    last_line = 0.0
    while refs:
      # Look often, so runs count as running soon after they claim their dirs.
      ready, _ = ray.wait(list(refs), num_returns=1,
                          timeout=min(_REFRESH_SECONDS, self.progress_interval))
      for ref in ready:
        run = refs.pop(ref)
        self._settle(ray, ref, run)
      self._refresh_running(refs)
      now = time.time()
      if ready or now - last_line >= self.progress_interval:
        last_line = now
        if not stopping:
          self._print(self._progress_line())
      self._write_status()

  def _settle(self, ray, ref, run: spec_lib.Run) -> None:
    """Sets the state of a run whose task has ended from its outcome."""
    root = self._root(run)
    try:
      code = ray.get(ref)
    except ray.exceptions.RayError as e:  # E.g. the worker or its node died.
      self.states[run.name] = 'failed'
      self.errors[run.name] = f'Ray: {str(e).strip().splitlines()[0]}'
      return
    if code is None:
      self.states[run.name] = 'pending'  # Never started: the sweep stopped.
    elif code == 0 and finished(root):
      self.states[run.name] = 'done'
    elif code == INTERRUPTED:
      self.states[run.name] = 'interrupted'
    else:
      self.states[run.name] = 'failed'
      self.errors[run.name] = last_error(os.path.join(root, LOG_FILE))

  def _refresh_running(self, refs: Dict) -> None:
    """A run counts as running once rigl-train has claimed its directory."""
    for run in refs.values():
      if self.states[run.name] == 'pending' and os.path.exists(
          os.path.join(self._root(run), run_dir.LOCK_FILE)):
        self.states[run.name] = 'running'

  def _progress_line(self) -> str:
    running = self._named('running')
    shown = []
    for name in running[:4]:
      fraction = progress(os.path.join(self.sweep_dir, name))
      # Running but no results.json yet: it is still building or collecting.
      shown.append(f'{name} '
                   f'{"starting" if fraction is None else f"{fraction:.0%}"}')
    line = self._count_line()
    if shown:
      more = len(running) - len(shown)
      line += '; running: ' + ', '.join(shown) + (f' +{more}' if more > 0 else '')
    return line
