//! Typed queries. Rows are mapped by hand; all SQL of the project lives in this crate.

use std::ops::Deref;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Result, StoreError};
use crate::model::{
    ClaimRow, GitDetails, MergeEventRow, NewClaim, NewSession, NewSnapshot, SessionRow, SessionState, SnapshotRow,
    SubscriptionRow, TouchedFile,
};
use crate::time::Timestamp;

/// Read queries over a connection or an open transaction.
#[derive(Clone, Copy)]
pub struct Queries<'c> {
    conn: &'c Connection,
    path: &'c Path,
}

/// Queries inside a `BEGIN IMMEDIATE` transaction: reads (through `Deref`) and writes.
pub struct WriteTx<'c> {
    q: Queries<'c>,
}

impl<'c> Deref for WriteTx<'c> {
    type Target = Queries<'c>;
    fn deref(&self) -> &Queries<'c> {
        &self.q
    }
}

const SESSION_COLUMNS: &str = "id, pid, repo_path, worktree_path, worktree_name, is_main_repo, created_at, \
     last_heartbeat, COALESCE(execution_mode, 'local'), sandbox_id, status, pid_start_time, agent_pid, \
     agent_pid_start_time, branch, base_commit, agent, state, agent_state, kept_reason, ended_at, \
     last_activity_at, last_tool, registered_by, worktree_owned, branch_owned, git_dirty, git_ahead, git_behind, \
     git_checked_ms";

pub(crate) fn ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(row.get::<_, Option<String>>(idx)?.and_then(|s| Timestamp::parse(&s)))
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let state: String = row.get(17)?;
    Ok(SessionRow {
        id: row.get(0)?,
        pid: row.get(1)?,
        repo_path: row.get(2)?,
        worktree_path: row.get(3)?,
        worktree_name: row.get(4)?,
        is_main_repo: row.get::<_, i64>(5)? != 0,
        created_at: ts(row, 6)?.unwrap_or(Timestamp(0)),
        last_heartbeat: ts(row, 7)?.unwrap_or(Timestamp(0)),
        execution_mode: row.get(8)?,
        sandbox_id: row.get(9)?,
        sandbox_status: row.get(10)?,
        pid_start_time: row.get(11)?,
        agent_pid: row.get(12)?,
        agent_pid_start_time: row.get(13)?,
        branch: row.get(14)?,
        base_commit: row.get(15)?,
        agent: row.get(16)?,
        // An unknown state written by a newer build is treated as live: the safe reading.
        state: SessionState::parse(&state).unwrap_or(SessionState::Live),
        agent_state: row.get(18)?,
        kept_reason: row.get(19)?,
        ended_at: ts(row, 20)?,
        last_activity_at: ts(row, 21)?,
        last_tool: row.get(22)?,
        registered_by: row.get(23)?,
        worktree_owned: row.get::<_, i64>(24)? != 0,
        branch_owned: row.get::<_, i64>(25)? != 0,
        git: match row.get::<_, Option<i64>>(29)? {
            Some(checked_ms) => Some(GitDetails {
                dirty_files: row.get::<_, Option<i64>>(26)?.map(count),
                ahead: row.get::<_, Option<i64>>(27)?.map(count),
                behind: row.get::<_, Option<i64>>(28)?.map(count),
                checked_ms,
            }),
            None => None,
        },
    })
}

pub(crate) fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

const TOUCHED_COLUMNS: &str = "f.session_id, f.file_path, f.last_tool, f.first_at, f.last_at, f.edits, f.warned_about";

fn touched_from_row(row: &Row<'_>) -> rusqlite::Result<TouchedFile> {
    Ok(TouchedFile {
        session_id: row.get(0)?,
        file_path: row.get(1)?,
        last_tool: row.get(2)?,
        first_at: ts(row, 3)?.unwrap_or(Timestamp(0)),
        last_at: ts(row, 4)?.unwrap_or(Timestamp(0)),
        edits: row.get(5)?,
        warned_about: row.get(6)?,
    })
}

const CLAIM_COLUMNS: &str = "c.id, c.session_id, c.repo_path, c.file_path, c.claim_mode, c.claimed_at, c.expires_at, \
     c.metadata, c.escalated_from, c.is_active, c.released_at, c.deleted_reason";

fn claim_from_row(row: &Row<'_>) -> rusqlite::Result<ClaimRow> {
    Ok(ClaimRow {
        id: row.get(0)?,
        session_id: row.get(1)?,
        repo_path: row.get(2)?,
        file_path: row.get(3)?,
        mode: row.get(4)?,
        claimed_at: ts(row, 5)?,
        expires_at: ts(row, 6)?,
        metadata: row.get(7)?,
        escalated_from: row.get(8)?,
        is_active: row.get::<_, Option<i64>>(9)?.unwrap_or(0) != 0,
        released_at: ts(row, 10)?,
        ended_reason: row.get(11)?,
    })
}

const MERGE_COLUMNS: &str = "id, repo_path, branch_name, source_commit, target_branch, target_commit, merged_at, \
     detected_at, notification_sent";

fn merge_from_row(row: &Row<'_>) -> rusqlite::Result<MergeEventRow> {
    Ok(MergeEventRow {
        id: row.get(0)?,
        repo_path: row.get(1)?,
        branch: row.get(2)?,
        source_commit: row.get(3)?,
        target: row.get(4)?,
        target_commit: row.get(5)?,
        merged_at: ts(row, 6)?,
        detected_at: ts(row, 7)?,
        notification_sent: row.get::<_, Option<i64>>(8)?.unwrap_or(0) != 0,
    })
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, session_id, repo_path, branch_name, target_branch, created_at, notified_at, is_active";

fn subscription_from_row(row: &Row<'_>) -> rusqlite::Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: row.get(0)?,
        session_id: row.get(1)?,
        repo_path: row.get(2)?,
        branch: row.get(3)?,
        target: row.get(4)?,
        created_at: ts(row, 5)?,
        notified_at: ts(row, 6)?,
        is_active: row.get::<_, Option<i64>>(7)?.unwrap_or(0) != 0,
    })
}

const SNAPSHOT_COLUMNS: &str = "name, repo_path, session_id, worktree_path, worktree_name, branch, head_commit, \
     commit_id, ref_name, file_count, size_bytes, reason, created_at, restored_at";

fn snapshot_from_row(row: &Row<'_>) -> rusqlite::Result<SnapshotRow> {
    Ok(SnapshotRow {
        name: row.get(0)?,
        repo_path: row.get(1)?,
        session_id: row.get(2)?,
        worktree_path: row.get(3)?,
        worktree_name: row.get(4)?,
        branch: row.get(5)?,
        head_commit: row.get(6)?,
        commit_id: row.get(7)?,
        ref_name: row.get(8)?,
        file_count: row.get(9)?,
        size_bytes: row.get(10)?,
        reason: row.get(11)?,
        created_at: ts(row, 12)?.unwrap_or(Timestamp(0)),
        restored_at: ts(row, 13)?,
    })
}

impl<'c> Queries<'c> {
    pub(crate) fn new(conn: &'c Connection, path: &'c Path) -> Self {
        Queries { conn, path }
    }

    /// The connection, for the query modules beside this one.
    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    pub(crate) fn err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::from_sqlite(self.path, op, e)
    }

    fn sessions_where(&self, op: &'static str, clause: &str, params: impl rusqlite::Params) -> Result<Vec<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE {clause} ORDER BY created_at, rowid");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt.query_map(params, session_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    /// Sessions of a repository that have not ended (starting, live or kept).
    pub fn open_sessions_for_repo(&self, repo: &str) -> Result<Vec<SessionRow>> {
        self.sessions_where("list sessions", "repo_path = ?1 AND state != 'ended'", [repo])
    }

    /// Every session that has not ended, in every repository.
    pub fn open_sessions(&self) -> Result<Vec<SessionRow>> {
        self.sessions_where("list sessions", "state != 'ended'", [])
    }

    pub fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        Ok(self.sessions_where("get session", "id = ?1", [id])?.into_iter().next())
    }

    /// Sessions registered with this PID that have not ended, oldest first.
    pub fn open_sessions_by_pid(&self, pid: i64) -> Result<Vec<SessionRow>> {
        self.sessions_where("find session by pid", "pid = ?1 AND state != 'ended'", [pid])
    }

    /// Every session of a repository, ended ones included (orphan detection).
    pub fn all_sessions_for_repo(&self, repo: &str) -> Result<Vec<SessionRow>> {
        self.sessions_where("list sessions", "repo_path = ?1", [repo])
    }

    /// Every repository that has (or had) sessions.
    pub fn known_repos(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT repo_path FROM sessions ORDER BY repo_path")
            .map_err(self.err("list repos"))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(self.err("list repos"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err("list repos"))
    }

    /// Count of active claims and subscriptions a session holds (used in tests and doctor).
    pub fn active_claim_count(&self, session_id: &str) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM file_claims WHERE session_id = ?1 AND is_active = 1", [session_id], |r| {
                r.get(0)
            })
            .map_err(self.err("count claims"))
    }

    /// Open sessions whose checkout is exactly one of `paths` (hooks find their session by path).
    pub fn open_sessions_at(&self, paths: &[&str]) -> Result<Vec<SessionRow>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let marks = (1..=paths.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        self.sessions_where(
            "find session by path",
            &format!("worktree_path IN ({marks}) AND state != 'ended'"),
            rusqlite::params_from_iter(paths),
        )
    }

    /// Files of a repository edited by sessions that have not ended, with their sessions.
    pub fn touched_files(&self, repo: &str) -> Result<Vec<TouchedFile>> {
        self.touched_where("list touched files", "f.repo_path = ?1", [repo])
    }

    /// Sessions that have not ended and edited this file.
    pub fn touched_file(&self, repo: &str, file: &str) -> Result<Vec<TouchedFile>> {
        self.touched_where("find touched file", "f.repo_path = ?1 AND f.file_path = ?2", [repo, file])
    }

    fn touched_where(&self, op: &'static str, clause: &str, params: impl rusqlite::Params) -> Result<Vec<TouchedFile>> {
        let sql = format!(
            "SELECT {TOUCHED_COLUMNS} FROM session_files f JOIN sessions s ON s.id = f.session_id \
             WHERE {clause} AND s.state != 'ended' ORDER BY f.file_path, f.first_at, f.session_id"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt.query_map(params, touched_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    /// Cached blob ids of `file` (repo-relative) by commit id; `None`: the commit has no such file.
    pub fn cached_blobs(&self, file: &str) -> Result<std::collections::HashMap<String, Option<String>>> {
        let op = "read blob cache";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT commit_id, blob_id FROM blob_cache WHERE file_path = ?1")
            .map_err(self.err(op))?;
        let rows = stmt.query_map([file], |r| Ok((r.get(0)?, r.get(1)?))).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err(op))
    }

    /// Active claims of a repository that cover `file`: on the file itself, or on a directory
    /// above it (`src/auth/`, with its slash, covers `src/auth/login.rs`; see
    /// `pcc_core::rules::claim_paths_overlap`). Expiry is the caller's test.
    pub fn active_claims_covering(&self, repo: &str, file: &str) -> Result<Vec<ClaimRow>> {
        self.claims_where(
            "find claims",
            "c.repo_path = ?1 AND c.is_active = 1 AND (c.file_path = ?2 OR \
             (substr(c.file_path, -1) = '/' AND substr(?2, 1, length(c.file_path)) = c.file_path))",
            [repo, file],
        )
    }

    /// Active claims of a repository (expiry is the caller's test).
    pub fn active_claims(&self, repo: &str) -> Result<Vec<ClaimRow>> {
        self.claims_where("list claims", "c.repo_path = ?1 AND c.is_active = 1", [repo])
    }

    /// Claims of a repository, active ones only unless `history`, optionally of one session.
    pub fn claims(&self, repo: &str, session: Option<&str>, history: bool) -> Result<Vec<ClaimRow>> {
        self.claims_where(
            "list claims",
            "c.repo_path = ?1 AND (?2 IS NULL OR c.session_id = ?2) AND (?3 OR c.is_active = 1)",
            params![repo, session, history],
        )
    }

    /// Merge events, newest first: of one repository (exact) and branches containing `branch`.
    pub fn merge_events(&self, repo: Option<&str>, branch: Option<&str>, limit: usize) -> Result<Vec<MergeEventRow>> {
        let op = "list merge events";
        let sql = format!(
            "SELECT {MERGE_COLUMNS} FROM merge_events WHERE (?1 IS NULL OR repo_path = ?1) \
             AND (?2 IS NULL OR instr(branch_name, ?2) > 0) ORDER BY detected_at DESC, rowid DESC LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![repo, branch, limit], merge_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    /// The event recorded for this branch tip merged into this target, if any.
    pub fn merge_event_for(&self, repo: &str, branch: &str, target: &str, tip: &str) -> Result<Option<MergeEventRow>> {
        let op = "find merge event";
        let sql = format!(
            "SELECT {MERGE_COLUMNS} FROM merge_events WHERE repo_path = ?1 AND branch_name = ?2 AND target_branch = ?3 \
             AND source_commit = ?4 ORDER BY detected_at DESC LIMIT 1"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        stmt.query_row(params![repo, branch, target, tip], merge_from_row).optional().map_err(self.err(op))
    }

    /// Subscriptions, active ones only unless `all`: of one repository and branch (substring
    /// filters, as the original), or of one session.
    pub fn subscriptions(
        &self,
        repo: Option<&str>,
        branch: Option<&str>,
        session: Option<&str>,
        all: bool,
    ) -> Result<Vec<SubscriptionRow>> {
        let op = "list subscriptions";
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE (?1 IS NULL OR instr(repo_path, ?1) > 0) \
             AND (?2 IS NULL OR instr(branch_name, ?2) > 0) AND (?3 IS NULL OR session_id = ?3) AND (?4 OR is_active = 1) \
             ORDER BY created_at, id"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt.query_map(params![repo, branch, session, all], subscription_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    /// Active subscriptions of a session whose branch has a merge into their target recorded
    /// since the subscription was made: what the session has not been told yet, with the newest
    /// such event.
    pub fn pending_merge_notices(&self, session: &str) -> Result<Vec<(SubscriptionRow, MergeEventRow)>> {
        let op = "find merge notices";
        let sub_cols = SUBSCRIPTION_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ");
        let ev_cols = MERGE_COLUMNS.split(", ").map(|c| format!("e.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {sub_cols}, {ev_cols} FROM subscriptions s JOIN merge_events e ON e.repo_path = s.repo_path \
             AND e.branch_name = s.branch_name AND e.target_branch = s.target_branch \
             WHERE s.session_id = ?1 AND s.is_active = 1 AND e.detected_at >= s.created_at ORDER BY e.detected_at DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt
            .query_map([session], |r| {
                let sub = subscription_from_row(r)?;
                let ev = MergeEventRow {
                    id: r.get(8)?,
                    repo_path: r.get(9)?,
                    branch: r.get(10)?,
                    source_commit: r.get(11)?,
                    target: r.get(12)?,
                    target_commit: r.get(13)?,
                    merged_at: ts(r, 14)?,
                    detected_at: ts(r, 15)?,
                    notification_sent: r.get::<_, Option<i64>>(16)?.unwrap_or(0) != 0,
                };
                Ok((sub, ev))
            })
            .map_err(self.err(op))?;
        let mut out: Vec<(SubscriptionRow, MergeEventRow)> = Vec::new();
        for row in rows {
            let (sub, ev) = row.map_err(self.err(op))?;
            if !out.iter().any(|(s, _)| s.id == sub.id) {
                out.push((sub, ev));
            }
        }
        Ok(out)
    }

    pub fn claim(&self, id: &str) -> Result<Option<ClaimRow>> {
        Ok(self.claims_where("find claim", "c.id = ?1", [id])?.into_iter().next())
    }

    fn claims_where(&self, op: &'static str, clause: &str, params: impl rusqlite::Params) -> Result<Vec<ClaimRow>> {
        let sql = format!("SELECT {CLAIM_COLUMNS} FROM file_claims c WHERE {clause} ORDER BY c.claimed_at, c.id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt.query_map(params, claim_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    pub fn snapshots(&self, repo: Option<&str>) -> Result<Vec<SnapshotRow>> {
        let (sql, p): (String, Vec<&str>) = match repo {
            Some(r) => (
                format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE deleted_at IS NULL AND repo_path = ?1 ORDER BY created_at DESC, name"
                ),
                vec![r],
            ),
            None => (
                format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE deleted_at IS NULL ORDER BY created_at DESC, name"
                ),
                vec![],
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err("list snapshots"))?;
        let rows =
            stmt.query_map(rusqlite::params_from_iter(p), snapshot_from_row).map_err(self.err("list snapshots"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err("list snapshots"))
    }

    pub fn snapshot(&self, name: &str) -> Result<Option<SnapshotRow>> {
        let sql = format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE name = ?1 AND deleted_at IS NULL");
        self.conn.query_row(&sql, [name], snapshot_from_row).optional().map_err(self.err("get snapshot"))
    }
}

impl<'c> WriteTx<'c> {
    pub(crate) fn new(conn: &'c Connection, path: &'c Path) -> Self {
        WriteTx { q: Queries::new(conn, path) }
    }

    pub(crate) fn exec(&self, op: &'static str, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
        let mut stmt = self.q.conn.prepare_cached(sql).map_err(self.q.err(op))?;
        stmt.execute(p).map_err(self.q.err(op))
    }

    pub fn insert_session(&self, s: &NewSession) -> Result<()> {
        self.exec(
            "insert session",
            "INSERT INTO sessions (id, pid, repo_path, worktree_path, worktree_name, is_main_repo, created_at, \
             last_heartbeat, execution_mode, pid_start_time, branch, base_commit, agent, state, registered_by, \
             worktree_owned, branch_owned, last_activity_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 'local', ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?7)",
            params![
                s.id,
                s.pid,
                s.repo_path,
                s.worktree_path,
                s.worktree_name,
                i64::from(s.is_main_repo),
                s.now.to_string(),
                s.pid_start_time,
                s.branch,
                s.base_commit,
                s.agent,
                s.state.as_str(),
                s.registered_by,
                i64::from(s.worktree_owned),
                i64::from(s.branch_owned),
            ],
        )?;
        Ok(())
    }

    /// Remove a session row outright. Only for a registration whose worktree could not be
    /// created: the row never stood for any work.
    pub fn delete_session(&self, id: &str) -> Result<()> {
        self.exec("delete session", "DELETE FROM sessions WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn set_state(&self, id: &str, state: SessionState) -> Result<()> {
        self.exec("set session state", "UPDATE sessions SET state = ?2 WHERE id = ?1", params![id, state.as_str()])?;
        Ok(())
    }

    pub fn set_agent_pid(&self, id: &str, pid: i64, start_time: Option<i64>) -> Result<()> {
        self.exec(
            "record agent pid",
            "UPDATE sessions SET agent_pid = ?2, agent_pid_start_time = ?3 WHERE id = ?1",
            params![id, pid, start_time],
        )?;
        Ok(())
    }

    /// Remember what `status` last saw in a session's worktree.
    pub fn set_git_details(&self, id: &str, d: &GitDetails) -> Result<()> {
        let n = |v: Option<usize>| v.and_then(|v| i64::try_from(v).ok());
        self.exec(
            "record git details",
            "UPDATE sessions SET git_dirty = ?2, git_ahead = ?3, git_behind = ?4, git_checked_ms = ?5 WHERE id = ?1",
            params![id, n(d.dirty_files), n(d.ahead), n(d.behind), d.checked_ms],
        )?;
        Ok(())
    }

    /// Refresh `last_heartbeat` of every open session with this PID; returns how many.
    pub fn heartbeat_pid(&self, pid: i64, now: Timestamp) -> Result<usize> {
        self.exec(
            "heartbeat",
            "UPDATE sessions SET last_heartbeat = ?2 WHERE pid = ?1 AND state IN ('live', 'starting')",
            params![pid, now.to_string()],
        )
    }

    /// The session ended and its checkout was disposed of (or belonged to the user).
    pub fn mark_ended(&self, id: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "end session",
            "UPDATE sessions SET state = 'ended', ended_at = ?2, agent_state = 'ended', kept_reason = NULL WHERE id = ?1",
            params![id, now.to_string()],
        )?;
        self.end_session_links(id, now)
    }

    /// The session ended but its worktree holds work: the row stays visible as `kept`.
    pub fn mark_kept(&self, id: &str, reason: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "keep session",
            "UPDATE sessions SET state = 'kept', kept_reason = ?2, ended_at = COALESCE(ended_at, ?3), agent_state = 'ended' WHERE id = ?1",
            params![id, reason, now.to_string()],
        )?;
        self.end_session_links(id, now)
    }

    /// Claims end with their session (kept as history); subscriptions stop.
    fn end_session_links(&self, id: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "release claims",
            "UPDATE file_claims SET is_active = 0, released_at = ?2, deleted_reason = COALESCE(deleted_reason, 'session_ended') \
             WHERE session_id = ?1 AND is_active = 1",
            params![id, now.to_string()],
        )?;
        self.exec(
            "end subscriptions",
            "UPDATE subscriptions SET is_active = 0 WHERE session_id = ?1 AND is_active = 1",
            [id],
        )?;
        Ok(())
    }

    /// A hook saw the agent act: refresh the heartbeat and the last activity. `tool` and
    /// `agent_state` are left as they were when `None`. Returns whether the session was open.
    pub fn record_activity(
        &self,
        id: &str,
        tool: Option<&str>,
        agent_state: Option<&str>,
        now: Timestamp,
    ) -> Result<bool> {
        let n = self.exec(
            "record activity",
            "UPDATE sessions SET last_heartbeat = ?4, last_activity_at = ?4, last_tool = COALESCE(?2, last_tool), \
             agent_state = COALESCE(?3, agent_state) WHERE id = ?1 AND state IN ('live', 'starting')",
            params![id, tool, agent_state, now.to_string()],
        )?;
        Ok(n > 0)
    }

    /// Remember that a session's agent edited `file` (repo-relative).
    pub fn touch_file(
        &self,
        session_id: &str,
        repo: &str,
        file: &str,
        tool: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        self.exec(
            "record touched file",
            "INSERT INTO session_files (session_id, repo_path, file_path, last_tool, first_at, last_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (session_id, file_path) DO UPDATE SET last_tool = excluded.last_tool, \
             last_at = excluded.last_at, edits = edits + 1",
            params![session_id, repo, file, tool, now.to_string()],
        )?;
        Ok(())
    }

    /// Remember blob ids of `file` at commits (`None`: no such file there), and forget entries
    /// cached before `prune_before`.
    pub fn cache_blobs(
        &self,
        file: &str,
        blobs: &[(String, Option<String>)],
        now: Timestamp,
        prune_before: Timestamp,
    ) -> Result<()> {
        for (commit, blob) in blobs {
            self.exec(
                "write blob cache",
                "INSERT OR REPLACE INTO blob_cache (commit_id, file_path, blob_id, cached_at) VALUES (?1, ?2, ?3, ?4)",
                params![commit, file, blob, now.secs()],
            )?;
        }
        self.exec("prune blob cache", "DELETE FROM blob_cache WHERE cached_at < ?1", [prune_before.secs()])?;
        Ok(())
    }

    /// Record which sessions the agent was warned about for a file it edited.
    pub fn set_warned_about(&self, session_id: &str, file: &str, others: &str) -> Result<()> {
        self.exec(
            "record warning",
            "UPDATE session_files SET warned_about = ?3 WHERE session_id = ?1 AND file_path = ?2",
            params![session_id, file, others],
        )?;
        Ok(())
    }

    pub fn insert_claim(&self, c: &NewClaim) -> Result<()> {
        self.exec(
            "insert claim",
            "INSERT INTO file_claims (id, session_id, repo_path, file_path, claim_mode, claimed_at, expires_at, \
             last_heartbeat, metadata, is_active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8, 1)",
            params![
                c.id,
                c.session_id,
                c.repo_path,
                c.file_path,
                c.mode,
                c.now.to_string(),
                c.expires_at.to_string(),
                c.metadata
            ],
        )?;
        Ok(())
    }

    /// Change an active claim's mode (`escalated_from`: the mode it had, when it went up), its
    /// expiry and its metadata.
    pub fn update_claim(
        &self,
        id: &str,
        mode: &str,
        escalated_from: Option<&str>,
        expires_at: Timestamp,
        metadata: Option<&str>,
    ) -> Result<bool> {
        let n = self.exec(
            "update claim",
            "UPDATE file_claims SET claim_mode = ?2, escalated_from = COALESCE(?3, escalated_from), expires_at = ?4, \
             metadata = COALESCE(?5, metadata) WHERE id = ?1 AND is_active = 1",
            params![id, mode, escalated_from, expires_at.to_string(), metadata],
        )?;
        Ok(n > 0)
    }

    pub fn insert_merge_event(&self, e: &MergeEventRow) -> Result<()> {
        self.exec(
            "record merge event",
            "INSERT INTO merge_events (id, repo_path, branch_name, source_commit, target_branch, target_commit, \
             merged_at, detected_at, notification_sent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                e.id,
                e.repo_path,
                e.branch,
                e.source_commit,
                e.target,
                e.target_commit,
                e.merged_at.map(|t| t.to_string()),
                e.detected_at.map(|t| t.to_string()),
                i64::from(e.notification_sent)
            ],
        )?;
        Ok(())
    }

    pub fn insert_subscription(&self, s: &SubscriptionRow) -> Result<()> {
        self.exec(
            "subscribe",
            "INSERT INTO subscriptions (id, session_id, repo_path, branch_name, target_branch, created_at, is_active) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
            params![s.id, s.session_id, s.repo_path, s.branch, s.target, s.created_at.map(|t| t.to_string())],
        )?;
        Ok(())
    }

    /// The session was told about `event`: its subscription is done and the event delivered.
    pub fn mark_notified(&self, subscription: &str, event: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "mark subscription notified",
            "UPDATE subscriptions SET notified_at = ?2, is_active = 0 WHERE id = ?1 AND is_active = 1",
            params![subscription, now.to_string()],
        )?;
        self.exec("mark merge event notified", "UPDATE merge_events SET notification_sent = 1 WHERE id = ?1", [event])?;
        Ok(())
    }

    /// End an active claim (kept as history).
    pub fn end_claim(&self, id: &str, reason: &str, now: Timestamp) -> Result<bool> {
        let n = self.exec(
            "release claim",
            "UPDATE file_claims SET is_active = 0, released_at = ?2, deleted_reason = ?3 WHERE id = ?1 AND is_active = 1",
            params![id, now.to_string(), reason],
        )?;
        Ok(n > 0)
    }

    /// A kept session is taken up again by a new agent process (Claude Code reopening its
    /// worktree): it is live again, under the new PID.
    pub fn revive_session(&self, id: &str, pid: i64, pid_start: Option<i64>, now: Timestamp) -> Result<bool> {
        let n = self.exec(
            "revive session",
            "UPDATE sessions SET state = 'live', pid = ?2, pid_start_time = ?3, agent_pid = NULL, \
             agent_pid_start_time = NULL, kept_reason = NULL, ended_at = NULL, agent_state = NULL, \
             last_heartbeat = ?4 WHERE id = ?1 AND state = 'kept'",
            params![id, pid, pid_start, now.to_string()],
        )?;
        Ok(n > 0)
    }

    pub fn insert_snapshot(&self, s: &NewSnapshot) -> Result<()> {
        self.exec(
            "insert snapshot",
            "INSERT INTO snapshots (name, repo_path, session_id, worktree_path, worktree_name, branch, head_commit, \
             commit_id, ref_name, file_count, size_bytes, reason, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                s.name,
                s.repo_path,
                s.session_id,
                s.worktree_path,
                s.worktree_name,
                s.branch,
                s.head_commit,
                s.commit_id,
                s.ref_name,
                s.file_count,
                s.size_bytes,
                s.reason,
                s.now.to_string(),
            ],
        )?;
        Ok(())
    }

    pub fn mark_snapshot_restored(&self, name: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "restore snapshot",
            "UPDATE snapshots SET restored_at = ?2 WHERE name = ?1",
            params![name, now.to_string()],
        )?;
        Ok(())
    }

    pub fn mark_snapshot_deleted(&self, name: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "delete snapshot",
            "UPDATE snapshots SET deleted_at = ?2 WHERE name = ?1",
            params![name, now.to_string()],
        )?;
        Ok(())
    }
}
