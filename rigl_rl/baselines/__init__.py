"""The baselines pruning is compared against (Obando-Ceron et al. 2024, 5.1),
and the L1-Reg topology of paper 000, read from an earlier run."""
from rigl_rl.baselines.l1_mask import L1Mask
from rigl_rl.baselines.lottery import LotteryTicket
from rigl_rl.baselines.plasticity import ReDo
from rigl_rl.baselines.plasticity import Reset
