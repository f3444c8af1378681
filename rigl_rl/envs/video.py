"""Episode videos through gymnasium's RecordVideo (it writes MP4s with
moviepy: the `video` extra)."""
import dataclasses
import os
from typing import Optional

import gymnasium as gym


@dataclasses.dataclass(frozen=True)
class Video:
  """Record the first `episodes` episodes as MP4 files in `folder`."""
  folder: str
  episodes: int


def recorded(env: gym.Env, video: Optional[Video],
             fps: Optional[int] = None) -> gym.Env:
  """`env` inside RecordVideo, or `env` itself when `video` is None.

  Args:
    env: a gymnasium env made with render_mode='rgb_array'.
    video: what to record.
    fps: frames per second of the files; default the env's render_fps.
  """
  if video is None:
    return env
  # Classic control draws frames with pygame, which needs a video driver even
  # off screen; the dummy one serves rgb_array frames without a display.
  os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')
  return gym.wrappers.RecordVideo(
      env, video.folder,
      episode_trigger=lambda episode: episode < video.episodes, fps=fps,
      disable_logger=True)
