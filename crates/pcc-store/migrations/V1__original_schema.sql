-- The data model of the TypeScript parallel-cc at its last schema version (1.1.0).
-- Every statement is IF NOT EXISTS: on a database created by the TypeScript tool the tables
-- already exist (the adoption step in src/legacy.rs has added any columns its older versions
-- lacked), and this migration only fills in what is missing. It never rebuilds a table.

CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  repo_path TEXT NOT NULL,
  worktree_path TEXT NOT NULL,
  worktree_name TEXT,
  is_main_repo INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  last_heartbeat TEXT NOT NULL DEFAULT (datetime('now')),
  execution_mode TEXT DEFAULT 'local' CHECK (execution_mode IN ('local', 'e2b')),
  sandbox_id TEXT,
  prompt TEXT,
  status TEXT CHECK (status IS NULL OR status IN ('INITIALIZING', 'RUNNING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED')),
  output_log TEXT,
  git_user TEXT,
  git_email TEXT,
  ssh_key_provided INTEGER DEFAULT 0,
  budget_limit REAL,
  cost_estimate REAL,
  actual_cost REAL,
  template_name TEXT
);
CREATE INDEX IF NOT EXISTS idx_sessions_repo ON sessions(repo_path);
CREATE INDEX IF NOT EXISTS idx_sessions_pid ON sessions(pid);
CREATE INDEX IF NOT EXISTS idx_sessions_heartbeat ON sessions(last_heartbeat);
CREATE INDEX IF NOT EXISTS idx_sessions_execution_mode ON sessions(execution_mode);
CREATE INDEX IF NOT EXISTS idx_sessions_sandbox_id ON sessions(sandbox_id) WHERE sandbox_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sessions_status ON sessions(status) WHERE status IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sessions_e2b_active ON sessions(execution_mode, status, created_at) WHERE execution_mode = 'e2b';
CREATE INDEX IF NOT EXISTS idx_sessions_template ON sessions(template_name) WHERE template_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sessions_budget ON sessions(budget_limit) WHERE budget_limit IS NOT NULL;

CREATE TABLE IF NOT EXISTS merge_events (
  id TEXT PRIMARY KEY,
  repo_path TEXT NOT NULL,
  branch_name TEXT NOT NULL,
  source_commit TEXT NOT NULL,
  target_branch TEXT NOT NULL DEFAULT 'main',
  target_commit TEXT NOT NULL,
  merged_at TEXT NOT NULL DEFAULT (datetime('now')),
  detected_at TEXT NOT NULL DEFAULT (datetime('now')),
  notification_sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_merge_events_repo ON merge_events(repo_path);
CREATE INDEX IF NOT EXISTS idx_merge_events_branch ON merge_events(branch_name);
CREATE INDEX IF NOT EXISTS idx_merge_events_target ON merge_events(target_branch);

CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  repo_path TEXT NOT NULL,
  branch_name TEXT NOT NULL,
  target_branch TEXT NOT NULL DEFAULT 'main',
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  notified_at TEXT,
  is_active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS idx_subscriptions_session ON subscriptions(session_id);
CREATE INDEX IF NOT EXISTS idx_subscriptions_repo ON subscriptions(repo_path);
CREATE INDEX IF NOT EXISTS idx_subscriptions_active ON subscriptions(is_active);

CREATE TABLE IF NOT EXISTS schema_metadata (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT DEFAULT (datetime('now'))
);

CREATE TABLE IF NOT EXISTS file_claims (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  repo_path TEXT NOT NULL,
  file_path TEXT NOT NULL,
  claim_mode TEXT NOT NULL CHECK (claim_mode IN ('EXCLUSIVE', 'SHARED', 'INTENT')),
  claimed_at TEXT NOT NULL DEFAULT (datetime('now')),
  expires_at TEXT NOT NULL,
  last_heartbeat TEXT NOT NULL DEFAULT (datetime('now')),
  escalated_from TEXT CHECK (escalated_from IS NULL OR escalated_from IN ('EXCLUSIVE', 'SHARED', 'INTENT')),
  metadata TEXT,
  is_active INTEGER NOT NULL DEFAULT 1,
  released_at TEXT,
  deleted_at TEXT,
  deleted_reason TEXT
);
CREATE INDEX IF NOT EXISTS idx_file_claims_session ON file_claims(session_id);
CREATE INDEX IF NOT EXISTS idx_file_claims_repo_file ON file_claims(repo_path, file_path);
CREATE INDEX IF NOT EXISTS idx_file_claims_active ON file_claims(is_active) WHERE is_active = 1;
CREATE INDEX IF NOT EXISTS idx_file_claims_expires ON file_claims(expires_at) WHERE is_active = 1;
CREATE INDEX IF NOT EXISTS idx_file_claims_stale ON file_claims(last_heartbeat, is_active) WHERE is_active = 1;
CREATE INDEX IF NOT EXISTS idx_file_claims_conflict_check ON file_claims(repo_path, file_path, is_active, claim_mode) WHERE is_active = 1;

CREATE TABLE IF NOT EXISTS auto_fix_suggestions (
  id TEXT PRIMARY KEY,
  conflict_resolution_id TEXT REFERENCES conflict_resolutions(id) ON DELETE SET NULL,
  repo_path TEXT NOT NULL,
  file_path TEXT NOT NULL,
  conflict_type TEXT NOT NULL CHECK (conflict_type IN ('STRUCTURAL', 'SEMANTIC', 'CONCURRENT_EDIT', 'TRIVIAL', 'UNKNOWN')),
  suggested_resolution TEXT NOT NULL,
  confidence_score REAL NOT NULL CHECK (confidence_score >= 0 AND confidence_score <= 1),
  explanation TEXT NOT NULL,
  strategy_used TEXT NOT NULL,
  base_content TEXT NOT NULL,
  source_content TEXT NOT NULL,
  target_content TEXT NOT NULL,
  generated_at TEXT NOT NULL DEFAULT (datetime('now')),
  applied_at TEXT,
  was_auto_applied INTEGER NOT NULL DEFAULT 0,
  metadata TEXT,
  deleted_at TEXT,
  deleted_reason TEXT
);

CREATE TABLE IF NOT EXISTS conflict_resolutions (
  id TEXT PRIMARY KEY,
  session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
  repo_path TEXT NOT NULL,
  file_path TEXT NOT NULL,
  conflict_type TEXT NOT NULL CHECK (conflict_type IN ('STRUCTURAL', 'SEMANTIC', 'CONCURRENT_EDIT', 'TRIVIAL', 'UNKNOWN')),
  base_commit TEXT NOT NULL,
  source_commit TEXT NOT NULL,
  target_commit TEXT NOT NULL,
  resolution_strategy TEXT CHECK (resolution_strategy IS NULL OR resolution_strategy IN ('AUTO_FIX', 'MANUAL', 'HYBRID', 'ABANDONED')),
  confidence_score REAL CHECK (confidence_score IS NULL OR (confidence_score >= 0 AND confidence_score <= 1)),
  conflict_markers TEXT NOT NULL,
  resolved_content TEXT,
  detected_at TEXT NOT NULL DEFAULT (datetime('now')),
  resolved_at TEXT,
  auto_fix_suggestion_id TEXT REFERENCES auto_fix_suggestions(id) ON DELETE SET NULL,
  metadata TEXT,
  deleted_at TEXT,
  deleted_reason TEXT
);
CREATE INDEX IF NOT EXISTS idx_conflict_resolutions_session ON conflict_resolutions(session_id);
CREATE INDEX IF NOT EXISTS idx_conflict_resolutions_repo_file ON conflict_resolutions(repo_path, file_path);
CREATE INDEX IF NOT EXISTS idx_conflict_resolutions_type ON conflict_resolutions(conflict_type);
CREATE INDEX IF NOT EXISTS idx_conflict_resolutions_strategy ON conflict_resolutions(resolution_strategy);
CREATE INDEX IF NOT EXISTS idx_conflict_resolutions_detected ON conflict_resolutions(detected_at);
CREATE INDEX IF NOT EXISTS idx_conflict_resolutions_unresolved ON conflict_resolutions(resolved_at) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_auto_fix_resolution ON auto_fix_suggestions(conflict_resolution_id);
CREATE INDEX IF NOT EXISTS idx_auto_fix_repo_file ON auto_fix_suggestions(repo_path, file_path);
CREATE INDEX IF NOT EXISTS idx_auto_fix_type ON auto_fix_suggestions(conflict_type);
CREATE INDEX IF NOT EXISTS idx_auto_fix_confidence ON auto_fix_suggestions(confidence_score);
CREATE INDEX IF NOT EXISTS idx_auto_fix_unapplied ON auto_fix_suggestions(applied_at) WHERE applied_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_auto_fix_generated ON auto_fix_suggestions(generated_at);

CREATE TABLE IF NOT EXISTS budget_tracking (
  id TEXT PRIMARY KEY,
  period TEXT NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
  period_start TEXT NOT NULL,
  budget_limit REAL,
  spent REAL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS idx_budget_period ON budget_tracking(period, period_start);

INSERT INTO schema_metadata (key, value) VALUES ('version', '1.1.0')
  ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = datetime('now');
INSERT OR IGNORE INTO schema_metadata (key, value) VALUES ('last_claim_cleanup', datetime('now'));
