"""The baselines pruning is compared against (Obando-Ceron et al. 2024, 5.1)."""
from rigl_rl.baselines.lottery import LotteryTicket
from rigl_rl.baselines.plasticity import ReDo
from rigl_rl.baselines.plasticity import Reset
