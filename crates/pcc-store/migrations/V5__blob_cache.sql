-- Blob ids of files at commits, for the post-tool-use hook's overlap test (PRODUCT.md §4.2, §11):
-- a commit never changes, so a look-up made once (opening the repository, reading its trees) is
-- answered from here on every later tool call. Commit ids name the same content in every
-- repository, so no repository column. `blob_id` NULL: the commit has no such file.
-- `cached_at` (seconds since the epoch) lets old rows be pruned.
CREATE TABLE blob_cache (
  commit_id TEXT NOT NULL,
  file_path TEXT NOT NULL,
  blob_id TEXT,
  cached_at INTEGER NOT NULL,
  PRIMARY KEY (file_path, commit_id)
) WITHOUT ROWID;
