//! The MCP server frontend of parallel-cc (stdio transport, rmcp).
//!
//! Exposes the coordination use cases of `pcc_core::Coordinator` as MCP tools for the agents
//! themselves. Like the CLI it is a thin frontend: every tool calls the same pcc-core method as
//! the matching CLI command. Its stdout carries JSON-RPC only; logs go to stderr.
//! Filled in by the MCP issue.
