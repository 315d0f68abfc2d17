"""Timing several implementations in alternation, so drift on a shared machine reaches all alike."""

import time


def alternating_seconds(runs, rounds):
    """Seconds of each call of each of `runs` (name: callable), which take turns `rounds` times.

    Returns:
        Dict of name: list of `rounds` durations.
    """
    seconds = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds
