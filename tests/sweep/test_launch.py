"""bin/sweep end to end on a local Ray: interrupted, then resumed."""
import dataclasses
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.sweep import launch
from rigl_rl.sweep import spec as spec_lib
from rigl_rl.training import run_dir
from tests.conftest import REPO, gin_path

SWEEP = os.path.join(REPO, 'bin', 'sweep')
TINY = [
    'EVAL_INTERVAL = 500',
    'EVAL_EPISODES = 2',
    'CHECKPOINT_INTERVAL = 100',
    'OffPolicy.initial_collect_steps = 100',
    'Runner.log_interval = 100',
    'OffPolicy.batch_size = 32',
    'Runner.diagnostics = None',
    'mlp_layers.hidden_units = (32, 32)',
]


# The SPARSITY=0.9 runs are six times longer: the sweep is stopped early in
# one of them, thousands of env steps before its end, however slow the machine.
SHORT_STEPS, LONG_STEPS = 1500, 9000


def _spec(tmp_path):
  bindings = ''.join(f'\n  - {b}' for b in TINY)
  path = tmp_path / 'spec.yaml'
  path.write_text(f"""
seeds: [0, 1]
bindings:{bindings}
experiments:
  - gin_files: [{gin_path('cartpole_static.gin')}]
    bindings: ['NUM_ENV_STEPS = {SHORT_STEPS}']
    grid: {{SPARSITY: [0.8]}}
  - gin_files: [{gin_path('cartpole_static.gin')}]
    bindings: ['NUM_ENV_STEPS = {LONG_STEPS}']
    grid: {{SPARSITY: [0.9]}}
  # Fails at start-up: recorded, and the others go on.
  - gin_files: [{gin_path('cartpole_dense.gin')}]
    grid: {{OffPolicy.replay_ratio: [0]}}
""")
  return str(path)


def _sweep(sweep_dir, spec):
  return subprocess.Popen(
      [sys.executable, SWEEP, f'--sweep_dir={sweep_dir}', f'--spec={spec}',
       '--progress_interval=2'],
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)


def _checkpointed(run):
  return os.path.exists(os.path.join(run, 'checkpoints', 'checkpoint'))


def test_sweep_interrupted_and_resumed(tmp_path):
  sweep_dir = str(tmp_path / 'sweep')
  spec = _spec(tmp_path)
  good = [os.path.join(sweep_dir, f'cartpole_static__SPARSITY={s}__SEED={seed}')
          for s in ('0.8', '0.9') for seed in (0, 1)]
  bad = [os.path.join(sweep_dir, f'cartpole_dense__OffPolicy.replay_ratio=0__SEED={seed}')
         for seed in (0, 1)]

  # Stop once a short run has finished and a long one has a checkpoint but
  # has not reached its evaluation at 2000 env steps: 7000 or more from its
  # end, whether the long runs began with the short ones or after them.
  process = _sweep(sweep_dir, spec)
  deadline = time.time() + 600
  while time.time() < deadline and process.poll() is None:
    done = [r for r in good if launch.finished(r)]
    early = [r for r in good if 'SPARSITY=0.9' in r and _checkpointed(r)
             and (launch.progress(r) or 0) < 2000 / LONG_STEPS]
    if done and early:
      break
    time.sleep(0.3)
  assert process.poll() is None, process.communicate()[0]
  process.send_signal(signal.SIGINT)
  output = process.communicate(timeout=300)[0]
  assert process.returncode == 130, output
  assert 'Run the same command to go on' in output
  assert launch.RAY_TOKEN_NOTICE not in output  # Ray's notice is dropped.
  with open(os.path.join(sweep_dir, launch.STATUS_FILE)) as f:
    status = json.load(f)
  assert 'interrupted' in {s['state'] for s in status.values()}, status
  finished_before = {r: os.path.getmtime(os.path.join(r, 'results.json'))
                     for r in good if launch.finished(r)}
  half_done = [r for r in good if _checkpointed(r) and not launch.finished(r)]
  assert finished_before and half_done, status

  # Generous: on a loaded 2-core machine the resumed sweep takes minutes.
  process = _sweep(sweep_dir, spec)
  output = process.communicate(timeout=900)[0]
  assert process.returncode == 1, output  # The failing runs.
  assert f'{len(finished_before)} finished before (skipped)' in output
  assert all(launch.finished(r) for r in good), output
  for run, mtime in finished_before.items():  # Not trained again.
    assert os.path.getmtime(os.path.join(run, 'results.json')) == mtime
  for run in half_done:
    with open(os.path.join(run, launch.LOG_FILE)) as f:
      assert 'Resumed ' in f.read()
  with open(os.path.join(sweep_dir, launch.STATUS_FILE)) as f:
    status = json.load(f)
  for run in good:
    assert status[os.path.basename(run)] == {'state': 'done'}
  for run in bad:
    entry = status[os.path.basename(run)]
    assert entry['state'] == 'failed'
    assert entry['error'] == ('error: OffPolicy.replay_ratio must be a number '
                              '> 0, got 0; fix its binding')
  assert 'OffPolicy.replay_ratio must be a number > 0' in output
  # The spec it ran is kept beside the runs, once (both launches were alike).
  with open(os.path.join(sweep_dir, run_dir.SWEEP_SPEC_FILE)) as f, \
      open(spec) as g:
    assert f.read() == g.read()
  assert sorted(n for n in os.listdir(sweep_dir) if 'spec' in n) == [
      run_dir.SWEEP_SPEC_FILE]


def _refusal(sweep_dir, tmp_path):
  """The one line bin/sweep stops with."""
  process = _sweep(str(sweep_dir), _spec(tmp_path))
  output = process.communicate(timeout=120)[0]
  assert process.returncode == 1, output
  return output.strip().splitlines()[-1]


def test_more_gpus_than_the_cluster_has_are_refused(tmp_path):
  spec = _spec(tmp_path)
  with open(spec, 'a') as f:
    f.write('gpus_per_run: 1000\n')
  sweep_dir = tmp_path / 'sweep'
  process = _sweep(str(sweep_dir), spec)
  output = process.communicate(timeout=120)[0]
  assert process.returncode == 1, output
  assert re.fullmatch(r'error: the Ray cluster has \d+ GPUs; a run needs 1000 '
                      r'\(gpus_per_run in the spec\)',
                      output.strip().splitlines()[-1]), output
  assert not [name for name in os.listdir(sweep_dir) if '__SEED=' in name]


def test_second_sweep_on_the_same_dir_is_refused(tmp_path):
  sweep_dir = tmp_path / 'sweep'
  sweep_dir.mkdir()
  # A live process holds the sweep.
  other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
  try:
    host = socket.gethostname()
    (sweep_dir / '.lock').write_text(f'{other.pid} {host}\n')
    assert _refusal(sweep_dir, tmp_path) == (
        f'error: {sweep_dir} is in use by process {other.pid} on {host}; wait '
        'for it to end or stop it, then run again (if it has ended, delete '
        f'{sweep_dir}/.lock)')
  finally:
    other.kill()
    other.wait()
  assert sorted(os.listdir(sweep_dir)) == ['.lock']


def test_train_process_forwards_one_interrupt_per_stop_level(tmp_path):
  # The child exits only at its second SIGINT, counting them.
  script = tmp_path / 'child.py'
  script.write_text(
      'import signal, sys, time\n'
      'count = []\n'
      'def handler(*args):\n'
      '  count.append(1)\n'
      '  print("SIGINT", len(count), flush=True)\n'
      '  if len(count) == 2:\n'
      '    sys.exit(130)\n'
      'signal.signal(signal.SIGINT, handler)\n'
      'print("ready", flush=True)\n'
      'open(sys.argv[1], "w").write("1")\n'  # Level 1, polled repeatedly.
      'while len(count) < 1:\n'
      '  time.sleep(0.1)\n'
      'time.sleep(2.5)\n'  # Still one SIGINT after several polls.
      'open(sys.argv[1], "w").write("2")\n'
      'while True:\n'
      '  time.sleep(0.1)\n')
  log = tmp_path / 'log'
  stop_file = str(tmp_path / 'stop')
  assert launch.train_process([sys.executable, str(script), stop_file],
                              str(log), 1, stop_file) == 130
  assert log.read_text() == 'ready\nSIGINT 1\nSIGINT 2\n'
  # A sweep already stopping starts nothing.
  assert launch.train_process(['false'], str(log), 1, stop_file) is None


def test_changed_spec_is_refused_before_anything_runs(tmp_path):
  sweep_dir = tmp_path / 'sweep'
  run = sweep_dir / 'cartpole_static__SPARSITY=0.8__SEED=0'
  run.mkdir(parents=True)
  recorded = {'name': run.name, 'gin_files': [gin_path('cartpole_static.gin')],
              'bindings': ['NUM_ENV_STEPS = 99'], 'labels': {}}
  (run / run_dir.SWEEP_RUN_FILE).write_text(json.dumps(recorded))
  assert _refusal(sweep_dir, tmp_path) == (
      f'error: {run} was made with other gin files or bindings (see its '
      'sweep_run.json); pass a new --sweep_dir for a changed spec')
  assert json.loads((run / run_dir.SWEEP_RUN_FILE).read_text()) == recorded
  assert sorted(os.listdir(run)) == [run_dir.SWEEP_RUN_FILE]
  # A refused spec is not recorded as the sweep's.
  assert not (sweep_dir / run_dir.SWEEP_SPEC_FILE).exists()


def test_a_sweep_dir_moved_to_another_checkout_still_matches(tmp_path):
  # Records name shipped gin files by name, not by this checkout's path.
  runs = [spec_lib.Run(name='a', gin_files=(gin_path('cartpole_rigl.gin'),),
                       bindings=('SEED = 0',), seed=0)]
  sweep = launch.Sweep(str(tmp_path), runs, cpus_per_run=1, out=io.StringIO())
  os.makedirs(tmp_path / 'a')
  sweep._record_run(runs[0])  # pylint: disable=protected-access
  record = json.loads((tmp_path / 'a' / run_dir.SWEEP_RUN_FILE).read_text())
  assert record['gin_files'] == ['dqn/cartpole_rigl.gin']
  sweep._check_recorded()  # pylint: disable=protected-access
  # A record from before names the file by path: it matches from here too.
  record['gin_files'] = [gin_path('cartpole_rigl.gin')]
  run_dir.write_json(str(tmp_path / 'a' / run_dir.SWEEP_RUN_FILE), record)
  sweep._check_recorded()  # pylint: disable=protected-access
  other = launch.Sweep(str(tmp_path), [dataclasses.replace(
      runs[0], gin_files=(gin_path('cartpole_set.gin'),))], cpus_per_run=1)
  with pytest.raises(ConfigError, match='made with other gin files'):
    other._check_recorded()  # pylint: disable=protected-access


def test_record_spec_keeps_earlier_specs(tmp_path):
  spec = tmp_path / 'spec.yaml'
  spec.write_text('seeds: [0]\n')
  path = launch.record_spec(str(tmp_path), str(spec))
  assert path == str(tmp_path / run_dir.SWEEP_SPEC_FILE)
  launch.record_spec(str(tmp_path), str(spec))  # The same text: kept as is.
  assert not (tmp_path / 'sweep_spec.1.yaml').exists()
  spec.write_text('seeds: [0, 1]\n')
  launch.record_spec(str(tmp_path), str(spec))
  spec.write_text('seeds: [0, 1, 2]\n')
  launch.record_spec(str(tmp_path), str(spec))
  assert (tmp_path / 'sweep_spec.1.yaml').read_text() == 'seeds: [0]\n'
  assert (tmp_path / 'sweep_spec.2.yaml').read_text() == 'seeds: [0, 1]\n'
  assert (tmp_path / run_dir.SWEEP_SPEC_FILE).read_text() == (
      'seeds: [0, 1, 2]\n')


def test_the_progress_line_says_how_far_each_running_run_is(tmp_path):
  runs = [spec_lib.Run(name=name, gin_files=(), bindings=(), seed=0)
          for name in ('a', 'b', 'c')]
  sweep = launch.Sweep(str(tmp_path), runs, cpus_per_run=1, out=io.StringIO())
  sweep.states = {'a': 'running', 'b': 'running', 'c': 'pending'}
  # 'a' wrote results at a quarter of its env steps; 'b' has none yet.
  os.makedirs(tmp_path / 'a')
  run_dir.write_json(str(tmp_path / 'a' / run_dir.RESULTS_FILE),
                     {'env_steps_done': 250, 'num_env_steps': 1000})
  assert sweep._progress_line() == (  # pylint: disable=protected-access
      '0/3 done, 2 running, 0 failed, 1 pending; running: a 25%, b starting')


def test_runs_stopped_without_ctrl_c_are_not_called_finished(tmp_path):
  # E.g. runs stopped by a stop file a dead driver left, or by an interrupt
  # sent to their own processes: the sweep says how to go on, and exits 130.
  runs = [spec_lib.Run(name=name, gin_files=(), bindings=(), seed=0)
          for name in ('a', 'b', 'c')]
  out = io.StringIO()
  sweep = launch.Sweep(str(tmp_path), runs, cpus_per_run=1, out=out)
  sweep.states = {'a': 'done', 'b': 'interrupted', 'c': 'pending'}
  assert sweep._conclude(interrupted=False) == 'interrupted'  # pylint: disable=protected-access
  assert out.getvalue().rstrip().endswith(
      'Stopped: 1/3 done, 0 running, 0 failed, 1 pending, 1 stopped at a '
      'checkpoint. Run the same command to go on.')
  assert 'finished' not in out.getvalue()
  sweep.states = dict.fromkeys(sweep.states, 'done')
  assert sweep._conclude(interrupted=False) == 'finished'  # pylint: disable=protected-access
  assert out.getvalue().rstrip().endswith('All 3 runs finished.')
