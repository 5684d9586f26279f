//! Calls by the names and shapes the original's reference documented (PRODUCT.md §6): accepted
//! and answered by the same tools (or, where the shape cannot be one of theirs, by the same
//! pcc-core methods), but not listed, so agents see one clean set. Also the argument-size guard
//! every call passes first.

use pcc_core::autofix::{AnalyzeRequest, GenerateRequest};
use pcc_core::conflicts::CheckRequest;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, ContentBlock, JsonObject};
use rmcp::{tool, tool_router};
use serde_json::Value;

use crate::args::{LegacyDetectArgs, LegacySuggestionsArgs};
use crate::server::{MAX_ARG_LEN, Server, ToolResult};

/// Most elements accepted in an array argument.
const MAX_ARRAY_LEN: usize = 1000;

/// A reason to refuse the call when an argument is too large to be meant.
pub fn oversized(args: Option<&JsonObject>) -> Option<String> {
    fn walk(name: &str, v: &Value) -> Option<String> {
        match v {
            Value::String(s) if s.len() > MAX_ARG_LEN => {
                Some(format!("argument `{name}` is too long ({} bytes; at most {MAX_ARG_LEN})", s.len()))
            }
            Value::Array(items) if items.len() > MAX_ARRAY_LEN => {
                Some(format!("argument `{name}` has too many elements ({}; at most {MAX_ARRAY_LEN})", items.len()))
            }
            Value::Array(items) => items.iter().find_map(|i| walk(name, i)),
            Value::Object(m) => m.iter().find_map(|(k, v)| walk(k, v)),
            _ => None,
        }
    }
    args?.iter().find_map(|(k, v)| walk(k, v))
}

/// The documented-but-wrong names of the original's reference, as calls of the listed tools.
/// `detectAdvancedConflicts` and `getAutoFixSuggestions` stay as they are: the unlisted tools of
/// [`Server::legacy_router`] answer them.
pub fn translate(mut req: CallToolRequestParams) -> CallToolRequestParams {
    let name = match req.name.as_ref() {
        "claimFile" => "claim_file",
        "releaseFile" => "release_file",
        "listFileClaims" => "list_file_claims",
        "applyAutoFix" => "apply_auto_fix",
        "conflictHistory" => "conflict_history",
        _ => return req,
    };
    let mut args = req.arguments.take().unwrap_or_default();
    match name {
        "claim_file" => rename(&mut args, "claimType", "mode"),
        "list_file_claims" => {
            if let Some(f) = args.remove("filePath") {
                args.insert("filePaths".into(), Value::Array(vec![f]));
            }
        }
        _ => {}
    }
    req.name = name.into();
    req.arguments = Some(args);
    req
}

fn rename(args: &mut JsonObject, from: &str, to: &str) {
    if let Some(v) = args.remove(from)
        && !args.contains_key(to)
    {
        args.insert(to.into(), v);
    }
}

/// The original's shapes that no listed tool takes: the current branch is this checkout's HEAD
/// and the target the repository's default branch (or `baseBranch`).
#[tool_router(router = legacy_router, vis = "pub(crate)")]
impl Server {
    /// `detectAdvancedConflicts {filePath, baseBranch?}`: `detect_advanced_conflicts` for one file.
    #[tool(name = "detectAdvancedConflicts")]
    async fn legacy_detect_advanced_conflicts(&self, Parameters(a): Parameters<LegacyDetectArgs>) -> ToolResult {
        self.call(move |c, id| {
            let req = AnalyzeRequest {
                check: CheckRequest {
                    dir: Self::dir(c, id, None),
                    branch: None,
                    target: a.base_branch.filter(|b| !b.trim().is_empty()),
                    uncommitted: false,
                },
                file: Some(a.file_path),
            };
            c.analyze_conflicts(&req)
        })
        .await
    }

    /// `getAutoFixSuggestions {conflictId}`: `get_auto_fix_suggestions` with its defaults, the
    /// conflict named by its file (the original's conflict ids were never given out).
    #[tool(name = "getAutoFixSuggestions")]
    async fn legacy_get_auto_fix_suggestions(&self, Parameters(a): Parameters<LegacySuggestionsArgs>) -> ToolResult {
        let mut result = self
            .call(move |c, id| {
                let req = GenerateRequest {
                    check: CheckRequest { dir: Self::dir(c, id, None), branch: None, target: None, uncommitted: false },
                    file: Some(a.conflict_id),
                    min_confidence: 0.5,
                    max_suggestions: 3,
                    actor: Some(Self::actor(c, id)),
                };
                c.generate_suggestions(&req)
            })
            .await?;
        if result.is_error == Some(true)
            && let Some(ContentBlock::Text(t)) = result.content.first_mut()
        {
            t.text.push_str(
                "\nhint: getAutoFixSuggestions reads conflictId as the path of a file that conflicts when this \
                 checkout's HEAD is merged into the default branch; for other branches call get_auto_fix_suggestions \
                 {filePath, currentBranch, targetBranch}",
            );
        }
        Ok(result)
    }
}
