//! Conflict analysis for parallel-cc: pure functions from bytes to analyses.
//!
//! Given the base, ours and theirs versions of a conflicting file, this crate parses them with
//! tree-sitter (line analysis as the fallback), classifies each conflict region, and proposes
//! whole-file resolutions with a documented confidence score.
//!
//! It must not do I/O: no filesystem, no git, no database, no clock. Callers (pcc-core) fetch the
//! blobs and store the results.

mod analysis;
pub mod confidence;
mod lang;
mod merge;
mod syntax;
mod text;

pub use analysis::{
    Analysis, ConflictFile, ConflictType, LineSpan, MAX_CHANGED_LINES, MAX_FILE_BYTES, MAX_PARSE_BYTES, MAX_REGIONS,
    Method, Region, Severity, SideDiagnostic, Sides, Strategy, Suggestion,
};
pub use confidence::{Factors, Record};
pub use lang::Language;
pub use syntax::{DeclKind, Declaration, Diagnostic};
pub use text::has_conflict_markers;

/// Does `text`, as a file at `path`, parse without syntax errors? `None` when its language is not
/// parsed here (or the parse gave up on pathological input).
pub fn parses_cleanly(path: &str, text: &str) -> Option<bool> {
    let lang = Language::from_path(path).filter(|l| l.is_supported())?;
    if text.len() > MAX_PARSE_BYTES {
        return None;
    }
    syntax::parses_cleanly(lang, text)
}

/// Lines added and removed going from `a` to `b`.
pub fn line_changes(a: &str, b: &str) -> (usize, usize) {
    let patch = diffy::create_patch(a, b);
    let (mut added, mut removed) = (0, 0);
    for h in patch.hunks() {
        for l in h.lines() {
            match l {
                diffy::Line::Insert(_) => added += 1,
                diffy::Line::Delete(_) => removed += 1,
                diffy::Line::Context(_) => {}
            }
        }
    }
    (added, removed)
}

/// A unified diff from `a` to `b`, with the given file labels.
pub fn unified_diff(a: &str, b: &str, a_label: &str, b_label: &str) -> String {
    let mut options = diffy::DiffOptions::new();
    options.set_original_filename(a_label.to_string()).set_modified_filename(b_label.to_string());
    options.create_patch(a, b).to_string()
}

/// Would a three-way text merge of `ours` and `theirs` over `base` succeed without conflicts
/// (line-based, as `git merge-file`)? Used by the overlap radar to say whether two sessions'
/// changes to one file can be merged.
pub fn merges_cleanly(base: &[u8], ours: &[u8], theirs: &[u8]) -> bool {
    ours == theirs || ours == base || theirs == base || diffy::merge_bytes(base, ours, theirs).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn separate_lines_merge_and_the_same_line_does_not() {
        let base = b"a\nb\nc\nd\ne\n";
        assert!(merges_cleanly(base, b"A\nb\nc\nd\ne\n", b"a\nb\nc\nd\nE\n"));
        assert!(!merges_cleanly(base, b"a\nB1\nc\nd\ne\n", b"a\nB2\nc\nd\ne\n"));
        assert!(merges_cleanly(base, b"same\n", b"same\n"));
    }
}
