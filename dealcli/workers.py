"""Worker processes for the work that parses many files: the cold fill of the index cache
(storage/index.py), `check`'s deal files (validation/check.py) and the YAML import
(importing/yamlread.py). They all start them here, one way.

Workers are spawned, never forked. A fork copies a process with threads (a test runner's, a
library's) with the locks those threads held, so a worker can die or wait forever on one, and
`multiprocessing.Pool` then waits for its result forever (a CI run once hung so). A spawned
worker starts a fresh interpreter and inherits no lock; a `ProcessPoolExecutor` reports a worker
that died as `BrokenProcessPool` instead of waiting. The tasks whose results had not come back
are then done in this process: a dead worker costs time, never the answer, never a hang.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MAX = 8  # worker processes at most, whatever the number of cores


def count() -> int:
    """How many worker processes share the work: one per core, at most MAX."""
    return min(os.cpu_count() or 1, MAX)


def wanted(items: int, least: int) -> bool:
    """Whether `items` files are worth worker processes: at least `least` of them, two cores or
    more, and DEALCLI_NO_PARALLEL not set (docs/performance.md)."""
    return items >= least and count() >= 2 and not os.environ.get("DEALCLI_NO_PARALLEL")


def ordered(fn: Callable[[Any], Any], tasks: Iterable[Any], local: Callable[[Any], Any] | None = None,
            initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> Iterator[Any]:
    """`fn(task)` of every task, in the order of the tasks, computed by spawned worker processes
    with at most a few tasks in flight (so memory stays flat). `fn`, the tasks and `initargs`
    must pickle; `initializer(*initargs)` runs first in each worker. When a worker dies, the
    tasks whose results have not come back are done in this process by `local` (by default
    `fn`), and so are the tasks after them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    workers = count()
    todo = iter(tasks)
    pending: collections.deque = collections.deque()  # (task, future), oldest first
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer, initargs=initargs)

    def oldest() -> Any:
        result = pending[0][1].result()  # raises BrokenProcessPool with the task still pending
        pending.popleft()
        return result

    try:
        try:
            for task in todo:
                pending.append((task, None))  # pending before submit: a broken pool raises there
                pending[-1] = (task, pool.submit(fn, task))
                if len(pending) > 2 * workers:
                    yield oldest()
            while pending:
                yield oldest()
        except BrokenProcessPool:
            pass
        else:
            return
        do = local or fn
        while pending:
            yield do(pending.popleft()[0])
        for task in todo:
            yield do(task)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
