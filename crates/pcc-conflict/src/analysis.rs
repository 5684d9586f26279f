//! Analysis of one conflicting file: its regions, their classes, and the suggestions.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

use crate::confidence::{self, Factors, Record};
use crate::lang::{self, Language};
use crate::merge::{self, Three};
use crate::syntax::{self, DeclKind, Declaration, Diagnostic, ParseFailure, Seq, Syntax, Unit};
use crate::text::{self, Chunk, Edit};

/// Files larger than this (any version) are not analysed.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Files larger than this are analysed line by line, not parsed.
pub const MAX_PARSE_BYTES: usize = 2 * 1024 * 1024;
/// A part that differs (after the lines the versions share at the start and end) longer than
/// this is not diffed: the diff's cost grows with length times differences.
pub const MAX_CHANGED_LINES: usize = 20_000;
/// Files with more conflicting regions than this are not analysed.
pub const MAX_REGIONS: usize = 1_000;

/// The class of a conflict (PRODUCT.md §5), from the easiest to the hardest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConflictType {
    /// Both sides are equal after whitespace normalisation.
    Trivial,
    /// The sides changed different declarations, or both only added imports or declarations.
    Structural,
    /// Overlapping line edits where no parse-based rule applies.
    ConcurrentEdit,
    /// Both changed one declaration differently, or one side removed or renamed a declaration
    /// the other side's change uses.
    Semantic,
}

impl ConflictType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictType::Trivial => "TRIVIAL",
            ConflictType::Structural => "STRUCTURAL",
            ConflictType::ConcurrentEdit => "CONCURRENT_EDIT",
            ConflictType::Semantic => "SEMANTIC",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TRIVIAL" => ConflictType::Trivial,
            "STRUCTURAL" => ConflictType::Structural,
            "CONCURRENT_EDIT" => ConflictType::ConcurrentEdit,
            "SEMANTIC" => ConflictType::Semantic,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

/// A resolution strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    /// Every region differs only in whitespace: ours' text.
    Whitespace,
    /// Regions of import statements: both sides' imports, deduplicated, order kept.
    ImportUnion,
    /// Each declaration from the side that changed it.
    DeclarationMerge,
    /// Both sides one after the other, annotated, for a human to finish.
    KeepBoth,
}

impl Strategy {
    pub const ALL: [Strategy; 4] =
        [Strategy::Whitespace, Strategy::ImportUnion, Strategy::DeclarationMerge, Strategy::KeepBoth];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Whitespace => "whitespace",
            Strategy::ImportUnion => "import-union",
            Strategy::DeclarationMerge => "declaration-merge",
            Strategy::KeepBoth => "keep-both",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Strategy::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// How the file was analysed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Parsed with tree-sitter.
    Syntax(Language),
    /// Line by line: no grammar for the file, or it could not be parsed (see `fallback_reason`).
    Lines,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Syntax(_) => "tree-sitter",
            Method::Lines => "lines",
        }
    }
}

/// A run of lines in one version: 1-based start, count (a count of 0 is an insertion point
/// before `start`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineSpan {
    pub start: usize,
    pub count: usize,
}

impl LineSpan {
    fn of(r: &Range<usize>) -> LineSpan {
        LineSpan { start: r.start + 1, count: r.len() }
    }
}

/// One conflicting region.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub base: LineSpan,
    pub ours: LineSpan,
    pub theirs: LineSpan,
    pub base_text: String,
    pub ours_text: String,
    pub theirs_text: String,
    pub class: ConflictType,
    pub severity: Severity,
    /// Why it has this class, in words.
    pub reason: String,
    /// The declarations the region touches, as `kind name`.
    pub declarations: Vec<String>,
}

/// A syntax problem in one version of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideDiagnostic {
    /// `base`, `ours` or `theirs`.
    pub side: &'static str,
    pub diagnostic: Diagnostic,
}

/// The analysis of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub path: String,
    pub method: Method,
    /// The file's language, if it has a grammar here (also when line analysis was used).
    pub language: Option<Language>,
    /// Why line analysis was used for a file with a grammar (a version did not parse…).
    pub fallback_reason: Option<String>,
    /// Why the file was not analysed at all (binary, too large, …); then there are no regions.
    pub not_analysed: Option<String>,
    pub regions: Vec<Region>,
    /// The hardest class among the regions (SEMANTIC too when `semantic_issues` is not empty);
    /// `None` when nothing was analysed or nothing conflicts.
    pub class: Option<ConflictType>,
    pub severity: Option<Severity>,
    /// Removed or renamed declarations the other side's change still uses.
    pub semantic_issues: Vec<String>,
    pub diagnostics: Vec<SideDiagnostic>,
    /// Declarations each side changed (added, removed or modified), as `kind name`.
    pub ours_changed: Vec<String>,
    pub theirs_changed: Vec<String>,
    /// Every declaration of ours' version.
    pub declarations: Vec<Declaration>,
    /// The file as `git merge-file --diff3` leaves it: merged where clean, markers elsewhere.
    pub with_markers: String,
}

/// A proposed resolution: the whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub strategy: Strategy,
    pub resolved: String,
    pub explanation: String,
    pub risks: Vec<String>,
    pub confidence: f64,
    pub factors: Factors,
    pub markers_remaining: bool,
    /// Whether the result parses cleanly; `None` when its language is not parsed.
    pub parses: Option<bool>,
}

/// The three versions of a conflicting file and the names of the sides.
#[derive(Clone, Copy, Debug)]
pub struct Sides<'a> {
    pub path: &'a str,
    pub base: &'a [u8],
    pub ours: &'a [u8],
    pub theirs: &'a [u8],
    /// Names used in conflict markers and annotations (e.g. the branches).
    pub ours_label: &'a str,
    pub theirs_label: &'a str,
}

/// What analysis keeps for making suggestions.
#[derive(Debug)]
struct Prepared {
    texts: [String; 3],
    chunks: Vec<Chunk>,
    edits: [Vec<Edit>; 2],
    syntax: Option<[Syntax; 3]>,
    language: Option<Language>,
    labels: [String; 2],
    /// Both sides only added, in every region.
    additions_only: bool,
    /// Per region: how close the sides are to agreeing (see `region_similarity`).
    similarities: Vec<f64>,
}

/// A conflicting file, analysed.
#[derive(Debug)]
pub struct ConflictFile {
    analysis: Analysis,
    prepared: Option<Prepared>,
}

fn not_analysed(path: &str, language: Option<Language>, reason: String) -> ConflictFile {
    ConflictFile {
        analysis: Analysis {
            path: path.to_string(),
            method: Method::Lines,
            language,
            fallback_reason: None,
            not_analysed: Some(reason),
            regions: Vec::new(),
            class: None,
            severity: None,
            semantic_issues: Vec::new(),
            diagnostics: Vec::new(),
            ours_changed: Vec::new(),
            theirs_changed: Vec::new(),
            declarations: Vec::new(),
            with_markers: String::new(),
        },
        prepared: None,
    }
}

const SIDES: [&str; 3] = ["base", "ours", "theirs"];

impl ConflictFile {
    /// Analyse a file. Never fails: what cannot be analysed says why in `not_analysed`.
    pub fn analyze(s: &Sides<'_>) -> ConflictFile {
        let language = Language::from_path(s.path).filter(|l| l.is_supported());
        let raw = [s.base, s.ours, s.theirs];
        for (side, data) in SIDES.iter().zip(raw) {
            if data.len() > MAX_FILE_BYTES {
                return not_analysed(
                    s.path,
                    language,
                    format!(
                        "not analysed because {side} is {:.1} MiB; files over {} MiB are left to you",
                        data.len() as f64 / 1048576.0,
                        MAX_FILE_BYTES / 1048576
                    ),
                );
            }
        }
        for (side, data) in SIDES.iter().zip(raw) {
            if data.contains(&0) {
                return not_analysed(
                    s.path,
                    language,
                    format!("not analysed because {side} is binary (it contains NUL bytes)"),
                );
            }
        }
        let mut texts: Vec<String> = Vec::with_capacity(3);
        for (side, data) in SIDES.iter().zip(raw) {
            match std::str::from_utf8(data) {
                Ok(t) => texts.push(t.to_string()),
                Err(e) => {
                    return not_analysed(
                        s.path,
                        language,
                        format!("not analysed because {side} is not valid UTF-8 (at byte {})", e.valid_up_to()),
                    );
                }
            }
        }
        let texts: [String; 3] = match texts.try_into() {
            Ok(t) => t,
            Err(_) => {
                return not_analysed(s.path, language, "not analysed: internal error reading the versions".into());
            }
        };
        let (b, o, t) = (text::lines(&texts[0]), text::lines(&texts[1]), text::lines(&texts[2]));
        let (oe, te) = match (text::edits(&b, &o, MAX_CHANGED_LINES), text::edits(&b, &t, MAX_CHANGED_LINES)) {
            (Ok(oe), Ok(te)) => (oe, te),
            (Err(e), _) | (_, Err(e)) => {
                return not_analysed(
                    s.path,
                    language,
                    format!(
                        "not analysed because {} lines differ in one block (at most {MAX_CHANGED_LINES} are compared)",
                        e.changed_lines
                    ),
                );
            }
        };
        let chunks = text::diff3(&b, &o, &t, &oe, &te);
        let conflicts = chunks.iter().filter(|c| matches!(c, Chunk::Conflict { .. })).count();
        if conflicts > MAX_REGIONS {
            return not_analysed(
                s.path,
                language,
                format!(
                    "not analysed because it has {conflicts} conflicting regions (at most {MAX_REGIONS} are analysed)"
                ),
            );
        }
        let with_markers = text::render_markers(&chunks, &b, &o, &t, (s.ours_label, s.theirs_label));

        // Parse all three versions, or fall back to lines and say why.
        let mut fallback_reason = None;
        let mut syntax = None;
        let mut diagnostics = Vec::new();
        if let Some(lang) = language {
            if texts.iter().any(|t| t.len() > MAX_PARSE_BYTES) {
                fallback_reason = Some(format!("larger than {} MiB: analysed line by line", MAX_PARSE_BYTES / 1048576));
            } else {
                // The three parses are independent and dominate the time: run them side by side.
                let parsed: Vec<Result<Syntax, ParseFailure>> = std::thread::scope(|scope| {
                    let handles: Vec<_> = texts.iter().map(|t| scope.spawn(move || syntax::parse(lang, t))).collect();
                    handles.into_iter().map(|h| h.join().unwrap_or(Err(ParseFailure::Cancelled))).collect()
                });
                if let Some(i) = parsed.iter().position(|p| p.is_err()) {
                    fallback_reason = Some(format!(
                        "{} could not be parsed within the parse budget: analysed line by line",
                        SIDES[i]
                    ));
                } else {
                    let mut parsed: Vec<Syntax> = parsed.into_iter().flatten().collect();
                    if let [b, o, t] = parsed.as_mut_slice() {
                        syntax::align(&b.seq, &mut o.seq);
                        syntax::align(&b.seq, &mut t.seq);
                    }
                    for (side, p) in SIDES.iter().zip(&parsed) {
                        diagnostics
                            .extend(p.diagnostics.iter().map(|d| SideDiagnostic { side, diagnostic: d.clone() }));
                    }
                    syntax = <[Syntax; 3]>::try_from(parsed).ok();
                }
            }
        }
        let method = match (&syntax, language) {
            (Some(_), Some(l)) => Method::Syntax(l),
            _ => Method::Lines,
        };

        let prepared = Prepared {
            texts,
            chunks,
            edits: [oe, te],
            syntax,
            language,
            labels: [s.ours_label.to_string(), s.theirs_label.to_string()],
            additions_only: false,
            similarities: Vec::new(),
        };
        let mut file = ConflictFile {
            analysis: Analysis {
                path: s.path.to_string(),
                method,
                language,
                fallback_reason,
                not_analysed: None,
                regions: Vec::new(),
                class: None,
                severity: None,
                semantic_issues: Vec::new(),
                diagnostics,
                ours_changed: Vec::new(),
                theirs_changed: Vec::new(),
                declarations: Vec::new(),
                with_markers,
            },
            prepared: None,
        };
        file.classify(prepared);
        file
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    pub fn into_analysis(self) -> Analysis {
        self.analysis
    }

    fn classify(&mut self, mut p: Prepared) {
        let lines: Vec<Vec<&str>> = p.texts.iter().map(|t| text::lines(t)).collect();
        let changes = p.syntax.as_ref().map(|s| {
            [
                changes(&p.texts[0], &s[0].seq, &p.texts[1], &s[1].seq),
                changes(&p.texts[0], &s[0].seq, &p.texts[2], &s[2].seq),
            ]
        });
        if let (Some(c), Some(s)) = (&changes, &p.syntax) {
            self.analysis.ours_changed = describe_changes(&c[0]);
            self.analysis.theirs_changed = describe_changes(&c[1]);
            self.analysis.declarations = s[1].declarations.clone();
        }
        // Removed or renamed declarations the other side's change uses.
        let mut semantic_lines: [Vec<Range<usize>>; 3] = Default::default();
        if let Some(s) = &p.syntax {
            for (remover, user) in [(1usize, 2usize), (2, 1)] {
                let added = added_lines(&lines[user], &p.edits[user - 1]);
                for (name, base_lines) in removed_names(&s[0].declarations, &s[remover].declarations) {
                    if let Some(at) = added.iter().find(|(_, l)| uses_identifier(l, &name)).map(|(i, _)| *i) {
                        self.analysis.semantic_issues.push(format!(
                            "{} removed or renamed `{name}`, but {}'s change uses it (line {})",
                            p.labels[remover - 1],
                            p.labels[user - 1],
                            at + 1
                        ));
                        semantic_lines[0].push(base_lines.clone());
                        semantic_lines[user].push(at..at + 1);
                    }
                }
            }
        }
        let mut all_additions = true;
        for c in &p.chunks {
            let Chunk::Conflict { base, ours, theirs } = c else { continue };
            let (bl, ol, tl) = (&lines[0][base.clone()], &lines[1][ours.clone()], &lines[2][theirs.clone()]);
            let size = text::normalized(ol).len().max(text::normalized(tl).len());
            let mut region = Region {
                base: LineSpan::of(base),
                ours: LineSpan::of(ours),
                theirs: LineSpan::of(theirs),
                base_text: bl.concat(),
                ours_text: ol.concat(),
                theirs_text: tl.concat(),
                class: ConflictType::ConcurrentEdit,
                severity: if size <= 5 { Severity::Medium } else { Severity::High },
                reason: String::new(),
                declarations: Vec::new(),
            };
            p.similarities.push(region_similarity(bl, ol, tl));
            let insertion = text::normalized(bl).is_empty();
            all_additions &= insertion;
            if text::normalized(ol) == text::normalized(tl) {
                region.class = ConflictType::Trivial;
                region.severity = Severity::Low;
                region.reason = "both sides are the same apart from whitespace".into();
            } else if let (Some(s), Some(ch)) = (&p.syntax, &changes) {
                classify_region(&mut region, [base, ours, theirs], s, ch, insertion);
            } else {
                region.reason = match p.language {
                    Some(_) => "overlapping line edits (line analysis)".into(),
                    None => "overlapping line edits (no grammar for this file: line analysis)".into(),
                };
            }
            let hits = |spans: &[Range<usize>], r: &Range<usize>| spans.iter().any(|s| overlaps(s, r));
            if hits(&semantic_lines[0], base) || hits(&semantic_lines[1], ours) || hits(&semantic_lines[2], theirs) {
                region.class = ConflictType::Semantic;
                region.severity = Severity::High;
                region.reason =
                    "a declaration removed or renamed on one side is used by the other side's change".into();
            }
            self.analysis.regions.push(region);
        }
        p.additions_only = all_additions;
        self.analysis.class = self.analysis.regions.iter().map(|r| r.class).max();
        self.analysis.severity = self.analysis.regions.iter().map(|r| r.severity).max();
        if !self.analysis.semantic_issues.is_empty() {
            self.analysis.class = Some(ConflictType::Semantic);
            self.analysis.severity = Some(Severity::High);
        }
        self.prepared = Some(p);
    }

    /// Every applicable strategy's resolution, best first. `records` gives each strategy's
    /// history of applied suggestions (see [`confidence`](crate::confidence)).
    pub fn suggest(&self, records: &dyn Fn(Strategy) -> Record) -> Vec<Suggestion> {
        let (Some(p), Some(class)) = (&self.prepared, self.analysis.class) else { return Vec::new() };
        let lines: Vec<Vec<&str>> = p.texts.iter().map(|t| text::lines(t)).collect();
        let regions = &self.analysis.regions;
        let mut out = Vec::new();
        let mut candidates: Vec<(Strategy, String, String, Vec<String>)> = Vec::new();

        if regions.iter().all(|r| r.class == ConflictType::Trivial) {
            let resolved = assemble(&p.chunks, &lines, |i| regions[i].ours_text.clone());
            candidates.push((
                Strategy::Whitespace,
                resolved,
                format!(
                    "The {} conflicting region{} differ only in whitespace; {}'s formatting is kept.",
                    regions.len(),
                    plural(regions.len()),
                    p.labels[0]
                ),
                vec![format!("{}'s whitespace in these lines is dropped", p.labels[1])],
            ));
        }
        if let Some(s) = &p.syntax {
            if let Some((resolved, notes)) = import_union(p, s, &lines, regions) {
                candidates.push((
                    Strategy::ImportUnion,
                    resolved,
                    "Both sides only changed imports here: kept every import either side has, each once, ours' \
                     first and in their order, and left out imports either side deleted."
                        .into(),
                    notes,
                ));
            }
            let three = Three {
                base: (&p.texts[0], &s[0].seq),
                ours: (&p.texts[1], &s[1].seq),
                theirs: (&p.texts[2], &s[2].seq),
            };
            // A refusal (two changes to one declaration…) just means this strategy does not apply.
            if let Ok(resolved) = merge::merge_file(three) {
                {
                    let mut risks = Vec::new();
                    risks.extend(self.analysis.semantic_issues.iter().cloned());
                    if class != ConflictType::Trivial && class != ConflictType::Structural {
                        risks.push(
                            "declarations were merged one by one: check that each side's change still fits the other's"
                                .into(),
                        );
                    }
                    candidates.push((Strategy::DeclarationMerge, resolved, self.declaration_explanation(p), risks));
                }
            }
        }
        if regions.iter().any(|r| r.class != ConflictType::Trivial) {
            let comment = lang::line_comment(&self.analysis.path);
            let resolved = assemble(&p.chunks, &lines, |i| {
                let r = &regions[i];
                if r.class == ConflictType::Trivial { r.ours_text.clone() } else { keep_both(r, comment, &p.labels) }
            });
            let mut risks = vec![
                "both versions of each conflicting region are in the file: the result duplicates code until someone edits it".into(),
            ];
            if comment.is_none() {
                risks.push(
                    "this file type has no known comment syntax, so the regions are kept between conflict markers"
                        .into(),
                );
            }
            candidates.push((
                Strategy::KeepBoth,
                resolved,
                format!(
                    "Keeps {} and {} one after the other in each conflicting region, marked for review: a starting point for resolving by hand, not a resolution.",
                    p.labels[0], p.labels[1]
                ),
                risks,
            ));
        }

        let complexity = complexity(class, p.additions_only, regions);
        let similarity = similarity(&p.similarities);
        let conflicting_lines: usize = regions.iter().map(|r| r.ours.count + r.theirs.count).sum();
        // Each result is parsed to check it; side by side, as in analysis.
        let checks: Vec<Option<bool>> = std::thread::scope(|scope| {
            let handles: Vec<_> = candidates
                .iter()
                .map(|(_, resolved, _, _)| {
                    scope.spawn(move || {
                        p.language.and_then(|l| {
                            if resolved.len() > MAX_PARSE_BYTES { None } else { syntax::parses_cleanly(l, resolved) }
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(None)).collect()
        });
        for ((strategy, resolved, explanation, mut risks), parses) in candidates.into_iter().zip(checks) {
            let markers_remaining = text::has_conflict_markers(&resolved);
            if markers_remaining {
                risks.push("conflict markers remain: this cannot be applied".into());
            }
            if parses == Some(false) {
                risks.push("the result does not parse: this cannot be applied".into());
            }
            let validity = match (markers_remaining, parses) {
                (true, _) | (_, Some(false)) => 0.0,
                (false, Some(true)) => 1.0,
                (false, None) => 0.6,
            };
            let factors = Factors {
                complexity,
                similarity,
                validity,
                record: confidence::record_score(strategy, records(strategy)),
                semantic: class == ConflictType::Semantic,
                large: conflicting_lines > 100,
                invalid: markers_remaining || parses == Some(false),
            };
            let confidence = confidence::score(strategy, &factors);
            if confidence < 0.8 && !risks.iter().any(|r| r.contains("cannot be applied")) {
                let level = if confidence < 0.5 { "low" } else { "medium" };
                risks.push(format!("{level} confidence ({confidence:.2}): review the result before committing"));
            }
            out.push(Suggestion {
                strategy,
                resolved,
                explanation,
                risks,
                confidence,
                factors,
                markers_remaining,
                parses,
            });
        }
        // Best first; equal results from several strategies are kept once (the best).
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.strategy.cmp(&b.strategy)));
        let mut seen = HashSet::new();
        out.retain(|s| seen.insert(s.resolved.clone()));
        out
    }

    fn declaration_explanation(&self, p: &Prepared) -> String {
        let list = |v: &[String]| if v.is_empty() { "nothing".to_string() } else { v.join(", ") };
        format!(
            "Merged declaration by declaration: {} changed {}; {} changed {}. Each declaration comes from the side that changed it, additions from both sides are kept ({}'s first).",
            p.labels[0],
            list(&self.analysis.ours_changed),
            p.labels[1],
            list(&self.analysis.theirs_changed),
            p.labels[0]
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    // An empty range (an insertion point) overlaps what starts or ends there.
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

/// The file with each conflicting region (by index) replaced.
fn assemble(chunks: &[Chunk], lines: &[Vec<&str>], mut region: impl FnMut(usize) -> String) -> String {
    let mut out = String::new();
    let mut i = 0;
    for c in chunks {
        match c {
            Chunk::Stable { base } => out.extend(lines[0][base.clone()].iter().copied()),
            Chunk::OneSide { side, ours: true, .. } | Chunk::Same { ours: side, .. } => {
                out.extend(lines[1][side.clone()].iter().copied())
            }
            Chunk::OneSide { side, ours: false, .. } => out.extend(lines[2][side.clone()].iter().copied()),
            Chunk::Conflict { .. } => {
                out.push_str(&region(i));
                i += 1;
            }
        }
    }
    out
}

fn keep_both(r: &Region, comment: Option<&str>, labels: &[String; 2]) -> String {
    let mut out = String::new();
    let block = |out: &mut String, text: &str| {
        out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push('\n');
        }
    };
    match comment {
        Some(c) => {
            out.push_str(&format!("{c} parallel-cc: conflict kept for review. {} first:\n", labels[0]));
            block(&mut out, &r.ours_text);
            out.push_str(&format!("{c} parallel-cc: {}:\n", labels[1]));
            block(&mut out, &r.theirs_text);
            out.push_str(&format!("{c} parallel-cc: end of conflict\n"));
        }
        None => {
            out.push_str(&format!("<<<<<<< {}\n", labels[0]));
            block(&mut out, &r.ours_text);
            out.push_str("=======\n");
            block(&mut out, &r.theirs_text);
            out.push_str(&format!(">>>>>>> {}\n", labels[1]));
        }
    }
    out
}

fn complexity(class: ConflictType, additions_only: bool, regions: &[Region]) -> f64 {
    match class {
        ConflictType::Trivial => 1.0,
        ConflictType::Structural if additions_only => 0.9,
        ConflictType::Structural => 0.8,
        ConflictType::ConcurrentEdit => {
            let size: usize = regions
                .iter()
                .map(|r| {
                    let n = |t: &str| text::normalized(&text::lines(t)).len();
                    n(&r.ours_text).max(n(&r.theirs_text))
                })
                .sum();
            if size < 5 { 0.6 } else { 0.4 }
        }
        ConflictType::Semantic => 0.3,
    }
}

/// How close the two sides of a region are to agreeing, in [0, 1]: the larger of how alike their
/// texts are (Dice coefficient of whitespace-normalised non-blank lines) and how little they
/// compete for the same base lines: 1 − contended / changed, where `changed` counts the base
/// lines either side replaced and `contended` those both replaced, less the new lines they agree
/// on (the same fix made twice is agreement). Both only inserting is 1.0.
fn region_similarity(base: &[&str], ours: &[&str], theirs: &[&str]) -> f64 {
    let alike = text::line_similarity(ours, theirs);
    let bag = |ls: &[&str]| -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for l in text::normalized(ls) {
            *m.entry(l).or_default() += 1;
        }
        m
    };
    // a − b and a ∩ b of multisets, as counts.
    let minus = |a: &HashMap<String, usize>, b: &HashMap<String, usize>| -> HashMap<String, usize> {
        a.iter()
            .filter_map(|(k, n)| {
                n.checked_sub(b.get(k).copied().unwrap_or(0)).filter(|d| *d > 0).map(|d| (k.clone(), d))
            })
            .collect()
    };
    let common = |a: &HashMap<String, usize>, b: &HashMap<String, usize>| -> usize {
        a.iter().map(|(k, n)| (*n).min(b.get(k).copied().unwrap_or(0))).sum()
    };
    let total = |a: &HashMap<String, usize>| -> usize { a.values().sum() };
    let (b, o, t) = (bag(base), bag(ours), bag(theirs));
    let (gone_o, gone_t) = (minus(&b, &o), minus(&b, &t));
    let (new_o, new_t) = (minus(&o, &b), minus(&t, &b));
    let both = common(&gone_o, &gone_t);
    let either = total(&gone_o) + total(&gone_t) - both;
    let contended = both.saturating_sub(common(&new_o, &new_t));
    let separate = if either == 0 { 1.0 } else { 1.0 - contended as f64 / either as f64 };
    alike.max(separate)
}

fn similarity(similarities: &[f64]) -> f64 {
    if similarities.is_empty() {
        return 1.0;
    }
    similarities.iter().sum::<f64>() / similarities.len() as f64
}

/// A change one side made to a unit, with where it is.
#[derive(Clone, Debug)]
struct Change {
    /// `kind name` of the unit (with its parent for members).
    what: String,
    /// Key path, for telling whether both sides changed the same unit.
    path: String,
    /// 0-based lines in base (removed, modified) and in the side (added, modified).
    base_lines: Option<Range<usize>>,
    side_lines: Option<Range<usize>>,
    kind: ChangeKind,
    anonymous: bool,
    import: bool,
    /// The unit's text on the side afterwards (without the blank lines before it); `None` when
    /// removed.
    after: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChangeKind {
    Added,
    Removed,
    Modified,
}

fn unit_name(u: &Unit) -> String {
    match &u.decl {
        Some((DeclKind::Import, _)) | None => "statement".to_string(),
        Some((kind, name)) => format!("{} {name}", kind.as_str()),
    }
}

/// What one side changed, unit by unit (members of bodies both versions have, separately).
fn changes(base_text: &str, base: &Seq, side_text: &str, side: &Seq) -> Vec<Change> {
    let mut out = Vec::new();
    changes_in(base_text, base, side_text, side, "", &mut out);
    out
}

fn content<'a>(text: &'a str, u: &Unit) -> &'a str {
    text.get(u.full.clone()).unwrap_or_default().trim_start()
}

fn changes_in(base_text: &str, base: &Seq, side_text: &str, side: &Seq, prefix: &str, out: &mut Vec<Change>) {
    let find = |s: &Seq, k: &str| s.units.iter().position(|u| u.key == k);
    let change = |u: &Unit, kind, base_lines, side_lines: Option<Range<usize>>| Change {
        after: side_lines.as_ref().map(|_| content(side_text, u).to_string()),
        what: unit_name(u),
        path: format!("{prefix}/{}", u.key),
        base_lines,
        side_lines,
        kind,
        anonymous: u.decl.is_none() || u.is_import,
        import: u.is_import,
    };
    for u in &base.units {
        match find(side, &u.key) {
            None => out.push(change(u, ChangeKind::Removed, Some(u.span_lines.clone()), None)),
            Some(i) => {
                let s = &side.units[i];
                if content(base_text, u) == content(side_text, s) {
                    continue;
                }
                match (&u.body, &s.body) {
                    (Some(bb), Some(sb)) => {
                        let before = out.len();
                        changes_in(base_text, bb, side_text, sb, &format!("{prefix}/{}", u.key), out);
                        // The declaration's own text (signature, braces) changed too, or only
                        // trivia between members: the unit itself counts as modified.
                        let open_b = base_text.get(u.full.start..bb.head.end).unwrap_or_default().trim_start();
                        let open_s = side_text.get(s.full.start..sb.head.end).unwrap_or_default().trim_start();
                        if open_b != open_s || out.len() == before {
                            out.push(Change {
                                after: Some(content(side_text, s).to_string()),
                                ..change(u, ChangeKind::Modified, Some(u.span_lines.clone()), None)
                            });
                        }
                    }
                    _ => out.push(Change {
                        after: Some(content(side_text, s).to_string()),
                        side_lines: Some(s.span_lines.clone()),
                        ..change(u, ChangeKind::Modified, Some(u.span_lines.clone()), None)
                    }),
                }
            }
        }
    }
    for s in &side.units {
        if find(base, &s.key).is_none() {
            out.push(change(s, ChangeKind::Added, None, Some(s.span_lines.clone())));
        }
    }
}

fn describe_changes(changes: &[Change]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for c in changes {
        let word = match c.kind {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
        };
        let s = if c.import {
            format!("imports ({word})")
        } else if c.anonymous {
            format!("statements ({word})")
        } else {
            format!("{} ({word})", c.what)
        };
        if seen.insert(s.clone()) {
            out.push(s);
        }
    }
    out
}

fn classify_region(
    region: &mut Region,
    spans: [&Range<usize>; 3],
    syntax: &[Syntax; 3],
    changes: &[Vec<Change>; 2],
    insertion: bool,
) {
    let [base, ours, theirs] = spans;
    // Parse errors inside the region: no parse-based rule can be trusted there.
    for (i, span) in spans.iter().enumerate() {
        if syntax[i].error_lines.iter().any(|e| overlaps(e, span)) {
            region.reason = format!("{} does not parse here: line analysis", SIDES[i]);
            return;
        }
    }
    let touching = |side: usize, side_span: &Range<usize>| -> Vec<&Change> {
        changes[side]
            .iter()
            .filter(|c| {
                c.side_lines.as_ref().is_some_and(|l| overlaps(l, side_span))
                    || (c.kind == ChangeKind::Removed && c.base_lines.as_ref().is_some_and(|l| overlaps(l, base)))
            })
            .collect()
    };
    let (oc, tc) = (touching(0, ours), touching(1, theirs));
    let mut names: Vec<String> = oc.iter().chain(&tc).filter(|c| !c.anonymous).map(|c| c.what.clone()).collect();
    names.sort();
    names.dedup();
    region.declarations = names;
    if oc.is_empty() || tc.is_empty() {
        region.reason = "the overlapping edits are outside any declaration".into();
        return;
    }
    let all_imports = oc.iter().chain(&tc).all(|c| c.import);
    if oc.iter().chain(&tc).any(|c| c.anonymous && !c.import) {
        region.reason = "statements outside declarations were changed on both sides".into();
        return;
    }
    let ours_paths: HashSet<&str> = oc.iter().map(|c| c.path.as_str()).collect();
    let ours_after: HashMap<&str, Option<&str>> = oc.iter().map(|c| (c.path.as_str(), c.after.as_deref())).collect();
    let differently = |c: &Change| ours_after.get(c.path.as_str()).is_some_and(|o| *o != c.after.as_deref());
    if let Some(both) = tc.iter().find(|c| ours_paths.contains(c.path.as_str()) && !c.import && differently(c)) {
        region.class = ConflictType::Semantic;
        let size = text::normalized(&text::lines(&region.ours_text))
            .len()
            .max(text::normalized(&text::lines(&region.theirs_text)).len());
        let deleted = oc.iter().chain(&tc).any(|c| c.path == both.path && c.kind == ChangeKind::Removed);
        region.severity = if deleted || size > 5 { Severity::High } else { Severity::Medium };
        region.reason = if deleted {
            format!("{} was changed on one side and removed on the other", both.what)
        } else {
            format!("both sides changed {} differently", both.what)
        };
        return;
    }
    let additions = oc.iter().chain(&tc).all(|c| c.kind == ChangeKind::Added || c.import) && insertion;
    region.class = ConflictType::Structural;
    region.severity = if additions || all_imports { Severity::Low } else { Severity::Medium };
    region.reason = if all_imports {
        "both sides changed imports".into()
    } else if additions {
        "both sides only added declarations".into()
    } else {
        "the sides changed different declarations".into()
    };
}

/// Lines a side added (0-based in the side) with their text.
fn added_lines<'a>(lines: &[&'a str], edits: &[Edit]) -> Vec<(usize, &'a str)> {
    edits.iter().flat_map(|e| e.side.clone()).filter_map(|i| lines.get(i).map(|l| (i, *l))).collect()
}

/// Named declarations of base that a side no longer declares anywhere (by name), with their
/// base lines. Imports, exports and Go's package clause are not names.
fn removed_names(base: &[Declaration], side: &[Declaration]) -> Vec<(String, Range<usize>)> {
    let kept: HashSet<&str> = side.iter().map(|d| d.name.as_str()).collect();
    let mut out: Vec<(String, Range<usize>)> = Vec::new();
    for d in base {
        if matches!(d.kind, DeclKind::Import | DeclKind::Export | DeclKind::Module | DeclKind::Impl) {
            continue;
        }
        // `a,b` for several variables in one statement.
        for name in d.name.split(',') {
            let name = name.trim();
            let simple = name.rsplit('.').next().unwrap_or(name);
            if simple.len() < 2
                || kept.contains(name)
                || !simple.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                continue;
            }
            if side.iter().any(|s| s.name.split(',').any(|n| n.trim() == name)) {
                continue;
            }
            if !out.iter().any(|(n, _)| n == simple) {
                out.push((simple.to_string(), d.lines.clone()));
            }
        }
    }
    out
}

/// Does `line` use identifier `name` (as a whole word, not in a comment-only line)?
fn uses_identifier(line: &str, name: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("//") || t.starts_with('#') || t.starts_with("/*") || t.starts_with('*') {
        return false;
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(i) = line[from..].find(name) {
        let at = from + i;
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return true;
        }
        from = at + name.len();
    }
    false
}

/// The import-union resolution: every conflicting region is TRIVIAL or consists, on all three
/// sides, of whole import statements (and blank lines).
fn import_union(
    p: &Prepared,
    s: &[Syntax; 3],
    lines: &[Vec<&str>],
    regions: &[Region],
) -> Option<(String, Vec<String>)> {
    let items: Vec<Vec<Range<usize>>> = s.iter().map(|x| syntax::import_items(&x.seq)).collect();
    let mut resolutions = Vec::new();
    let mut notes = Vec::new();
    let mut any_import = false;
    let spans: Vec<[Range<usize>; 3]> = p
        .chunks
        .iter()
        .filter_map(|c| match c {
            Chunk::Conflict { base, ours, theirs } => Some([base.clone(), ours.clone(), theirs.clone()]),
            _ => None,
        })
        .collect();
    for (r, span) in regions.iter().zip(&spans) {
        if r.class == ConflictType::Trivial {
            resolutions.push(r.ours_text.clone());
            continue;
        }
        // Each side's region as whole import items.
        let mut side_items: Vec<Vec<(Range<usize>, String)>> = Vec::new();
        for side in 0..3 {
            let sp = &span[side];
            let inside: Vec<Range<usize>> =
                items[side].iter().filter(|it| it.start >= sp.start && it.end <= sp.end).cloned().collect();
            let covered = (sp.start..sp.end).all(|l| {
                lines[side].get(l).is_some_and(|t| t.trim().is_empty()) || inside.iter().any(|it| it.contains(&l))
            });
            if !covered {
                return None;
            }
            side_items.push(inside.into_iter().map(|it| (it.clone(), lines[side][it].concat())).collect());
        }
        if side_items[1].is_empty() && side_items[2].is_empty() {
            return None;
        }
        any_import = true;
        let key = |t: &str| text::normalize_line(t);
        let set = |v: &[(Range<usize>, String)]| -> HashSet<String> { v.iter().map(|(_, t)| key(t)).collect() };
        let (base_set, ours_set, theirs_set) = (set(&side_items[0]), set(&side_items[1]), set(&side_items[2]));
        // Walk ours' lines, dropping items theirs deleted; then theirs' new items before ours'
        // trailing blank lines.
        let sp = &span[1];
        let mut kept = String::new();
        let mut emitted: HashSet<String> = HashSet::new();
        let mut l = sp.start;
        let mut trailing_blank = String::new();
        while l < sp.end {
            if let Some((range, text)) = side_items[1].iter().find(|(it, _)| it.start == l) {
                let k = key(text);
                let deleted_by_theirs = base_set.contains(&k) && !theirs_set.contains(&k);
                if !deleted_by_theirs && emitted.insert(k) {
                    kept.push_str(&trailing_blank);
                    kept.push_str(text);
                }
                trailing_blank.clear();
                l = range.end;
            } else {
                trailing_blank.push_str(lines[1][l]);
                l += 1;
            }
        }
        let mut sources: Vec<String> = Vec::new();
        for (_, text) in &side_items[2] {
            let k = key(text);
            let deleted_by_ours = base_set.contains(&k) && !ours_set.contains(&k);
            if !deleted_by_ours && emitted.insert(k) {
                kept.push_str(text);
                if !text.ends_with('\n') {
                    kept.push('\n');
                }
                sources.push(text.clone());
            }
        }
        kept.push_str(&trailing_blank);
        if !sources.is_empty() {
            let ours_text: String = side_items[1].iter().map(|(_, t)| t.as_str()).collect();
            for src in &sources {
                if let Some(module) = import_source(src)
                    && import_source_in(&ours_text, &module)
                {
                    notes.push(format!("both sides import from {module}: check for duplicate or conflicting bindings"));
                }
            }
        }
        resolutions.push(kept);
    }
    if !any_import {
        return None;
    }
    let mut it = resolutions.into_iter();
    let resolved = assemble(&p.chunks, lines, |_| it.next().unwrap_or_default());
    Some((resolved, notes))
}

/// The module an import statement imports from, as written (quoted path, Python module, Rust
/// path root).
fn import_source(stmt: &str) -> Option<String> {
    let s = stmt.trim();
    if let Some(i) = s.rfind(" from ") {
        return Some(s[i + 6..].trim().trim_end_matches(';').trim().to_string());
    }
    if let Some(rest) = s.strip_prefix("from ") {
        return rest.split_whitespace().next().map(str::to_string);
    }
    if let Some(rest) = s.strip_prefix("use ") {
        let path = rest.trim_end_matches(';');
        return path.rsplit_once("::").map(|(p, _)| p.to_string());
    }
    None
}

fn import_source_in(stmts: &str, module: &str) -> bool {
    stmts.lines().any(|l| import_source(l).as_deref() == Some(module))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn analyze(path: &str, base: &str, ours: &str, theirs: &str) -> ConflictFile {
        ConflictFile::analyze(&Sides {
            path,
            base: base.as_bytes(),
            ours: ours.as_bytes(),
            theirs: theirs.as_bytes(),
            ours_label: "ours",
            theirs_label: "theirs",
        })
    }

    #[test]
    fn a_rename_used_by_the_other_side_is_semantic() {
        let base = "fn parse_config() -> u8 { 1 }\n\nfn a() -> u8 { parse_config() }\n\nfn b() -> u8 { 2 }\n";
        let ours = "fn load_config() -> u8 { 1 }\n\nfn a() -> u8 { load_config() }\n\nfn b() -> u8 { 3 }\n";
        let theirs =
            "fn parse_config() -> u8 { 1 }\n\nfn a() -> u8 { parse_config() }\n\nfn b() -> u8 { parse_config() + 2 }\n";
        let f = analyze("src/lib.rs", base, ours, theirs);
        let a = f.analysis();
        assert_eq!(a.class, Some(ConflictType::Semantic));
        assert_eq!(
            a.semantic_issues,
            vec!["ours removed or renamed `parse_config`, but theirs's change uses it (line 5)"]
        );
        for s in f.suggest(&|_| Record::default()) {
            assert!(s.confidence < 0.8, "{:?} claims {}", s.strategy, s.confidence);
        }
    }

    #[test]
    fn whitespace_only_is_trivial_and_takes_ours() {
        let f = analyze("a.py", "x = f(1,2)\n", "x = f(1, 2)\n", "x = f( 1,2 )\n");
        assert_eq!(f.analysis().class, Some(ConflictType::Trivial));
        let s = f.suggest(&|_| Record::default());
        assert_eq!(s[0].strategy, Strategy::Whitespace);
        assert_eq!(s[0].resolved, "x = f(1, 2)\n");
        assert!(s[0].confidence >= 0.9);
    }

    #[test]
    fn text_files_are_line_analysed() {
        let f = analyze("notes.md", "a\nb\n", "a\nB1\n", "a\nB2\n");
        let a = f.analysis();
        assert_eq!(a.method, Method::Lines);
        assert_eq!(a.class, Some(ConflictType::ConcurrentEdit));
        let s = f.suggest(&|_| Record::default());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].strategy, Strategy::KeepBoth);
        assert!(s[0].markers_remaining);
        assert!(s[0].confidence < 0.5);
    }
}
