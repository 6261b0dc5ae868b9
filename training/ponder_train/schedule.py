"""How long a training run goes and how its learning rate falls: a run ends at its step
count or its time limit, whichever comes first, and the cosine decay follows whichever is
further along, so a time-limited run still ends at its lowest rate."""
import math
import time


class RunLength:
    def __init__(self, steps: int, max_minutes: float = 0):
        self.steps, self.seconds, self.start = steps, max_minutes * 60, time.time()

    def over(self, step: int) -> bool:
        if step >= self.steps:
            return True
        if self.seconds and time.time() - self.start > self.seconds:
            print(f"time limit reached at step {step}", flush=True)
            return True
        return False

    def progress(self, step: int) -> float:
        p = step / self.steps
        if self.seconds:
            p = max(p, (time.time() - self.start) / self.seconds)
        return min(1.0, p)


def warmup_cosine(step: int, progress: float, warmup: int, floor: float) -> float:
    """The learning rate's factor: linear warm-up over `warmup` steps, then a cosine from 1
    down to `floor` over the run's progress (0 to 1)."""
    return min(1, (step + 1) / warmup) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
