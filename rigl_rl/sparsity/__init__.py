"""The sparse-training core: allocation, masks, schedules and updaters."""
from rigl_rl.sparsity.allocation import layer_sparsities
from rigl_rl.sparsity.masking import count_params
from rigl_rl.sparsity.masking import layer_wrapper
from rigl_rl.sparsity.masking import SparseNetwork
from rigl_rl.sparsity.masking import SparseTraining
from rigl_rl.sparsity.masking import SparseWrapper
from rigl_rl.sparsity.schedules import ConstantDropFraction
from rigl_rl.sparsity.schedules import CosineDropFraction
from rigl_rl.sparsity.schedules import PolynomialSparsity
from rigl_rl.sparsity.schedules import UpdateSchedule
from rigl_rl.sparsity.updaters import MaskUpdater
from rigl_rl.sparsity.updaters import Prune
from rigl_rl.sparsity.updaters import RigL
from rigl_rl.sparsity.updaters import SET
from rigl_rl.sparsity.updaters import Static
