"""Timing several implementations in alternation, so drift on a shared machine reaches all alike."""

import time


def seconds_in_turns(calls, batches, turns):
    """Seconds of each of `calls` (name: callable of one batch) on each of `batches`.

    The calls take `turns` turns each through consecutive parts of `batches`.
    With as many turns as batches they alternate on every batch; fewer turns
    let each run several calls with its thread pools warm, as in a server.

    Returns:
        Dict of name: list of one duration per batch.
    """
    seconds = {name: [] for name in calls}
    part = -(-len(batches) // turns)
    for begin in range(0, len(batches), part):
        for name, call in calls.items():
            for batch in batches[begin:begin + part]:
                start = time.perf_counter()
                call(batch)
                seconds[name].append(time.perf_counter() - start)
    return seconds


def alternating_seconds(runs, rounds):
    """Seconds of each call of each of `runs` (name: callable), which take turns `rounds` times.

    Returns:
        Dict of name: list of `rounds` durations.
    """
    return seconds_in_turns({name: lambda _, run=run: run() for name, run in runs.items()}, [None] * rounds, rounds)
