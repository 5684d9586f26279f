//! Pure rules: naming, liveness, disposal. No I/O here; callers gather the facts.

use crate::process::ProcState;
use pcc_store::Timestamp;

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

pub fn base36(mut n: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(BASE36[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// `<prefix><base36 ms>-<4 base36 chars>`, e.g. `parallel-m4x2k9ab-3f9z` (the original's format).
pub fn worktree_name(prefix: &str, now_millis: i64, random: u32) -> String {
    let mut suffix = String::with_capacity(4);
    let mut r = random;
    for _ in 0..4 {
        suffix.push(BASE36[(r % 36) as usize] as char);
        r /= 36;
    }
    format!("{prefix}{}-{suffix}", base36(u64::try_from(now_millis).unwrap_or(0)))
}

/// A worktree name becomes a directory name and (by default) a branch name.
pub fn validate_worktree_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > 100 {
        return Err("longer than 100 characters".into());
    }
    if name == "." || name == ".." || name.starts_with('.') || name.starts_with('-') {
        return Err("must not start with '.' or '-'".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("character {c:?} is not allowed (letters, digits, '-', '_', '.')"));
    }
    if name.ends_with(".lock") || name.contains("..") {
        return Err("must not contain '..' or end in '.lock'".into());
    }
    Ok(())
}

/// Facts about a session for the liveness test.
#[derive(Clone, Copy, Debug)]
pub struct LivenessFacts {
    pub supervisor: ProcState,
    pub recorded_start: Option<i64>,
    pub agent: Option<(ProcState, Option<i64>)>,
    pub last_heartbeat: Timestamp,
    pub now: Timestamp,
    pub stale_minutes: i64,
}

fn proc_matches(state: ProcState, recorded: Option<i64>) -> Option<bool> {
    match state {
        ProcState::Gone => Some(false),
        ProcState::Running { start: Some(actual) } => Some(recorded.is_none_or(|r| r == actual)),
        ProcState::Running { start: None } => Some(true),
        ProcState::Hidden => None,
    }
}

/// Is the session alive? Its supervisor (the registered PID with the recorded start time) runs,
/// or its agent child still runs. A PID we cannot see counts as alive until its heartbeat is
/// older than `stale_minutes`.
pub fn is_alive(f: &LivenessFacts) -> bool {
    let stale = f.now.secs() - f.last_heartbeat.secs() > f.stale_minutes.saturating_mul(60);
    let supervisor = proc_matches(f.supervisor, f.recorded_start).unwrap_or(!stale);
    let agent = f.agent.is_some_and(|(state, start)| proc_matches(state, start).unwrap_or(!stale));
    supervisor || agent
}

/// What a checkout looked like when its session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckoutFacts {
    /// The main checkout, or a checkout parallel-cc did not create.
    pub not_ours: bool,
    pub exists: bool,
    /// The session never got past registration: no agent ever ran in it.
    pub never_started: bool,
    pub dirty_files: usize,
    /// Commits on the branch not contained in the base or any other local branch.
    pub unique_commits: usize,
    pub branch_owned: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposal {
    /// Nothing to do with the checkout (main checkout, or not ours).
    LeaveCheckout,
    /// The directory is gone already; forget the registration.
    AlreadyGone,
    /// Keep the worktree (and the branch); the session becomes `kept` with this reason.
    Keep { reason: String },
    /// Remove the worktree; delete the branch only if `delete_branch`. `snapshot_first` means
    /// the worktree holds work and a snapshot must exist before removal.
    Remove { delete_branch: bool, snapshot_first: bool },
}

/// The disposal rule (PRODUCT.md §2.3), with `--force` (§2.5).
pub fn decide_disposal(f: &CheckoutFacts, keep_unmerged: bool, force: bool) -> Disposal {
    if f.not_ours {
        return Disposal::LeaveCheckout;
    }
    if !f.exists {
        return Disposal::AlreadyGone;
    }
    let delete_branch = f.branch_owned && f.unique_commits == 0;
    if f.never_started {
        // Half-created by a registration that died: no agent ever worked here.
        return Disposal::Remove { delete_branch, snapshot_first: f.dirty_files > 0 };
    }
    if f.dirty_files > 0 {
        if force {
            return Disposal::Remove { delete_branch, snapshot_first: true };
        }
        let s = if f.dirty_files == 1 { "" } else { "s" };
        return Disposal::Keep { reason: format!("{} uncommitted or untracked file{s}", f.dirty_files) };
    }
    if f.unique_commits > 0 {
        if force {
            return Disposal::Remove { delete_branch: false, snapshot_first: true };
        }
        if keep_unmerged {
            let s = if f.unique_commits == 1 { "" } else { "s" };
            return Disposal::Keep { reason: format!("{} commit{s} not merged anywhere", f.unique_commits) };
        }
        return Disposal::Remove { delete_branch: false, snapshot_first: false };
    }
    Disposal::Remove { delete_branch, snapshot_first: false }
}

/// A file claim's mode (PRODUCT.md §4.1), weakest first.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClaimMode {
    /// "I am about to work here": coexists with INTENT and SHARED.
    Intent,
    /// "I am changing this, others may too": coexists with INTENT and SHARED.
    Shared,
    /// "Only I change this": coexists with nothing.
    Exclusive,
}

impl ClaimMode {
    pub fn parse(text: &str) -> Option<ClaimMode> {
        match text.trim().to_ascii_uppercase().as_str() {
            "EXCLUSIVE" => Some(ClaimMode::Exclusive),
            "SHARED" => Some(ClaimMode::Shared),
            "INTENT" => Some(ClaimMode::Intent),
            _ => None,
        }
    }

    /// The stored name, as the original wrote it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimMode::Exclusive => "EXCLUSIVE",
            ClaimMode::Shared => "SHARED",
            ClaimMode::Intent => "INTENT",
        }
    }

    /// May another session take `requested` while a claim in `self` is held? EXCLUSIVE blocks
    /// everything and is blocked by everything; SHARED and INTENT coexist.
    pub fn allows(self, requested: ClaimMode) -> bool {
        self != ClaimMode::Exclusive && requested != ClaimMode::Exclusive
    }
}

/// Do two claim paths (repo-relative; a trailing `/` marks a directory, which covers everything
/// below it) name overlapping parts of the tree?
pub fn claim_paths_overlap(a: &str, b: &str) -> bool {
    let (a_dir, b_dir) = (a.ends_with('/'), b.ends_with('/'));
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    let under = |inner: &str, outer: &str| {
        inner.len() > outer.len() && inner.starts_with(outer) && inner.as_bytes()[outer.len()] == b'/'
    };
    a == b || (a_dir && under(b, a)) || (b_dir && under(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_the_original_shape() {
        let n = worktree_name("parallel-", 1_700_000_000_000, 12345);
        assert!(n.starts_with("parallel-"));
        let rest = &n["parallel-".len()..];
        let (ts, suffix) = rest.split_once('-').unwrap_or_default();
        assert_eq!(ts, base36(1_700_000_000_000));
        assert_eq!(suffix.len(), 4);
        assert!(validate_worktree_name(&n).is_ok());
        assert_ne!(worktree_name("p-", 1, 1), worktree_name("p-", 1, 2));
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }

    #[test]
    fn worktree_names_are_validated() {
        for bad in ["", ".", "..", ".hidden", "-x", "a/b", "a b", "a\nb", "x.lock", "a..b", "é\"", "$(x)"] {
            assert!(validate_worktree_name(bad).is_err(), "{bad:?}");
        }
        for ok in ["feature-1", "my_tree", "v1.2", "ünï"] {
            assert!(validate_worktree_name(ok).is_ok(), "{ok:?}");
        }
    }

    fn facts(sup: ProcState, rec: Option<i64>) -> LivenessFacts {
        LivenessFacts {
            supervisor: sup,
            recorded_start: rec,
            agent: None,
            last_heartbeat: Timestamp(1000),
            now: Timestamp(1000),
            stale_minutes: 10,
        }
    }

    #[test]
    fn pid_reuse_does_not_keep_a_session_alive() {
        assert!(is_alive(&facts(ProcState::Running { start: Some(5) }, Some(5))));
        assert!(!is_alive(&facts(ProcState::Running { start: Some(6) }, Some(5))));
        assert!(!is_alive(&facts(ProcState::Gone, Some(5))));
        assert!(is_alive(&facts(ProcState::Running { start: Some(6) }, None)));
    }

    #[test]
    fn a_live_agent_keeps_its_session_alive_after_the_supervisor_died() {
        let mut f = facts(ProcState::Gone, Some(5));
        f.agent = Some((ProcState::Running { start: Some(9) }, Some(9)));
        assert!(is_alive(&f));
        f.agent = Some((ProcState::Running { start: Some(10) }, Some(9)));
        assert!(!is_alive(&f));
    }

    #[test]
    fn hidden_pids_live_until_their_heartbeat_is_stale() {
        let mut f = facts(ProcState::Hidden, None);
        f.now = Timestamp(1000 + 600);
        assert!(is_alive(&f));
        f.now = Timestamp(1000 + 601);
        assert!(!is_alive(&f));
    }

    fn checkout(dirty: usize, unique: usize) -> CheckoutFacts {
        CheckoutFacts {
            not_ours: false,
            exists: true,
            never_started: false,
            dirty_files: dirty,
            unique_commits: unique,
            branch_owned: true,
        }
    }

    #[test]
    fn disposal_never_removes_work_without_force() {
        assert_eq!(
            decide_disposal(&checkout(0, 0), true, false),
            Disposal::Remove { delete_branch: true, snapshot_first: false }
        );
        assert!(
            matches!(decide_disposal(&checkout(2, 0), true, false), Disposal::Keep { reason } if reason == "2 uncommitted or untracked files")
        );
        assert!(
            matches!(decide_disposal(&checkout(0, 1), true, false), Disposal::Keep { reason } if reason == "1 commit not merged anywhere")
        );
        assert_eq!(
            decide_disposal(&checkout(0, 3), false, false),
            Disposal::Remove { delete_branch: false, snapshot_first: false }
        );
        assert_eq!(
            decide_disposal(&checkout(1, 0), true, true),
            Disposal::Remove { delete_branch: true, snapshot_first: true }
        );
        assert_eq!(
            decide_disposal(&checkout(1, 4), true, true),
            Disposal::Remove { delete_branch: false, snapshot_first: true }
        );
        assert_eq!(
            decide_disposal(&checkout(0, 4), true, true),
            Disposal::Remove { delete_branch: false, snapshot_first: true }
        );
    }

    #[test]
    fn branches_parallel_cc_did_not_create_are_never_deleted() {
        let mut f = checkout(0, 0);
        f.branch_owned = false;
        assert_eq!(decide_disposal(&f, true, false), Disposal::Remove { delete_branch: false, snapshot_first: false });
    }

    #[test]
    fn main_checkouts_and_vanished_worktrees() {
        let mut f = checkout(5, 5);
        f.not_ours = true;
        assert_eq!(decide_disposal(&f, true, true), Disposal::LeaveCheckout);
        let mut g = checkout(0, 0);
        g.exists = false;
        assert_eq!(decide_disposal(&g, true, false), Disposal::AlreadyGone);
    }

    #[test]
    fn half_created_worktrees_are_removed_with_a_snapshot_when_dirty() {
        let mut f = checkout(3, 0);
        f.never_started = true;
        assert_eq!(decide_disposal(&f, true, false), Disposal::Remove { delete_branch: true, snapshot_first: true });
    }

    #[test]
    fn claim_mode_matrix_matches_the_spec() {
        use ClaimMode::*;
        // (held by another session, requested) -> allowed
        let expected = [
            (Exclusive, Exclusive, false),
            (Exclusive, Shared, false),
            (Exclusive, Intent, false),
            (Shared, Exclusive, false),
            (Shared, Shared, true),
            (Shared, Intent, true),
            (Intent, Exclusive, false),
            (Intent, Shared, true),
            (Intent, Intent, true),
        ];
        for (held, requested, allowed) in expected {
            assert_eq!(held.allows(requested), allowed, "{held:?} held, {requested:?} requested");
        }
        assert!(Intent < Shared && Shared < Exclusive, "escalation goes INTENT -> SHARED -> EXCLUSIVE");
        assert_eq!(ClaimMode::parse(" shared "), Some(Shared));
        assert_eq!(ClaimMode::parse("LOCK"), None);
        for m in [Exclusive, Shared, Intent] {
            assert_eq!(ClaimMode::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn directory_claims_cover_what_is_below_them_only() {
        assert!(claim_paths_overlap("src/a.rs", "src/a.rs"));
        assert!(claim_paths_overlap("src/auth/", "src/auth/login.rs"));
        assert!(claim_paths_overlap("src/auth/login.rs", "src/auth/"));
        assert!(claim_paths_overlap("src/", "src/auth/"));
        assert!(claim_paths_overlap("src/auth/", "src/auth"), "the same directory, with or without its slash");
        assert!(!claim_paths_overlap("src/auth/", "src/authz/x.rs"));
        assert!(!claim_paths_overlap("src/auth", "src/auth/login.rs"), "a file named like a directory covers nothing");
        assert!(!claim_paths_overlap("src/a.rs", "src/b.rs"));
    }
}
