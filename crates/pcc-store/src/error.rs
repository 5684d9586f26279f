use std::path::PathBuf;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the store. rusqlite's error type stays inside this crate: the
/// variants say what failed, and the underlying error is kept only as a `source`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to the database {path}")]
    Unwritable {
        path: PathBuf,
        #[source]
        source: Source,
    },
    #[error("the database {path} is corrupt or not a SQLite database")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: Source,
    },
    #[error("the database {path} is locked by another process")]
    Locked {
        path: PathBuf,
        #[source]
        source: Source,
    },
    #[error("cannot back up the database to {path} before upgrading it")]
    Backup {
        path: PathBuf,
        #[source]
        source: Source,
    },
    #[error("database migration failed")]
    Migration {
        #[source]
        source: Source,
    },
    #[error("the database was written by a newer parallel-cc (schema {found}, this build knows up to {known})")]
    TooNew { found: i64, known: i64 },
    #[error("database query failed: {op}")]
    Query {
        op: &'static str,
        #[source]
        source: Source,
    },
    #[error("unexpected value in the database: {what}")]
    BadValue { what: String },
}

impl StoreError {
    /// A next step for the user, when there is a useful one.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::DataDir { .. } | StoreError::Unwritable { .. } => {
                Some("set PARALLEL_CC_DATA_DIR to a writable directory, or fix the permissions".into())
            }
            StoreError::Corrupt { path, .. } => Some(format!(
                "move {} aside (parallel-cc will create a new one), or restore a *.backup next to it",
                path.display()
            )),
            StoreError::Locked { .. } => Some(
                "another parallel-cc process holds the database; retry, or raise PARALLEL_CC_DB_BUSY_TIMEOUT_MS".into(),
            ),
            StoreError::TooNew { .. } => Some("upgrade parallel-cc".into()),
            _ => None,
        }
    }

    /// Classify a rusqlite error raised while working on the database at `path`.
    pub(crate) fn from_sqlite(path: &std::path::Path, op: &'static str, e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
            _ => None,
        };
        let path = path.to_path_buf();
        match code {
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Locked { path, source: Box::new(e) },
            Some(C::NotADatabase | C::DatabaseCorrupt) => StoreError::Corrupt { path, source: Box::new(e) },
            Some(C::ReadOnly | C::CannotOpen | C::PermissionDenied | C::DiskFull | C::SystemIoFailure) => {
                StoreError::Unwritable { path, source: Box::new(e) }
            }
            _ => StoreError::Query { op, source: Box::new(e) },
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
