//! Startup Medic: gets a local server stack running and keeps it running.
//!
//! The library holds everything the binary does, so tests can drive the engine and the CLI directly.
//! `engine` is pure (no I/O, no threads); `store` and `settings` persist state; `cli` implements the
//! headless commands; `ui` is the desktop window; `demo` the embedded demo stack.

pub mod cli;
pub mod demo;
pub mod detect;
pub mod doctor;
pub mod engine;
pub mod profile;
pub mod protocol;
pub mod settings;
pub mod store;
pub mod supervisor;
pub mod system;
pub mod ui;
