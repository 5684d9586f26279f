//! What `parallel-cc hook <event>` does for Claude Code (PRODUCT.md §3.2, CLAUDE-CODE-HOOKS.md).
//!
//! Each event is one short process on the agent's critical path, so the work is a few indexed
//! queries and at most one write transaction; git is opened only to compare one file across the
//! other live sessions' checkouts. The caller turns any error into "no effect" (exit 0, nothing on
//! stdout): a hook must never block the agent because of its own failure.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use pcc_git::{CommitId, Repo};
use pcc_store::{ClaimRow, SessionRow, SessionState, Timestamp, TouchedFile};
use serde_json::json;

use crate::coordinator::Coordinator;
use crate::error::{CoreError, Result};
use crate::hook_input::HookInput;
use crate::rules::ClaimMode;
use crate::session::{Isolation, RegisterRequest, RegisteredBy};
use crate::{env, process};

/// The events parallel-cc handles, by the name used on its command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    PreToolUse,
    PostToolUse,
    PostToolUseFailure,
    SessionStart,
    SessionEnd,
    Stop,
    WorktreeCreate,
    WorktreeRemove,
}

impl HookEvent {
    /// (command-line name, Claude Code's event name, event)
    pub const ALL: [(&'static str, &'static str, HookEvent); 8] = [
        ("pre-tool-use", "PreToolUse", HookEvent::PreToolUse),
        ("post-tool-use", "PostToolUse", HookEvent::PostToolUse),
        ("post-tool-use-failure", "PostToolUseFailure", HookEvent::PostToolUseFailure),
        ("session-start", "SessionStart", HookEvent::SessionStart),
        ("session-end", "SessionEnd", HookEvent::SessionEnd),
        ("stop", "Stop", HookEvent::Stop),
        ("worktree-create", "WorktreeCreate", HookEvent::WorktreeCreate),
        ("worktree-remove", "WorktreeRemove", HookEvent::WorktreeRemove),
    ];

    /// From the command-line name (`post-tool-use`) or Claude Code's name (`PostToolUse`).
    pub fn parse(name: &str) -> Option<HookEvent> {
        Self::ALL.iter().find(|(cli, cc, _)| *cli == name || *cc == name).map(|(_, _, e)| *e)
    }

    pub fn cli_name(self) -> &'static str {
        Self::ALL.iter().find(|(_, _, e)| *e == self).map_or("", |(n, _, _)| n)
    }

    /// Claude Code's name, as `hookSpecificOutput.hookEventName` needs it.
    pub fn claude_name(self) -> &'static str {
        Self::ALL.iter().find(|(_, _, e)| *e == self).map_or("", |(_, n, _)| n)
    }
}

/// What the hook process knows besides stdin: its environment, inherited from Claude Code.
#[derive(Clone, Debug, Default)]
pub struct HookEnv {
    /// `PARALLEL_CC_SESSION_ID`, exported by `parallel-cc run` for the agent.
    pub session_id: Option<String>,
    /// `CLAUDE_PROJECT_DIR`: the checkout Claude Code was started in (stable across `cd`).
    pub project_dir: Option<PathBuf>,
    /// The Claude Code process: `CLAUDE_PID`, else the hook's parent (skipping the `sh -c`).
    pub agent_pid: Option<i64>,
}

impl HookEnv {
    pub fn from_process() -> HookEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        HookEnv {
            session_id: var(env::SESSION_ID),
            project_dir: var(env::CLAUDE_PROJECT_DIR).map(PathBuf::from),
            agent_pid: var(env::CLAUDE_PID)
                .and_then(|p| p.trim().parse::<i64>().ok())
                .filter(|p| *p > 0)
                .or_else(process::agent_parent),
        }
    }
}

/// What the hook prints.
#[derive(Clone, Debug, PartialEq)]
pub enum HookReply {
    /// Nothing on stdout: no effect.
    Silent,
    /// One JSON document (Claude Code's `SyncHookJSONOutput`).
    Json(serde_json::Value),
    /// Plain text: the worktree path of `WorktreeCreate`.
    Text(String),
}

/// Another live session changing the same file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FileOverlap {
    pub session: SessionRow,
    /// The agent edited it (hooks), at this time.
    pub edited_at: Option<Timestamp>,
    /// Its checkout's copy differs from its base and from the main checkout's HEAD.
    pub changed: bool,
    /// Claims it holds on the file (or a directory above it).
    pub claims: Vec<ClaimRow>,
}

/// How long a blob id looked up for the overlap test stays cached (it never goes stale; this only
/// bounds the table).
const BLOB_CACHE_SECS: i64 = 30 * 24 * 3600;

impl Coordinator {
    /// Handle one hook event. Errors are for the caller to log; they must not reach the agent.
    pub fn hook(&mut self, event: HookEvent, input: &HookInput, env: &HookEnv) -> Result<HookReply> {
        let _span = tracing::debug_span!("hook", event = event.cli_name()).entered();
        match event {
            HookEvent::PreToolUse => self.hook_pre_tool_use(input, env),
            HookEvent::PostToolUse | HookEvent::PostToolUseFailure => self.hook_post_tool_use(event, input, env),
            HookEvent::SessionStart => self.hook_session_start(input, env),
            HookEvent::Stop => {
                if let Some(me) = self.hook_session(input, env)? {
                    let now = self.now();
                    self.store.write(|tx| tx.record_activity(&me.id, None, Some("idle"), now))?;
                }
                Ok(HookReply::Silent)
            }
            HookEvent::SessionEnd => self.hook_session_end(input, env),
            HookEvent::WorktreeCreate => self.hook_worktree_create(input, env),
            HookEvent::WorktreeRemove => self.hook_worktree_remove(input),
        }
    }

    /// The session the hook runs for: `PARALLEL_CC_SESSION_ID`, else the session working in
    /// `CLAUDE_PROJECT_DIR`, else the one whose checkout contains stdin's `cwd`.
    pub(crate) fn hook_session(&self, input: &HookInput, env: &HookEnv) -> Result<Option<SessionRow>> {
        let q = self.store.read();
        if let Some(id) = &env.session_id
            && let Some(s) = q.session(id)?
            && matches!(s.state, SessionState::Live | SessionState::Starting)
        {
            return Ok(Some(s));
        }
        if let Some(dir) = &env.project_dir {
            let dir = resolve_path(dir);
            let found = q.open_sessions_at(&[&path_text(&dir)])?;
            if let Some(s) = pick(found, env) {
                return Ok(Some(s));
            }
        }
        match &input.cwd {
            Some(cwd) => session_in_dir(&q, cwd, |here| pick(here, env)),
            None => Ok(None),
        }
    }

    fn hook_pre_tool_use(&mut self, input: &HookInput, env: &HookEnv) -> Result<HookReply> {
        let Some(file) = input.edited_file() else { return Ok(HookReply::Silent) };
        let Some(me) = self.hook_session(input, env)? else { return Ok(HookReply::Silent) };
        let target = resolve_path(&file);
        let sessions = self.store.read().open_sessions_for_repo(&me.repo_path)?;
        let Some((root, owner)) = locate(&target, &me.repo_path, &sessions) else { return Ok(HookReply::Silent) };
        let rel = relative(&target, &root);
        let cfg = self.config(Some(Path::new(&me.repo_path)))?;
        let deny = |reason: String| {
            HookReply::Json(json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            }))
        };
        let acting = match acting_session(&root, owner, &me) {
            Some(a) => a,
            None if !cfg.bool("hooks.guard_worktree").unwrap_or(true) => me.clone(),
            None => {
                let right = Path::new(&me.worktree_path).join(&rel);
                let whose = match owner {
                    Some(o) => format!(
                        "the checkout of another parallel-cc session ({}, branch {})",
                        short_id(&o.id),
                        o.branch.as_deref().unwrap_or("?")
                    ),
                    None => "the main checkout".to_string(),
                };
                return Ok(deny(format!(
                    "parallel-cc: {} is in {whose}, not in this session's own checkout. This session works in \
                     {}: make the change to {} instead.",
                    target.display(),
                    me.worktree_path,
                    right.display()
                )));
            }
        };
        if !cfg.bool("hooks.enforce_claims").unwrap_or(true) {
            return Ok(HookReply::Silent);
        }
        // An edit is what a SHARED claim allows: only another live session's EXCLUSIVE claim on
        // the file, or on a directory above it, stands in its way (the rule `claims claim` uses).
        let claims = self.store.read().active_claims_covering(&me.repo_path, &rel)?;
        let blocked = crate::claims::blocker(
            &claims,
            &sessions,
            &acting,
            &rel,
            ClaimMode::Shared,
            cfg.stale_minutes(),
            self.now(),
        );
        let Some(crate::claims::Blocker { claim: c, holder }) = blocked else { return Ok(HookReply::Silent) };
        Ok(deny(format!(
            "parallel-cc: {rel} is claimed EXCLUSIVE by another session ({}, branch {}, working in {}) {}. \
             Do not edit it: work on other files first, or ask the user to have that session release \
             the claim (`parallel-cc claims` lists claims).",
            short_id(&holder.id),
            holder.branch.as_deref().unwrap_or("?"),
            holder.worktree_path,
            claim_terms(&c)
        )))
    }

    fn hook_post_tool_use(&mut self, event: HookEvent, input: &HookInput, env: &HookEnv) -> Result<HookReply> {
        let Some(me) = self.hook_session(input, env)? else { return Ok(HookReply::Silent) };
        let now = self.now();
        let tool = input.tool_name.as_deref();
        let mut sessions = Vec::new();
        let mut edited: Option<(SessionRow, String)> = None;
        if let Some(file) = input.edited_file() {
            let target = resolve_path(&file);
            sessions = self.store.read().open_sessions_for_repo(&me.repo_path)?;
            if let Some((root, owner)) = locate(&target, &me.repo_path, &sessions) {
                edited = acting_session(&root, owner, &me).map(|a| (a, relative(&target, &root)));
            }
        }
        let Some((acting, rel)) = edited else {
            let notice = self.store.write(|tx| -> Result<Option<String>> {
                tx.record_activity(&me.id, tool, Some("working"), now)?;
                crate::merges::take_merge_notices(tx, &me, now)
            })?;
            return Ok(context_reply(event, notice.into_iter().collect()));
        };
        let touched = self.store.read().touched_file(&acting.repo_path, &rel)?;
        let warned = touched.iter().find(|t| t.session_id == acting.id).and_then(|t| t.warned_about.clone());
        let (overlaps, looked_up) = self.file_overlaps(&acting, &rel, &sessions, &touched)?;
        let mut ids: Vec<&str> = overlaps.iter().map(|o| o.session.id.as_str()).collect();
        ids.sort_unstable();
        let key = ids.join(",");
        // Warn once per set of other sessions: again only when that set changes.
        let news = warned.as_deref().unwrap_or("") != key;
        let notice = self.store.write(|tx| -> Result<Option<String>> {
            tx.record_activity(&me.id, tool, Some("working"), now)?;
            if acting.id != me.id {
                tx.record_activity(&acting.id, tool, Some("working"), now)?;
            }
            tx.touch_file(&acting.id, &acting.repo_path, &rel, tool, now)?;
            if news {
                tx.set_warned_about(&acting.id, &rel, &key)?;
            }
            if !looked_up.is_empty() {
                tx.cache_blobs(&rel, &looked_up, now, now.plus_secs(-BLOB_CACHE_SECS))?;
            }
            crate::merges::take_merge_notices(tx, &me, now)
        })?;
        let mut context = Vec::new();
        if news && !overlaps.is_empty() {
            context.push(overlap_warning(&rel, &overlaps, now));
        }
        context.extend(notice);
        Ok(context_reply(event, context))
    }

    /// Other live sessions of the repository changing `rel`: edited through their hooks, changed
    /// in their checkout (committed or not), or claimed. `touched`: the sessions that edited it.
    /// Also returns the blob ids looked up in the repository, for the blob cache.
    fn file_overlaps(
        &self,
        acting: &SessionRow,
        rel: &str,
        sessions: &[SessionRow],
        touched: &[TouchedFile],
    ) -> Result<(Vec<FileOverlap>, Vec<BlobAt>)> {
        let now = self.now();
        let stale = self.config(Some(Path::new(&acting.repo_path)))?.stale_minutes();
        let others: Vec<&SessionRow> = sessions
            .iter()
            .filter(|s| s.id != acting.id && s.state != SessionState::Kept && s.execution_mode != "e2b")
            .collect();
        if others.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let claims = self.store.read().active_claims_covering(&acting.repo_path, rel)?;
        let cached = self.store.read().cached_blobs(rel)?;
        let mut versions = Versions::new(&acting.repo_path, rel, cached);
        // Which sessions are alive (a /proc read each) is found on a second thread while this one
        // reads their copies of the file: the two halves of this hook's time.
        let (alive, found) = std::thread::scope(|scope| {
            // A thread that cannot be started (a pids limit) only means probing on this one.
            let probing = (others.len() > 1)
                .then(|| {
                    let others = &others;
                    std::thread::Builder::new()
                        .spawn_scoped(scope, move || {
                            others.iter().map(|o| crate::coordinator::alive_at(o, stale, now)).collect()
                        })
                        .ok()
                })
                .flatten();
            let found: Vec<(Option<Timestamp>, bool)> = others
                .iter()
                .map(|o| {
                    let edited_at = touched.iter().find(|t| t.session_id == o.id).map(|t| t.last_at);
                    (edited_at, edited_at.is_none() && versions.changed_in(o))
                })
                .collect();
            let alive: Vec<bool> = match probing.map(|h| h.join()) {
                Some(Ok(v)) => v,
                _ => others.iter().map(|o| crate::coordinator::alive_at(o, stale, now)).collect(),
            };
            (alive, found)
        });
        let mut out = Vec::new();
        for ((o, alive), (edited_at, changed)) in others.into_iter().zip(alive).zip(found) {
            let held: Vec<ClaimRow> = claims
                .iter()
                .filter(|c| c.session_id == o.id && c.expires_at.is_none_or(|e| e > now))
                .cloned()
                .collect();
            if alive && (edited_at.is_some() || changed || !held.is_empty()) {
                out.push(FileOverlap { session: o.clone(), edited_at, changed, claims: held });
            }
        }
        Ok((out, versions.fresh))
    }

    fn hook_session_start(&mut self, input: &HookInput, env: &HookEnv) -> Result<HookReply> {
        let now = self.now();
        if let Some(me) = self.hook_session(input, env)? {
            self.store.write(|tx| tx.record_activity(&me.id, None, Some("working"), now))?;
            return Ok(HookReply::Silent);
        }
        // Claude Code started without `parallel-cc run`: register it where it works (it cannot
        // be moved into a worktree now), so other sessions see it and it sees them.
        let Some(pid) = env.agent_pid else { return Ok(HookReply::Silent) };
        let Some(dir) = env.project_dir.clone().or_else(|| input.cwd.clone()) else { return Ok(HookReply::Silent) };
        let Some(checkout) = pcc_git::Repo::find_checkout(&dir) else { return Ok(HookReply::Silent) };
        let detail = self.register(&RegisterRequest {
            repo: checkout,
            pid,
            isolation: Isolation::Never,
            agent: Some("claude".into()),
            registered_by: RegisteredBy::Hook,
            ..RegisterRequest::default()
        })?;
        let id = detail.registration.session_id;
        self.store.write(|tx| tx.record_activity(&id, None, Some("working"), now))?;
        Ok(HookReply::Silent)
    }

    fn hook_session_end(&mut self, input: &HookInput, env: &HookEnv) -> Result<HookReply> {
        let Some(me) = self.hook_session(input, env)? else { return Ok(HookReply::Silent) };
        let now = self.now();
        // `/clear` and `/resume` end a conversation, not the Claude Code process: it goes on
        // working in the same checkout.
        let process_ends = !matches!(input.reason.as_deref(), Some("clear" | "resume" | "compact"));
        if process_ends && me.registered_by == "hook" {
            let outcome = self.release_session(&me.id)?;
            tracing::info!(session = %me.id, kept = outcome.kept, removed = outcome.worktree_removed, "session ended");
        } else {
            self.store.write(|tx| tx.record_activity(&me.id, None, Some("idle"), now))?;
        }
        Ok(HookReply::Silent)
    }

    fn hook_worktree_create(&mut self, input: &HookInput, env: &HookEnv) -> Result<HookReply> {
        const EVENT: &str = "worktree-create";
        let fail = |reason: &str| CoreError::Hook { event: EVENT, reason: reason.to_string() };
        let name = worktree_name_from(input.name.as_deref().unwrap_or_default());
        let dir = env.project_dir.clone().or_else(|| input.cwd.clone()).ok_or_else(|| fail("no cwd in the input"))?;
        let pid = env.agent_pid.ok_or_else(|| fail("cannot tell which process is Claude Code (no CLAUDE_PID)"))?;
        let repo = Repo::discover(&dir)?;
        let key = path_text(repo.main_path());
        let sessions = self.store.read().open_sessions_for_repo(&key)?;
        let now = self.now();
        // The same name again: Claude Code resumes its worktree.
        if let Some(s) = sessions.iter().find(|s| s.worktree_owned && s.worktree_name.as_deref() == Some(name.as_str()))
            && Path::new(&s.worktree_path).is_dir()
        {
            if s.state == SessionState::Kept {
                let start = process::start_time(pid);
                self.store.write(|tx| tx.revive_session(&s.id, pid, start, now))?;
                return Ok(HookReply::Text(s.worktree_path.clone()));
            }
            if s.pid == pid || s.agent_pid == Some(pid) {
                return Ok(HookReply::Text(s.worktree_path.clone()));
            }
        }
        let taken: Vec<&str> = sessions.iter().filter_map(|s| s.worktree_name.as_deref()).collect();
        let mut last_err = None;
        for n in 1..=20 {
            let candidate = if n == 1 { name.clone() } else { format!("{name}-{n}") };
            if taken.contains(&candidate.as_str()) {
                continue;
            }
            let req = RegisterRequest {
                repo: repo.checkout().to_path_buf(),
                pid,
                isolation: Isolation::Always,
                name: Some(candidate),
                agent: Some("claude".into()),
                registered_by: RegisteredBy::Hook,
                new_session: true,
                ..RegisterRequest::default()
            };
            match self.register(&req) {
                Ok(detail) => return Ok(HookReply::Text(detail.registration.worktree_path)),
                Err(CoreError::Git(pcc_git::GitError::WorktreeExists { .. })) => {}
                Err(e) => return Err(e),
            }
            last_err = Some(n);
        }
        Err(fail(&format!("no free worktree name for {name:?} after {} tries", last_err.unwrap_or(0))))
    }

    fn hook_worktree_remove(&mut self, input: &HookInput) -> Result<HookReply> {
        let Some(path) = &input.worktree_path else { return Ok(HookReply::Silent) };
        let path = resolve_path(path);
        let found = self.store.read().open_sessions_at(&[&path_text(&path)])?;
        let Some(s) = found.into_iter().find(|s| !s.is_main_repo && s.state != SessionState::Kept) else {
            // Not ours (or already kept): parallel-cc never deletes a worktree it did not create.
            tracing::info!(path = %path.display(), "worktree-remove: no session works there");
            return Ok(HookReply::Silent);
        };
        let outcome = self.release_session(&s.id)?;
        if outcome.kept {
            return Ok(HookReply::Json(json!({
                "systemMessage": format!(
                    "parallel-cc kept the worktree {} ({}); `parallel-cc status` lists it, `parallel-cc cleanup` \
                     removes it once its work is merged or saved",
                    s.worktree_path,
                    outcome.reason.as_deref().unwrap_or("it holds work")
                )
            })));
        }
        Ok(HookReply::Silent)
    }
}

/// Of several sessions working in one checkout, the one of this Claude Code process, else the
/// newest live one.
/// The session working in the deepest checkout that contains `dir` (worktrees may live inside
/// the main checkout), as `choose` picks it among that checkout's open sessions; a checkout where
/// it picks none is passed over for the one above.
pub(crate) fn session_in_dir(
    q: &pcc_store::Queries<'_>,
    dir: &Path,
    choose: impl Fn(Vec<SessionRow>) -> Option<SessionRow>,
) -> Result<Option<SessionRow>> {
    let ancestors: Vec<String> = resolve_path(dir).ancestors().map(path_text).collect();
    let refs: Vec<&str> = ancestors.iter().map(String::as_str).collect();
    let found = q.open_sessions_at(&refs)?;
    for a in &ancestors {
        let here: Vec<SessionRow> = found.iter().filter(|s| &s.worktree_path == a).cloned().collect();
        if let Some(s) = choose(here) {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

fn pick(found: Vec<SessionRow>, env: &HookEnv) -> Option<SessionRow> {
    let mut live: Vec<SessionRow> =
        found.into_iter().filter(|s| matches!(s.state, SessionState::Live | SessionState::Starting)).collect();
    if let Some(pid) = env.agent_pid
        && let Some(i) = live.iter().position(|s| s.pid == pid || s.agent_pid == Some(pid))
    {
        return Some(live.swap_remove(i));
    }
    live.pop()
}

/// What a post-tool-use hook tells the agent: nothing, or these paragraphs as `additionalContext`.
fn context_reply(event: HookEvent, context: Vec<String>) -> HookReply {
    if context.is_empty() {
        return HookReply::Silent;
    }
    HookReply::Json(json!({
        "hookSpecificOutput": {
            "hookEventName": event.claude_name(),
            "additionalContext": context.join("\n\n"),
        }
    }))
}

/// Sessions of the same agent process: a session and the worktrees Claude Code created for it
/// (its `--worktree` and its subagents' worktrees, all registered under the Claude Code PID).
pub(crate) fn same_agent(a: &SessionRow, b: &SessionRow) -> bool {
    if a.id == b.id {
        return true;
    }
    let pids = |s: &SessionRow| [Some(s.pid), s.agent_pid];
    pids(a).iter().flatten().any(|p| pids(b).contains(&Some(*p)))
}

/// The session an edit in the checkout at `root` (worked in by `owner`) acts for: `me` in its own
/// checkout, or a session of the same agent working there; `None` for anyone else's checkout.
fn acting_session(root: &Path, owner: Option<&SessionRow>, me: &SessionRow) -> Option<SessionRow> {
    match owner {
        Some(o) if same_agent(o, me) => Some(o.clone()),
        _ if root == Path::new(&me.worktree_path) => Some(me.clone()),
        _ => None,
    }
}

/// The checkout `target` lies in: the deepest of the main checkout and the open sessions'
/// checkouts, with the session working there (none for an unregistered main checkout).
pub(crate) fn locate<'s>(
    target: &Path,
    main: &str,
    sessions: &'s [SessionRow],
) -> Option<(PathBuf, Option<&'s SessionRow>)> {
    let mut best: Option<(PathBuf, Option<&SessionRow>)> = None;
    let mut consider = |root: &Path, owner: Option<&'s SessionRow>| {
        if !target.starts_with(root) {
            return;
        }
        let deeper = best.as_ref().is_none_or(|(b, _)| root.components().count() > b.components().count());
        let better_owner = best.as_ref().is_some_and(|(b, o)| b == root && o.is_none() && owner.is_some());
        if deeper || better_owner {
            best = Some((root.to_path_buf(), owner));
        }
    };
    consider(Path::new(main), None);
    for s in sessions.iter().filter(|s| matches!(s.state, SessionState::Live | SessionState::Starting)) {
        consider(Path::new(&s.worktree_path), Some(s));
    }
    best
}

/// `target` relative to `root`, `/`-separated.
pub(crate) fn relative(target: &Path, root: &Path) -> String {
    let rel = target.strip_prefix(root).unwrap_or(target);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

pub(crate) fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// An absolute, normalised path with symlinks of its existing part resolved (the file itself
/// may not exist yet: Write creates it).
pub(crate) fn resolve_path(path: &Path) -> PathBuf {
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other.as_os_str()),
        }
    }
    let mut existing = clean.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            out.extend(rest.iter().rev());
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return clean,
        }
    }
}

pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// `since … until …, reason: …` for a claim.
fn claim_terms(c: &ClaimRow) -> String {
    let mut t = String::new();
    if let Some(at) = c.claimed_at {
        t.push_str(&format!("since {at}"));
    }
    if let Some(e) = c.expires_at {
        t.push_str(&format!("{}until {e}", if t.is_empty() { "" } else { " " }));
    }
    if let Some(reason) = crate::claims::claim_reason(c) {
        t.push_str(&format!(" (reason: {reason})"));
    }
    if t.is_empty() { "(no expiry)".into() } else { format!("({t})") }
}

/// The `additionalContext` text of the post-tool-use warning.
pub(crate) fn overlap_warning(rel: &str, overlaps: &[FileOverlap], now: Timestamp) -> String {
    let mut text = format!(
        "parallel-cc: {rel} is also being changed by {} other live session{}:",
        overlaps.len(),
        if overlaps.len() == 1 { "" } else { "s" }
    );
    for o in overlaps {
        let s = &o.session;
        let mut what = Vec::new();
        if let Some(at) = o.edited_at {
            let mins = (now.secs() - at.secs()).max(0) / 60;
            what.push(if mins == 0 { "edited it just now".to_string() } else { format!("edited it {mins} min ago") });
        }
        if o.changed {
            what.push("has uncommitted or unmerged changes to it".into());
        }
        for c in &o.claims {
            what.push(format!("holds a {} claim on {}", c.mode, c.file_path));
        }
        text.push_str(&format!(
            "\n- session {} on branch {} (working in {}): {}",
            short_id(&s.id),
            s.branch.as_deref().unwrap_or("?"),
            s.worktree_path,
            what.join(", ")
        ));
    }
    text.push_str(
        "\nYour changes and theirs may conflict when the branches are merged. Keep your edits to this \
         file small, avoid reformatting or moving code in it, mention the overlap to the user, and \
         check with `parallel-cc overlaps` before you commit.",
    );
    text
}

/// Worktree names are restricted (rules::validate_worktree_name); Claude Code's are free text.
pub(crate) fn worktree_name_from(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    let out = out.trim_start_matches(['.', '-']).trim_end_matches(".lock");
    let out: String = out.chars().take(100).collect();
    if out.is_empty() { "claude".into() } else { out }
}

/// Versions of one file, to tell whether a session's checkout changes it: the blob ids it has at
/// each session's base and at the main checkout's HEAD. Those come from the blob cache when they
/// can (commits never change); the repository is opened only for the ones not seen before, which
/// are kept in `fresh` for the caller to add to the cache.
struct Versions<'a> {
    repo_path: &'a str,
    rel: &'a str,
    repo: Option<Option<Repo>>,
    main_head: Option<Option<CommitId>>,
    at: HashMap<String, Option<String>>,
    fresh: Vec<BlobAt>,
}

/// A commit id and the blob id of the file in it (`None`: the commit has no such file).
type BlobAt = (String, Option<String>);

impl<'a> Versions<'a> {
    fn new(repo_path: &'a str, rel: &'a str, cached: HashMap<String, Option<String>>) -> Self {
        Versions { repo_path, rel, repo: None, main_head: None, at: cached, fresh: Vec::new() }
    }

    /// The repository, opened on first use (`None` if it cannot be).
    fn repo(&mut self) -> Option<&Repo> {
        let path = self.repo_path;
        self.repo.get_or_insert_with(|| Repo::open(Path::new(path)).ok()).as_ref()
    }

    fn blob_at(&mut self, commit: &CommitId) -> Option<Option<String>> {
        if let Some(v) = self.at.get(commit.as_str()) {
            return Some(v.clone());
        }
        let rel = self.rel;
        let v = self.repo()?.blob_id_at(commit, rel).ok()?;
        self.at.insert(commit.as_str().to_string(), v.clone());
        self.fresh.push((commit.as_str().to_string(), v.clone()));
        Some(v)
    }

    /// Does `s`'s checkout hold a version of the file that is neither its base's nor the main
    /// checkout's HEAD's? Unknown (no git, unreadable file) counts as no.
    fn changed_in(&mut self, s: &SessionRow) -> bool {
        let Ok(current) = pcc_git::file_blob_id(&Path::new(&s.worktree_path).join(self.rel)) else { return false };
        let path = self.repo_path;
        let main_head = self.main_head.get_or_insert_with(|| pcc_git::head_commit_of(Path::new(path)).ok().flatten());
        let bases = [main_head.clone(), s.base_commit.as_deref().and_then(CommitId::parse)];
        let mut known = Vec::new();
        for c in bases.iter().flatten() {
            match self.blob_at(c) {
                Some(v) => known.push(v),
                None => return false,
            }
        }
        !known.is_empty() && !known.contains(&current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for (cli, cc, e) in HookEvent::ALL {
            assert_eq!(HookEvent::parse(cli), Some(e));
            assert_eq!(HookEvent::parse(cc), Some(e));
            assert_eq!(e.cli_name(), cli);
            assert_eq!(e.claude_name(), cc);
        }
        assert_eq!(HookEvent::parse("user-prompt-submit"), None);
    }

    #[test]
    fn claude_worktree_names_become_valid_names() {
        for (given, want) in [
            ("foo", "foo"),
            ("agent-ac4d38573fcdd78dc", "agent-ac4d38573fcdd78dc"),
            ("my feature/x", "my-feature-x"),
            ("../../etc", "etc"),
            ("", "claude"),
            ("-x.lock", "x"),
        ] {
            let got = worktree_name_from(given);
            assert_eq!(got, want, "{given:?}");
            assert!(crate::rules::validate_worktree_name(&got).is_ok(), "{got:?}");
        }
    }

    #[test]
    fn paths_are_normalised_even_when_they_do_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let p = dir.path().join("a/./b/../new.rs");
        assert_eq!(resolve_path(&p), real.join("a/new.rs"));
    }

    fn row(id: &str, pid: i64, agent: Option<i64>, path: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
            pid,
            repo_path: "/r".into(),
            worktree_path: path.into(),
            worktree_name: None,
            is_main_repo: path == "/r",
            created_at: Timestamp(0),
            last_heartbeat: Timestamp(0),
            execution_mode: "local".into(),
            sandbox_id: None,
            sandbox_status: None,
            pid_start_time: None,
            agent_pid: agent,
            agent_pid_start_time: None,
            branch: Some(format!("b-{id}")),
            base_commit: None,
            agent: None,
            state: SessionState::Live,
            agent_state: None,
            kept_reason: None,
            ended_at: None,
            last_activity_at: None,
            last_tool: None,
            registered_by: "hook".into(),
            worktree_owned: true,
            branch_owned: true,
            git: None,
        }
    }

    #[test]
    fn the_deepest_checkout_holds_a_path() {
        let sessions = vec![row("main", 1, None, "/r"), row("wt", 2, None, "/r/.worktrees/wt")];
        let (root, owner) = locate(Path::new("/r/.worktrees/wt/src/a.rs"), "/r", &sessions).unwrap();
        assert_eq!(root, Path::new("/r/.worktrees/wt"));
        assert_eq!(owner.unwrap().id, "wt");
        let (root, owner) = locate(Path::new("/r/src/a.rs"), "/r", &sessions).unwrap();
        assert_eq!((root.as_path(), owner.unwrap().id.as_str()), (Path::new("/r"), "main"));
        assert!(locate(Path::new("/elsewhere/a.rs"), "/r", &sessions).is_none());
        // A path that only shares a prefix of characters is not inside.
        assert!(locate(Path::new("/r2/a.rs"), "/r", &sessions).is_none());
        assert_eq!(relative(Path::new("/r/src/a.rs"), Path::new("/r")), "src/a.rs");
    }

    #[test]
    fn sessions_of_one_claude_process_belong_together() {
        let supervised = row("a", 100, Some(200), "/r");
        let its_worktree = row("b", 200, None, "/w/b");
        let stranger = row("c", 300, Some(301), "/w/c");
        assert!(same_agent(&supervised, &its_worktree));
        assert!(!same_agent(&supervised, &stranger));
        let env = HookEnv { agent_pid: Some(200), ..HookEnv::default() };
        let picked = pick(vec![stranger.clone(), supervised.clone()], &env).unwrap();
        assert_eq!(picked.id, "a");
        let picked = pick(vec![supervised, stranger], &HookEnv::default()).unwrap();
        assert_eq!(picked.id, "c", "without a pid, the newest");
    }

    #[test]
    fn the_warning_names_the_other_session_its_branch_and_what_to_do() {
        let mut other = row("5a20c8f0-4dfe", 7, None, "/w/other");
        other.branch = Some("feature-x".into());
        let overlaps =
            vec![FileOverlap { session: other, edited_at: Some(Timestamp(1000)), changed: false, claims: Vec::new() }];
        let text = overlap_warning("src/lib.rs", &overlaps, Timestamp(1000 + 180));
        assert_eq!(
            text,
            "parallel-cc: src/lib.rs is also being changed by 1 other live session:\n\
             - session 5a20c8f0 on branch feature-x (working in /w/other): edited it 3 min ago\n\
             Your changes and theirs may conflict when the branches are merged. Keep your edits to this file \
             small, avoid reformatting or moving code in it, mention the overlap to the user, and check with \
             `parallel-cc overlaps` before you commit."
        );
    }
}
