//! The declaration-level merge: three versions of a parsed file, each cut into units
//! (declarations and statements, with the members of classes, impls and the like as units of
//! their own), merged unit by unit. A unit changed on one side is taken from that side; changed
//! identically on both, once; added on both, ours first then theirs where they were added;
//! deleted on one side and untouched on the other, deleted. Two different changes to one unit
//! are merged line by line inside it if that is clean, else into its members if it has any;
//! otherwise the merge gives up and names the unit.

use std::collections::{HashMap, HashSet};

use crate::syntax::{Seq, Unit};
use crate::text::{self, Chunk};

/// How far down nested bodies are merged member by member.
const MAX_DEPTH: usize = 6;
/// The line merge inside one unit diffs at most this many lines.
const MAX_UNIT_LINES: usize = 20_000;

/// Three texts and their units.
#[derive(Clone, Copy)]
pub(crate) struct Three<'a> {
    pub base: (&'a str, &'a Seq),
    pub ours: (&'a str, &'a Seq),
    pub theirs: (&'a str, &'a Seq),
}

/// Why the merge gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub String);

/// Merge the whole file.
pub(crate) fn merge_file(t: Three<'_>) -> Result<String, Refused> {
    let mut out = String::new();
    let (b, o, th) = (t.base, t.ours, t.theirs);
    out.push_str(&merge_text(
        slice(b.0, &b.1.head),
        slice(o.0, &o.1.head),
        slice(th.0, &th.1.head),
        "the start of the file",
    )?);
    merge_seq(b, o, th, 0, &mut out)?;
    out.push_str(&merge_text(
        slice(b.0, &b.1.tail),
        slice(o.0, &o.1.tail),
        slice(th.0, &th.1.tail),
        "the end of the file",
    )?);
    Ok(out)
}

fn slice<'a>(text: &'a str, r: &std::ops::Range<usize>) -> &'a str {
    text.get(r.clone()).unwrap_or_default()
}

fn full<'a>(text: &'a str, u: &Unit) -> &'a str {
    slice(text, &u.full)
}

fn label(u: &Unit) -> String {
    match &u.decl {
        Some((kind, name)) if !u.is_import => format!("{} `{name}`", kind.as_str()),
        _ => {
            let first = u.key.split_once(':').map_or(u.key.as_str(), |(_, rest)| rest);
            let short: String = first.chars().take(40).collect();
            format!("`{short}`")
        }
    }
}

/// The usual three-way rule: the side that changed (ours when both made the same change, or
/// neither changed), `None` when both changed differently.
fn pick3<'a>(base: &str, ours: &'a str, theirs: &'a str) -> Option<&'a str> {
    if ours == theirs || theirs == base {
        Some(ours)
    } else if ours == base {
        Some(theirs)
    } else {
        None
    }
}

/// Three versions of one piece of text: the usual three-way rule, then a clean line merge.
pub(crate) fn merge_text(base: &str, ours: &str, theirs: &str, what: &str) -> Result<String, Refused> {
    if let Some(side) = pick3(base, ours, theirs) {
        return Ok(side.to_string());
    }
    merge_lines(base, ours, theirs).ok_or_else(|| Refused(format!("both sides changed {what} differently")))
}

/// A clean line-level three-way merge, or `None` if any lines conflict.
pub(crate) fn merge_lines(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let (b, o, t) = (text::lines(base), text::lines(ours), text::lines(theirs));
    let oe = text::edits(&b, &o, MAX_UNIT_LINES).ok()?;
    let te = text::edits(&b, &t, MAX_UNIT_LINES).ok()?;
    let mut out = String::new();
    for c in text::diff3(&b, &o, &t, &oe, &te) {
        let lines = match c {
            Chunk::Stable { base } => &b[base],
            Chunk::OneSide { side, ours: true, .. } | Chunk::Same { ours: side, .. } => &o[side],
            Chunk::OneSide { side, ours: false, .. } => &t[side],
            Chunk::Conflict { .. } => return None,
        };
        out.extend(lines.iter().copied());
    }
    Some(out)
}

/// The order of the keys all three versions share.
fn common_order<'a>(seq: &'a Seq, shared: &HashSet<&str>) -> Vec<&'a str> {
    seq.units.iter().map(|u| u.key.as_str()).filter(|k| shared.contains(k)).collect()
}

fn merge_seq(
    base: (&str, &Seq),
    ours: (&str, &Seq),
    theirs: (&str, &Seq),
    depth: usize,
    out: &mut String,
) -> Result<(), Refused> {
    let index =
        |s: &Seq| -> HashMap<String, usize> { s.units.iter().enumerate().map(|(i, u)| (u.key.clone(), i)).collect() };
    let (bi, oi, ti) = (index(base.1), index(ours.1), index(theirs.1));
    let shared: HashSet<&str> =
        bi.keys().filter(|k| oi.contains_key(*k) && ti.contains_key(*k)).map(String::as_str).collect();
    let (bo, oo, to) = (common_order(base.1, &shared), common_order(ours.1, &shared), common_order(theirs.1, &shared));
    // Follow the side that reordered; if both did, differently, give up.
    let theirs_leads = match (oo != bo, to != bo) {
        (true, true) if oo != to => return Err(Refused("both sides reordered declarations differently".into())),
        (false, true) => true,
        _ => false,
    };
    let (lead, lead_idx, other, other_idx) =
        if theirs_leads { (theirs, &ti, ours, &oi) } else { (ours, &oi, theirs, &ti) };
    // (key, text) in result order, plus whether the lead side added it (not in base).
    let mut result: Vec<(String, String, bool)> = Vec::new();
    for u in &lead.1.units {
        let key = u.key.as_str();
        let lead_text = full(lead.0, u);
        match (bi.get(key), other_idx.get(key)) {
            (Some(&b), Some(&o)) => {
                let bu = &base.1.units[b];
                let ou = &other.1.units[o];
                let (our_u, our_text, their_u, their_text) =
                    if theirs_leads { (ou, other.0, u, lead.0) } else { (u, lead.0, ou, other.0) };
                let merged = merge_unit((base.0, bu), (our_text, our_u), (their_text, their_u), depth)?;
                result.push((key.to_string(), merged, false));
            }
            (Some(&b), None) => {
                // The other side deleted it: fine if the lead side left it as it was.
                if trimmed(lead_text) != trimmed(full(base.0, &base.1.units[b])) {
                    return Err(Refused(format!("{} was changed on one side and deleted on the other", label(u))));
                }
            }
            (None, Some(&o)) => {
                let other_text = full(other.0, &other.1.units[o]);
                if trimmed(other_text) != trimmed(lead_text) {
                    return Err(Refused(format!("both sides added {} differently", label(u))));
                }
                result.push((key.to_string(), lead_text.to_string(), true));
            }
            (None, None) => result.push((key.to_string(), lead_text.to_string(), true)),
        }
    }
    // Base units the lead side deleted: the other side must have left them alone.
    for u in &base.1.units {
        if !lead_idx.contains_key(&u.key)
            && let Some(&o) = other_idx.get(&u.key)
            && trimmed(full(other.0, &other.1.units[o])) != trimmed(full(base.0, u))
        {
            return Err(Refused(format!("{} was changed on one side and deleted on the other", label(u))));
        }
    }
    // The other side's additions, after the unit that precedes them there; ours' additions come
    // before theirs' at the same place.
    let mut prev: Option<String> = None;
    for u in &other.1.units {
        if bi.contains_key(&u.key) || lead_idx.contains_key(&u.key) {
            // The nearest preceding unit that is in the result (deleted ones are not).
            if result.iter().any(|(k, _, _)| *k == u.key) {
                prev = Some(u.key.clone());
            }
            continue;
        }
        let mut at = match &prev {
            Some(p) => result.iter().position(|(k, _, _)| k == p).map_or(0, |i| i + 1),
            None => 0,
        };
        if !theirs_leads {
            // Skip ours' additions here so theirs come after them.
            while result.get(at).is_some_and(|(_, _, added)| *added) {
                at += 1;
            }
        }
        result.insert(at, (u.key.clone(), full(other.0, u).to_string(), theirs_leads));
        prev = Some(u.key.clone());
    }
    for (_, text, _) in result {
        out.push_str(&text);
    }
    Ok(())
}

/// A unit's text without the blank lines before it (they change when a neighbour is added or
/// deleted).
fn trimmed(s: &str) -> &str {
    s.trim_start_matches(['\n', '\r', ' ', '\t'])
}

/// Split off the blank lines and indentation before a unit.
fn split_lead(s: &str) -> (&str, &str) {
    let rest = trimmed(s);
    (&s[..s.len() - rest.len()], rest)
}

fn merge_unit(
    base: (&str, &Unit),
    ours: (&str, &Unit),
    theirs: (&str, &Unit),
    depth: usize,
) -> Result<String, Refused> {
    let (b, o, t) = (full(base.0, base.1), full(ours.0, ours.1), full(theirs.0, theirs.1));
    if let Some(side) = pick3(b, o, t) {
        return Ok(side.to_string());
    }
    // The space before a unit changes when a neighbour is added or deleted; it is merged apart
    // from the unit (ours' when both changed it) so that it never makes the unit conflict.
    let ((bl, b), (ol, o), (tl, t)) = (split_lead(b), split_lead(o), split_lead(t));
    let lead = if ol == bl { tl } else { ol };
    if let Some(side) = pick3(b, o, t) {
        return Ok(format!("{lead}{side}"));
    }
    if let Some(m) = merge_lines(b, o, t) {
        return Ok(format!("{lead}{m}"));
    }
    if depth < MAX_DEPTH
        && let (Some(bb), Some(ob), Some(tb)) = (&base.1.body, &ours.1.body, &theirs.1.body)
    {
        // Opening (from the unit's start through the body's opening), members, closing.
        let open = |text: &str, u: &Unit, body: &Seq| trimmed(slice(text, &(u.full.start..body.head.end))).to_string();
        let close = |text: &str, u: &Unit, body: &Seq| slice(text, &(body.tail.start..u.full.end)).to_string();
        let what = format!("the declaration of {}", label(ours.1));
        let mut out = lead.to_string();
        out.push_str(&merge_text(
            &open(base.0, base.1, bb),
            &open(ours.0, ours.1, ob),
            &open(theirs.0, theirs.1, tb),
            &what,
        )?);
        merge_seq((base.0, bb), (ours.0, ob), (theirs.0, tb), depth + 1, &mut out)?;
        out.push_str(&merge_text(
            &close(base.0, base.1, bb),
            &close(ours.0, ours.1, ob),
            &close(theirs.0, theirs.1, tb),
            &format!("the end of {}", label(ours.1)),
        )?);
        return Ok(out);
    }
    Err(Refused(format!("both sides changed {} differently", label(ours.1))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::Language;
    use crate::syntax::parse;

    fn merge(lang: Language, base: &str, ours: &str, theirs: &str) -> Result<String, Refused> {
        let (b, o, t) = (parse(lang, base).unwrap(), parse(lang, ours).unwrap(), parse(lang, theirs).unwrap());
        merge_file(Three { base: (base, &b.seq), ours: (ours, &o.seq), theirs: (theirs, &t.seq) })
    }

    #[test]
    fn additions_on_both_sides_keep_ours_first() {
        let base = "fn a() {}\n";
        let ours = "fn a() {}\n\nfn b() {}\n";
        let theirs = "fn a() {}\n\nfn c() {}\n";
        assert_eq!(merge(Language::Rust, base, ours, theirs).unwrap(), "fn a() {}\n\nfn b() {}\n\nfn c() {}\n");
    }

    #[test]
    fn different_declarations_changed_side_by_side() {
        let base = "def a():\n    return 1\ndef b():\n    return 2\n";
        let ours = "def a():\n    return 10\ndef b():\n    return 2\n";
        let theirs = "def a():\n    return 1\ndef b():\n    return 20\n";
        assert_eq!(
            merge(Language::Python, base, ours, theirs).unwrap(),
            "def a():\n    return 10\ndef b():\n    return 20\n"
        );
    }

    #[test]
    fn members_of_one_class() {
        let base = "class A {\n  x() { return 1; }\n}\n";
        let ours = "class A {\n  x() { return 1; }\n  y() { return 2; }\n}\n";
        let theirs = "class A {\n  x() { return 1; }\n  z() { return 3; }\n}\n";
        assert_eq!(
            merge(Language::TypeScript, base, ours, theirs).unwrap(),
            "class A {\n  x() { return 1; }\n  y() { return 2; }\n  z() { return 3; }\n}\n"
        );
    }

    #[test]
    fn the_same_declaration_changed_twice_is_refused() {
        let base = "fn a() -> i32 { 1 }\n";
        let err = merge(Language::Rust, base, "fn a() -> i32 { 2 }\n", "fn a() -> i32 { 3 }\n").unwrap_err();
        assert_eq!(err.0, "both sides changed function `a` differently");
    }

    #[test]
    fn delete_against_change_is_refused_and_delete_against_nothing_deletes() {
        let base = "fn a() {}\n\nfn b() {}\n";
        let err = merge(Language::Rust, base, "fn b() {}\n", "fn a() { x(); }\n\nfn b() {}\n").unwrap_err();
        assert_eq!(err.0, "function `a` was changed on one side and deleted on the other");
        assert_eq!(
            merge(Language::Rust, base, "fn b() {}\n", "fn a() {}\n\nfn b() { y(); }\n").unwrap(),
            "fn b() { y(); }\n"
        );
    }
}
