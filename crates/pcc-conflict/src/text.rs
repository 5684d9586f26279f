//! Line-level text work: the three-way merge that finds the conflicting regions (diff3, with
//! git's rule that edits touching the same or adjacent lines conflict), conflict markers,
//! whitespace normalisation.

use std::ops::Range;

use gix_imara_diff::{Algorithm, Diff, InternedInput};

/// Lines with their terminators (the last one may have none).
pub(crate) fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// One side's run of changed lines: `base` lines replaced by `side` lines (0-based, end-exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Edit {
    pub base: Range<usize>,
    pub side: Range<usize>,
}

/// A piece of the three-way merge, in base order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Nobody changed these base lines.
    Stable { base: Range<usize> },
    /// Only one side changed them (`ours` tells which); `side` is that side's lines.
    OneSide { base: Range<usize>, side: Range<usize>, ours: bool },
    /// Both sides changed them to the same text.
    Same { base: Range<usize>, ours: Range<usize> },
    /// Both changed them differently.
    Conflict { base: Range<usize>, ours: Range<usize>, theirs: Range<usize> },
}

/// Why the diff was not computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub changed_lines: usize,
}

/// The line edits turning `base` into `side`, or `TooLarge` when the part that differs (after
/// the lines both share at the start and the end) is longer than `max_lines`: the diff's cost
/// grows with that length times the number of differences.
pub(crate) fn edits(base: &[&str], side: &[&str], max_lines: usize) -> Result<Vec<Edit>, TooLarge> {
    let prefix = base.iter().zip(side).take_while(|(a, b)| a == b).count();
    let suffix = base[prefix..].iter().rev().zip(side[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (b_mid, s_mid) = (&base[prefix..base.len() - suffix], &side[prefix..side.len() - suffix]);
    if b_mid.is_empty() && s_mid.is_empty() {
        return Ok(Vec::new());
    }
    if b_mid.is_empty() || s_mid.is_empty() {
        return Ok(vec![Edit { base: prefix..prefix + b_mid.len(), side: prefix..prefix + s_mid.len() }]);
    }
    let changed = b_mid.len().max(s_mid.len());
    if changed > max_lines {
        return Err(TooLarge { changed_lines: changed });
    }
    // The histogram diff (git's `diff.algorithm=histogram`) with git's indent heuristic: it
    // anchors on rare lines, so blank lines and braces do not pull edits out of place.
    let mut input: InternedInput<&str> = InternedInput::default();
    input.update_before(b_mid.iter().copied());
    input.update_after(s_mid.iter().copied());
    let mut diff = Diff::compute(Algorithm::Histogram, &input);
    diff.postprocess_lines(&input);
    let out = diff
        .hunks()
        .map(|h| Edit {
            base: prefix + h.before.start as usize..prefix + h.before.end as usize,
            side: prefix + h.after.start as usize..prefix + h.after.end as usize,
        })
        .collect();
    Ok(out)
}

/// Where a group of one side's edits, covering base lines `lo..hi` together with the other
/// side's, lands in that side.
fn side_range(group: &[Edit], lo: usize, hi: usize) -> Range<usize> {
    match (group.first(), group.last()) {
        (Some(first), Some(last)) => {
            let start = first.side.start.saturating_sub(first.base.start.saturating_sub(lo));
            let end = last.side.end + hi.saturating_sub(last.base.end);
            start..end
        }
        _ => lo..hi,
    }
}

/// Do two edits of different sides interact? As in git: overlapping, touching (adjacent lines)
/// or inserting at the same place.
fn interact(a: &Range<usize>, b: &Range<usize>) -> bool {
    b.start <= a.end && a.start <= b.end
}

/// The three-way merge of `ours` and `theirs` over `base`, as chunks in base order.
pub(crate) fn diff3(
    base: &[&str],
    ours: &[&str],
    theirs: &[&str],
    ours_edits: &[Edit],
    theirs_edits: &[Edit],
) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let (mut i, mut j, mut pos) = (0, 0, 0);
    // Maps a base line outside any edit to the side's line: the offset the edits before it made.
    let offset = |edits: &[Edit], upto: usize| -> isize {
        edits[..upto].iter().map(|e| e.side.len() as isize - e.base.len() as isize).sum()
    };
    while i < ours_edits.len() || j < theirs_edits.len() {
        let take_ours = match (ours_edits.get(i), theirs_edits.get(j)) {
            (Some(o), Some(t)) => o.base.start <= t.base.start,
            (Some(_), None) => true,
            _ => false,
        };
        let first = if take_ours { &ours_edits[i] } else { &theirs_edits[j] };
        let (mut lo, mut hi) = (first.base.start, first.base.end);
        if pos < lo {
            chunks.push(Chunk::Stable { base: pos..lo });
        }
        let (oi, tj) = (i, j);
        if take_ours {
            i += 1;
        } else {
            j += 1;
        }
        // Grow the group while an edit of either side interacts with it. Two edits of one side
        // never touch (the diff would have made them one), so only the other side's edits join
        // them into one group.
        loop {
            let mut grew = false;
            for (edits, k) in [(ours_edits, &mut i), (theirs_edits, &mut j)] {
                while let Some(e) = edits.get(*k)
                    && interact(&e.base, &(lo..hi))
                {
                    lo = lo.min(e.base.start);
                    hi = hi.max(e.base.end);
                    *k += 1;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let (og, tg) = (&ours_edits[oi..i], &theirs_edits[tj..j]);
        let shift = |edits: &[Edit], upto: usize, line: usize| (line as isize + offset(edits, upto)).max(0) as usize;
        let ours_range =
            if og.is_empty() { shift(ours_edits, oi, lo)..shift(ours_edits, oi, hi) } else { side_range(og, lo, hi) };
        let theirs_range = if tg.is_empty() {
            shift(theirs_edits, tj, lo)..shift(theirs_edits, tj, hi)
        } else {
            side_range(tg, lo, hi)
        };
        let chunk = if tg.is_empty() {
            Chunk::OneSide { base: lo..hi, side: ours_range, ours: true }
        } else if og.is_empty() {
            Chunk::OneSide { base: lo..hi, side: theirs_range, ours: false }
        } else if ours.get(ours_range.clone()) == theirs.get(theirs_range.clone()) {
            Chunk::Same { base: lo..hi, ours: ours_range }
        } else {
            Chunk::Conflict { base: lo..hi, ours: ours_range, theirs: theirs_range }
        };
        chunks.push(chunk);
        pos = hi;
    }
    if pos < base.len() {
        chunks.push(Chunk::Stable { base: pos..base.len() });
    }
    chunks
}

/// Does any line start with a conflict marker (`<<<<<<<`, `|||||||`, `=======`, `>>>>>>>`)
/// followed by a space or the end of the line?
pub fn has_conflict_markers(text: &str) -> bool {
    text.lines().any(is_marker_line)
}

pub(crate) fn is_marker_line(line: &str) -> bool {
    let line = line.trim_end_matches('\r');
    ["<<<<<<<", "|||||||", "=======", ">>>>>>>"].iter().any(|m| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' ') || (*m == "=======" && rest.trim().is_empty()))
    })
}

/// A line with its whitespace normalised: runs of whitespace are dropped, except between two
/// word characters (where they separate tokens: one space) and inside quotes (where they are
/// content and kept as they are). So `f( 1,2 )` and `f(1, 2)` are equal, `"a  b"` and `"a b"`
/// are not.
pub(crate) fn normalize_line(line: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut pending_space = false;
    for c in line.chars() {
        if let Some(q) = quote {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && out.chars().next_back().is_some_and(word) && word(c) {
            out.push(' ');
        }
        pending_space = false;
        if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}

/// The non-blank lines of a text, each normalised: equal results mean the texts differ only in
/// whitespace (including blank lines).
pub(crate) fn normalized(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| normalize_line(l)).filter(|l| !l.is_empty()).collect()
}

/// Dice similarity of two multisets of normalised non-blank lines: 1.0 when equal (or both
/// empty), 0.0 when they share nothing.
pub(crate) fn line_similarity(a: &[&str], b: &[&str]) -> f64 {
    let (a, b) = (normalized(a), normalized(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut counts: std::collections::HashMap<&str, isize> = std::collections::HashMap::new();
    for l in &a {
        *counts.entry(l).or_default() += 1;
    }
    let mut shared = 0usize;
    for l in &b {
        if let Some(c) = counts.get_mut(l.as_str())
            && *c > 0
        {
            *c -= 1;
            shared += 1;
        }
    }
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

/// Render a file as `git merge-file --diff3` would: merged where clean, markers around each
/// conflicting region.
pub(crate) fn render_markers(
    chunks: &[Chunk],
    base: &[&str],
    ours: &[&str],
    theirs: &[&str],
    labels: (&str, &str),
) -> String {
    let mut out = String::new();
    let push_lines = |out: &mut String, ls: &[&str]| {
        for l in ls {
            out.push_str(l);
        }
    };
    let ensure_newline = |out: &mut String| {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    };
    for c in chunks {
        match c {
            Chunk::Stable { base: r } => push_lines(&mut out, &base[r.clone()]),
            Chunk::OneSide { side, ours: true, .. } | Chunk::Same { ours: side, .. } => {
                push_lines(&mut out, &ours[side.clone()])
            }
            Chunk::OneSide { side, ours: false, .. } => push_lines(&mut out, &theirs[side.clone()]),
            Chunk::Conflict { base: b, ours: o, theirs: t } => {
                ensure_newline(&mut out);
                out.push_str(&format!("<<<<<<< {}\n", labels.0));
                push_lines(&mut out, &ours[o.clone()]);
                ensure_newline(&mut out);
                out.push_str("||||||| base\n");
                push_lines(&mut out, &base[b.clone()]);
                ensure_newline(&mut out);
                out.push_str("=======\n");
                push_lines(&mut out, &theirs[t.clone()]);
                ensure_newline(&mut out);
                out.push_str(&format!(">>>>>>> {}\n", labels.1));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn merge(base: &str, ours: &str, theirs: &str) -> Vec<Chunk> {
        let (b, o, t) = (lines(base), lines(ours), lines(theirs));
        let oe = edits(&b, &o, 10_000).unwrap();
        let te = edits(&b, &t, 10_000).unwrap();
        diff3(&b, &o, &t, &oe, &te)
    }

    fn conflicts(chunks: &[Chunk]) -> usize {
        chunks.iter().filter(|c| matches!(c, Chunk::Conflict { .. })).count()
    }

    #[test]
    fn separate_changes_merge() {
        let c = merge("a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n");
        assert_eq!(conflicts(&c), 0);
        assert_eq!(
            c,
            vec![
                Chunk::OneSide { base: 0..1, side: 0..1, ours: true },
                Chunk::Stable { base: 1..4 },
                Chunk::OneSide { base: 4..5, side: 4..5, ours: false },
            ]
        );
    }

    #[test]
    fn adjacent_lines_conflict_as_in_git() {
        let c = merge("a\nb\nc\n", "a\nB\nc\n", "a\nb\nC\n");
        assert_eq!(c, vec![Chunk::Stable { base: 0..1 }, Chunk::Conflict { base: 1..3, ours: 1..3, theirs: 1..3 }]);
    }

    #[test]
    fn same_change_twice_is_not_a_conflict() {
        let c = merge("a\nb\nc\n", "a\nX\nc\n", "a\nX\nc\n");
        assert_eq!(conflicts(&c), 0);
        assert!(c.contains(&Chunk::Same { base: 1..2, ours: 1..2 }));
    }

    #[test]
    fn insertions_at_one_place_conflict() {
        let c = merge("a\nb\n", "a\nb\nours\n", "a\nb\ntheirs\n");
        assert_eq!(c, vec![Chunk::Stable { base: 0..2 }, Chunk::Conflict { base: 2..2, ours: 2..3, theirs: 2..3 }]);
    }

    #[test]
    fn ranges_follow_earlier_edits() {
        // ours inserts two lines at the top; theirs and ours both change the last line.
        let c = merge("a\nb\nc\nd\ne\n", "x\ny\na\nb\nc\nd\nE1\n", "a\nb\nc\nd\nE2\n");
        assert_eq!(c.last(), Some(&Chunk::Conflict { base: 4..5, ours: 6..7, theirs: 4..5 }));
    }

    #[test]
    fn a_missing_final_newline_is_a_change() {
        let c = merge("a\nb\n", "a\nb", "a\nb\n");
        assert_eq!(c, vec![Chunk::Stable { base: 0..1 }, Chunk::OneSide { base: 1..2, side: 1..2, ours: true }]);
    }

    #[test]
    fn markers_render_like_git() {
        let (b, o, t) = (lines("a\nb\nc\n"), lines("a\nB\nc\n"), lines("a\nb2\nc\n"));
        let oe = edits(&b, &o, 100).unwrap();
        let te = edits(&b, &t, 100).unwrap();
        let c = diff3(&b, &o, &t, &oe, &te);
        assert_eq!(
            render_markers(&c, &b, &o, &t, ("ours", "theirs")),
            "a\n<<<<<<< ours\nB\n||||||| base\nb\n=======\nb2\n>>>>>>> theirs\nc\n"
        );
    }

    #[test]
    fn too_large_middles_are_refused() {
        let base: Vec<String> = (0..100).map(|i| format!("{i}\n")).collect();
        let side: Vec<String> = (0..100).map(|i| format!("x{i}\n")).collect();
        let b: Vec<&str> = base.iter().map(String::as_str).collect();
        let s: Vec<&str> = side.iter().map(String::as_str).collect();
        assert_eq!(edits(&b, &s, 50), Err(TooLarge { changed_lines: 100 }));
        assert!(edits(&b, &s, 100).is_ok());
    }

    #[test]
    fn marker_lines() {
        assert!(has_conflict_markers("x\n<<<<<<< HEAD\ny\n"));
        assert!(has_conflict_markers("=======\n"));
        assert!(!has_conflict_markers("// ======= section =======\n"));
        assert!(!has_conflict_markers("<<<<<<<<<< not one\n"));
        assert!(!has_conflict_markers("a <<<<<<< b\n"));
    }

    #[test]
    fn whitespace_normalisation_keeps_tokens_and_strings() {
        assert_eq!(normalize_line("  x = f( 1,2 ) "), normalize_line("x = f(1, 2)"));
        assert_ne!(normalize_line("let x"), normalize_line("letx"));
        assert_ne!(normalize_line("s = \"a  b\""), normalize_line("s = \"a b\""));
        assert_eq!(normalize_line("s = \"a\\\" b\"  + 1"), "s=\"a\\\" b\"+1");
    }

    #[test]
    fn similarity() {
        assert_eq!(line_similarity(&["a\n", "b\n"], &["a\n", " b \n", "\n"]), 1.0);
        assert_eq!(line_similarity(&["a\n"], &["b\n"]), 0.0);
        assert_eq!(line_similarity(&[], &[]), 1.0);
        assert!((line_similarity(&["a\n", "b\n"], &["a\n", "c\n"]) - 0.5).abs() < 1e-9);
    }
}
