//! Requests to a region's HTTP API, through `reqwest` (a maintained client, so tests exercise
//! real HTTP instead of hand-written request lines). Every request uses a fresh connection and
//! no proxy; a request that cannot be sent fails the test.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::Method;
use std::net::SocketAddr;

/// A response: status, headers and body as text.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers (names lowercase).
    pub headers: HeaderMap,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

impl Response {
    /// The headers as `name: value` lines, then a blank line and the body.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.headers {
            out.push_str(&format!(
                "{}: {}\r\n",
                name,
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }
}

/// `method path` on `addr` with extra headers and an optional JSON body.
pub async fn request(
    method: Method,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> Response {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client");
    let mut req = client.request(method, format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(
            HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
            HeaderValue::from_str(v).expect("a header value"),
        );
    }
    if let Some(body) = json_body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
    }
    let resp = req.send().await.expect("an HTTP response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("an HTTP body");
    Response {
        status,
        headers,
        body,
    }
}

/// `GET path` on `addr`, expecting 200 and a JSON body.
pub async fn http_get_json<T: serde::de::DeserializeOwned>(addr: SocketAddr, path: &str) -> T {
    let (status, body) = http_get(addr, path, &[]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// `GET path` with extra headers; returns the status code and body.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let r = request(Method::GET, addr, path, headers, None).await;
    (r.status, r.body)
}
