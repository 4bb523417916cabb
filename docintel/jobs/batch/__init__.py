"""``docintel batch``: many inputs through ``extract_many``, streamed, resumable.

``inputs`` lists what to read (files, folders, globs, list files, URLs); ``run`` prepares
documents on a process pool and runs the engine; ``records`` writes one record per document
(JSONL or Parquet parts) and finds what a rerun can skip. ``docintel.jobs.distributed`` runs the
same stages on Ray Data.
"""

from docintel.jobs.batch.inputs import URI, iter_inputs
from docintel.jobs.batch.records import (
    Format,
    Line,
    encode,
    failed_record,
    key_of,
    parquet_schema,
    read_part,
    scan_jsonl,
    scan_parts,
    unflat,
)
from docintel.jobs.batch.run import (
    FORMATS,
    BatchStats,
    Plan,
    Prepared,
    prepare,
    read_input,
    require,
    restore,
    run_batch,
    run_prepared,
)

__all__ = [
    "FORMATS",
    "URI",
    "BatchStats",
    "Format",
    "Line",
    "Plan",
    "Prepared",
    "encode",
    "failed_record",
    "iter_inputs",
    "key_of",
    "parquet_schema",
    "prepare",
    "read_input",
    "read_part",
    "require",
    "restore",
    "run_batch",
    "run_prepared",
    "scan_jsonl",
    "scan_parts",
    "unflat",
]
