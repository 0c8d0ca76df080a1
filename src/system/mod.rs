//! Facts about the machine and effects on it: ports and who holds them, processes, virtual
//! environments, installers, configuration files, firewalls. Everything here runs programs as argv
//! (never through a shell) and says plainly what it could not do on this OS.

pub mod config;
pub mod firewall;
pub mod install;
pub mod ports;
pub mod process;
pub mod venv;
