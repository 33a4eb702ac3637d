"""Content-addressed artifact store (DESIGN §3).

Layout under ``<project>/.mlspec``::

    objects/ab/<hex>        immutable blobs, named by their BLAKE3 digest
    actions/ab/<key>.json   cache key -> output digests, preimage, timings, run id
    locks/<key>.lock        per-key lease so concurrent sweep jobs compute a stage once
    tmp/                    temp files, renamed into place once complete and fsynced
    mlspec.db               SQLite (WAL): runs, stage executions, metrics, stat cache

Correctness comes from write-once objects and atomic renames; locks only avoid duplicate work.
"""

from mlspec.store.actions import ActionRecord, ArtifactRef
from mlspec.store.objects import ObjectStore
from mlspec.store.store import Store

__all__ = ["ActionRecord", "ArtifactRef", "ObjectStore", "Store"]
