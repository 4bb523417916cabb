"""The batch folder watcher: files dropped in an inbox come out as JSON, each exactly once.

``intake`` finds settled files; ``watcher`` queues them and runs the workers and outputs;
``files`` knows names and atomic writes; ``health`` tracks what is down. See ``Watcher``.
"""

from docintel.jobs.watch.files import NAME_MAX, PARTIAL_SUFFIXES, fitted, ignored, store_name
from docintel.jobs.watch.watcher import Watcher, WatchStats, schema_key, watch

__all__ = [
    "NAME_MAX",
    "PARTIAL_SUFFIXES",
    "WatchStats",
    "Watcher",
    "fitted",
    "ignored",
    "schema_key",
    "store_name",
    "watch",
]
