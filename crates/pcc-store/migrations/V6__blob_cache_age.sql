-- The blob cache is pruned by age inside hook transactions: without an index each prune would
-- scan the whole table while holding the write lock.
CREATE INDEX idx_blob_cache_cached_at ON blob_cache(cached_at);
