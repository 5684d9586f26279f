//! Queries over the original's conflict tables: `conflict_resolutions` (conflicts detected, and how
//! they were resolved) and `auto_fix_suggestions` (resolutions proposed for them).
//!
//! Soft-deleted rows (`deleted_at` set) are invisible to every query here, writes included, and a
//! deleted suggestion is not joined onto its conflict.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use crate::error::Result;
use crate::model::{
    ConflictResolutionRow, HistoryFilter, HistoryStats, NewConflictRecord, NewSuggestion, StrategyRecord,
    SuggestionFilter, SuggestionRow,
};
use crate::queries::{Queries, WriteTx, count, ts};
use crate::time::Timestamp;

const SUGGESTION_COLUMNS: &str = "id, conflict_resolution_id, repo_path, file_path, conflict_type, \
     suggested_resolution, confidence_score, explanation, strategy_used, base_content, source_content, target_content, \
     generated_at, metadata, applied_at, was_auto_applied";

const SUGGESTION_ORDER: &str = "ORDER BY confidence_score DESC, generated_at DESC, id";

fn suggestion_from_row(row: &Row<'_>) -> rusqlite::Result<SuggestionRow> {
    Ok(SuggestionRow {
        id: row.get(0)?,
        conflict_resolution_id: row.get(1)?,
        repo_path: row.get(2)?,
        file_path: row.get(3)?,
        conflict_type: row.get(4)?,
        suggested_resolution: row.get(5)?,
        confidence: row.get(6)?,
        explanation: row.get(7)?,
        strategy: row.get(8)?,
        base_content: row.get(9)?,
        source_content: row.get(10)?,
        target_content: row.get(11)?,
        generated_at: ts(row, 12)?.unwrap_or(Timestamp(0)),
        metadata: row.get(13)?,
        applied_at: ts(row, 14)?,
        was_auto_applied: row.get::<_, Option<i64>>(15)?.unwrap_or(0) != 0,
    })
}

const CONFLICT_COLUMNS: &str = "c.id, c.session_id, c.repo_path, c.file_path, c.conflict_type, c.base_commit, \
     c.source_commit, c.target_commit, c.resolution_strategy, c.confidence_score, c.conflict_markers, \
     c.resolved_content, c.detected_at, c.resolved_at, c.auto_fix_suggestion_id, c.metadata, a.strategy_used, \
     a.explanation";

/// Number of columns in [`CONFLICT_COLUMNS`].
const CONFLICT_WIDTH: usize = 18;

const CONFLICT_FROM: &str = "conflict_resolutions c LEFT JOIN auto_fix_suggestions a \
     ON a.id = c.auto_fix_suggestion_id AND a.deleted_at IS NULL";

const CONFLICT_ORDER: &str = "ORDER BY c.detected_at DESC, c.id";

fn conflict_from_row(row: &Row<'_>) -> rusqlite::Result<ConflictResolutionRow> {
    Ok(ConflictResolutionRow {
        id: row.get(0)?,
        session_id: row.get(1)?,
        repo_path: row.get(2)?,
        file_path: row.get(3)?,
        conflict_type: row.get(4)?,
        base_commit: row.get(5)?,
        source_commit: row.get(6)?,
        target_commit: row.get(7)?,
        resolution_strategy: row.get(8)?,
        confidence: row.get(9)?,
        conflict_markers: row.get(10)?,
        resolved_content: row.get(11)?,
        detected_at: ts(row, 12)?.unwrap_or(Timestamp(0)),
        resolved_at: ts(row, 13)?,
        auto_fix_suggestion_id: row.get(14)?,
        metadata: row.get(15)?,
        auto_fix_strategy: row.get(16)?,
        explanation: row.get(17)?,
    })
}

/// `failedApplies` of a row's `metadata` as a non-negative integer; 0 when the metadata is
/// missing, not JSON, or holds no integer there. The nested `CASE` keeps `json_type` away from
/// text that is not JSON (it raises an error on it).
const FAILED_APPLIES: &str = "(CASE WHEN json_valid(metadata) THEN \
     (CASE WHEN json_type(metadata, '$.failedApplies') = 'integer' \
     THEN max(json_extract(metadata, '$.failedApplies'), 0) ELSE 0 END) ELSE 0 END)";

/// A row's `metadata` when it is a JSON object, else `{}`.
const METADATA_OBJECT: &str = "(CASE WHEN json_valid(metadata) THEN (CASE WHEN json_type(metadata) = 'object' THEN metadata ELSE '{}' END) \
     ELSE '{}' END)";

/// SQLite's "no limit".
fn limit_value(limit: usize) -> i64 {
    if limit == 0 { -1 } else { i64::try_from(limit).unwrap_or(i64::MAX) }
}

/// The `WHERE` clause of a [`HistoryFilter`] over `conflict_resolutions c`, with its parameters
/// in order. Built per filter, so the indexes on repo, file, type and strategy can be used.
fn history_where(f: &HistoryFilter) -> (String, Vec<Value>) {
    let mut clause = String::from("c.deleted_at IS NULL");
    let mut p = Vec::new();
    for (column, value) in [
        ("c.repo_path", &f.repo),
        ("c.file_path", &f.file),
        ("c.conflict_type", &f.conflict_type),
        ("c.resolution_strategy", &f.strategy),
    ] {
        if let Some(v) = value {
            clause.push_str(&format!(" AND {column} = ?"));
            p.push(Value::Text(v.clone()));
        }
    }
    match f.resolved {
        Some(true) => clause.push_str(" AND c.resolved_at IS NOT NULL"),
        Some(false) => clause.push_str(" AND c.resolved_at IS NULL"),
        None => {}
    }
    (clause, p)
}

impl<'c> Queries<'c> {
    /// A suggestion by id.
    pub fn suggestion(&self, id: &str) -> Result<Option<SuggestionRow>> {
        let op = "get suggestion";
        let sql = format!("SELECT {SUGGESTION_COLUMNS} FROM auto_fix_suggestions WHERE id = ?1 AND deleted_at IS NULL");
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        stmt.query_row([id], suggestion_from_row).optional().map_err(self.err(op))
    }

    /// Suggestions with at least `min_confidence`, most confident first, then newest, then by id.
    pub fn suggestions(&self, f: &SuggestionFilter) -> Result<Vec<SuggestionRow>> {
        let op = "list suggestions";
        let mut sql = format!(
            "SELECT {SUGGESTION_COLUMNS} FROM auto_fix_suggestions WHERE deleted_at IS NULL AND confidence_score >= ?"
        );
        let mut p = vec![Value::Real(f.min_confidence)];
        for (column, value) in [("repo_path", &f.repo), ("file_path", &f.file)] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                p.push(Value::Text(v.clone()));
            }
        }
        match f.applied {
            Some(true) => sql.push_str(" AND applied_at IS NOT NULL"),
            Some(false) => sql.push_str(" AND applied_at IS NULL"),
            None => {}
        }
        sql.push_str(&format!(" {SUGGESTION_ORDER} LIMIT ?"));
        p.push(Value::Integer(limit_value(f.limit)));
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt.query_map(params_from_iter(p), suggestion_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    /// Suggestions made for a conflict, most confident first.
    pub fn suggestions_for_conflict(&self, conflict_id: &str) -> Result<Vec<SuggestionRow>> {
        let op = "list suggestions for conflict";
        let sql = format!(
            "SELECT {SUGGESTION_COLUMNS} FROM auto_fix_suggestions WHERE conflict_resolution_id = ?1 \
             AND deleted_at IS NULL {SUGGESTION_ORDER}"
        );
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt.query_map([conflict_id], suggestion_from_row).map_err(self.err(op))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(op))
    }

    /// The conflict recorded with exactly these values (the newest, if several), resolved or not,
    /// so the same detected conflict is not recorded twice.
    pub fn find_conflict(
        &self,
        repo: &str,
        file: &str,
        base_commit: &str,
        source_commit: &str,
        target_commit: &str,
        conflict_markers: &str,
    ) -> Result<Option<ConflictResolutionRow>> {
        let op = "find conflict";
        let sql = format!(
            "SELECT {CONFLICT_COLUMNS} FROM {CONFLICT_FROM} WHERE c.repo_path = ?1 AND c.file_path = ?2 \
             AND c.base_commit = ?3 AND c.source_commit = ?4 AND c.target_commit = ?5 AND c.conflict_markers = ?6 \
             AND c.deleted_at IS NULL {CONFLICT_ORDER} LIMIT 1"
        );
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        stmt.query_row(
            params![repo, file, base_commit, source_commit, target_commit, conflict_markers],
            conflict_from_row,
        )
        .optional()
        .map_err(self.err(op))
    }

    /// A conflict by id.
    pub fn conflict_record(&self, id: &str) -> Result<Option<ConflictResolutionRow>> {
        let op = "get conflict";
        let sql = format!("SELECT {CONFLICT_COLUMNS} FROM {CONFLICT_FROM} WHERE c.id = ?1 AND c.deleted_at IS NULL");
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        stmt.query_row([id], conflict_from_row).optional().map_err(self.err(op))
    }

    /// One page of the conflicts a filter selects, newest detected first, and how many it
    /// selects in all.
    pub fn conflict_history(&self, f: &HistoryFilter) -> Result<(Vec<ConflictResolutionRow>, usize)> {
        let op = "list conflict history";
        let (clause, mut p) = history_where(f);
        // The total rides along on every row, so page and total come from one snapshot.
        let sql = format!(
            "SELECT {CONFLICT_COLUMNS}, COUNT(*) OVER () FROM {CONFLICT_FROM} WHERE {clause} {CONFLICT_ORDER} \
             LIMIT ? OFFSET ?"
        );
        p.push(Value::Integer(limit_value(f.limit)));
        p.push(Value::Integer(i64::try_from(f.offset).unwrap_or(i64::MAX)));
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt
            .query_map(params_from_iter(p), |r| Ok((conflict_from_row(r)?, r.get::<_, i64>(CONFLICT_WIDTH)?)))
            .map_err(self.err(op))?;
        let mut page = Vec::new();
        let mut total = 0;
        for row in rows {
            let (conflict, n) = row.map_err(self.err(op))?;
            total = count(n);
            page.push(conflict);
        }
        if page.is_empty() && f.offset > 0 {
            // A page past the end carries no total: count on its own.
            let (clause, p) = history_where(f);
            let sql = format!("SELECT COUNT(*) FROM conflict_resolutions c WHERE {clause}");
            let n: i64 = self
                .conn()
                .prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params_from_iter(p), |r| r.get(0)))
                .map_err(self.err(op))?;
            total = count(n);
        }
        Ok((page, total))
    }

    /// Counts over every conflict a filter selects (its `limit` and `offset` are ignored).
    pub fn history_stats(&self, f: &HistoryFilter) -> Result<HistoryStats> {
        let op = "count conflict history";
        let (clause, p) = history_where(f);
        // One grouped statement, so every count comes from the same snapshot.
        let sql = format!(
            "SELECT c.conflict_type, c.resolution_strategy, COUNT(*), COUNT(c.resolved_at), \
             TOTAL(c.confidence_score), COUNT(c.confidence_score) FROM conflict_resolutions c WHERE {clause} \
             GROUP BY 1, 2"
        );
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        let rows = stmt
            .query_map(params_from_iter(p), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(self.err(op))?;
        let mut stats = HistoryStats::default();
        let (mut confidence_sum, mut confidence_n) = (0.0, 0);
        for row in rows {
            let (kind, strategy, n, resolved, sum, with_confidence) = row.map_err(self.err(op))?;
            let n = count(n);
            stats.total += n;
            stats.resolved += count(resolved);
            if strategy.as_deref() == Some("AUTO_FIX") {
                stats.auto_fixed += n;
            }
            confidence_sum += sum;
            confidence_n += count(with_confidence);
            *stats.by_type.entry(kind).or_insert(0) += n;
            if let Some(strategy) = strategy {
                *stats.by_strategy.entry(strategy).or_insert(0) += n;
            }
        }
        if confidence_n > 0 {
            stats.average_confidence = Some(confidence_sum / confidence_n as f64);
        }
        Ok(stats)
    }

    /// How often suggestions made by `strategy` were applied, and how often applying one failed.
    pub fn strategy_record(&self, strategy: &str) -> Result<StrategyRecord> {
        let op = "count strategy outcomes";
        let sql = format!(
            "SELECT COUNT(applied_at), COALESCE(SUM({FAILED_APPLIES}), 0) FROM auto_fix_suggestions \
             WHERE strategy_used = ?1 AND deleted_at IS NULL"
        );
        let mut stmt = self.conn().prepare_cached(&sql).map_err(self.err(op))?;
        let (applied, failed) =
            stmt.query_row([strategy], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).map_err(self.err(op))?;
        Ok(StrategyRecord { applied: count(applied), failed: count(failed) })
    }
}

impl<'c> WriteTx<'c> {
    /// Record a detected conflict, unresolved.
    pub fn insert_conflict(&self, c: &NewConflictRecord) -> Result<()> {
        self.exec(
            "record conflict",
            "INSERT INTO conflict_resolutions (id, session_id, repo_path, file_path, conflict_type, base_commit, \
             source_commit, target_commit, conflict_markers, detected_at, metadata) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                c.id,
                c.session_id,
                c.repo_path,
                c.file_path,
                c.conflict_type,
                c.base_commit,
                c.source_commit,
                c.target_commit,
                c.conflict_markers,
                c.detected_at.to_string(),
                c.metadata,
            ],
        )?;
        Ok(())
    }

    /// Record a suggestion, not applied.
    pub fn insert_suggestion(&self, s: &NewSuggestion) -> Result<()> {
        self.exec(
            "record suggestion",
            "INSERT INTO auto_fix_suggestions (id, conflict_resolution_id, repo_path, file_path, conflict_type, \
             suggested_resolution, confidence_score, explanation, strategy_used, base_content, source_content, \
             target_content, generated_at, metadata, was_auto_applied) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0)",
            params![
                s.id,
                s.conflict_resolution_id,
                s.repo_path,
                s.file_path,
                s.conflict_type,
                s.suggested_resolution,
                s.confidence,
                s.explanation,
                s.strategy,
                s.base_content,
                s.source_content,
                s.target_content,
                s.generated_at.to_string(),
                s.metadata,
            ],
        )?;
        Ok(())
    }

    /// Resolve a conflict that is still unresolved; `suggestion_id` is the suggestion that
    /// resolved it, if any. Returns whether it was unresolved (and so changed).
    pub fn resolve_conflict(
        &self,
        id: &str,
        strategy: &str,
        confidence: Option<f64>,
        resolved_content: Option<&str>,
        suggestion_id: Option<&str>,
        now: Timestamp,
    ) -> Result<bool> {
        let n = self.exec(
            "resolve conflict",
            "UPDATE conflict_resolutions SET resolution_strategy = ?2, confidence_score = ?3, resolved_content = ?4, \
             auto_fix_suggestion_id = ?5, resolved_at = ?6 WHERE id = ?1 AND resolved_at IS NULL AND deleted_at IS NULL",
            params![id, strategy, confidence, resolved_content, suggestion_id, now.to_string()],
        )?;
        Ok(n > 0)
    }

    /// Mark a suggestion applied (`auto`: without the user asking). Returns `false` when it was
    /// applied already: the test and the write are one statement, so of two racing appliers
    /// exactly one gets `true`.
    pub fn mark_suggestion_applied(&self, id: &str, now: Timestamp, auto: bool) -> Result<bool> {
        let n = self.exec(
            "mark suggestion applied",
            "UPDATE auto_fix_suggestions SET applied_at = ?2, was_auto_applied = ?3 \
             WHERE id = ?1 AND applied_at IS NULL AND deleted_at IS NULL",
            params![id, now.to_string(), i64::from(auto)],
        )?;
        Ok(n > 0)
    }

    /// Bring a suggestion not yet applied up to date when it is made again: its confidence (the
    /// strategy's record may have changed), explanation and metadata. Returns whether it changed
    /// (an applied or deleted suggestion is left as it was).
    pub fn refresh_suggestion(
        &self,
        id: &str,
        confidence: f64,
        explanation: &str,
        metadata: Option<&str>,
    ) -> Result<bool> {
        let n = self.exec(
            "refresh suggestion",
            "UPDATE auto_fix_suggestions SET confidence_score = ?2, explanation = ?3, metadata = ?4 \
             WHERE id = ?1 AND applied_at IS NULL AND deleted_at IS NULL",
            params![id, confidence, explanation, metadata],
        )?;
        Ok(n > 0)
    }

    /// Count a failed attempt to apply a suggestion in its metadata (`failedApplies`,
    /// `lastFailure`, `lastFailureAt`), keeping its other keys. Metadata that is missing or not a
    /// JSON object starts over from `{}`. An unknown id changes nothing.
    pub fn record_failed_apply(&self, id: &str, reason: &str, now: Timestamp) -> Result<()> {
        let sql = format!(
            "UPDATE auto_fix_suggestions SET metadata = json_set({METADATA_OBJECT}, \
             '$.failedApplies', {FAILED_APPLIES} + 1, '$.lastFailure', ?2, '$.lastFailureAt', ?3) \
             WHERE id = ?1 AND deleted_at IS NULL"
        );
        self.exec("record failed apply", &sql, params![id, reason, now.to_string()])?;
        Ok(())
    }
}
