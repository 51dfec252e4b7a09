//! Which web origins may open a WebSocket or read the HTTP API.
//!
//! A web page the user happens to visit can open a WebSocket to `127.0.0.1` too; browsers
//! send its `Origin`, so we refuse every origin that is not this machine's own pages or the
//! desktop app, unless it was explicitly allowed. Clients that send no `Origin` (native
//! programs, tests, the CLI) are not browsers acting for a foreign site and are accepted.
//!
//! Across machines, a page served by any region of the deployment (a URL in its `/regions`
//! list: the regions of this process, `--peer`s, `--public-url`) is one of "our own pages":
//! [`deployment_origins`] turns that list into origins, which a region's admission rules
//! (`region::access`) add to the allowed ones, for `/ws`, `PUT /sim` and Socket.IO alike.

/// The origins of the deployment's pages: each region URL reduced to `scheme://host[:port]`
/// (as a browser sends it in `Origin`: lower case, no path, no default port), plus `extra`.
pub fn deployment_origins<'a>(
    urls: impl IntoIterator<Item = &'a str>,
    extra: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = extra.to_vec();
    for o in urls.into_iter().filter_map(origin_of) {
        if !out.contains(&o) {
            out.push(o);
        }
    }
    out
}

/// `http://Host:80/path` → `http://host`; `None` for anything but http(s) URLs.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default = if scheme == "http" { ":80" } else { ":443" };
    let authority = authority.strip_suffix(default).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

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

    #[test]
    fn region_urls_become_origins() {
        use super::{deployment_origins, origin_of};
        assert_eq!(
            origin_of("http://10.0.0.5:4000/").as_deref(),
            Some("http://10.0.0.5:4000")
        );
        assert_eq!(
            origin_of("HTTP://A.Internal:80/x?y").as_deref(),
            Some("http://a.internal")
        );
        assert_eq!(
            origin_of("https://b.internal:443").as_deref(),
            Some("https://b.internal")
        );
        assert_eq!(origin_of("ws://a:1"), None);
        assert_eq!(origin_of("http://user@evil:1"), None);
        let list = deployment_origins(
            ["http://a.internal:4000", "http://b.internal:4001/"],
            &["https://ops.example".into()],
        );
        assert!(allowed(Some("http://b.internal:4001"), &list));
        assert!(allowed(Some("http://a.internal:4000"), &list));
        assert!(!allowed(Some("http://a.internal:4001"), &list));
        assert!(!allowed(Some("http://c.internal:4000"), &list));
    }
}
