//! A unified line diff for `install --dry-run` (what `diff -u` prints, 3 lines of context).
//!
//! Common leading and trailing lines are matched first; the rest by longest common subsequence,
//! or, if that would be too large a table, as one replaced block (still a correct diff).

use std::fmt::Write;

const CONTEXT: usize = 3;
const MAX_TABLE: usize = 4_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

fn lcs_ops(a: &[&str], b: &[&str], a0: usize, b0: usize, ops: &mut Vec<Op>) {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 || (n + 1).saturating_mul(m + 1) > MAX_TABLE {
        ops.extend((0..n).map(|i| Op::Delete(a0 + i)));
        ops.extend((0..m).map(|j| Op::Insert(b0 + j)));
        return;
    }
    // table[i][j]: length of the LCS of a[i..] and b[j..].
    let w = m + 1;
    let mut table = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i * w + j] = if a[i] == b[j] {
                table[(i + 1) * w + j + 1] + 1
            } else {
                table[(i + 1) * w + j].max(table[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            ops.push(Op::Equal(a0 + i, b0 + j));
            i += 1;
            j += 1;
        } else if table[(i + 1) * w + j] >= table[i * w + j + 1] {
            ops.push(Op::Delete(a0 + i));
            i += 1;
        } else {
            ops.push(Op::Insert(b0 + j));
            j += 1;
        }
    }
    ops.extend((i..n).map(|i| Op::Delete(a0 + i)));
    ops.extend((j..m).map(|j| Op::Insert(b0 + j)));
}

fn push_line(out: &mut String, sign: char, line: &str) {
    out.push(sign);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// `diff -u` of `old` and `new` under the labels `old_label`/`new_label`; empty when equal.
pub fn unified(old_label: &str, new_label: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Equal(i, i)).collect();
    lcs_ops(&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix], prefix, prefix, &mut ops);
    ops.extend((0..suffix).map(|k| Op::Equal(a.len() - suffix + k, b.len() - suffix + k)));

    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    let changes: Vec<usize> =
        ops.iter().enumerate().filter(|(_, o)| !matches!(o, Op::Equal(..))).map(|(k, _)| k).collect();
    let mut k = 0;
    while k < changes.len() {
        let start = changes[k].saturating_sub(CONTEXT);
        let mut last = changes[k];
        while k + 1 < changes.len() && changes[k + 1] <= last + 2 * CONTEXT + 1 {
            k += 1;
            last = changes[k];
        }
        let end = (last + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        // Positions before the hunk, for the header (1-based; a side with no lines names the
        // line before it, as diff does).
        let old_before = ops[..start].iter().filter(|o| !matches!(o, Op::Insert(_))).count();
        let new_before = ops[..start].iter().filter(|o| !matches!(o, Op::Delete(_))).count();
        let old_len = hunk.iter().filter(|o| !matches!(o, Op::Insert(_))).count();
        let new_len = hunk.iter().filter(|o| !matches!(o, Op::Delete(_))).count();
        let pos = |before: usize, len: usize| if len == 0 { before } else { before + 1 };
        let _ =
            writeln!(out, "@@ -{},{} +{},{} @@", pos(old_before, old_len), old_len, pos(new_before, new_len), new_len);
        for op in hunk {
            match *op {
                Op::Equal(i, _) => push_line(&mut out, ' ', a[i]),
                Op::Delete(i) => push_line(&mut out, '-', a[i]),
                Op::Insert(j) => push_line(&mut out, '+', b[j]),
            }
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a", "b", "x\n", "x\n"), "");
    }

    #[test]
    fn a_new_file() {
        assert_eq!(unified("/dev/null", "f", "", "a\nb\n"), "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+a\n+b\n");
    }

    #[test]
    fn a_change_in_the_middle_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(unified("f", "f", old, new), "--- f\n+++ f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
    }

    #[test]
    fn distant_changes_make_two_hunks_and_missing_newlines_are_marked() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect::<String>() + "end";
        let new = old.replacen("2\n", "two\n", 1).replace("end", "end\n");
        let d = unified("f", "f", &old, &new);
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
        assert!(d.contains("-2\n+two\n"), "{d}");
        assert!(d.ends_with("-end\n\\ No newline at end of file\n+end\n"), "{d}");
    }

    #[test]
    fn the_diff_applies_with_patch() {
        // Cross-check against the real `patch` when it is installed.
        let Ok(dir) = tempfile::tempdir() else { return };
        let old = "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}\n";
        let new = "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    3\n  ],\n  \"hooks\": {}\n}\n";
        std::fs::write(dir.path().join("f"), old).unwrap();
        std::fs::write(dir.path().join("p"), unified("f", "f", old, new)).unwrap();
        let Ok(status) = std::process::Command::new("patch").args(["-s", "f", "p"]).current_dir(dir.path()).status()
        else {
            return;
        };
        assert!(status.success());
        assert_eq!(std::fs::read_to_string(dir.path().join("f")).unwrap(), new);
    }
}
