//! Conflict prediction (PRODUCT.md §4.4): would this branch, or this checkout's working state,
//! merge cleanly into the target, and would the live sessions' work merge with each other? All
//! merges are computed in memory by pcc-git: no object, index, lock or checkout is written.

use std::path::{Path, PathBuf};

use pcc_git::{CommitId, MergePrediction, MergePredictor, MergeSide, Repo, validate_branch_name};
use pcc_store::SessionState;
use serde::Serialize;

use crate::coordinator::{Coordinator, alive_at};
use crate::error::{CoreError, Result};
use crate::hooks::path_text;

#[derive(Clone, Debug, Default)]
pub struct CheckRequest {
    /// A directory in the repository (the checkout whose state `--uncommitted` merges).
    pub dir: PathBuf,
    /// The branch to merge (default: the checkout's HEAD).
    pub branch: Option<String>,
    /// Where to merge it (default: the repository's default branch).
    pub target: Option<String>,
    /// Merge the checkout's working state (HEAD plus uncommitted and untracked files).
    pub uncommitted: bool,
}

/// One conflicting file.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileConflictView {
    pub file: String,
    /// `content`, `add/add`, `modify/delete`, `rename`, `type`.
    pub kind: &'static str,
    /// Every path involved (both rename destinations and the source, a file moved aside, …).
    pub paths: Vec<String>,
    pub hunks: Vec<HunkView>,
    pub hunks_truncated: bool,
}

/// A conflicting region of a text file, 1-based lines, as `git merge-file --diff3` marks it.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HunkView {
    pub ours_start: usize,
    pub ours_lines: usize,
    pub theirs_start: usize,
    pub theirs_lines: usize,
    pub base_start: usize,
    pub base_lines: usize,
    pub ours: String,
    pub theirs: String,
    pub base: String,
    pub truncated: bool,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckView {
    pub repo_path: String,
    /// What was merged: a branch name, or `working state of <path>`.
    pub source: String,
    pub source_commit: Option<String>,
    pub target: String,
    pub target_commit: String,
    pub merge_base: Option<String>,
    pub has_conflicts: bool,
    pub conflicting_files: Vec<String>,
    pub conflicts: Vec<FileConflictView>,
    pub summary: String,
    pub guidance: Vec<String>,
}

/// One live session in the matrix.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixSession {
    pub session_id: String,
    pub branch: Option<String>,
    pub worktree_path: String,
    pub is_main_repo: bool,
}

/// The verdict for one pair (or one session against the target).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairView {
    pub a: String,
    /// A session id, or the target branch for a session-vs-target entry.
    pub b: String,
    pub clean: bool,
    pub conflicting_files: Vec<String>,
    pub conflicts: Vec<FileConflictView>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixView {
    pub repo_path: String,
    pub target: String,
    pub target_commit: String,
    pub sessions: Vec<MatrixSession>,
    pub pairs: Vec<PairView>,
    pub vs_target: Vec<PairView>,
    /// Pairs and session-vs-target entries that conflict.
    pub conflicting: usize,
    /// Sessions whose checkout could not be read (left out).
    pub warnings: Vec<String>,
}

impl Coordinator {
    /// `conflicts check` / `rebase --check`: merge a branch or a checkout's working state into the
    /// target, in memory.
    pub fn check_conflicts(&mut self, req: &CheckRequest) -> Result<CheckView> {
        let m = merge_sides(req)?;
        let p = m.predictor.predict(&m.ours, &m.theirs)?;
        let (repo, source, target, target_commit, ours) = (m.repo, m.source, m.target, m.target_commit, m.ours);
        let conflicts = conflict_views(&p);
        let files: Vec<String> = conflicts.iter().map(|c| c.file.clone()).collect();
        let summary = if files.is_empty() {
            format!("{source} merges cleanly into {target}")
        } else {
            format!(
                "{source} would conflict with {target} in {} file{}: {}",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                files.join(", ")
            )
        };
        let guidance = if files.is_empty() {
            Vec::new()
        } else {
            vec![
                format!(
                    "rebase onto {target} now, while the conflicts are small: `parallel-cc rebase --target {target}`"
                ),
                "or coordinate with whoever changes these files (`parallel-cc overlaps`, `parallel-cc claims`)".into(),
            ]
        };
        Ok(CheckView {
            repo_path: path_text(repo.main_path()),
            source,
            source_commit: ours.head().map(|c| c.to_string()),
            target,
            target_commit: target_commit.to_string(),
            merge_base: p.base.as_ref().map(ToString::to_string),
            has_conflicts: !files.is_empty(),
            conflicting_files: files,
            conflicts,
            summary,
            guidance,
        })
    }

    /// `conflicts matrix`: every pair of live sessions (their working state, uncommitted work
    /// included) and every session against the target.
    pub fn conflict_matrix(&mut self, dir: &Path, target: Option<&str>) -> Result<MatrixView> {
        let repo = Repo::discover(dir)?;
        let key = path_text(repo.main_path());
        let target = match target {
            Some(t) => t.to_string(),
            None => default_branch(&repo)?,
        };
        let target_commit = resolve(&repo, &target)?;
        let stale = self.config(Some(repo.main_path()))?.stale_minutes();
        let now = self.now();
        let rows = self.store.read().open_sessions_for_repo(&key)?;
        let live: Vec<_> = rows
            .into_iter()
            .filter(|s| s.execution_mode != "e2b" && s.state != SessionState::Kept && alive_at(s, stale, now))
            .collect();
        let predictor: MergePredictor = repo.merge_predictor()?;
        let mut warnings = Vec::new();
        let mut sides: Vec<(MatrixSession, MergeSide)> = Vec::new();
        for s in &live {
            let label = s.branch.clone().unwrap_or_else(|| s.id.clone());
            match predictor.checkout_state(Path::new(&s.worktree_path)) {
                Ok(side) => sides.push((
                    MatrixSession {
                        session_id: s.id.clone(),
                        branch: s.branch.clone(),
                        worktree_path: s.worktree_path.clone(),
                        is_main_repo: s.is_main_repo,
                    },
                    side.with_label(label),
                )),
                Err(e) => warnings.push(format!("session {}: cannot read {}: {e}", s.id, s.worktree_path)),
            }
        }
        let theirs = predictor.commit(&target_commit)?.with_label(target.clone());
        let mut pairs = Vec::new();
        for (i, (a, sa)) in sides.iter().enumerate() {
            for (b, sb) in sides.iter().skip(i + 1) {
                pairs.push(pair(&a.session_id, &b.session_id, &predictor.predict(sa, sb)?));
            }
        }
        let mut vs_target = Vec::new();
        for (a, sa) in &sides {
            vs_target.push(pair(&a.session_id, &target, &predictor.predict(sa, &theirs)?));
        }
        let conflicting = pairs.iter().chain(&vs_target).filter(|p| !p.clean).count();
        Ok(MatrixView {
            repo_path: key,
            target,
            target_commit: target_commit.to_string(),
            sessions: sides.into_iter().map(|(m, _)| m).collect(),
            pairs,
            vs_target,
            conflicting,
            warnings,
        })
    }
}

/// What `rebase` did.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebaseView {
    /// The command did its job (a rebase that found conflicts too: see `hasConflicts`).
    pub success: bool,
    pub checkout: String,
    pub target: String,
    pub target_commit: String,
    /// `up_to_date`, `rebased` or `conflicts` (aborted: the checkout is as it was); with
    /// `checkOnly`: `up_to_date`, `would_rebase` or `would_conflict`.
    pub outcome: &'static str,
    pub has_conflicts: bool,
    pub conflicting_files: Vec<String>,
    pub from_commit: Option<String>,
    pub to_commit: Option<String>,
    pub message: String,
    /// Only predicted (`rebase --check`): nothing was changed.
    pub check_only: bool,
}

impl Coordinator {
    /// `rebase --check`: what `rebase` would find, without changing anything: the same refusals
    /// (as errors), else its HEAD merged into the target in memory, as `conflicts check`.
    pub fn rebase_check(&mut self, dir: &Path, target: Option<&str>) -> Result<RebaseView> {
        let repo = Repo::discover(dir)?;
        let target_name = match target {
            Some(t) => t.to_string(),
            None => default_branch(&repo)?,
        };
        let onto = resolve(&repo, &target_name)?;
        pcc_git::rebase_preflight(repo.checkout(), &onto)?;
        let head = repo.resolve_commit("HEAD")?;
        let check = self.check_conflicts(&CheckRequest {
            dir: dir.to_path_buf(),
            branch: None,
            target: Some(target_name),
            uncommitted: false,
        })?;
        let up_to_date = check.merge_base.as_deref() == Some(check.target_commit.as_str());
        let (outcome, message) = match (check.has_conflicts, up_to_date) {
            (true, _) => ("would_conflict", check.summary.clone()),
            (false, true) => ("up_to_date", format!("already up to date with {}", check.target)),
            (false, false) => ("would_rebase", format!("{}; `parallel-cc rebase` would apply cleanly", check.summary)),
        };
        Ok(RebaseView {
            success: true,
            checkout: path_text(repo.checkout()),
            target: check.target.clone(),
            target_commit: check.target_commit.clone(),
            outcome,
            has_conflicts: check.has_conflicts,
            conflicting_files: check.conflicting_files.clone(),
            from_commit: Some(head.to_string()),
            to_commit: None,
            message,
            check_only: true,
        })
    }

    /// `rebase`: rebase the checkout containing `dir` onto the target with git; on conflicts the
    /// rebase is aborted and the files reported. A checkout with uncommitted changes to tracked
    /// files is refused before anything runs.
    pub fn rebase(&mut self, dir: &Path, target: Option<&str>) -> Result<RebaseView> {
        let repo = Repo::discover(dir)?;
        let target = match target {
            Some(t) => t.to_string(),
            None => default_branch(&repo)?,
        };
        let onto = resolve(&repo, &target)?;
        let checkout = repo.checkout().to_path_buf();
        let outcome = pcc_git::rebase_checkout(&checkout, &onto)?;
        let mut view = RebaseView {
            success: true,
            checkout: path_text(&checkout),
            target: target.clone(),
            target_commit: onto.to_string(),
            outcome: "up_to_date",
            has_conflicts: false,
            conflicting_files: Vec::new(),
            from_commit: None,
            to_commit: None,
            message: format!("already up to date with {target}"),
            check_only: false,
        };
        match outcome {
            pcc_git::RebaseOutcome::UpToDate => {}
            pcc_git::RebaseOutcome::Rebased { from, to } => {
                view.outcome = "rebased";
                view.message = format!("rebased onto {target} ({} → {})", from.short(), to.short());
                view.from_commit = Some(from.to_string());
                view.to_commit = Some(to.to_string());
            }
            pcc_git::RebaseOutcome::Conflicts { files } => {
                view.outcome = "conflicts";
                view.has_conflicts = true;
                view.message = format!(
                    "rebasing onto {target} conflicts in {}; the rebase was aborted and nothing changed",
                    files.join(", ")
                );
                view.conflicting_files = files;
            }
        }
        Ok(view)
    }
}

fn pair(a: &str, b: &str, p: &MergePrediction) -> PairView {
    let conflicts = conflict_views(p);
    PairView {
        a: a.to_string(),
        b: b.to_string(),
        clean: conflicts.is_empty(),
        conflicting_files: conflicts.iter().map(|c| c.file.clone()).collect(),
        conflicts,
    }
}

fn conflict_views(p: &MergePrediction) -> Vec<FileConflictView> {
    p.conflicts
        .iter()
        .map(|c| FileConflictView {
            file: c.path.clone(),
            kind: c.kind.as_str(),
            paths: c.paths.clone(),
            hunks: c
                .hunks
                .iter()
                .map(|h| HunkView {
                    ours_start: h.ours_start,
                    ours_lines: h.ours_lines,
                    theirs_start: h.theirs_start,
                    theirs_lines: h.theirs_lines,
                    base_start: h.base_start,
                    base_lines: h.base_lines,
                    ours: h.ours.clone(),
                    theirs: h.theirs.clone(),
                    base: h.base.clone(),
                    truncated: h.truncated,
                })
                .collect(),
            hunks_truncated: c.hunks_truncated,
        })
        .collect()
}

/// The two sides of the merge a check request describes.
pub(crate) struct MergeSides {
    pub repo: Repo,
    pub predictor: MergePredictor,
    /// What is merged: a branch name, or `working state of <path>`.
    pub source: String,
    pub ours: MergeSide,
    pub target: String,
    pub target_commit: CommitId,
    pub theirs: MergeSide,
}

/// Resolve a check request's sides: the branch (or HEAD, or the checkout's working state) and
/// the target, in one predictor.
pub(crate) fn merge_sides(req: &CheckRequest) -> Result<MergeSides> {
    let repo = Repo::discover(&req.dir)?;
    let target = match &req.target {
        Some(t) => t.clone(),
        None => default_branch(&repo)?,
    };
    let target_commit = resolve(&repo, &target)?;
    let predictor = repo.merge_predictor()?;
    // The working state is the checked-out branch's: naming that branch too is allowed.
    let branch = match (&req.branch, req.uncommitted) {
        (Some(b), true) if repo.head_branch()?.as_deref() == Some(b.as_str()) => None,
        (b, _) => b.clone(),
    };
    let (source, ours) = match (&branch, req.uncommitted) {
        (Some(b), true) => {
            return Err(CoreError::InvalidArgs {
                reason: format!(
                    "{b} is not the branch checked out in {}: the uncommitted work merged is that checkout's",
                    repo.checkout().display()
                ),
            });
        }
        (Some(b), false) => {
            let id = resolve(&repo, b)?;
            (b.clone(), predictor.commit(&id)?.with_label(b.clone()))
        }
        (None, true) => {
            let side = predictor.checkout_state(repo.checkout())?;
            (format!("working state of {}", repo.checkout().display()), side)
        }
        (None, false) => {
            let head = repo.resolve_commit("HEAD")?;
            let name = repo.head_branch()?.unwrap_or_else(|| "HEAD".to_string());
            (name.clone(), predictor.commit(&head)?.with_label(name))
        }
    };
    let theirs = predictor.commit(&target_commit)?.with_label(target.clone());
    Ok(MergeSides { repo, predictor, source, ours, target, target_commit, theirs })
}

/// A branch name (validated, so `$(id)` or `-rf` never reaches anything) or, failing that, any
/// revision gix can resolve.
fn resolve(repo: &Repo, rev: &str) -> Result<CommitId> {
    if validate_branch_name(rev).is_ok()
        && let Some(tip) = repo.branch_tip(rev)?
    {
        return Ok(tip);
    }
    Ok(repo.resolve_commit(rev)?)
}

/// The repository's default branch: `main` or `master` when the repository has one, else the
/// branch checked out in the main checkout.
pub(crate) fn default_branch(repo: &Repo) -> Result<String> {
    for b in ["main", "master"] {
        if repo.branch_tip(b)?.is_some() {
            return Ok(b.to_string());
        }
    }
    if let Some(b) = Repo::open(repo.main_path())?.head_branch()? {
        return Ok(b);
    }
    Err(CoreError::InvalidArgs { reason: "cannot tell the default branch: pass --target".into() })
}
