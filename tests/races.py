"""Two people at once: run actions in threads released together at a barrier (issue 12).

Each action is a callable; it runs in its own thread and its result (or the exception it raised,
re-raised here) comes back in order. Requests go through Flask test clients, so every request
has its own application context, session and database connection and commits for real.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(*actions: Callable[[], object], timeout: float = 60) -> list:
    """Run `actions` at the same moment, one thread each; their results, in order."""
    start = threading.Barrier(len(actions))
    results: list = [None] * len(actions)
    errors: list = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = actions[i]()
        except BaseException as err:  # noqa: BLE001 - re-raised below with its action
            errors.append((i, err))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck"
    if errors:
        raise errors[0][1]
    return results


def post(client, url: str, data: dict) -> Callable[[], int]:
    """An action: POST `data` (with its CSRF token already in it), the answer's status."""
    return lambda: client.post(url, data=data).status_code
