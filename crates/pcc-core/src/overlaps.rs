//! The overlap radar (PRODUCT.md §4.2): files that two or more live sessions are changing.

use std::collections::BTreeMap;
use std::path::Path;

use pcc_git::{CommitId, Repo};
use pcc_store::{SessionRow, SessionState};
use serde::Serialize;

use crate::coordinator::Coordinator;
use crate::error::Result;

/// One session's part in an overlap.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverlapSession {
    pub session_id: String,
    pub branch: Option<String>,
    pub worktree_path: String,
    pub is_main_repo: bool,
    /// Its agent edited the file (reported by its hooks).
    pub edited: bool,
    /// When it last did.
    pub last_edit_at: Option<String>,
    /// Its checkout differs from its base in this file (committed or not).
    pub changed: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileOverlapView {
    /// Repo-relative path.
    pub file: String,
    pub sessions: Vec<OverlapSession>,
    /// Would a three-way merge of every pair of the sessions' versions succeed? `null` when it
    /// cannot be told (a version is missing, or only the hooks know of an edit).
    pub merges_cleanly: Option<bool>,
}

#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverlapsView {
    pub repo_path: String,
    /// Live sessions looked at.
    pub live_sessions: usize,
    pub overlaps: Vec<FileOverlapView>,
    pub total: usize,
    /// Sessions whose checkout could not be read (the reason), so the answer may be incomplete.
    pub warnings: Vec<String>,
}

struct Part<'s> {
    session: &'s SessionRow,
    edited_at: Option<String>,
    changed: bool,
    /// The commit its changes are measured from.
    base: Option<CommitId>,
}

impl Coordinator {
    /// Files changed by two or more live sessions of the repository containing `path`.
    pub fn overlaps(&mut self, path: &Path) -> Result<OverlapsView> {
        let _span = tracing::info_span!("overlaps", repo = %path.display()).entered();
        let repo = Repo::discover(path)?;
        let key = repo.main_path().to_string_lossy().into_owned();
        let stale = self.config(Some(repo.main_path()))?.stale_minutes();
        let sessions: Vec<SessionRow> = self
            .store
            .read()
            .open_sessions_for_repo(&key)?
            .into_iter()
            .filter(|s| s.state != SessionState::Kept && s.execution_mode != "e2b")
            .filter(|s| self.is_alive(s, stale))
            .collect();
        // The main checkout's line, wherever this was asked from (a worktree's own HEAD is its work).
        let main_head = pcc_git::head_commit_of(repo.main_path()).ok().flatten();
        let mut by_file: BTreeMap<String, Vec<Part<'_>>> = BTreeMap::new();
        let mut warnings = Vec::new();
        for t in self.store.read().touched_files(&key)? {
            let Some(s) = sessions.iter().find(|s| s.id == t.session_id) else { continue };
            by_file.entry(t.file_path).or_default().push(Part {
                session: s,
                edited_at: Some(t.last_at.to_string()),
                changed: false,
                base: None,
            });
        }
        for s in &sessions {
            let wt = Path::new(&s.worktree_path);
            if !wt.is_dir() {
                continue;
            }
            // A worktree's own work: everything since it forked from the main checkout's line.
            // The main checkout's: what is not committed yet.
            let fallback = s.base_commit.as_deref().and_then(CommitId::parse);
            let since = match s.is_main_repo {
                true => pcc_git::changes_since_fork(wt, None, None),
                false => pcc_git::changes_since_fork(wt, main_head.as_ref(), fallback.as_ref()),
            };
            let (changed, base) = match since {
                Ok(c) => c,
                Err(e) => {
                    warnings.push(format!("session {}: {e}", s.id));
                    continue;
                }
            };
            let base = base.or_else(|| main_head.clone());
            for file in changed {
                let parts = by_file.entry(file).or_default();
                match parts.iter_mut().find(|p| p.session.id == s.id) {
                    Some(p) => {
                        p.changed = true;
                        p.base = base.clone();
                    }
                    None => parts.push(Part { session: s, edited_at: None, changed: true, base: base.clone() }),
                }
            }
        }
        let mut overlaps = Vec::new();
        for (file, parts) in by_file {
            if parts.len() < 2 {
                continue;
            }
            let merges_cleanly = merges_cleanly(&repo, &file, &parts);
            let sessions = parts
                .iter()
                .map(|p| OverlapSession {
                    session_id: p.session.id.clone(),
                    branch: p.session.branch.clone(),
                    worktree_path: p.session.worktree_path.clone(),
                    is_main_repo: p.session.is_main_repo,
                    edited: p.edited_at.is_some(),
                    last_edit_at: p.edited_at.clone(),
                    changed: p.changed,
                })
                .collect();
            overlaps.push(FileOverlapView { file, sessions, merges_cleanly });
        }
        Ok(OverlapsView { repo_path: key, live_sessions: sessions.len(), total: overlaps.len(), overlaps, warnings })
    }
}

/// Three-way merge of each pair of versions over the file at the merge base of their bases.
fn merges_cleanly(repo: &Repo, file: &str, parts: &[Part<'_>]) -> Option<bool> {
    let mut versions = Vec::new();
    for p in parts {
        if !p.changed {
            // Only the hooks saw an edit: the checkout's copy is what it is now.
            return None;
        }
        let content = match std::fs::read(Path::new(&p.session.worktree_path).join(file)) {
            Ok(c) => Some(c),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return None,
        };
        versions.push((p.base.clone()?, content));
    }
    for (i, (base_a, a)) in versions.iter().enumerate() {
        for (base_b, b) in versions.iter().skip(i + 1) {
            let base = if base_a == base_b { Some(base_a.clone()) } else { repo.merge_base(base_a, base_b).ok()? };
            let original = match &base {
                Some(c) => repo.blob_at(c, file).ok()?,
                None => None,
            };
            let clean = match (original, a, b) {
                (Some(o), Some(a), Some(b)) => pcc_conflict::merges_cleanly(&o, a, b),
                (None, Some(a), Some(b)) => a == b,
                (_, None, None) => true,
                // Deleted on one side, changed on the other.
                (Some(o), None, Some(x)) | (Some(o), Some(x), None) => *x == o,
                (None, _, _) => false,
            };
            if !clean {
                return Some(false);
            }
        }
    }
    Some(true)
}
