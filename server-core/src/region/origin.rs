//! Which web origins may open a WebSocket or read the HTTP API.
//!
//! A web page the user happens to visit can open a WebSocket to `127.0.0.1` too; browsers
//! send its `Origin`, so we refuse every origin that is not this machine's own pages or the
//! desktop app, unless it was explicitly allowed. Clients that send no `Origin` (native
//! programs, tests, the CLI) are not browsers acting for a foreign site and are accepted.

/// True when a request with this `Origin` header value may be served.
pub fn allowed(origin: Option<&str>, extra: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    if extra.iter().any(|o| o == origin || o == "*") {
        return true;
    }
    if matches!(
        origin,
        "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost"
    ) {
        return true;
    }
    let rest = match origin.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return false,
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, tail)) if tail.is_empty() || is_port(tail) => h,
            _ => return false,
        }
    } else {
        match rest.split_once(':') {
            Some((h, port)) if is_port(&format!(":{port}")) => h,
            Some(_) => return false,
            None => rest,
        }
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

fn is_port(tail: &str) -> bool {
    tail.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn loopback_pages_and_the_app_are_allowed() {
        for o in [
            "http://localhost:4000",
            "http://127.0.0.1:4002",
            "http://[::1]:4001",
            "http://localhost",
            "tauri://localhost",
            "http://tauri.localhost",
        ] {
            assert!(allowed(Some(o), &[]), "{o}");
        }
        assert!(allowed(None, &[]));
    }

    #[test]
    fn foreign_origins_are_refused() {
        for o in [
            "http://evil.example",
            "https://localhost.evil.example",
            "http://127.0.0.1.evil.example:4000",
            "http://localhost:4000@evil.example",
            "null",
            "file://",
        ] {
            assert!(!allowed(Some(o), &[]), "{o}");
        }
        assert!(allowed(
            Some("https://ops.example"),
            &["https://ops.example".into()]
        ));
    }
}
