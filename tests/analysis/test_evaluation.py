"""bin/evaluate --mode=plain: returns of a run's checkpoint, and videos."""
import json
import os

import pytest

import rigl_rl
from rigl_rl.analysis import evaluation
from rigl_rl.errors import ConfigError
from tests import conftest


@pytest.fixture(scope='module')
def cartpole_run(tmp_path_factory):
  """A finished dense smoke run on CartPole-v0 (checkpoints at 200, 400)."""
  return conftest.train_in_process(
      tmp_path_factory.mktemp('cartpole') / 'dense', 'dqn',
      'cartpole_dense.gin', 'dense')


def test_plain_evaluation_with_videos(cartpole_run, tmp_path):
  out_dir = tmp_path / 'eval'
  lines = []
  returned = rigl_rl.evaluate(cartpole_run.root_dir, episodes=3,
                              out_dir=str(out_dir), video_episodes=2,
                              progress=lines.append)
  path = out_dir / evaluation.RESULTS_FILE
  results = json.loads(path.read_text())
  assert results == returned
  assert lines[-1] == f'Wrote {path}'
  assert results['env'] == 'CartPole-v0' and results['method'] == 'dense'
  assert results['checkpoint'].endswith('ckpt-400')
  # CartPole pays 1 a step: each return is a whole episode length, <= 200.
  assert len(results['returns']) == 3
  for value in results['returns']:
    assert value == int(value) and 1 <= value <= 200
  assert results['mean_return'] == pytest.approx(sum(results['returns']) / 3)
  videos = sorted(os.listdir(out_dir / evaluation.VIDEO_DIR))
  assert videos == ['rl-video-episode-0.mp4', 'rl-video-episode-1.mp4']
  assert results['videos'] == [str(out_dir / 'videos' / v) for v in videos]
  for name in videos:
    with open(out_dir / 'videos' / name, 'rb') as f:
      assert f.read(12)[4:8] == b'ftyp'  # An MP4 container.
  assert lines[0].startswith('mean return ') and '2 videos in' in lines[0]
  # Nothing on disk is overwritten.
  with pytest.raises(ConfigError, match='exists; pass another --out_dir'):
    rigl_rl.evaluate(cartpole_run.root_dir, episodes=1, out_dir=str(out_dir))


def test_bad_episode_counts_are_refused(cartpole_run, tmp_path):
  with pytest.raises(ConfigError, match='--video_episodes must be between'):
    rigl_rl.evaluate(cartpole_run.root_dir, episodes=2,
                     out_dir=str(tmp_path / 'a'), video_episodes=3)
  with pytest.raises(ConfigError, match='--episodes must be >= 1'):
    rigl_rl.evaluate(cartpole_run.root_dir, episodes=0,
                     out_dir=str(tmp_path / 'b'))
  assert not os.path.exists(tmp_path / 'a')


def test_bin_evaluate_plain(cartpole_run, tmp_path):
  out_dir = tmp_path / 'plain'
  proc = conftest.run_evaluate(cartpole_run.root_dir, '--mode=plain', '--episodes=2',
                   f'--out_dir={out_dir}')
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip().splitlines()[-1] == (
      f'Wrote {out_dir}/{evaluation.RESULTS_FILE}')
  assert len(json.loads((out_dir / evaluation.RESULTS_FILE).read_text())[
      'returns']) == 2
  assert not (out_dir / evaluation.VIDEO_DIR).exists()
  # Flags of the other mode are refused, not ignored.
  proc = conftest.run_evaluate(cartpole_run.root_dir, '--mode=plain', '--sigmas=1')
  assert proc.returncode == 1
  assert proc.stderr.strip() == ('error: --sigmas applies to --mode=noise; '
                                 'drop it or pass --mode=noise')
  proc = conftest.run_evaluate(cartpole_run.root_dir, '--video_episodes=1')
  assert proc.stderr.strip().endswith('--video_episodes applies to '
                                      '--mode=plain; drop it or pass '
                                      '--mode=plain')
