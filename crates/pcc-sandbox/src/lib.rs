//! Sandbox providers for parallel-cc's unattended runs.
//!
//! Holds the `SandboxProvider` trait, the E2B client (REST control plane plus the envd Connect
//! protocol) and the `local` provider that runs the same flow in a temporary directory.
//!
//! It is the only async building block. It must not touch the database or the user's git
//! repository: pcc-core moves files and results between a run and the worktree. Secrets passed in
//! stay inside redacting wrappers. Filled in by the sandbox-provider issue.
