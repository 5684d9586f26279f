//! Conflict analysis for parallel-cc: pure functions from bytes to analyses.
//!
//! Given the base, ours and theirs versions of a conflicting file, this crate parses them with
//! tree-sitter (line analysis as the fallback), classifies each conflict region, and proposes
//! whole-file resolutions with a documented confidence score.
//!
//! It must not do I/O: no filesystem, no git, no database, no clock. Callers (pcc-core) fetch the
//! blobs and store the results. Filled in by the conflict-analysis issue.
