#!/usr/bin/env python3
"""Prints the gin bindings that split a parameter budget between actor and
critic (Graesser et al. 2022, section 5, Fig. 3).

  python scripts/actor_critic_split.py --gin_files=gin/sac/halfcheetah_rigl.gin \
      --budget=0.2 --actor_share=0.1 --regime=sparse

The budget is a fraction of the run's standard dense parameter count (actor
and critics at width 1); the actor gets `actor_share` of it. The sparse regime
prints ACTOR_SPARSITY and CRITIC_SPARSITY, the dense one ACTOR_WIDTH and
CRITIC_WIDTH; pass them to bin/train (or a sweep grid) as --gin_bindings.
"""
import os
import sys

from absl import app
from absl import flags

flags.DEFINE_multi_string('gin_files', [], 'A SAC or PPO run config.')
flags.DEFINE_multi_string('gin_bindings', [], 'Its bindings.')
flags.DEFINE_float('budget', None, 'Budget, a fraction of the dense count.')
flags.DEFINE_float('actor_share', None, 'Fraction of the budget for the actor.')
flags.DEFINE_enum('regime', 'sparse', ['sparse', 'dense'],
                  'sparse: per-network sparsities; dense: per-network widths.')
flags.mark_flags_as_required(['gin_files', 'budget', 'actor_share'])
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    sys.exit(f'error: unexpected arguments {argv[1:]}')
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  # pylint: disable=g-import-not-at-top
  from rigl_rl.errors import ConfigError
  from rigl_rl.sweep import budget
  try:
    bindings = budget.actor_critic_split(FLAGS.gin_files, FLAGS.gin_bindings,
                                         FLAGS.budget, FLAGS.actor_share,
                                         FLAGS.regime)
  except ConfigError as e:
    sys.exit(f'error: {e}')
  print(' '.join(f"--gin_bindings='{binding}'" for binding in bindings))


if __name__ == '__main__':
  app.run(main)
