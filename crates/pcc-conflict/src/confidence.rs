//! The confidence score of a suggestion, in [0, 1].
//!
//! ```text
//! raw        = 0.35·complexity + 0.15·similarity + 0.25·validity + 0.25·record
//! confidence = raw × 0.7 (if the file is SEMANTIC) × 0.9 (if more than 100 conflicting lines)
//!              then at most 0.3 when the result still has conflict markers or does not parse,
//!              and at most 0.4 for the keep-both fallback (it is a review aid, not a fix)
//! ```
//!
//! - complexity, from the file's class: TRIVIAL 1.0; STRUCTURAL 0.9 when both sides only added
//!   (imports or declarations), else 0.8; CONCURRENT_EDIT 0.6 when the regions have fewer than 5
//!   changed lines (Σ max(ours, theirs) non-blank lines), else 0.4; SEMANTIC 0.3.
//! - similarity, the mean over conflicting regions of how much the two sides agree: 1.0 for a
//!   region where both only inserted (they do not compete for any line), else the Dice
//!   coefficient of their whitespace-normalised non-blank lines.
//! - validity: 1.0 when the result parses without ERROR or MISSING nodes and has no conflict
//!   markers; 0.6 when it has no markers but its language is not parsed (nothing to check);
//!   0.0 otherwise.
//! - record: the strategy's prior, moved by what happened to its applied suggestions (the prior
//!   counts as ten earlier outcomes): `(10·prior + applied) / (10 + applied + failed)`. Priors: whitespace
//!   0.95, import-union 0.90, declaration-merge 0.85, keep-both 0.30.
//!
//! The weights make a clean structural merge land above 0.8, anything SEMANTIC below it, and
//! anything that would leave the file broken below 0.5, so that "can be applied" (≥ 0.7) and
//! "never applied" agree with the checks `apply` makes.

use crate::Strategy;

/// How a strategy's suggestions fared when applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Suggestions applied and verified.
    pub applied: usize,
    /// Applies that failed verification and were rolled back.
    pub failed: usize,
}

/// The inputs of the score, kept with each suggestion so it can be explained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Factors {
    pub complexity: f64,
    pub similarity: f64,
    pub validity: f64,
    pub record: f64,
    /// The file is SEMANTIC.
    pub semantic: bool,
    /// More than 100 conflicting lines.
    pub large: bool,
    /// The result has conflict markers or does not parse.
    pub invalid: bool,
}

pub(crate) fn prior(s: Strategy) -> f64 {
    match s {
        Strategy::Whitespace => 0.95,
        Strategy::ImportUnion => 0.90,
        Strategy::DeclarationMerge => 0.85,
        Strategy::KeepBoth => 0.30,
    }
}

/// The strategy's record: its prior moved by its applied suggestions.
pub fn record_score(s: Strategy, r: Record) -> f64 {
    let applied = r.applied as f64;
    ((10.0 * prior(s) + applied) / (10.0 + applied + r.failed as f64)).clamp(0.0, 1.0)
}

/// The confidence of a suggestion made by `strategy` (see the module documentation).
pub fn score(strategy: Strategy, f: &Factors) -> f64 {
    let mut c = 0.35 * f.complexity + 0.15 * f.similarity + 0.25 * f.validity + 0.25 * f.record;
    if f.semantic {
        c *= 0.7;
    }
    if f.large {
        c *= 0.9;
    }
    if f.invalid {
        c = c.min(0.3);
    }
    if strategy == Strategy::KeepBoth {
        c = c.min(0.4);
    }
    // Rounded so that stored, shown and compared values agree.
    (c.clamp(0.0, 1.0) * 1000.0).round() / 1000.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn f(complexity: f64, similarity: f64, validity: f64, record: f64) -> Factors {
        Factors { complexity, similarity, validity, record, semantic: false, large: false, invalid: false }
    }

    #[test]
    fn the_formula() {
        // 0.35 + 0.15 + 0.25 + 0.25·0.95
        assert_eq!(score(Strategy::Whitespace, &f(1.0, 1.0, 1.0, 0.95)), 0.988);
        // a clean structural merge of two additions: 0.315 + 0.15 + 0.25 + 0.2125
        assert_eq!(score(Strategy::DeclarationMerge, &f(0.9, 1.0, 1.0, 0.85)), 0.928);
        // different declarations edited side by side, half the lines shared
        assert_eq!(score(Strategy::DeclarationMerge, &f(0.8, 0.5, 1.0, 0.85)), 0.818);
    }

    #[test]
    fn penalties_and_caps() {
        let mut x = f(0.9, 1.0, 1.0, 0.85);
        x.semantic = true;
        assert_eq!(score(Strategy::DeclarationMerge, &x), 0.649);
        x.large = true;
        assert_eq!(score(Strategy::DeclarationMerge, &x), 0.584);
        let mut broken = f(1.0, 1.0, 0.0, 1.0);
        broken.invalid = true;
        assert_eq!(score(Strategy::Whitespace, &broken), 0.3);
        assert_eq!(score(Strategy::KeepBoth, &f(1.0, 1.0, 1.0, 1.0)), 0.4);
    }

    #[test]
    fn nothing_broken_reaches_one_half() {
        for c in [0.0, 0.3, 0.6, 1.0] {
            for s in [0.0, 0.5, 1.0] {
                let mut x = f(c, s, 0.0, 1.0);
                x.invalid = true;
                for strategy in
                    [Strategy::Whitespace, Strategy::ImportUnion, Strategy::DeclarationMerge, Strategy::KeepBoth]
                {
                    assert!(score(strategy, &x) < 0.5);
                }
            }
        }
    }

    #[test]
    fn the_record_moves_with_outcomes() {
        assert_eq!(record_score(Strategy::DeclarationMerge, Record::default()), 0.85);
        let good = record_score(Strategy::DeclarationMerge, Record { applied: 10, failed: 0 });
        assert!((good - 0.925).abs() < 1e-9);
        let bad = record_score(Strategy::DeclarationMerge, Record { applied: 10, failed: 10 });
        assert!((bad - 18.5 / 30.0).abs() < 1e-9);
        assert!(record_score(Strategy::KeepBoth, Record { applied: 0, failed: 100 }) < 0.03);
    }
}
