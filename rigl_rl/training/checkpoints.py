"""A run's numbered checkpoints, found by their own files.

The files `ckpt-<number>.index` are the record of what is saved; TF's index
file (`checkpoint`) is written beside them for `tf.train.latest_checkpoint`
and TensorBoard, but a missing or garbled one loses nothing. A checkpoint
that cannot be read is moved to `unreadable/` and the newest readable one is
used instead; a checkpoint that fails to write leaves the previous ones as
they were.
"""
import os
import re
import shutil
import sys
from typing import Callable, List, Optional

import tensorflow as tf

from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line
from rigl_rl.training import run_dir

INDEX_FILE = 'checkpoint'
UNREADABLE_DIR = 'unreadable'
_INDEX_NAME = re.compile(r'^ckpt-(\d+)\.index$')
# TF writes a checkpoint's shards into '<prefix>_temp/' first; a kill
# leaves it behind.
_TEMP_NAME = re.compile(r'^ckpt-\d+_temp')
# What errors reading a damaged checkpoint raises (a truncated file gives
# IndexError); ConfigError (a ValueError) is a memory's missing files.
_UNREADABLE = (tf.errors.OpError, IndexError, ValueError, OSError)


def _number_of(name: str) -> Optional[int]:
  """The number in 'ckpt-12.index', 'ckpt-12.data-...' or 'replay-12'."""
  match = re.match(r'^[a-z]+-(\d+)(?:[._].*)?$', name)
  return int(match.group(1)) if match else None


class CheckpointStore:
  """Writes, finds, restores and prunes a run's numbered checkpoints."""

  def __init__(self, directory: str, checkpoint: tf.train.Checkpoint,
               memory=None, max_to_keep: int = 3,
               report: Callable[[str], None] = print):
    """Args:
      directory: the run's checkpoints/ directory (created on first save).
      checkpoint: what each checkpoint holds.
      memory: the replay memory (`replay.Memory`), which writes its own
        files beside each checkpoint; None for a store that only restores.
      max_to_keep: checkpoints kept; older ones are deleted.
      report: prints a progress line.
    """
    self.directory = directory
    self._checkpoint = checkpoint
    self._memory = memory
    self._max_to_keep = max_to_keep
    self._report = report

  def path(self, number: int) -> str:
    return os.path.join(self.directory, f'ckpt-{number}')

  def numbers(self) -> List[int]:
    """The numbers of the checkpoints on disk, oldest first."""
    if not os.path.isdir(self.directory):
      return []
    found = (_INDEX_NAME.match(name) for name in os.listdir(self.directory))
    return sorted(int(match.group(1)) for match in found if match)

  def remove_leftovers(self) -> None:
    """Deletes the temporary shards of writes a kill interrupted."""
    if not os.path.isdir(self.directory):
      return
    for name in os.listdir(self.directory):
      if _TEMP_NAME.match(name):
        shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

  def save(self, number: int) -> str:
    """Writes checkpoint `number` and deletes those beyond `max_to_keep`.

    Needs the memory given at construction.

    Returns:
      The checkpoint's path.

    Raises:
      ConfigError: if it cannot be written (a full disk, a lost mount); the
        checkpoints already on disk are left as they were.
    """
    path = self.path(number)
    previous = self.numbers()
    try:
      # The memory's files first: a checkpoint on disk always has them.
      self._memory.write_beside(path, self._report)
      # Counted as `Checkpoint.save` counts, so restoring matches it.
      self._checkpoint.save_counter.assign_add(1)
      self._checkpoint.write(path)
      kept = sorted(set(previous) | {number})[-self._max_to_keep:]
      self._write_index(kept)
    except (OSError, tf.errors.OpError) as e:
      kept_text = (f'{self.path(previous[-1])} is intact' if previous else
                   'no earlier checkpoint exists')
      raise ConfigError(
          f'could not write checkpoint {path} ({one_line(e)}); {kept_text}: '
          'free disk space or fix the directory, then run the same command '
          'to resume') from e
    for old in previous:
      if old not in kept:
        for name in self._files_of(old):
          os.remove(os.path.join(self.directory, name))
    self._memory.keep_beside([self.path(n) for n in kept])
    return path

  def restore_latest(self, restore: Callable[[str], None],
                     repair: bool = True) -> Optional[str]:
    """Restores the newest checkpoint that can be read.

    Each newer one that cannot be read gets a line on stderr.

    Args:
      restore: reads a checkpoint path into the run; raises for a damaged
        one.
      repair: move the unreadable ones to `unreadable/` and rewrite the
        index, as a run resuming here does; False leaves the directory as
        it is (reading another process's run).

    Returns:
      The path restored, or None when the directory holds no checkpoint.

    Raises:
      ConfigError: if there are checkpoints and none can be read (nothing
        is moved then).
    """
    numbers = self.numbers()
    failures = []
    for number in reversed(numbers):
      try:
        restore(self.path(number))
      except _UNREADABLE as e:
        failures.append((number, one_line(e)))
        continue
      aside = os.path.join(self.directory, UNREADABLE_DIR)
      for bad, reason in failures:
        if repair:
          self._move_aside(bad)
        print(f'{self.path(bad)} cannot be read ({reason}); '
              f'{f"moved to {aside}; " if repair else ""}using '
              f'{self.path(number)}', file=sys.stderr, flush=True)
      if repair:
        self._write_index([n for n in numbers if n <= number])
      return self.path(number)
    if failures:
      raise ConfigError(
          f'none of the {len(failures)} checkpoints in {self.directory} can '
          f'be read (the newest: {failures[0][1]}); they are left as they '
          'are: restore them from a backup, or start over in a new '
          '--root_dir')
    return None

  def _files_of(self, number: int) -> List[str]:
    """Names in the directory that belong to checkpoint `number`, the
    memory's files beside it included."""
    return [name for name in os.listdir(self.directory)
            if _number_of(name) == number]

  def _move_aside(self, number: int) -> None:
    aside = os.path.join(self.directory, UNREADABLE_DIR)
    os.makedirs(aside, exist_ok=True)
    for name in self._files_of(number):
      os.replace(os.path.join(self.directory, name), os.path.join(aside, name))

  def _write_index(self, numbers: List[int]) -> None:
    """TF's index file, naming `numbers` (oldest first); left alone when it
    already says that."""
    lines = [f'model_checkpoint_path: "ckpt-{numbers[-1]}"'] + [
        f'all_model_checkpoint_paths: "ckpt-{n}"' for n in numbers]
    text = '\n'.join(lines) + '\n'
    path = os.path.join(self.directory, INDEX_FILE)
    try:
      with open(path) as f:
        if f.read() == text:
          return
    except (OSError, UnicodeDecodeError):
      pass
    run_dir.write_atomic(path, text)
