//! Typed queries. Rows are mapped by hand; all SQL of the project lives in this crate.

use std::ops::Deref;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Result, StoreError};
use crate::model::{GitDetails, NewSession, NewSnapshot, SessionRow, SessionState, SnapshotRow};
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

fn ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
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

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
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

    fn err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
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

    fn exec(&self, op: &'static str, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
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
