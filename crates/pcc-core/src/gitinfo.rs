//! Worktree details for `status` (dirty-file count, ahead/behind) at a bounded cost.
//!
//! A fresh look at a worktree is a full read-only git status: about 2 ms for a small checkout in a
//! new process, far more for a large one. `status` must stay fast with a hundred sessions
//! (PRODUCT.md §11), so each call looks afresh only at the worktrees looked at least recently
//! (config `status.fresh_worktrees`, default 1) and at any never looked at; the others are shown
//! as last recorded in the database, with the time of that look. Every call thus refreshes the
//! stalest worktree, `--watch` looks at all of them, and the details shown always say their age.

use std::path::PathBuf;

use pcc_git::CheckoutSummary;
use pcc_store::GitDetails;

use crate::clock::{Clock, SystemClock};

/// One worktree to look at.
pub(crate) struct Look {
    pub session_id: String,
    pub worktree: PathBuf,
}

/// Look at every worktree of `looks`, in parallel.
pub(crate) fn look(looks: &[Look]) -> Vec<(String, GitDetails)> {
    if looks.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, looks.len());
    let share = |t: usize| -> Vec<(String, GitDetails)> {
        looks.iter().skip(t).step_by(threads).map(|l| (l.session_id.clone(), look_at(l))).collect()
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|t| scope.spawn(move || share(t))).collect();
        let mut all = share(0);
        all.extend(others.into_iter().flat_map(|h| h.join().unwrap_or_default()));
        all
    })
}

fn look_at(l: &Look) -> GitDetails {
    let checked_ms = SystemClock.now_millis();
    match pcc_git::checkout_summary(&l.worktree) {
        Ok(CheckoutSummary { dirty_files, ahead_behind }) => GitDetails {
            dirty_files: Some(dirty_files),
            ahead: ahead_behind.map(|(a, _)| a),
            behind: ahead_behind.map(|(_, b)| b),
            checked_ms,
        },
        Err(e) => {
            tracing::debug!(worktree = %l.worktree.display(), error = %e, "cannot read worktree status");
            GitDetails { dirty_files: None, ahead: None, behind: None, checked_ms }
        }
    }
}
