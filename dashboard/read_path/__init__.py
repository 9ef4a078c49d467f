"""The signed-in read path: the request's account snapshot, the per-process read cache and the
PostgreSQL change feed that keeps it honest."""
