"""Looking inside training: diagnostics of networks and masks."""
from rigl_rl.analysis.diagnostics import Diagnostics
