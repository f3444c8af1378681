"""keep_runs: a sweep's run records copied without their checkpoints."""
import json
import os

import pytest

from rigl_rl.analysis import archive
from rigl_rl.errors import ConfigError
from rigl_rl.sweep import launch
from rigl_rl.sweep import spec as spec_lib


def _write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    f.write(text)


RECORD = {'name': 'run_0', 'gin_files': ['/repo/gin/dqn/cartpole_dense.gin'],
          'bindings': ['SEED = 0'], 'labels': {}}


def _run(root, finished):
  _write(os.path.join(root, 'results.json'), json.dumps({'finished': finished}))
  _write(os.path.join(root, 'config.gin'), 'SEED = 0\n')
  _write(os.path.join(root, 'sweep_run.json'), json.dumps(RECORD))
  _write(os.path.join(root, 'train.log'), 'env step 10/10\n')
  _write(os.path.join(root, 'train', 'events.out.tfevents.1'), 'summaries')
  _write(os.path.join(root, 'eval', 'events.out.tfevents.2'), 'evals')
  _write(os.path.join(root, 'checkpoints', 'ckpt-10.data'), 'big')
  _write(os.path.join(root, 'networks', 'q.keras'), 'big')


def _tree(top):
  return sorted(os.path.relpath(os.path.join(root, name), top)
                for root, _, files in os.walk(top) for name in files)


def test_finished_runs_and_specs_are_kept_without_checkpoints(tmp_path):
  sweeps = tmp_path / 'study'
  _run(str(sweeps / 'a' / 'run_0'), finished=True)
  _run(str(sweeps / 'a' / 'run_1'), finished=False)
  _write(str(sweeps / 'a' / 'sweep_spec.yaml'), 'seeds: [0, 1]\n')
  _write(str(sweeps / 'a' / 'sweep_spec.1.yaml'), 'seeds: [0]\n')
  _write(str(sweeps / 'a' / 'sweep_status.json'), '{}')
  out = tmp_path / 'kept'
  kept, unfinished = archive.keep_runs(str(sweeps), str(out))
  assert (kept, unfinished) == ([os.path.join('a', 'run_0')],
                                [os.path.join('a', 'run_1')])
  run = os.path.join('a', 'run_0')
  assert _tree(str(out)) == sorted(
      [os.path.join('a', 'sweep_spec.1.yaml'),
       os.path.join('a', 'sweep_spec.yaml')] +
      [os.path.join(run, name) for name in (
          'config.gin', 'results.json', 'sweep_run.json', 'train.log',
          os.path.join('train', 'events.out.tfevents.1'),
          os.path.join('eval', 'events.out.tfevents.2'))])
  assert (out / run / 'train' / 'events.out.tfevents.1').read_text() == (
      'summaries')
  # Again, and from the kept tree into itself: nothing changes.
  assert archive.keep_runs(str(sweeps), str(out))[0] == kept
  assert archive.keep_runs(str(out), str(out)) == (kept, [])
  assert len(_tree(str(out))) == 8


def test_a_kept_file_that_differs_is_never_overwritten(tmp_path):
  sweeps, out = tmp_path / 'sweep', tmp_path / 'kept'
  _run(str(sweeps / 'run_0'), finished=True)
  archive.keep_runs(str(sweeps), str(out))
  (out / 'run_0' / 'train.log').write_text('edited')
  _run(str(sweeps / 'run_1'), finished=True)
  with pytest.raises(ConfigError, match=r'1 files in .* differ .*run_0.*'
                     'train.log; nothing was copied'):
    archive.keep_runs(str(sweeps), str(out))
  assert (out / 'run_0' / 'train.log').read_text() == 'edited'
  assert not (out / 'run_1').exists()


def test_a_sweep_dir_holding_kept_runs_takes_them_as_finished(tmp_path):
  _run(str(tmp_path / 'sweep' / 'run_0'), finished=True)
  archive.keep_runs(str(tmp_path / 'sweep'), str(tmp_path / 'kept'))
  # The same spec's sweep over the kept records.
  run = spec_lib.Run(name='run_0', gin_files=tuple(RECORD['gin_files']),
                     bindings=tuple(RECORD['bindings']), seed=0)
  sweep = launch.Sweep(str(tmp_path / 'kept'), [run], cpus_per_run=1)
  sweep._check_recorded()  # pylint: disable=protected-access
  assert launch.finished(str(tmp_path / 'kept' / 'run_0'))
  # The kept record is checked: a changed spec is refused.
  changed = launch.Sweep(str(tmp_path / 'kept'), [spec_lib.Run(
      name='run_0', gin_files=run.gin_files, bindings=('SEED = 1',),
      seed=1)], cpus_per_run=1)
  with pytest.raises(ConfigError, match='made with other gin files'):
    changed._check_recorded()  # pylint: disable=protected-access


def test_keeping_runs_inside_the_sweep_dir_is_refused(tmp_path):
  _run(str(tmp_path / 'sweep' / 'run_0'), finished=True)
  with pytest.raises(ConfigError, match='is inside .*; keep the runs outside'):
    archive.keep_runs(str(tmp_path / 'sweep'), str(tmp_path / 'sweep' / 'kept'))
  assert not (tmp_path / 'sweep' / 'kept').exists()
  with pytest.raises(ConfigError, match='is inside'):  # Not a '..' path.
    archive.keep_runs(str(tmp_path / 'sweep'), str(tmp_path / 'sweep' / '..x'))
  # A sibling whose name starts with the sweep dir's is outside it.
  assert archive.keep_runs(str(tmp_path / 'sweep'),
                           str(tmp_path / 'sweep..x'))[0] == ['run_0']
