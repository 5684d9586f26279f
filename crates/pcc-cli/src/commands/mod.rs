//! One module per command: each exports `Args` (its doc comment is the help) and `run`.

pub mod cleanup;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod heartbeat;
pub mod migrate;
pub mod register;
pub mod release;
pub mod restore;
pub mod run;
pub mod snapshot;
pub mod status;
