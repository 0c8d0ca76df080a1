//! Is a port free, and who holds it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use crate::protocol::PortHolder;

/// The address to bind-test for a service host ("localhost" means loopback).
fn bind_addr(host: &str, port: u16) -> SocketAddr {
    let ip = match host {
        "localhost" | "" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        h => h
            .trim_matches(['[', ']'])
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    };
    SocketAddr::new(ip, port)
}

/// True when a listener could bind `host:port` right now (the test socket is closed at once).
/// A listener on the wildcard address blocks loopback binds too, so this catches both.
pub fn is_free(host: &str, port: u16) -> bool {
    TcpListener::bind(bind_addr(host, port)).is_ok()
}

/// The process listening on a TCP port, with its facts from the process table.
pub fn holder(port: u16) -> Option<PortHolder> {
    let listeners = listeners::get_all().ok()?;
    let pid = listeners
        .iter()
        .filter(|l| l.socket.port() == port && l.protocol == listeners::Protocol::TCP)
        .map(|l| l.process.pid)
        .min()?;
    let facts = crate::system::process::facts(pid);
    Some(PortHolder {
        pid,
        name: facts.as_ref().map(|f| f.name.clone()).unwrap_or_default(),
        command: facts.as_ref().map(|f| f.command_line()).unwrap_or_default(),
        user: facts.and_then(|f| f.user),
        ours: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_is_not_free_and_its_holder_is_us() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert!(!is_free("127.0.0.1", port));
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        let h = holder(port).expect("holder found");
        assert_eq!(h.pid, std::process::id());
        drop(l);
        assert!(is_free("127.0.0.1", port));
    }
}
