"""The binaries: rigl-train, rigl-evaluate, rigl-sweep, rigl-report and
rigl-export.

Each is a module here, run as `python -m rigl_rl.bin.<name>`; the console
entry points and the repository's bin/<name> run the same module as
__main__ (as `python -m` does), so absl's --help shows its docstring and
flags however it is started.
"""
import runpy


def _run(name: str) -> None:
  runpy.run_module(f'rigl_rl.bin.{name}', run_name='__main__', alter_sys=True)


def rigl_train() -> None:
  """rigl-train: rigl_rl/bin/train.py."""
  _run('train')


def rigl_evaluate() -> None:
  """rigl-evaluate: rigl_rl/bin/evaluate.py."""
  _run('evaluate')


def rigl_sweep() -> None:
  """rigl-sweep: rigl_rl/bin/sweep.py."""
  _run('sweep')


def rigl_report() -> None:
  """rigl-report: rigl_rl/bin/report.py."""
  _run('report')


def rigl_export() -> None:
  """rigl-export: rigl_rl/bin/export.py."""
  _run('export')
