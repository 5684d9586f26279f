-- What the Rust coordinator needs to run sessions safely (PRODUCT.md §2, §9). Columns are only
-- ever added: rebuilding `sessions` would cascade-delete claims and subscriptions.

-- Liveness is PID plus process start time, so a reused PID cannot keep a dead session alive.
ALTER TABLE sessions ADD COLUMN pid_start_time INTEGER;
-- The agent child of a supervisor: the session stays alive while the agent runs, even if the
-- supervisor itself was killed.
ALTER TABLE sessions ADD COLUMN agent_pid INTEGER;
ALTER TABLE sessions ADD COLUMN agent_pid_start_time INTEGER;
ALTER TABLE sessions ADD COLUMN branch TEXT;
ALTER TABLE sessions ADD COLUMN base_commit TEXT;
ALTER TABLE sessions ADD COLUMN agent TEXT;
-- starting (row reserved, worktree being created) | live | kept (ended, worktree holds work) | ended
ALTER TABLE sessions ADD COLUMN state TEXT NOT NULL DEFAULT 'live';
-- working | idle | ended, as reported by the agent's hooks
ALTER TABLE sessions ADD COLUMN agent_state TEXT;
ALTER TABLE sessions ADD COLUMN kept_reason TEXT;
ALTER TABLE sessions ADD COLUMN ended_at TEXT;
ALTER TABLE sessions ADD COLUMN last_activity_at TEXT;
ALTER TABLE sessions ADD COLUMN last_tool TEXT;
-- supervisor (parallel-cc run) | register (another wrapper) | hook | sandbox
ALTER TABLE sessions ADD COLUMN registered_by TEXT NOT NULL DEFAULT 'register';
-- 1 when parallel-cc created the worktree (and so may remove it)
ALTER TABLE sessions ADD COLUMN worktree_owned INTEGER NOT NULL DEFAULT 0;
-- 1 when parallel-cc created the branch (and so may delete it once it is merged or empty)
ALTER TABLE sessions ADD COLUMN branch_owned INTEGER NOT NULL DEFAULT 0;

-- Worktrees of the TypeScript tool were created by gtr on parallel-cc's behalf, on a branch named
-- after the worktree.
UPDATE sessions SET worktree_owned = 1, branch_owned = 1, branch = COALESCE(branch, worktree_name)
  WHERE is_main_repo = 0 AND worktree_name IS NOT NULL AND COALESCE(execution_mode, 'local') = 'local';

CREATE INDEX IF NOT EXISTS idx_sessions_repo_state ON sessions(repo_path, state);

-- Snapshots taken before any forced removal (PRODUCT.md §2.6); the commit lives under ref_name.
CREATE TABLE snapshots (
  name TEXT PRIMARY KEY,
  repo_path TEXT NOT NULL,
  session_id TEXT,
  worktree_path TEXT NOT NULL,
  worktree_name TEXT,
  branch TEXT,
  head_commit TEXT,
  commit_id TEXT NOT NULL,
  ref_name TEXT NOT NULL,
  file_count INTEGER NOT NULL DEFAULT 0,
  size_bytes INTEGER NOT NULL DEFAULT 0,
  reason TEXT,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  restored_at TEXT,
  deleted_at TEXT
);
CREATE INDEX idx_snapshots_repo ON snapshots(repo_path);
