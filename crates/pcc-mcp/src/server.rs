//! The MCP server: one tool per use case, each a thin call into the pcc-core method the matching
//! CLI command calls, returning that method's view as structured content (with its output
//! schema) and as JSON text.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pcc_core::autofix::{
    AnalyzeRequest, AnalyzeView, ApplyRequest, ApplyView, GenerateRequest, GenerateView, HistoryRequest, HistoryView,
};
use pcc_core::claims::{Actor, ClaimFilter, ClaimRequest};
use pcc_core::conflicts::CheckRequest;
use pcc_core::rules::ClaimMode;
use pcc_core::{Coordinator, CoreError, GitLooks};
use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::Serialize;

use crate::args::*;

/// Who the server acts for: fixed when it starts.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `PARALLEL_CC_SESSION_ID`, when set.
    pub session_id: Option<String>,
    /// The server's working directory (Claude Code starts it in the session's checkout).
    pub cwd: PathBuf,
}

impl Identity {
    /// From the process: `PARALLEL_CC_SESSION_ID` and the working directory.
    pub fn from_process() -> std::io::Result<Identity> {
        let session_id = std::env::var(pcc_core::env::SESSION_ID).ok().filter(|s| !s.trim().is_empty());
        Ok(Identity { session_id, cwd: std::env::current_dir()? })
    }

    fn actor(&self) -> Actor {
        Actor { session_id: self.session_id.clone(), cwd: self.cwd.clone() }
    }
}

/// Longest string accepted in any argument (a path, a branch, a reason).
pub const MAX_ARG_LEN: usize = 4096;

/// The parallel-cc MCP server. Cheap to clone: clones share one database connection.
#[derive(Clone)]
pub struct Server {
    data_dir: Arc<Result<PathBuf, String>>,
    identity: Arc<Identity>,
    /// Opened at the first call; a failed open is retried at the next.
    coordinator: Arc<Mutex<Option<Coordinator>>>,
    tool_router: ToolRouter<Server>,
    /// The original reference's shapes no listed tool takes: called, never listed.
    legacy_router: ToolRouter<Server>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("data_dir", &self.data_dir).field("identity", &self.identity).finish()
    }
}

/// A tool's answer: its view as a result, a tool error, or (protocol problems only) an `ErrorData`.
pub(crate) type ToolResult = Result<CallToolResult, ErrorData>;

impl Server {
    /// A server over the database in `data_dir` (`Err`: why there is none; every tool then
    /// fails with that reason), acting for `identity`.
    pub fn new(data_dir: Result<PathBuf, String>, identity: Identity) -> Server {
        Server {
            data_dir: Arc::new(data_dir),
            identity: Arc::new(identity),
            coordinator: Arc::new(Mutex::new(None)),
            tool_router: Self::tool_router(),
            legacy_router: Self::legacy_router(),
        }
    }

    /// Run `f` on the coordinator, off the async runtime, and turn its view (or error) into a
    /// tool result. While a call holds the server's coordinator (a rebase, a large matrix),
    /// another call gets a connection of its own rather than wait.
    pub(crate) async fn call<T, F>(&self, f: F) -> ToolResult
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&mut Coordinator, &Identity) -> pcc_core::Result<T> + Send + 'static,
    {
        let data_dir = Arc::clone(&self.data_dir);
        let identity = Arc::clone(&self.identity);
        let slot = Arc::clone(&self.coordinator);
        let joined = tokio::task::spawn_blocking(move || -> Result<T, Failure> {
            let open = || match data_dir.as_ref() {
                Ok(d) => Coordinator::open(d).map_err(Failure::Core),
                Err(reason) => Err(Failure::Plain(reason.clone())),
            };
            match slot.try_lock() {
                Ok(mut guard) => {
                    let coord = match guard.as_mut() {
                        Some(c) => c,
                        None => guard.insert(open()?),
                    };
                    f(coord, &identity).map_err(Failure::Core)
                }
                Err(_) => f(&mut open()?, &identity).map_err(Failure::Core),
            }
        })
        .await;
        match joined {
            Ok(Ok(view)) => {
                let value = serde_json::to_value(&view)
                    .map_err(|e| ErrorData::internal_error(format!("cannot encode the result: {e}"), None))?;
                let text = serde_json::to_string_pretty(&value)
                    .map_err(|e| ErrorData::internal_error(format!("cannot encode the result: {e}"), None))?;
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(value);
                Ok(result)
            }
            Ok(Err(failure)) => Ok(failure.into_result()),
            Err(e) => Err(ErrorData::internal_error(format!("the tool failed: {e}"), None)),
        }
    }

    /// The directory a tool works in: `given` (relative to where the session works), else where
    /// the session works (see [`Coordinator::actor_dir`]).
    pub(crate) fn dir(coord: &Coordinator, id: &Identity, given: Option<&str>) -> PathBuf {
        let base = Self::actor(coord, id).cwd;
        match given.filter(|p| !p.trim().is_empty()) {
            Some(p) => base.join(p),
            None => base,
        }
    }

    /// The actor, with its directory where it works (see [`Coordinator::actor_dir`]).
    pub(crate) fn actor(coord: &Coordinator, id: &Identity) -> Actor {
        let a = id.actor();
        Actor { cwd: coord.actor_dir(&a), ..a }
    }
}

/// Why a tool failed, for the model.
enum Failure {
    Core(CoreError),
    Plain(String),
}

impl Failure {
    fn into_result(self) -> CallToolResult {
        let text = match self {
            Failure::Plain(reason) => reason,
            Failure::Core(e) => {
                let mut text = format!("{e} [{}]", e.code());
                if let Some(hint) = e.hint() {
                    text.push_str("\nhint: ");
                    text.push_str(&hint);
                }
                text
            }
        };
        tool_error(text)
    }
}

pub(crate) fn tool_error(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// Arguments the tool refuses before anything runs, answered like pcc-core's own refusals.
fn invalid(reason: String) -> ToolResult {
    Ok(Failure::Core(CoreError::InvalidArgs { reason }).into_result())
}

#[tool_router]
impl Server {
    #[tool(
        description = "Sessions working on this repository (or the one at repo_path): their checkouts, branches, whether they are alive, what they last did. Mirrors `parallel-cc status --json`.",
        output_schema = schema_for_output::<pcc_core::views::StatusView>()
    )]
    async fn get_parallel_status(&self, Parameters(a): Parameters<RepoArgs>) -> ToolResult {
        self.call(move |c, id| {
            let dir = Self::dir(c, id, a.repo_path.as_deref());
            c.status(Some(&dir), false, GitLooks::Stalest)
        })
        .await
    }

    #[tool(
        description = "This session (from PARALLEL_CC_SESSION_ID, else the session whose checkout holds the server's working directory): its checkout, branch, and how many sessions work on the repository.",
        output_schema = schema_for_output::<pcc_core::views::MySessionView>()
    )]
    async fn get_my_session(&self) -> ToolResult {
        self.call(move |c, id| c.my_session(&Self::actor(c, id))).await
    }

    #[tool(
        description = "Be told when a branch is merged into its target: the notice arrives with a later tool call of this session. Mirrors `parallel-cc merge subscribe`.",
        output_schema = schema_for_output::<pcc_core::merges::SubscribeView>()
    )]
    async fn notify_when_merged(&self, Parameters(a): Parameters<MergeArgs>) -> ToolResult {
        self.call(move |c, id| c.subscribe_merge(&Self::actor(c, id), &a.branch, a.target_branch.as_deref())).await
    }

    #[tool(
        description = "Is a branch merged into its target (fast-forward, merge commit, squash or rebase)? Looks now and records a merge it finds. Mirrors `parallel-cc merge check`.",
        output_schema = schema_for_output::<pcc_core::merges::MergeStatusView>()
    )]
    async fn check_merge_status(&self, Parameters(a): Parameters<MergeArgs>) -> ToolResult {
        self.call(move |c, id| {
            let dir = Self::dir(c, id, None);
            c.merge_status(&dir, &a.branch, a.target_branch.as_deref())
        })
        .await
    }

    #[tool(
        description = "Would currentBranch merge cleanly into targetBranch? Computed in memory (nothing is written); lists the conflicting files with their hunks. Mirrors `parallel-cc conflicts check`.",
        output_schema = schema_for_output::<pcc_core::conflicts::CheckView>()
    )]
    async fn check_conflicts(&self, Parameters(a): Parameters<CheckConflictsArgs>) -> ToolResult {
        self.call(move |c, id| {
            let req = CheckRequest {
                dir: Self::dir(c, id, None),
                branch: Some(a.current_branch),
                target: Some(a.target_branch),
                uncommitted: a.include_uncommitted,
            };
            c.check_conflicts(&req)
        })
        .await
    }

    #[tool(
        description = "Rebase this session's checkout onto targetBranch; on conflicts the rebase is aborted (the checkout is as it was) and the files are listed. Refuses a checkout with uncommitted changes. checkOnly: only predict. Mirrors `parallel-cc rebase`.",
        output_schema = schema_for_output::<pcc_core::conflicts::RebaseView>()
    )]
    async fn rebase_assist(&self, Parameters(a): Parameters<RebaseArgs>) -> ToolResult {
        self.call(move |c, id| {
            let dir = Self::dir(c, id, None);
            if a.check_only {
                c.rebase_check(&dir, Some(&a.target_branch))
            } else {
                c.rebase(&dir, Some(&a.target_branch))
            }
        })
        .await
    }

    #[tool(
        description = "Recorded merges of this repository's branches, newest first. Mirrors `parallel-cc merge status`.",
        output_schema = schema_for_output::<pcc_core::merges::MergeEventsView>()
    )]
    async fn get_merge_events(&self, Parameters(a): Parameters<MergeEventsArgs>) -> ToolResult {
        self.call(move |c, id| {
            let dir = Self::dir(c, id, a.repo_path.as_deref());
            let limit = a.limit.unwrap_or(50).clamp(1, 1000) as usize;
            c.merge_events(Some(&dir), None, limit)
        })
        .await
    }

    #[tool(
        description = "Claim a file or directory (trailing /) for this session, so other sessions' agents keep off: EXCLUSIVE (default) blocks their edits, SHARED and INTENT warn. Fails, naming the holder, when another live session's claim is in the way. Mirrors `parallel-cc claims claim`.",
        output_schema = schema_for_output::<pcc_core::claims::ClaimOutcome>()
    )]
    async fn claim_file(&self, Parameters(a): Parameters<ClaimFileArgs>) -> ToolResult {
        self.call(move |c, id| {
            let req = ClaimRequest {
                actor: Self::actor(c, id),
                file: a.file_path,
                mode: a.mode.unwrap_or(ClaimMode::Exclusive),
                reason: a.reason,
                ttl_hours: a.ttl_hours,
            };
            c.claim(&req)
        })
        .await
    }

    #[tool(
        description = "Release a claim of this session (force: another session's). Mirrors `parallel-cc claims release`.",
        output_schema = schema_for_output::<pcc_core::claims::ClaimChangeView>()
    )]
    async fn release_file(&self, Parameters(a): Parameters<ReleaseArgs>) -> ToolResult {
        self.call(move |c, id| c.release_claim(&a.claim_id, &Self::actor(c, id), a.force)).await
    }

    #[tool(
        description = "Raise a claim of this session to a stronger mode (INTENT → SHARED → EXCLUSIVE), checked against other sessions' claims like a new claim. Mirrors `parallel-cc claims escalate`.",
        output_schema = schema_for_output::<pcc_core::claims::ClaimChangeView>()
    )]
    async fn escalate_claim(&self, Parameters(a): Parameters<EscalateArgs>) -> ToolResult {
        self.call(move |c, id| c.escalate_claim(&a.claim_id, &Self::actor(c, id), a.mode)).await
    }

    #[tool(
        description = "Claims in force on this repository (includeExpired: ended ones too), optionally only those covering filePaths or held by sessionId. Mirrors `parallel-cc claims list`.",
        output_schema = schema_for_output::<pcc_core::claims::ClaimsView>()
    )]
    async fn list_file_claims(&self, Parameters(a): Parameters<ListClaimsArgs>) -> ToolResult {
        self.call(move |c, id| {
            let actor = Self::actor(c, id);
            let filter = ClaimFilter {
                repo: a.repo_path.as_deref().filter(|p| !p.trim().is_empty()).map(|p| actor.cwd.join(p)),
                session: a.session_id,
                files: a.file_paths.unwrap_or_default(),
                history: a.include_expired,
                cwd: actor.cwd,
            };
            c.claims(&filter)
        })
        .await
    }

    #[tool(
        description = "Files that two or more live sessions are changing (edited through their agents, or changed in their checkouts), and whether their versions would merge. Mirrors `parallel-cc overlaps`.",
        output_schema = schema_for_output::<pcc_core::overlaps::OverlapsView>()
    )]
    async fn get_overlaps(&self) -> ToolResult {
        self.call(move |c, id| {
            let dir = Self::dir(c, id, None);
            c.overlaps(&dir)
        })
        .await
    }

    #[tool(
        description = "Would the live sessions' work (uncommitted included) merge with each other and with the target branch? Every pair, computed in memory. Mirrors `parallel-cc conflicts matrix`.",
        output_schema = schema_for_output::<pcc_core::conflicts::MatrixView>()
    )]
    async fn get_conflict_matrix(&self, Parameters(a): Parameters<MatrixArgs>) -> ToolResult {
        self.call(move |c, id| {
            let dir = Self::dir(c, id, None);
            c.conflict_matrix(&dir, a.target_branch.as_deref())
        })
        .await
    }

    #[tool(
        description = "Would currentBranch merge cleanly into targetBranch, and what kind of conflict is each conflicting file? Each is analysed with tree-sitter (TypeScript, TSX, JavaScript, Python, Rust, Go; other files line by line, as `method` says) and classified TRIVIAL, STRUCTURAL, CONCURRENT_EDIT or SEMANTIC with a severity. Computed in memory (nothing is written). analyzeSemantics is accepted; the semantic checks are always made. Mirrors `parallel-cc conflicts analyze`.",
        output_schema = schema_for_output::<AnalyzeView>()
    )]
    async fn detect_advanced_conflicts(&self, Parameters(a): Parameters<AdvancedConflictsArgs>) -> ToolResult {
        if a.analyze_semantics == Some(false) {
            tracing::debug!("analyzeSemantics: false is accepted; the semantic checks are always made");
        }
        self.call(move |c, id| {
            let req = AnalyzeRequest {
                check: CheckRequest {
                    dir: Self::dir(c, id, None),
                    branch: Some(a.current_branch),
                    target: Some(a.target_branch),
                    uncommitted: false,
                },
                file: None,
            };
            c.analyze_conflicts(&req)
        })
        .await
    }

    #[tool(
        description = "Suggested resolutions for a file that conflicts when currentBranch is merged into targetBranch: each a whole resolved file with a confidence (0–1), an explanation, its risks and a preview, best first. They are kept, so apply_auto_fix can apply one by its suggestionId (asking again gives the same ids). Mirrors `parallel-cc suggestions generate`.",
        output_schema = schema_for_output::<GenerateView>()
    )]
    async fn get_auto_fix_suggestions(&self, Parameters(a): Parameters<SuggestionsArgs>) -> ToolResult {
        let min_confidence = a.min_confidence.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&min_confidence) {
            return invalid(format!("minConfidence must be between 0 and 1 (got {min_confidence})"));
        }
        let max_suggestions = a.max_suggestions.unwrap_or(3);
        if !(1..=10).contains(&max_suggestions) {
            return invalid(format!("maxSuggestions must be between 1 and 10 (got {max_suggestions})"));
        }
        self.call(move |c, id| {
            let req = GenerateRequest {
                check: CheckRequest {
                    dir: Self::dir(c, id, None),
                    branch: Some(a.current_branch),
                    target: Some(a.target_branch),
                    uncommitted: false,
                },
                file: Some(a.file_path),
                min_confidence,
                max_suggestions: max_suggestions as usize,
                actor: Some(Self::actor(c, id)),
            };
            c.generate_suggestions(&req)
        })
        .await
    }

    #[tool(
        description = "Apply a suggestion from get_auto_fix_suggestions: write its resolved file over the file in this session's checkout, to settle a merge git stopped on. Start the merge first (`git merge <targetBranch>` in this checkout), then apply, then `git add` the file and commit. Refused when git's versions of the file in that merge are not the ones the suggestion was made for, when no merge is stopped on the file (unless force: true, which writes it as an ordinary edit — merging the branches will still stop on the file), when the file has changed since, or when the resolution has conflict markers or does not parse. The previous file is always backed up first, under the data directory (createBackup: false is accepted, but a backup is still made), and the resolution is recorded in conflict_history. A suggestion is applied once. dryRun: only say what would change. Mirrors `parallel-cc suggestions apply`.",
        output_schema = schema_for_output::<ApplyView>()
    )]
    async fn apply_auto_fix(&self, Parameters(a): Parameters<ApplyFixArgs>) -> ToolResult {
        if a.create_backup == Some(false) {
            tracing::debug!("createBackup: false is accepted; the previous file is backed up all the same");
        }
        self.call(move |c, id| {
            let req = ApplyRequest {
                suggestion_id: a.suggestion_id,
                dry_run: a.dry_run.unwrap_or(false),
                force: a.force.unwrap_or(false),
                actor: Self::actor(c, id),
            };
            c.apply_suggestion(&req)
        })
        .await
    }

    #[tool(
        description = "Conflicts detected in this session's repository (or the one at repo_path; not other repositories) and how they were resolved (AUTO_FIX, MANUAL, HYBRID, ABANDONED; null while unresolved), newest first, with statistics. Filter by filePath, conflictType, resolutionStrategy. Mirrors `parallel-cc conflicts history`.",
        output_schema = schema_for_output::<HistoryView>()
    )]
    async fn conflict_history(&self, Parameters(a): Parameters<HistoryArgs>) -> ToolResult {
        let limit = a.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return invalid(format!("limit must be between 1 and 100 (got {limit})"));
        }
        self.call(move |c, id| {
            let req = HistoryRequest {
                dir: Some(Self::dir(c, id, a.repo_path.as_deref())),
                file: a.file_path.filter(|f| !f.trim().is_empty()),
                conflict_type: a.conflict_type.filter(|t| !t.trim().is_empty()),
                strategy: a.resolution_strategy.filter(|s| !s.trim().is_empty()),
                resolved: None,
                limit: limit as usize,
                offset: a.offset.unwrap_or(0) as usize,
            };
            c.conflict_history(&req)
        })
        .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("parallel-cc", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "parallel-cc coordinates several agents working on one git repository, each in its own \
                 checkout. Before editing a file others may touch, claim it (claim_file); see who else works \
                 here (get_parallel_status, get_overlaps); check that your branch still merges \
                 (check_conflicts) and rebase when it does not conflict (rebase_assist).",
            )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(too_long) = crate::legacy::oversized(request.arguments.as_ref()) {
            return Ok(tool_error(too_long).into());
        }
        let request = crate::legacy::translate(request);
        let router = if self.legacy_router.has_route(&request.name) { &self.legacy_router } else { &self.tool_router };
        router.call(ToolCallContext::new(self, request, context)).await
    }
}
