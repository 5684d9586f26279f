//! File claims (PRODUCT.md §4.1): advisory locks one session takes on a file or directory of
//! its repository so that other sessions (their agents, through the pre-tool-use hook and the
//! MCP tools) know to keep off. Keyed on the main repository and repo-relative paths, so claims
//! taken from different worktrees of one repository meet. A claim lives while its session lives
//! and its TTL has not passed; it ends with its session and stays as history.

use std::path::{Path, PathBuf};

use pcc_git::Repo;
use pcc_store::{ClaimRow, NewClaim, SessionRow, SessionState, Timestamp};
use serde::Serialize;

use crate::coordinator::{Coordinator, alive_at};
use crate::error::{CoreError, Result};
use crate::hooks::{locate, path_text, relative, resolve_path, same_agent, session_in_dir, short_id};
use crate::rules::{ClaimMode, claim_paths_overlap};

/// Default claim lifetime, and the allowed range (hours).
pub const DEFAULT_TTL_HOURS: u32 = 24;
pub const MAX_TTL_HOURS: u32 = 8760;

/// Who acts: an explicit session id (`--session`, `PARALLEL_CC_SESSION_ID`), else the session
/// working in the checkout that contains `cwd`.
#[derive(Clone, Debug)]
pub struct Actor {
    pub session_id: Option<String>,
    pub cwd: PathBuf,
}

#[derive(Clone, Debug)]
pub struct ClaimRequest {
    pub actor: Actor,
    /// A file or directory (trailing `/` or an existing directory), relative to `actor.cwd` or
    /// absolute, inside one of the repository's checkouts.
    pub file: String,
    pub mode: ClaimMode,
    pub reason: Option<String>,
    /// 1–8760; default 24.
    pub ttl_hours: Option<u32>,
}

/// Which claims to list.
#[derive(Clone, Debug, Default)]
pub struct ClaimFilter {
    /// Any path in the repository (default: the current directory).
    pub repo: Option<PathBuf>,
    pub session: Option<String>,
    /// Claims covering one of these paths (relative to `cwd` or absolute, or repo-relative);
    /// empty: all.
    pub files: Vec<String>,
    /// Ended and expired claims too.
    pub history: bool,
    pub cwd: PathBuf,
}

/// One claim, as every frontend shows it.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimView {
    pub claim_id: String,
    pub repo_path: String,
    pub file_path: String,
    pub claim_mode: String,
    pub session_id: String,
    pub session_pid: Option<i64>,
    pub worktree_name: Option<String>,
    pub branch: Option<String>,
    pub claimed_at: Option<String>,
    pub expires_at: Option<String>,
    /// Whole minutes left; `None` for an ended claim.
    pub minutes_until_expiry: Option<i64>,
    pub reason: Option<String>,
    pub escalated_from: Option<String>,
    /// Active: not released, not expired, and its session alive.
    pub is_active: bool,
    pub released_at: Option<String>,
    /// `released`, `session_ended`, `expired`, `session_dead`, …
    pub ended_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimsView {
    pub repo_path: String,
    pub claims: Vec<ClaimView>,
    pub total: usize,
}

/// What `claim` did.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimOutcome {
    pub success: bool,
    /// `claimed` (new), `upgraded` (own claim, stronger mode), `renewed` (own claim, same or
    /// weaker mode: its expiry moves, its mode stays).
    pub action: &'static str,
    pub claim_id: String,
    pub message: String,
    pub claim: ClaimView,
}

/// What `release_claim` and `escalate_claim` did.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimChangeView {
    pub success: bool,
    pub message: String,
    /// When the claim ended (a release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    pub claim: ClaimView,
}

/// The first claim of another live session that blocks a request (the holder, for the message).
#[derive(Clone, Debug, PartialEq)]
pub struct Blocker {
    pub claim: ClaimRow,
    pub holder: SessionRow,
}

impl Coordinator {
    /// Take a claim (one IMMEDIATE transaction: check and insert cannot interleave with another
    /// session's). A session's existing claim on the same path is upgraded or renewed.
    pub fn claim(&mut self, req: &ClaimRequest) -> Result<ClaimOutcome> {
        let me = self.acting_session(&req.actor)?;
        let ttl = req.ttl_hours.unwrap_or(DEFAULT_TTL_HOURS);
        if !(1..=MAX_TTL_HOURS).contains(&ttl) {
            return Err(CoreError::InvalidClaim {
                reason: format!("TTL {ttl} h is out of range: use 1 to {MAX_TTL_HOURS} hours"),
            });
        }
        let stale = self.config(Some(Path::new(&me.repo_path)))?.stale_minutes();
        let now = self.now();
        let expires = now.plus_secs(i64::from(ttl) * 3600);
        let metadata = req.reason.as_deref().map(|r| serde_json::json!({ "reason": r }).to_string());
        let (action, id, rel) = self.store.write(|tx| -> Result<(&'static str, String, String)> {
            // Sessions and claims as of this transaction: nobody can claim in between.
            let sessions = tx.open_sessions_for_repo(&me.repo_path)?;
            let rel = claim_path(&me, &sessions, &req.actor.cwd, &req.file)?;
            let held = tx.active_claims(&me.repo_path)?;
            if let Some(b) = blocker(&held, &sessions, &me, &rel, req.mode, stale, now) {
                return Err(conflict(&b, &rel, now));
            }
            let own = held.iter().find(|c| c.session_id == me.id && c.file_path == rel && live_claim(c, now));
            if let Some(c) = own {
                let was = ClaimMode::parse(&c.mode).unwrap_or(ClaimMode::Intent);
                let mode = was.max(req.mode);
                let up = (mode > was).then_some(was.as_str());
                let until = c.expires_at.map_or(expires, |e| e.max(expires));
                tx.update_claim(&c.id, mode.as_str(), up, until, metadata.as_deref())?;
                return Ok((if up.is_some() { "upgraded" } else { "renewed" }, c.id.clone(), rel));
            }
            let id = uuid::Uuid::new_v4().to_string();
            tx.insert_claim(&NewClaim {
                id: id.clone(),
                session_id: me.id.clone(),
                repo_path: me.repo_path.clone(),
                file_path: rel.clone(),
                mode: req.mode.as_str().to_string(),
                expires_at: expires,
                metadata: metadata.clone(),
                now,
            })?;
            Ok(("claimed", id, rel))
        })?;
        let claim = self.claim_view_by_id(&id, stale)?;
        let message = match action {
            "claimed" => {
                format!("claimed {rel} {} until {}", claim.claim_mode, claim.expires_at.as_deref().unwrap_or("?"))
            }
            "upgraded" => format!("upgraded the claim on {rel} to {}", claim.claim_mode),
            _ => format!("renewed the {} claim on {rel}", claim.claim_mode),
        };
        Ok(ClaimOutcome { success: true, action, claim_id: id, message, claim })
    }

    /// End a claim. Only its session may, unless `force`.
    pub fn release_claim(&mut self, id: &str, actor: &Actor, force: bool) -> Result<ClaimChangeView> {
        let c = self.store.read().claim(id)?.ok_or_else(|| CoreError::UnknownClaim { id: id.to_string() })?;
        if !force {
            let me = self.acting_session(actor)?;
            if me.id != c.session_id {
                return Err(CoreError::NotClaimOwner { id: id.to_string(), owner: c.session_id.clone() });
            }
        }
        let now = self.now();
        let ended = self.store.write(|tx| tx.end_claim(id, if force { "force_released" } else { "released" }, now))?;
        if !ended {
            return Err(CoreError::ClaimNotActive { id: id.to_string() });
        }
        let stale = self.config(Some(Path::new(&c.repo_path)))?.stale_minutes();
        let claim = self.claim_view_by_id(id, stale)?;
        Ok(ClaimChangeView {
            success: true,
            message: format!("released the claim on {}", claim.file_path),
            released_at: claim.released_at.clone(),
            claim,
        })
    }

    /// Raise a claim's mode: INTENT → SHARED → EXCLUSIVE, never down or sideways, checked
    /// against the other sessions' claims like a new claim.
    pub fn escalate_claim(&mut self, id: &str, actor: &Actor, to: ClaimMode) -> Result<ClaimChangeView> {
        let me = self.acting_session(actor)?;
        let stale = self.config(Some(Path::new(&me.repo_path)))?.stale_minutes();
        let now = self.now();
        self.store.write(|tx| -> Result<()> {
            let sessions = tx.open_sessions_for_repo(&me.repo_path)?;
            let c = tx.claim(id)?.ok_or_else(|| CoreError::UnknownClaim { id: id.to_string() })?;
            if c.session_id != me.id {
                return Err(CoreError::NotClaimOwner { id: id.to_string(), owner: c.session_id.clone() });
            }
            if !live_claim(&c, now) {
                return Err(CoreError::InvalidClaim { reason: format!("claim {id} has ended; take a new one") });
            }
            let was = ClaimMode::parse(&c.mode).unwrap_or(ClaimMode::Intent);
            if to <= was {
                return Err(CoreError::InvalidClaim {
                    reason: format!(
                        "claim {} is {}: escalation only goes up (INTENT → SHARED → EXCLUSIVE)",
                        short_id(id),
                        was.as_str()
                    ),
                });
            }
            let held = tx.active_claims(&me.repo_path)?;
            if let Some(b) = blocker(&held, &sessions, &me, &c.file_path, to, stale, now) {
                return Err(conflict(&b, &c.file_path, now));
            }
            let until = c.expires_at.unwrap_or(now.plus_secs(i64::from(DEFAULT_TTL_HOURS) * 3600));
            tx.update_claim(id, to.as_str(), Some(was.as_str()), until, None)?;
            Ok(())
        })?;
        let claim = self.claim_view_by_id(id, stale)?;
        Ok(ClaimChangeView {
            success: true,
            message: format!("the claim on {} is now {}", claim.file_path, claim.claim_mode),
            released_at: None,
            claim,
        })
    }

    /// Claims of one repository: in force (default), or all of them with `history`.
    pub fn claims(&mut self, f: &ClaimFilter) -> Result<ClaimsView> {
        let repo = Repo::discover(f.repo.as_deref().unwrap_or(&f.cwd))?;
        let key = path_text(repo.main_path());
        let stale = self.config(Some(repo.main_path()))?.stale_minutes();
        let rows = self.store.read().claims(&key, f.session.as_deref(), f.history)?;
        let sessions = self.store.read().open_sessions_for_repo(&key)?;
        let files: Vec<String> = f.files.iter().map(|file| filter_path(&key, &sessions, &f.cwd, file)).collect();
        let mut claims = Vec::new();
        for c in rows {
            if !files.is_empty() && !files.iter().any(|file| claim_paths_overlap(&c.file_path, file)) {
                continue;
            }
            let v = self.claim_view(&c, stale)?;
            if v.is_active || f.history {
                claims.push(v);
            }
        }
        Ok(ClaimsView { repo_path: key, total: claims.len(), claims })
    }

    /// Where an actor works: its directory, unless it names a session whose checkout (still
    /// there) does not contain that directory: then that checkout.
    pub fn actor_dir(&self, actor: &Actor) -> PathBuf {
        let checkout = actor
            .session_id
            .as_ref()
            .and_then(|id| self.store.read().session(id).ok().flatten())
            .map(|s| PathBuf::from(s.worktree_path))
            .filter(|p| p.is_dir());
        match checkout {
            Some(c) if !resolve_path(&actor.cwd).starts_with(resolve_path(&c)) => c,
            _ => actor.cwd.clone(),
        }
    }

    /// The session an actor stands for (see [`Actor`]).
    pub(crate) fn acting_session(&self, actor: &Actor) -> Result<SessionRow> {
        let q = self.store.read();
        if let Some(id) = &actor.session_id {
            return match q.session(id)? {
                Some(s) if matches!(s.state, SessionState::Live | SessionState::Starting) => Ok(s),
                _ => Err(CoreError::UnknownSession { id: id.clone() }),
            };
        }
        // Of several sessions in that checkout, the newest live one.
        let newest = |here: Vec<SessionRow>| {
            here.into_iter()
                .filter(|s| matches!(s.state, SessionState::Live | SessionState::Starting))
                .max_by_key(|s| s.created_at)
        };
        session_in_dir(&q, &actor.cwd, newest)?.ok_or_else(|| CoreError::NoSession { dir: resolve_path(&actor.cwd) })
    }

    fn claim_view_by_id(&self, id: &str, stale: i64) -> Result<ClaimView> {
        let c = self.store.read().claim(id)?.ok_or_else(|| CoreError::UnknownClaim { id: id.to_string() })?;
        self.claim_view(&c, stale)
    }

    fn claim_view(&self, c: &ClaimRow, stale: i64) -> Result<ClaimView> {
        let now = self.now();
        let holder = self.store.read().session(&c.session_id)?;
        let alive = holder.as_ref().is_some_and(|s| s.state != SessionState::Kept && alive_at(s, stale, now));
        let expired = c.expires_at.is_some_and(|e| e <= now);
        let is_active = c.is_active && !expired && alive;
        let ended_reason = match (c.is_active, expired, alive) {
            (false, _, _) => c.ended_reason.clone(),
            (true, true, _) => Some("expired".to_string()),
            (true, false, false) => Some("session_dead".to_string()),
            (true, false, true) => None,
        };
        let reason = claim_reason(c);
        Ok(ClaimView {
            claim_id: c.id.clone(),
            repo_path: c.repo_path.clone(),
            file_path: c.file_path.clone(),
            claim_mode: c.mode.clone(),
            session_id: c.session_id.clone(),
            session_pid: holder.as_ref().map(|s| s.pid),
            worktree_name: holder.as_ref().and_then(|s| s.worktree_name.clone()),
            branch: holder.as_ref().and_then(|s| s.branch.clone()),
            claimed_at: c.claimed_at.map(|t| t.to_string()),
            expires_at: c.expires_at.map(|t| t.to_string()),
            minutes_until_expiry: is_active.then(|| c.expires_at.map(|e| (e.secs() - now.secs()) / 60)).flatten(),
            reason,
            escalated_from: c.escalated_from.clone(),
            is_active,
            released_at: c.released_at.map(|t| t.to_string()),
            ended_reason,
        })
    }
}

/// The reason given with a claim (its metadata, `{"reason": …}`), if any.
pub(crate) fn claim_reason(c: &ClaimRow) -> Option<String> {
    let meta: serde_json::Value = serde_json::from_str(c.metadata.as_deref()?).ok()?;
    meta.get("reason")?.as_str().map(str::to_string)
}

/// An active claim row whose TTL has not passed (its session's liveness is the caller's test).
fn live_claim(c: &ClaimRow, now: Timestamp) -> bool {
    c.is_active && c.expires_at.is_none_or(|e| e > now)
}

/// The first claim another live session holds on an overlapping path that does not allow
/// `mode`. Claims of the same agent process (its own worktrees, as the pre-tool-use hook sees
/// it) never block it.
pub(crate) fn blocker(
    held: &[ClaimRow],
    sessions: &[SessionRow],
    me: &SessionRow,
    rel: &str,
    mode: ClaimMode,
    stale: i64,
    now: Timestamp,
) -> Option<Blocker> {
    held.iter()
        .filter(|c| c.session_id != me.id && live_claim(c, now) && claim_paths_overlap(&c.file_path, rel))
        .filter(|c| !ClaimMode::parse(&c.mode).is_some_and(|m| m.allows(mode)))
        .find_map(|c| {
            let holder = sessions.iter().find(|s| s.id == c.session_id)?;
            let alive = holder.state != SessionState::Kept && !same_agent(holder, me) && alive_at(holder, stale, now);
            alive.then(|| Blocker { claim: c.clone(), holder: holder.clone() })
        })
}

/// Why a claim was refused: the claim in the way and its holder.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimConflict {
    pub file: String,
    /// The path the blocking claim names (`file` itself, or a directory above or below it).
    pub claimed: String,
    pub mode: String,
    pub claim_id: String,
    pub holder: String,
    pub branch: Option<String>,
    pub since: Option<String>,
    pub expires: Option<String>,
    pub minutes_left: Option<i64>,
}

impl std::fmt::Display for ClaimConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is claimed {} by session {} (branch {})",
            self.file,
            self.mode,
            self.holder,
            self.branch.as_deref().unwrap_or("?")
        )?;
        if self.claimed != self.file {
            write!(f, " through its claim on {}", self.claimed)?;
        }
        write!(f, " since {}, until {}", self.since.as_deref().unwrap_or("?"), self.expires.as_deref().unwrap_or("?"))?;
        if let Some(m) = self.minutes_left {
            write!(f, " ({m} min left)")?;
        }
        Ok(())
    }
}

fn conflict(b: &Blocker, rel: &str, now: Timestamp) -> CoreError {
    let c = &b.claim;
    CoreError::ClaimConflict(Box::new(ClaimConflict {
        file: rel.to_string(),
        claimed: c.file_path.clone(),
        mode: c.mode.clone(),
        claim_id: c.id.clone(),
        holder: b.holder.id.clone(),
        branch: b.holder.branch.clone(),
        since: c.claimed_at.map(|t| t.to_string()),
        expires: c.expires_at.map(|t| t.to_string()),
        minutes_left: c.expires_at.map(|e| (e.secs() - now.secs()).max(0) / 60),
    }))
}

/// The repo-relative path a claim names (directories end in `/`), from a path relative to `cwd`
/// or absolute. It must lie inside one of the repository's checkouts, below its root.
fn claim_path(me: &SessionRow, sessions: &[SessionRow], cwd: &Path, file: &str) -> Result<String> {
    let bad = |reason: String| CoreError::InvalidClaim { reason };
    if file.trim().is_empty() {
        return Err(bad("name a file or directory to claim".into()));
    }
    if file.contains('\0') {
        return Err(bad("the path contains a NUL byte".into()));
    }
    let given = Path::new(file);
    let target = resolve_path(&if given.is_absolute() { given.to_path_buf() } else { cwd.join(given) });
    let Some((root, _)) = locate(&target, &me.repo_path, sessions) else {
        return Err(bad(format!("{file} is outside the repository {}", me.repo_path)));
    };
    let rel = relative(&target, &root);
    if rel.is_empty() {
        return Err(bad(format!("{file} is the root of a checkout: claim a file or directory inside it")));
    }
    // (`..` is already resolved away: the path is below the checkout's root.)
    if rel.split('/').any(|c| c == ".git") {
        return Err(bad(format!("{file} is not a path of the repository's files")));
    }
    let dir = file.ends_with('/') || target.is_dir();
    Ok(if dir { format!("{rel}/") } else { rel })
}

/// A `--file` filter as a repo-relative path: resolved like a claim path when it lies in a
/// checkout, else taken as repo-relative already.
fn filter_path(repo: &str, sessions: &[SessionRow], cwd: &Path, file: &str) -> String {
    let given = Path::new(file);
    let target = resolve_path(&if given.is_absolute() { given.to_path_buf() } else { cwd.join(given) });
    match locate(&target, repo, sessions) {
        Some((root, _)) if target != root => relative(&target, &root),
        _ => file.trim_start_matches("./").to_string(),
    }
}
