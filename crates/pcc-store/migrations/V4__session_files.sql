-- The overlap radar (PRODUCT.md §3.2, §4.2): files each session's agent edited, as reported by
-- its hooks. Repo-relative paths, keyed by the main repository like claims.
CREATE TABLE session_files (
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  repo_path TEXT NOT NULL,
  file_path TEXT NOT NULL,
  last_tool TEXT,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  edits INTEGER NOT NULL DEFAULT 1,
  -- The other sessions the agent was last warned about for this file (sorted ids, comma
  -- separated): the hook warns again only when that set changes.
  warned_about TEXT,
  PRIMARY KEY (session_id, file_path)
);
CREATE INDEX idx_session_files_repo_file ON session_files(repo_path, file_path);

-- Hooks find their session by checkout path (CLAUDE_PROJECT_DIR, cwd).
CREATE INDEX IF NOT EXISTS idx_sessions_worktree_path ON sessions(worktree_path);
