-- The post-tool-use hook looks up a session's pending merge notices on every call, and merge
-- detection checks for an event per branch tip: both by these keys.
CREATE INDEX IF NOT EXISTS idx_subscriptions_session_active ON subscriptions(session_id, is_active);
CREATE INDEX IF NOT EXISTS idx_merge_events_tip ON merge_events(repo_path, branch_name, target_branch, source_commit);
