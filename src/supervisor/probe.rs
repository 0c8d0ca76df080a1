//! Readiness probes: a TCP connect, or an HTTP GET answered 2xx/3xx. The HTTP client is a dozen lines
//! of HTTP/1.0 over a TCP stream: probes only need the status line, and loopback needs no TLS.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connect address for a bind host: wildcard binds are probed on loopback.
pub fn connect_host(host: &str) -> &str {
    match host {
        "0.0.0.0" | "*" | "" => "127.0.0.1",
        "::" | "[::]" => "::1",
        h => h,
    }
}

/// True when `host:port` accepts a TCP connection within `timeout`.
pub async fn tcp(host: &str, port: u16, timeout: Duration) -> bool {
    let h = connect_host(host).trim_matches(['[', ']']);
    matches!(
        tokio::time::timeout(timeout, TcpStream::connect((h, port))).await,
        Ok(Ok(_))
    )
}

/// Splits `http://host:port/path` (no TLS: `https` is refused).
pub fn parse_http_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        (
            h.to_string(),
            p.strip_prefix(':').map_or(Some(80), |p| p.parse().ok())?,
        )
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (authority.to_string(), 80),
        }
    };
    Some((host, port, path.to_string()))
}

/// True when a GET on `url` answers with a 2xx or 3xx status within `timeout`.
pub async fn http(url: &str, timeout: Duration) -> bool {
    let Some((host, port, path)) = parse_http_url(url) else {
        return false;
    };
    let attempt = async {
        let mut s = TcpStream::connect((connect_host(&host).trim_matches(['[', ']']), port))
            .await
            .ok()?;
        let req = format!(
            "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: startup-medic\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            let r = s.read(&mut buf[n..]).await.ok()?;
            if r == 0 {
                break;
            }
            n += r;
        }
        let head = std::str::from_utf8(&buf[..n]).ok()?;
        let code: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((200..400).contains(&code))
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:8000/health"),
            Some(("127.0.0.1".into(), 8000, "/health".into()))
        );
        assert_eq!(
            parse_http_url("http://localhost"),
            Some(("localhost".into(), 80, "/".into()))
        );
        assert_eq!(
            parse_http_url("http://[::1]:9/x?y"),
            Some(("::1".into(), 9, "/x?y".into()))
        );
        assert_eq!(parse_http_url("https://x"), None);
    }
}
