"""A watcher in a process of its own, for the crash, signal and several-process tests.

    python tests/watch_worker.py INBOX OUT STORE [--delay S] [--batch N] [--lease S] [--once]

Its engine answers the Memo schema after ``--delay`` seconds per batch. Prints its stats as
JSON when it stops.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from watch_support import MEMO_ANSWER, Memo

from docintel.jobs.watch import Watcher
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine

parser = argparse.ArgumentParser()
parser.add_argument("inbox")
parser.add_argument("out")
parser.add_argument("store")
parser.add_argument("--delay", type=float, default=0.0)
parser.add_argument("--batch", type=int, default=4)
parser.add_argument("--lease", type=float, default=60.0)
parser.add_argument("--drain", type=float, default=30.0)
parser.add_argument("--once", action="store_true")
args = parser.parse_args()

logging.basicConfig(level=logging.INFO, format="%(process)d %(message)s")
logging.getLogger("watchfiles").setLevel(logging.WARNING)
engine = InstantEngine(MEMO_ANSWER, delay=args.delay)
watcher = Watcher(
    args.inbox, Memo, args.out, store=args.store, engine=engine,
    settings=get_settings(target_longest_side=128), batch_size=args.batch, settle=0.2,
    lease=args.lease, drain=args.drain, poll=0.05,
)  # fmt: skip
print("ready", flush=True)
stats = watcher.run(until_idle=args.once)
print(json.dumps(asdict(stats)), flush=True)
watcher.exit()
