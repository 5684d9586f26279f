//! Sandbox providers for parallel-cc's unattended runs.
//!
//! [`SandboxProvider`] is the one interface `sandbox run` needs: create or connect to a
//! sandbox, run commands with their output streamed as [`CommandEvent`]s, signal them, move
//! files in and out as streams, set the lifetime, list, inspect and kill. Two providers:
//! [`E2bProvider`] (the E2B REST control plane plus envd's Connect protocol, see
//! E2B-PROTOCOL.md) and [`LocalProvider`] (a temporary directory and child processes; no
//! isolation).
//!
//! It is the only async building block. It must not touch the database or the user's git
//! repository: pcc-core moves files and results between a run and the worktree. Credentials
//! stay inside [`Secret`]; no error, log line or `Debug` output carries the API key or a
//! sandbox's access token. Commands given as argument vectors reach the sandbox's bash only
//! through [`shell::join`].
//!
//! ```
//! use futures_util::StreamExt;
//! use pcc_sandbox::{Command, CommandEvent, CreateOptions, LocalProvider, SandboxProvider};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> pcc_sandbox::Result<()> {
//! # let base = std::env::temp_dir().join(format!("pcc-sandbox-doc-{}", std::process::id()));
//! let provider: Box<dyn SandboxProvider> = Box::new(LocalProvider::new(&base));
//! let sandbox = provider.create(&CreateOptions::default()).await?;
//! let mut process = provider.run(&sandbox, &Command::argv(["echo", "it's $(not) expanded"])).await?;
//! while let Some(event) = process.next().await {
//!     match event? {
//!         CommandEvent::Stdout(chunk) => assert_eq!(&chunk[..], b"it's $(not) expanded\n"),
//!         CommandEvent::Stderr(_) => {}
//!         CommandEvent::Exit(status) => assert!(status.success()),
//!     }
//! }
//! provider.kill(sandbox.id()).await?;
//! # let _ = std::fs::remove_dir_all(&base);
//! # Ok(())
//! # }
//! ```

mod command;
mod e2b;
mod error;
mod io;
mod local;
mod provider;
mod secret;
pub mod shell;

pub use command::{
    Command, CommandEvent, CommandLine, CommandOutput, ExitStatus, LineSplitter, Process, ProcessKiller, Signal,
};
pub use e2b::{DEFAULT_DOMAIN, E2bConfig, E2bProvider, ENV_API_KEY, ENV_API_URL, ENV_DOMAIN, ENV_SANDBOX_URL};
pub use error::{ConnectCode, Resource, Result, SandboxError, Service};
pub use local::LocalProvider;
pub use provider::{
    BoxFuture, ByteStream, CreateOptions, FileSource, ListQuery, Sandbox, SandboxInfo, SandboxProvider, SandboxState,
};
pub use secret::{REDACTED, Secret};
