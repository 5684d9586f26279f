//! Storage for parallel-cc: the SQLite database at `$PARALLEL_CC_DATA_DIR/coordinator.db`.
//!
//! This crate owns every SQL statement of the project: connection setup (WAL, busy timeout,
//! foreign keys), the refinery migrations in `migrations/`, adoption of databases written by the
//! TypeScript tool, and typed queries that map rows by hand.
//!
//! It must not decide anything: no liveness tests, no disposal rules, no git. Every
//! read-modify-write goes through [`Store::write`], one `BEGIN IMMEDIATE` transaction. It never
//! prints; rusqlite types do not leave the crate.

mod conflicts;
mod db;
mod error;
mod legacy;
mod model;
mod queries;
pub mod time;

pub use db::{DEFAULT_BUSY_TIMEOUT, LATEST_MIGRATION, LegacyAdoption, MigrationReport, SchemaInfo, Store};
pub use error::{Result, StoreError};
pub use model::{
    ClaimRow, ConflictResolutionRow, GitDetails, HistoryFilter, HistoryStats, MergeEventRow, NewClaim,
    NewConflictRecord, NewSession, NewSnapshot, NewSuggestion, SessionRow, SessionState, SnapshotRow, StrategyRecord,
    SubscriptionRow, SuggestionFilter, SuggestionRow, TouchedFile,
};
pub use queries::{Queries, WriteTx};
pub use time::Timestamp;
