#!/usr/bin/env python3
"""Prints what each mask update of a run changed, from its TensorBoard logs.

  python scripts/mask_changes.py --root_dir=/tmp/runs/cp_rigl --updates=5

For each of the first `--updates` mask updates of each sparse network: the
train step, the fraction of its active connections replaced
(`Diagnostics/<net>/mask_churn/total`), their count
(`.../mask_replaced/total`) and the share of the grown connections that were
just dropped (`.../mask_regrown/total`). Runs made before just-dropped
connections could regrow logged only the fraction (n/a for the others).
"""
import os

from absl import app
from absl import flags
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

flags.DEFINE_string('root_dir', None, 'A run directory.')
flags.DEFINE_integer('updates', 5, 'How many updates to print per network.')
flags.mark_flag_as_required('root_dir')
FLAGS = flags.FLAGS


def _by_step(events, tag, tags):
  if tag not in tags:
    return {}
  return {e.step: _value(e) for e in events.Tensors(tag)}


def _value(event) -> float:
  return float(tensor_util.make_ndarray(event.tensor_proto))


def main(argv):
  del argv
  events = event_accumulator.EventAccumulator(
      os.path.join(FLAGS.root_dir, 'train'), size_guidance={'tensors': 0})
  events.Reload()
  tags = events.Tags()['tensors']
  churn_tags = sorted(t for t in tags if t.endswith('/mask_churn/total'))
  if not churn_tags:
    raise SystemExit(f'error: {FLAGS.root_dir} logged no mask updates '
                     '(a dense or static run, or no train/ logs)')
  for tag in churn_tags:
    network = tag.split('/')[1]
    replaced = _by_step(events, f'Diagnostics/{network}/mask_replaced/total',
                        tags)
    regrown = _by_step(events, f'Diagnostics/{network}/mask_regrown/total',
                       tags)
    print(f'{network}:')
    print('  train step  replaced fraction  replaced  regrown share')
    for event in events.Tensors(tag)[:FLAGS.updates]:
      count, share = replaced.get(event.step), regrown.get(event.step)
      print(f'  {event.step:10d}  {_value(event):17.4f}  '
            f'{"n/a" if count is None else int(count):>8}  '
            f'{"n/a" if share is None else f"{share:.3f}":>13}')


if __name__ == '__main__':
  app.run(main)
