//! Conflict analysis and auto-fix (PRODUCT.md §5): analyse the files a merge would conflict in
//! (pcc-conflict over the blobs of pcc-git's in-memory merge), store suggestions, apply one to a
//! session's checkout (backup first, verify, roll back), and the history of resolutions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pcc_conflict::{ConflictFile, ConflictType, Record, Sides, Strategy, Suggestion};
use pcc_store::{HistoryFilter, NewConflictRecord, NewSuggestion, SuggestionFilter, SuggestionRow};
use serde::Serialize;

use crate::claims::Actor;
use crate::conflicts::{CheckRequest, merge_sides};
use crate::coordinator::Coordinator;
use crate::error::{CoreError, Result, io_err};
use crate::hooks::{path_text, relative, resolve_path};

/// A suggestion with at least this confidence may be applied without review (`canAutoApply`).
pub const AUTO_APPLY_CONFIDENCE: f64 = 0.7;
/// Lines of each side shown in a suggestion's preview.
const PREVIEW_LINES: usize = 10;

#[derive(Clone, Debug, Default)]
pub struct AnalyzeRequest {
    pub check: CheckRequest,
    /// Only this file (repo-relative, as the conflict lists it).
    pub file: Option<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionView {
    pub base_start: usize,
    pub base_lines: usize,
    pub ours_start: usize,
    pub ours_lines: usize,
    pub theirs_start: usize,
    pub theirs_lines: usize,
    pub base: String,
    pub ours: String,
    pub theirs: String,
    pub conflict_type: &'static str,
    pub severity: &'static str,
    pub reason: String,
    pub declarations: Vec<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileAnalysisView {
    pub file_path: String,
    /// git's conflict kind: `content`, `add/add`, `modify/delete`, `rename`, `type`.
    pub kind: &'static str,
    /// TRIVIAL, STRUCTURAL, CONCURRENT_EDIT or SEMANTIC; null when not analysed.
    pub conflict_type: Option<&'static str>,
    pub severity: Option<&'static str>,
    /// `tree-sitter`, `lines`, or `none` (not analysed).
    pub method: &'static str,
    pub language: Option<&'static str>,
    /// Why a file with a grammar was analysed line by line.
    pub fallback_reason: Option<String>,
    /// Why it was not analysed at all.
    pub not_analysed: Option<String>,
    pub regions: Vec<RegionView>,
    pub semantic_issues: Vec<String>,
    /// Syntax errors found in the versions, as `side line:column message`.
    pub diagnostics: Vec<String>,
    pub ours_changed: Vec<String>,
    pub theirs_changed: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisSummary {
    pub total_conflicts: usize,
    pub by_type: BTreeMap<String, usize>,
    pub by_severity: BTreeMap<String, usize>,
    /// TRIVIAL and LOW-severity STRUCTURAL files.
    pub auto_fixable_count: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzeView {
    pub repo_path: String,
    pub source: String,
    pub source_commit: Option<String>,
    pub target: String,
    pub target_commit: String,
    pub merge_base: Option<String>,
    pub has_conflicts: bool,
    pub conflicts: Vec<FileAnalysisView>,
    pub summary: AnalysisSummary,
    /// Why nothing was analysed, when a file was asked for and it does not conflict.
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffStats {
    pub lines_added: usize,
    pub lines_removed: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    /// The first lines of the conflicting region, ours then theirs (at most 10).
    pub before_lines: Vec<String>,
    /// The same region in the resolution (at most 10 lines).
    pub after_lines: Vec<String>,
    /// Against ours' version of the file.
    pub diff_stats: DiffStats,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionView {
    pub suggestion_id: String,
    pub repo_path: String,
    pub file_path: String,
    pub strategy: String,
    pub confidence: f64,
    pub conflict_type: String,
    pub severity: Option<String>,
    pub explanation: String,
    pub risks: Vec<String>,
    pub can_auto_apply: bool,
    pub preview: PreviewView,
    pub generated_at: String,
    pub applied_at: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct GenerateRequest {
    pub check: CheckRequest,
    pub file: Option<String>,
    pub min_confidence: f64,
    /// At most this many per file, best first (0: all).
    pub max_suggestions: usize,
    /// Who generates them: their session is recorded with the detected conflict.
    pub actor: Option<Actor>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateView {
    pub repo_path: String,
    pub source: String,
    pub target: String,
    pub suggestions: Vec<SuggestionView>,
    /// Suggestions made (before the confidence filter).
    pub total_generated: usize,
    /// Left out for being under `minConfidence`.
    pub filtered_by_confidence: usize,
    /// Conflicting files no suggestion can be made for, with why.
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    pub dir: PathBuf,
    pub file: Option<String>,
    pub min_confidence: f64,
    pub applied: Option<bool>,
    pub limit: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionsView {
    pub suggestions: Vec<SuggestionView>,
    pub total: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FactorsView {
    pub complexity: f64,
    pub similarity: f64,
    pub validity: f64,
    pub record: f64,
    pub semantic: bool,
    pub large: bool,
    pub invalid: bool,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainView {
    pub suggestion: SuggestionView,
    pub factors: Option<FactorsView>,
    pub formula: String,
    /// Unified diff from ours' version of the file to the resolution.
    pub diff: String,
}

#[derive(Clone, Debug)]
pub struct ApplyRequest {
    pub suggestion_id: String,
    pub dry_run: bool,
    /// Write it even though no merge is stopped on the file (an ordinary edit: the branches will
    /// still conflict when merged).
    pub force: bool,
    /// Who applies it: the file is written in this session's checkout.
    pub actor: Actor,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    pub conflict_markers_remaining: bool,
    pub syntax_valid: bool,
    pub diff_stats: ApplyDiffStats,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyDiffStats {
    pub lines_changed: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyMetadata {
    pub suggestion_id: String,
    pub confidence: f64,
    pub strategy: String,
    pub applied_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyView {
    pub success: bool,
    pub applied: bool,
    pub dry_run: bool,
    pub message: String,
    /// Repository-relative, like every other view's `filePath`.
    pub file_path: String,
    /// The file written (or that would be), in the acting checkout.
    pub absolute_path: String,
    /// How the resolution lands: `merge` (it settles the file of a stopped merge, rebase, …),
    /// `edit` (no merge is stopped on it: an ordinary edit, with `force`), or `unchanged` (the
    /// file already held it).
    pub mode: &'static str,
    pub backup_path: Option<String>,
    pub rollback_command: Option<String>,
    pub verification: VerificationView,
    pub metadata: ApplyMetadata,
}

#[derive(Clone, Debug, Default)]
pub struct HistoryRequest {
    pub dir: Option<PathBuf>,
    pub file: Option<String>,
    pub conflict_type: Option<String>,
    pub strategy: Option<String>,
    pub resolved: Option<bool>,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub resolution_id: String,
    /// The session that detected it (generating suggestions) or applied its resolution.
    pub session_id: Option<String>,
    pub repo_path: String,
    pub file_path: String,
    pub conflict_type: String,
    pub resolution_strategy: Option<String>,
    pub confidence: Option<f64>,
    pub detected_at: String,
    pub resolved_at: Option<String>,
    pub auto_fix_strategy: Option<String>,
    pub was_auto_applied: bool,
    pub explanation: Option<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryStatistics {
    /// Conflicts with a resolution (AUTO_FIX, MANUAL, HYBRID, ABANDONED).
    pub total_resolutions: usize,
    /// Every conflict the filter selects, resolved or not.
    pub detected: usize,
    /// Of those, not resolved yet.
    pub unresolved: usize,
    /// AUTO_FIX resolutions over all resolutions (0 when there are none).
    pub auto_fix_rate: f64,
    pub average_confidence: Option<f64>,
    /// Every selected conflict by type, resolved or not.
    pub by_type: BTreeMap<String, usize>,
    /// Resolutions by strategy.
    pub by_strategy: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub offset: usize,
    pub limit: usize,
    pub total: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    pub history: Vec<HistoryEntry>,
    pub statistics: HistoryStatistics,
    pub pagination: Pagination,
}

/// One conflicting file of a merge, with its analysis when it has three file versions.
struct Analysed {
    path: String,
    kind: &'static str,
    file: Option<ConflictFile>,
    reason: Option<String>,
    blobs: Option<[Vec<u8>; 3]>,
}

struct Merge {
    repo_path: String,
    source: String,
    source_commit: Option<String>,
    target: String,
    target_commit: String,
    merge_base: Option<String>,
    files: Vec<Analysed>,
    /// Set when a file was asked for and it does not conflict: why nothing was analysed.
    not_conflicting: Option<String>,
}

fn analyse_merge(check: &CheckRequest, only: Option<&str>) -> Result<Merge> {
    let m = merge_sides(check)?;
    let only = match only {
        Some(f) => Some(file_candidates(f, m.repo.checkout(), &check.dir)?),
        None => None,
    };
    let prediction = m.predictor.predict(&m.ours, &m.theirs)?;
    let mut files = Vec::new();
    for c in &prediction.conflicts {
        if only.as_ref().is_some_and(|names| !names.iter().any(|f| *f == c.path || c.paths.contains(f))) {
            continue;
        }
        let mut a = Analysed { path: c.path.clone(), kind: c.kind.as_str(), file: None, reason: None, blobs: None };
        match &c.blobs {
            Some(b) => {
                let base = match &b.base {
                    Some(id) => m.predictor.blob_data(id)?,
                    None => Vec::new(),
                };
                let ours = m.predictor.blob_data(&b.ours)?;
                let theirs = m.predictor.blob_data(&b.theirs)?;
                a.file = Some(ConflictFile::analyze(&Sides {
                    path: &c.path,
                    base: &base,
                    ours: &ours,
                    theirs: &theirs,
                    ours_label: m.ours.label(),
                    theirs_label: m.theirs.label(),
                }));
                a.blobs = Some([base, ours, theirs]);
            }
            None => {
                a.reason = Some(format!("not analysed because it is a {} conflict, not a content conflict", c.kind))
            }
        }
        files.push(a);
    }
    let not_conflicting = match &only {
        Some(names) if files.is_empty() => Some(format!(
            "{} does not conflict when merging {} into {}",
            names.first().map(String::as_str).unwrap_or_default(),
            m.source,
            m.target
        )),
        _ => None,
    };
    Ok(Merge {
        repo_path: path_text(m.repo.main_path()),
        source: m.source,
        source_commit: m.ours.head().map(|c| c.to_string()),
        target: m.target,
        target_commit: m.target_commit.to_string(),
        merge_base: prediction.base.map(|b| b.to_string()),
        files,
        not_conflicting,
    })
}

/// The repository-relative names `file` may mean, as the conflict lists name files: an absolute
/// path or one starting with `./` or `../` is taken from `cwd` and must lie in `checkout`; a
/// bare relative path is repository-relative, or (when `cwd` is a subdirectory) relative to `cwd`
/// as git reads it.
fn file_candidates(file: &str, checkout: &Path, cwd: &Path) -> Result<Vec<String>> {
    let checkout = resolve_path(checkout);
    let cwd = resolve_path(cwd);
    let inside = |p: &Path| -> Option<String> {
        let p = resolve_path(p);
        let rel = p.strip_prefix(&checkout).ok()?;
        (!rel.as_os_str().is_empty()).then(|| relative(&p, &checkout))
    };
    let path = Path::new(file);
    let explicit = path.is_absolute() || file.starts_with("./") || file.starts_with("../");
    if explicit || file.is_empty() {
        return match inside(&cwd.join(path)) {
            Some(rel) => Ok(vec![rel]),
            None => Err(CoreError::InvalidArgs {
                reason: format!("{file} is not a file in the checkout {}", checkout.display()),
            }),
        };
    }
    let mut names = vec![relative(path, Path::new(""))];
    if let Some(rel) = inside(&cwd.join(path))
        && !names.contains(&rel)
    {
        names.push(rel);
    }
    Ok(names)
}

fn file_view(a: &Analysed) -> FileAnalysisView {
    let Some(file) = &a.file else {
        return FileAnalysisView {
            file_path: a.path.clone(),
            kind: a.kind,
            conflict_type: None,
            severity: None,
            method: "none",
            language: None,
            fallback_reason: None,
            not_analysed: a.reason.clone(),
            regions: Vec::new(),
            semantic_issues: Vec::new(),
            diagnostics: Vec::new(),
            ours_changed: Vec::new(),
            theirs_changed: Vec::new(),
        };
    };
    let an = file.analysis();
    FileAnalysisView {
        file_path: a.path.clone(),
        kind: a.kind,
        conflict_type: an.class.map(|c| c.as_str()),
        severity: an.severity.map(|s| s.as_str()),
        method: if an.not_analysed.is_some() { "none" } else { an.method.as_str() },
        language: an.language.map(|l| l.name()),
        fallback_reason: an.fallback_reason.clone(),
        not_analysed: an.not_analysed.clone(),
        regions: an
            .regions
            .iter()
            .map(|r| RegionView {
                base_start: r.base.start,
                base_lines: r.base.count,
                ours_start: r.ours.start,
                ours_lines: r.ours.count,
                theirs_start: r.theirs.start,
                theirs_lines: r.theirs.count,
                base: r.base_text.clone(),
                ours: r.ours_text.clone(),
                theirs: r.theirs_text.clone(),
                conflict_type: r.class.as_str(),
                severity: r.severity.as_str(),
                reason: r.reason.clone(),
                declarations: r.declarations.clone(),
            })
            .collect(),
        semantic_issues: an.semantic_issues.clone(),
        diagnostics: an
            .diagnostics
            .iter()
            .map(|d| format!("{} {}:{} {}", d.side, d.diagnostic.line, d.diagnostic.column, d.diagnostic.message))
            .collect(),
        ours_changed: an.ours_changed.clone(),
        theirs_changed: an.theirs_changed.clone(),
    }
}

fn summary(files: &[FileAnalysisView]) -> AnalysisSummary {
    let mut s = AnalysisSummary { total_conflicts: files.len(), ..Default::default() };
    for t in ["TRIVIAL", "STRUCTURAL", "CONCURRENT_EDIT", "SEMANTIC", "UNKNOWN"] {
        s.by_type.insert(t.to_string(), 0);
    }
    for sev in ["LOW", "MEDIUM", "HIGH"] {
        s.by_severity.insert(sev.to_string(), 0);
    }
    for f in files {
        *s.by_type.entry(f.conflict_type.unwrap_or("UNKNOWN").to_string()).or_default() += 1;
        *s.by_severity.entry(f.severity.unwrap_or("HIGH").to_string()).or_default() += 1;
        if f.conflict_type == Some("TRIVIAL") || (f.conflict_type == Some("STRUCTURAL") && f.severity == Some("LOW")) {
            s.auto_fixable_count += 1;
        }
    }
    s
}

fn lines_of(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

#[derive(serde::Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    risks: Vec<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    preview_before: Vec<String>,
    #[serde(default)]
    preview_after: Vec<String>,
    #[serde(default)]
    factors: Option<[f64; 4]>,
    #[serde(default)]
    flags: Option<[bool; 3]>,
}

fn meta_of(row: &SuggestionRow) -> Meta {
    row.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default()
}

fn suggestion_view(row: &SuggestionRow) -> SuggestionView {
    let meta = meta_of(row);
    let (added, removed) = pcc_conflict::line_changes(&row.source_content, &row.suggested_resolution);
    SuggestionView {
        suggestion_id: row.id.clone(),
        repo_path: row.repo_path.clone(),
        file_path: row.file_path.clone(),
        strategy: row.strategy.clone(),
        confidence: row.confidence,
        conflict_type: row.conflict_type.clone(),
        severity: meta.severity,
        explanation: row.explanation.clone(),
        risks: meta.risks,
        can_auto_apply: row.confidence >= AUTO_APPLY_CONFIDENCE,
        preview: PreviewView {
            before_lines: meta.preview_before,
            after_lines: meta.preview_after,
            diff_stats: DiffStats { lines_added: added, lines_removed: removed },
        },
        generated_at: row.generated_at.to_string(),
        applied_at: row.applied_at.map(|t| t.to_string()),
        source: meta.source,
        target: meta.target,
    }
}

/// The first conflicting region, before (ours then theirs) and after (the same lines of the
/// resolution), at most [`PREVIEW_LINES`] each.
fn preview(file: &ConflictFile, s: &Suggestion) -> (Vec<String>, Vec<String>) {
    let Some(r) = file.analysis().regions.first() else { return (Vec::new(), Vec::new()) };
    let mut before: Vec<String> = lines_of(&r.ours_text);
    before.extend(lines_of(&r.theirs_text));
    before.truncate(PREVIEW_LINES);
    let start = r.ours.start.saturating_sub(1);
    let after: Vec<String> = s.resolved.lines().skip(start).take(PREVIEW_LINES).map(str::to_string).collect();
    (before, after)
}

impl Coordinator {
    /// `conflicts analyze`: the merge's conflicting files, each analysed.
    pub fn analyze_conflicts(&mut self, req: &AnalyzeRequest) -> Result<AnalyzeView> {
        let m = analyse_merge(&req.check, req.file.as_deref())?;
        let conflicts: Vec<FileAnalysisView> = m.files.iter().map(file_view).collect();
        Ok(AnalyzeView {
            repo_path: m.repo_path,
            source: m.source,
            source_commit: m.source_commit,
            target: m.target,
            target_commit: m.target_commit,
            merge_base: m.merge_base,
            has_conflicts: !conflicts.is_empty(),
            summary: summary(&conflicts),
            conflicts,
            note: m.not_conflicting,
        })
    }

    /// `suggestions generate`: analyse, make every applicable strategy's resolution, store the
    /// detected conflict and its suggestions (once: generating again returns the same ids), and
    /// return those at or above `min_confidence`.
    pub fn generate_suggestions(&mut self, req: &GenerateRequest) -> Result<GenerateView> {
        let m = analyse_merge(&req.check, req.file.as_deref())?;
        let mut records: BTreeMap<Strategy, Record> = BTreeMap::new();
        for s in Strategy::ALL {
            let r = self.store.read().strategy_record(s.as_str())?;
            records.insert(s, Record { applied: r.applied, failed: r.failed });
        }
        let now = self.now();
        let session_id = req.actor.as_ref().and_then(|a| self.acting_session(a).ok()).map(|s| s.id);
        let mut out = Vec::new();
        let mut skipped: Vec<String> = m.not_conflicting.iter().cloned().collect();
        let mut total = 0;
        for a in &m.files {
            let (Some(file), Some(blobs)) = (&a.file, &a.blobs) else {
                skipped.push(format!("{}: {}", a.path, a.reason.clone().unwrap_or_default()));
                continue;
            };
            let an = file.analysis();
            if let Some(reason) = &an.not_analysed {
                skipped.push(format!("{}: {reason}", a.path));
                continue;
            }
            let Some(class) = an.class else {
                skipped.push(format!(
                    "{}: git's merge conflicts here, but a histogram line merge finds no conflicting region; \
                     nothing to suggest (`git merge-file --diff-algorithm=histogram` merges it)",
                    a.path
                ));
                continue;
            };
            let mut suggestions = file.suggest(&|s| records.get(&s).copied().unwrap_or_default());
            if req.max_suggestions > 0 {
                suggestions.truncate(req.max_suggestions);
            }
            total += suggestions.len();
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let severity = an.severity.map(|s| s.as_str().to_string());
            let record = NewConflictRecord {
                id: uuid::Uuid::new_v4().to_string(),
                session_id: session_id.clone(),
                repo_path: m.repo_path.clone(),
                file_path: a.path.clone(),
                conflict_type: class.as_str().to_string(),
                base_commit: m.merge_base.clone().unwrap_or_default(),
                source_commit: m.source_commit.clone().unwrap_or_else(|| "working-tree".into()),
                target_commit: m.target_commit.clone(),
                conflict_markers: an.with_markers.clone(),
                detected_at: now,
                metadata: serde_json::to_string(&serde_json::json!({
                    "source": m.source, "target": m.target, "severity": severity, "method": an.method.as_str(),
                }))
                .ok(),
            };
            let stored: Vec<SuggestionRow> = self.store.write(|tx| -> Result<Vec<SuggestionRow>> {
                let conflict = match tx.find_conflict(
                    &record.repo_path,
                    &record.file_path,
                    &record.base_commit,
                    &record.source_commit,
                    &record.target_commit,
                    &record.conflict_markers,
                )? {
                    Some(c) => c.id,
                    None => {
                        tx.insert_conflict(&record)?;
                        record.id.clone()
                    }
                };
                let existing = tx.suggestions_for_conflict(&conflict)?;
                let mut rows = Vec::new();
                for s in &suggestions {
                    let (before, after) = preview(file, s);
                    let f = s.factors;
                    let meta = Meta {
                        severity: severity.clone(),
                        risks: s.risks.clone(),
                        source: Some(m.source.clone()),
                        target: Some(m.target.clone()),
                        preview_before: before,
                        preview_after: after,
                        factors: Some([f.complexity, f.similarity, f.validity, f.record]),
                        flags: Some([f.semantic, f.large, f.invalid]),
                    };
                    let metadata = serde_json::to_string(&meta).ok();
                    // The same resolution made again keeps its id; one not applied yet takes the
                    // confidence the strategy's record gives it now.
                    if let Some(row) = existing
                        .iter()
                        .find(|r| r.strategy == s.strategy.as_str() && r.suggested_resolution == s.resolved)
                    {
                        tx.refresh_suggestion(&row.id, s.confidence, &s.explanation, metadata.as_deref())?;
                        if let Some(row) = tx.suggestion(&row.id)? {
                            rows.push(row);
                        }
                        continue;
                    }
                    let new = NewSuggestion {
                        id: uuid::Uuid::new_v4().to_string(),
                        conflict_resolution_id: Some(conflict.clone()),
                        repo_path: m.repo_path.clone(),
                        file_path: a.path.clone(),
                        conflict_type: class.as_str().to_string(),
                        suggested_resolution: s.resolved.clone(),
                        confidence: s.confidence,
                        explanation: s.explanation.clone(),
                        strategy: s.strategy.as_str().to_string(),
                        base_content: text(&blobs[0]),
                        source_content: text(&blobs[1]),
                        target_content: text(&blobs[2]),
                        generated_at: now,
                        metadata,
                    };
                    tx.insert_suggestion(&new)?;
                    if let Some(row) = tx.suggestion(&new.id)? {
                        rows.push(row);
                    }
                }
                Ok(rows)
            })?;
            out.extend(stored);
        }
        let kept: Vec<SuggestionView> =
            out.iter().filter(|r| r.confidence >= req.min_confidence).map(suggestion_view).collect();
        Ok(GenerateView {
            repo_path: m.repo_path,
            source: m.source,
            target: m.target,
            filtered_by_confidence: total - kept.len().min(total),
            total_generated: total,
            suggestions: kept,
            skipped,
        })
    }

    /// `suggestions list`: stored suggestions of the repository containing `dir`.
    pub fn list_suggestions(&mut self, req: &ListRequest) -> Result<SuggestionsView> {
        let repo = pcc_git::Repo::discover(&req.dir)?;
        let rows = self.store.read().suggestions(&SuggestionFilter {
            repo: Some(path_text(repo.main_path())),
            file: req.file.clone(),
            min_confidence: req.min_confidence,
            applied: req.applied,
            limit: req.limit,
        })?;
        let suggestions: Vec<SuggestionView> = rows.iter().map(suggestion_view).collect();
        Ok(SuggestionsView { total: suggestions.len(), suggestions })
    }

    fn suggestion_row(&self, id: &str) -> Result<SuggestionRow> {
        self.store.read().suggestion(id)?.ok_or_else(|| CoreError::UnknownSuggestion { id: id.to_string() })
    }

    /// `suggestions explain`: a suggestion with its confidence factors and its diff.
    pub fn explain_suggestion(&mut self, id: &str) -> Result<ExplainView> {
        let row = self.suggestion_row(id)?;
        let meta = meta_of(&row);
        let factors = match (meta.factors, meta.flags) {
            (Some([complexity, similarity, validity, record]), Some([semantic, large, invalid])) => {
                Some(FactorsView { complexity, similarity, validity, record, semantic, large, invalid })
            }
            _ => None,
        };
        let diff = pcc_conflict::unified_diff(
            &row.source_content,
            &row.suggested_resolution,
            &format!("a/{}", row.file_path),
            &format!("b/{}", row.file_path),
        );
        Ok(ExplainView {
            suggestion: suggestion_view(&row),
            factors,
            formula: "0.35·complexity + 0.15·similarity + 0.25·validity + 0.25·record; ×0.7 if SEMANTIC; ×0.9 if over \
                      100 conflicting lines; at most 0.3 if markers remain or it does not parse; at most 0.4 for keep-both"
                .into(),
            diff,
        })
    }

    /// `suggestions apply`: write a suggestion's resolution over the file in the acting session's
    /// checkout (or the checkout holding the current directory).
    ///
    /// It settles a conflict where git stopped on it: when a merge (rebase, cherry-pick, …) left
    /// the file unmerged, its index versions must be the ones the suggestion was made from.
    /// Without a stopped merge, writing it would only be an ordinary edit (merging the branches
    /// would stop on the file all the same), so that takes `force`, and the file must still be
    /// the version the suggestion was made from. The result must have no markers and parse. The
    /// old file is backed up under the data directory first, and restored if what was written
    /// does not read back. A suggestion is applied once: the mark and the write happen in one
    /// transaction, so of two racing applies one writes and the other is refused.
    pub fn apply_suggestion(&mut self, req: &ApplyRequest) -> Result<ApplyView> {
        let row = self.suggestion_row(&req.suggestion_id)?;
        if let Some(at) = row.applied_at {
            return Err(CoreError::AlreadyApplied { id: row.id.clone(), at: at.to_string() });
        }
        let repo = self.apply_repo(&req.actor, &row.repo_path)?;
        let checkout = repo.checkout().to_path_buf();
        let target = checkout.join(&row.file_path);
        let resolved = row.suggested_resolution.as_bytes();
        let markers = pcc_conflict::has_conflict_markers(&row.suggested_resolution);
        let parses = pcc_conflict::parses_cleanly(&row.file_path, &row.suggested_resolution);
        let current = match std::fs::read(&target) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(CoreError::Io { op: "cannot read", path: target.clone(), source: e }),
        };
        let current_text = current.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        let (added, removed) = pcc_conflict::line_changes(&current_text, &row.suggested_resolution);
        let mut view = ApplyView {
            success: true,
            applied: false,
            dry_run: req.dry_run,
            message: String::new(),
            file_path: row.file_path.clone(),
            absolute_path: path_text(&target),
            mode: "merge",
            backup_path: None,
            rollback_command: None,
            verification: VerificationView {
                conflict_markers_remaining: markers,
                syntax_valid: parses != Some(false),
                diff_stats: ApplyDiffStats {
                    lines_changed: added.max(removed),
                    lines_added: added,
                    lines_removed: removed,
                },
            },
            metadata: ApplyMetadata {
                suggestion_id: row.id.clone(),
                confidence: row.confidence,
                strategy: row.strategy.clone(),
                applied_at: None,
            },
        };
        let refuse =
            |reason: String, hint: Option<String>| CoreError::ApplyRefused { path: target.clone(), reason, hint };
        // Refusals that change nothing.
        if markers || parses == Some(false) {
            let what = if markers { "it still contains conflict markers" } else { "it does not parse" };
            if !req.dry_run {
                let now = self.now();
                self.store.write(|tx| tx.record_failed_apply(&row.id, what, now))?;
            }
            return Err(refuse(format!("suggestion {} was not applied: {what}", row.id), None));
        }
        let meta = meta_of(&row);
        let target_branch = meta.target.clone().unwrap_or_else(|| "the target branch".into());
        let stopped = repo.unmerged_stages(&row.file_path)?;
        if current.as_deref() == Some(resolved) {
            view.mode = "unchanged";
        } else if let Some(st) = &stopped {
            let op = st.operation.unwrap_or("merge");
            if !stages_match(st, &row) {
                return Err(refuse(
                    format!(
                        "the {op} stopped in {} is not the one suggestion {} was made for: its versions of {} differ",
                        checkout.display(),
                        row.id,
                        row.file_path
                    ),
                    Some(format!(
                        "make suggestions for the merge in progress: `parallel-cc suggestions generate --file {}` \
                         (with --branch/--target naming the two sides), or resolve it by hand",
                        row.file_path
                    )),
                ));
            }
        } else if pcc_conflict::has_conflict_markers(&current_text) {
            // Markers git did not leave in the index (`git merge-file`, a stash pop, …): this is
            // being resolved by hand, and the resolution replaces that attempt.
        } else if current.as_deref() == Some(row.source_content.as_bytes()) {
            if !req.force {
                return Err(refuse(
                    format!(
                        "no merge is stopped on {} in {}: written now, the resolution would only be an edit, and \
                         merging the branches would still stop on this file",
                        row.file_path,
                        checkout.display()
                    ),
                    Some(format!(
                        "start the merge first (`git merge {target_branch}` in {}), then apply it and commit the merge; \
                         or apply it with force (`--force`, MCP `force: true`) to write it as an ordinary edit",
                        checkout.display()
                    )),
                ));
            }
            view.mode = "edit";
        } else {
            return Err(refuse(
                format!(
                    "{} has changed since suggestion {} was made (it is neither that version nor a file with conflict \
                     markers)",
                    row.file_path, row.id
                ),
                None,
            ));
        }
        let next_step = match view.mode {
            "merge" => format!(
                "; finish the {}: `git add {}`, then `git commit`",
                stopped.as_ref().and_then(|s| s.operation).unwrap_or("merge"),
                shell_quote(&row.file_path)
            ),
            "edit" => format!("; merging {target_branch} will still stop on this file"),
            _ => String::new(),
        };
        if req.dry_run {
            view.message = if view.mode == "unchanged" {
                format!("{} already holds this resolution; nothing would change", row.file_path)
            } else {
                format!(
                    "would replace {} with the {} resolution (+{added} −{removed} lines); nothing was changed",
                    row.file_path, row.strategy
                )
            };
            return Ok(view);
        }
        // Backup first, in the data directory (not the checkout, where it could be committed).
        if view.mode != "unchanged"
            && let Some(bytes) = &current
        {
            let backup =
                self.data_dir.join("backups").join(&row.id).join(
                    Path::new(&row.file_path).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "file".into()),
                );
            if let Some(dir) = backup.parent() {
                std::fs::create_dir_all(dir).map_err(io_err("cannot create directory", dir))?;
            }
            std::fs::write(&backup, bytes).map_err(io_err("cannot write backup", &backup))?;
            view.backup_path = Some(path_text(&backup));
            view.rollback_command =
                Some(format!("cp {} {}", shell_quote(&path_text(&backup)), shell_quote(&path_text(&target))));
        }
        let now = self.now();
        let session = self.acting_session(&req.actor).ok().map(|s| s.id);
        let write = view.mode != "unchanged";
        // Keep the file's permissions (an executable script stays executable).
        let mode = std::fs::metadata(&target)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
            .unwrap_or(0o644);
        // Mark, write and record in one transaction: a write that fails rolls the mark back.
        let outcome = self.store.write(|tx| -> Result<std::result::Result<(), String>> {
            if !tx.mark_suggestion_applied(&row.id, now, false)? {
                return Err(CoreError::AlreadyApplied {
                    id: row.id.clone(),
                    at: "just now, by another process".into(),
                });
            }
            if write {
                crate::fsutil::write_atomic(&target, resolved, mode)?;
                if std::fs::read(&target).ok().as_deref() != Some(resolved) {
                    let restored = match &current {
                        Some(bytes) => crate::fsutil::write_atomic(&target, bytes, mode).is_ok(),
                        None => std::fs::remove_file(&target).is_ok(),
                    };
                    return Ok(Err(format!(
                        "the resolution did not read back as written; {}",
                        if restored { "the previous file was restored" } else { "restore it from the backup" }
                    )));
                }
            }
            let conflict = match &row.conflict_resolution_id {
                Some(id) if tx.conflict_record(id)?.is_some() => id.clone(),
                _ => {
                    let id = uuid::Uuid::new_v4().to_string();
                    tx.insert_conflict(&NewConflictRecord {
                        id: id.clone(),
                        session_id: session.clone(),
                        repo_path: row.repo_path.clone(),
                        file_path: row.file_path.clone(),
                        conflict_type: row.conflict_type.clone(),
                        base_commit: String::new(),
                        source_commit: String::new(),
                        target_commit: String::new(),
                        conflict_markers: String::new(),
                        detected_at: now,
                        metadata: None,
                    })?;
                    id
                }
            };
            tx.resolve_conflict(
                &conflict,
                "AUTO_FIX",
                Some(row.confidence),
                Some(&row.suggested_resolution),
                Some(&row.id),
                now,
            )?;
            Ok(Ok(()))
        });
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(reason)) => Some(reason),
            Err(CoreError::Io { op, path, source }) if write => {
                Some(format!("{op} {}: {source}; the previous file is as it was", path.display()))
            }
            Err(e) => return Err(e),
        };
        if let Some(reason) = failure {
            let now = self.now();
            self.store.write(|tx| tx.record_failed_apply(&row.id, &reason, now))?;
            return Err(refuse(reason, None));
        }
        view.applied = true;
        view.metadata.applied_at = Some(now.to_string());
        view.message = if view.mode == "unchanged" {
            format!("{} already holds this resolution; recorded it as applied{next_step}", row.file_path)
        } else {
            format!(
                "applied the {} resolution to {} (+{added} −{removed} lines); the previous file is kept at {}{next_step}",
                row.strategy,
                row.file_path,
                view.backup_path.as_deref().unwrap_or("(it did not exist)")
            )
        };
        Ok(view)
    }

    /// The repository a suggestion is applied in, opened at the acting session's checkout, else
    /// the one holding the current directory; it must be the suggestion's repository.
    fn apply_repo(&self, actor: &Actor, repo_path: &str) -> Result<pcc_git::Repo> {
        let dir = self.actor_dir(actor);
        let repo = pcc_git::Repo::discover(&dir)?;
        if path_text(repo.main_path()) != repo_path {
            return Err(CoreError::InvalidArgs {
                reason: format!(
                    "the suggestion belongs to {repo_path}, but {} is in {}",
                    dir.display(),
                    repo.main_path().display()
                ),
            });
        }
        Ok(repo)
    }

    /// `conflicts history`: detected conflicts and how they were resolved.
    pub fn conflict_history(&mut self, req: &HistoryRequest) -> Result<HistoryView> {
        let repo = match &req.dir {
            Some(d) => Some(path_text(pcc_git::Repo::discover(d)?.main_path())),
            None => None,
        };
        if let Some(t) = &req.conflict_type
            && ConflictType::parse(t).is_none()
        {
            return Err(CoreError::InvalidArgs {
                reason: format!("unknown conflict type {t:?}: TRIVIAL, STRUCTURAL, SEMANTIC or CONCURRENT_EDIT"),
            });
        }
        if let Some(s) = &req.strategy
            && !["AUTO_FIX", "MANUAL", "HYBRID", "ABANDONED"].contains(&s.as_str())
        {
            return Err(CoreError::InvalidArgs {
                reason: format!("unknown resolution strategy {s:?}: AUTO_FIX, MANUAL, HYBRID or ABANDONED"),
            });
        }
        let limit = if req.limit == 0 { 20 } else { req.limit };
        let filter = HistoryFilter {
            repo,
            file: req.file.clone(),
            conflict_type: req.conflict_type.clone(),
            strategy: req.strategy.clone(),
            resolved: req.resolved,
            limit,
            offset: req.offset,
        };
        let (rows, total) = self.store.read().conflict_history(&filter)?;
        let stats = self.store.read().history_stats(&filter)?;
        let resolutions: usize = stats.by_strategy.values().sum();
        Ok(HistoryView {
            history: rows
                .into_iter()
                .map(|r| HistoryEntry {
                    was_auto_applied: r.resolution_strategy.as_deref() == Some("AUTO_FIX"),
                    resolution_id: r.id,
                    session_id: r.session_id,
                    repo_path: r.repo_path,
                    file_path: r.file_path,
                    conflict_type: r.conflict_type,
                    resolution_strategy: r.resolution_strategy,
                    confidence: r.confidence,
                    detected_at: r.detected_at.to_string(),
                    resolved_at: r.resolved_at.map(|t| t.to_string()),
                    auto_fix_strategy: r.auto_fix_strategy,
                    explanation: r.explanation,
                })
                .collect(),
            statistics: HistoryStatistics {
                total_resolutions: resolutions,
                detected: stats.total,
                unresolved: stats.total.saturating_sub(stats.resolved),
                auto_fix_rate: if resolutions == 0 { 0.0 } else { stats.auto_fixed as f64 / resolutions as f64 },
                average_confidence: stats.average_confidence,
                by_type: stats.by_type,
                by_strategy: stats.by_strategy,
            },
            pagination: Pagination { offset: req.offset, limit, total },
        })
    }
}

/// Whether a stopped merge's versions of a file are the ones a suggestion was made from: the
/// same base, and the two sides in either order (merging the target into the source's checkout,
/// or the source into the target's; a rebase swaps them too).
fn stages_match(st: &pcc_git::UnmergedStages, row: &SuggestionRow) -> bool {
    fn text(b: &Option<Vec<u8>>) -> std::borrow::Cow<'_, str> {
        b.as_deref().map(String::from_utf8_lossy).unwrap_or_default()
    }
    let (base, ours, theirs) = (text(&st.base), text(&st.ours), text(&st.theirs));
    base == row.base_content
        && ((ours == row.source_content && theirs == row.target_content)
            || (ours == row.target_content && theirs == row.source_content))
}

/// Quote a path for a command line shown to a human (never run by us).
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./-+@%:=,".contains(c);
    if !s.is_empty() && !s.starts_with('-') && s.chars().all(plain) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}
