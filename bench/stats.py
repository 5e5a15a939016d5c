"""Small statistics for noisy timings, shared by workloads."""

import math
from collections.abc import Sequence


def median_interval(values: Sequence[float]) -> tuple[float, float]:
    """A distribution-free 95 % confidence interval for the median.

    Why: timings on a shared machine are skewed by bursts of other work, so a normal
    interval would mislead; the order statistics at ranks n/2 ± 0.98·√n bound the
    median with ~95 % confidence whatever the distribution (normal approximation to
    the binomial; conservative clamping for small n).
    """
    ordered = sorted(values)
    n = len(ordered)
    half_width = 0.98 * math.sqrt(n)
    low = max(math.floor(n / 2 - half_width), 0)
    high = min(math.ceil(n / 2 + half_width), n - 1)
    return ordered[low], ordered[high]
