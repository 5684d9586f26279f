//! Calls by the names and shapes the original's reference documented (PRODUCT.md §6): accepted
//! and answered by the same tools, but not listed, so agents see one clean set. Also the
//! argument-size guard every call passes first.

use rmcp::model::{CallToolRequestParams, JsonObject};
use serde_json::Value;

use crate::server::MAX_ARG_LEN;

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

/// The documented-but-wrong names of the original's reference, as calls of the listed tools;
/// `Err`: the answer, at once, as a tool error (tools not available yet).
pub fn translate(mut req: CallToolRequestParams) -> Result<CallToolRequestParams, String> {
    let name = match req.name.as_ref() {
        "claimFile" => "claim_file",
        "releaseFile" => "release_file",
        "listFileClaims" => "list_file_claims",
        "detectAdvancedConflicts" | "getAutoFixSuggestions" | "applyAutoFix" | "conflictHistory" => {
            return Err(crate::server::not_yet_text(&req.name));
        }
        _ => return Ok(req),
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
    Ok(req)
}

fn rename(args: &mut JsonObject, from: &str, to: &str) {
    if let Some(v) = args.remove(from)
        && !args.contains_key(to)
    {
        args.insert(to.into(), v);
    }
}
