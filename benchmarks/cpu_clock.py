"""The CPU time of a benchmark process, stage by stage: sharing the machine does not move it."""

import time


class CpuClock:
    """CPU seconds (user + system, all threads) of this process, stage by stage."""

    def __init__(self):
        self.stages = {}

    def measure(self, stage: str, work):
        started = time.process_time()
        result = work()
        self.stages[stage] = round(time.process_time() - started, 1)
        print(f"{stage}: {self.stages[stage]:.0f} CPU-s", flush=True)
        return result
