//! [`Target`]: one region (or one port of the bare server) the bench's clients connect to,
//! and the lists of them the bench reads: `--target` URLs, and the `ready` line a server
//! child process prints ([`crate::child`]).
//!
//! It sits below both kinds of server the bench runs ([`crate::servers`] for the regions,
//! [`crate::bare`] for the bare broadcast server), so neither has to reach into the other.

/// One region to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Region name (or `host:port` for `--target`).
    pub name: String,
    /// `ws://host:port/ws`.
    pub url: String,
}

impl Target {
    /// The `/ws` endpoint of a server listening on `addr`.
    pub fn at(name: impl Into<String>, addr: std::net::SocketAddr) -> Self {
        Target {
            name: name.into(),
            url: format!("ws://{addr}/ws"),
        }
    }

    /// The region's HTTP endpoint `path` (e.g. `/metrics`): `http://host:port{path}`.
    pub fn http(&self, path: &str) -> String {
        let host = self.url.trim_start_matches("ws://").trim_end_matches("/ws");
        format!("http://{host}{path}")
    }
}

/// The `/ws` endpoints of servers listening on `regions` (name, address), in order.
pub fn targets_at(regions: &[(String, std::net::SocketAddr)]) -> Vec<Target> {
    regions
        .iter()
        .map(|(name, addr)| Target::at(name.clone(), *addr))
        .collect()
}

/// `http://h:p,…` or `ws://h:p/ws,…` into targets; `named` lists are `name=url`.
pub fn parse_targets(list: &str, named: bool) -> Vec<Target> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (name, url) = match item.split_once('=') {
                Some((n, u)) if named => (n.to_string(), u.to_string()),
                _ => (String::new(), item.trim().to_string()),
            };
            let host = url
                .trim_start_matches("http://")
                .trim_start_matches("ws://")
                .trim_end_matches('/')
                .trim_end_matches("/ws")
                .to_string();
            Target {
                name: if name.is_empty() { host.clone() } else { name },
                url: format!("ws://{host}/ws"),
            }
        })
        .collect()
}

/// `targets` as a named list, `name=url,…`: what [`parse_targets`] reads with `named`.
pub fn named_list(targets: &[Target]) -> String {
    let items: Vec<String> = targets
        .iter()
        .map(|t| format!("{}={}", t.name, t.url))
        .collect();
    items.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Targets accept http or ws URLs, with or without `/ws`, named or not.
    #[test]
    fn parses_targets() {
        let t = parse_targets("http://127.0.0.1:4000,ws://127.0.0.1:4001/ws", false);
        assert_eq!(t[0].url, "ws://127.0.0.1:4000/ws");
        assert_eq!(t[1].url, "ws://127.0.0.1:4001/ws");
        assert_eq!(t[1].http("/metrics"), "http://127.0.0.1:4001/metrics");
        let t = parse_targets("as=ws://127.0.0.1:5/ws", true);
        assert_eq!(
            (t[0].name.as_str(), t[0].url.as_str()),
            ("as", "ws://127.0.0.1:5/ws")
        );
    }

    /// A named list reads back as the targets it was written from.
    #[test]
    fn a_named_list_reads_back() {
        let targets = [
            Target::at("as", "127.0.0.1:5".parse().unwrap()),
            Target::at("us", "127.0.0.1:6".parse().unwrap()),
        ];
        let list = named_list(&targets);
        assert_eq!(list, "as=ws://127.0.0.1:5/ws,us=ws://127.0.0.1:6/ws");
        let back = parse_targets(&list, true);
        assert_eq!(back.len(), 2);
        assert_eq!(
            (back[1].name.as_str(), back[1].url.as_str()),
            ("us", targets[1].url.as_str())
        );
    }
}
