//! Regions of one deployment on several machines: the URLs `/regions` advertises, which pages
//! may drive the regions (every region of the deployment, not only loopback), and the token
//! on `PUT /sim`.

mod common;

use common::http::Method;
use common::Regions;
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The deployment as a browser on another machine sees it: AS here, US and EU elsewhere.
fn peers(config: &mut server_core::region::RegionConfig) {
    config.identity.peers = vec![
        wire::RegionInfo {
            name: "as".into(),
            url: "http://10.9.8.1:4000".into(),
        },
        wire::RegionInfo {
            name: "us".into(),
            url: "http://10.9.8.2:4001".into(),
        },
        wire::RegionInfo {
            name: "eu".into(),
            url: "https://eu.example:443".into(),
        },
    ];
}

/// Status of a WebSocket upgrade with an `Origin` header.
async fn upgrade(addr: SocketAddr, query: &str, origin: &str) -> u16 {
    let mut req = format!("ws://{addr}/ws{query}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Origin", HeaderValue::from_str(origin).unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

/// `PUT /sim` with a body and headers; the status code.
async fn put_sim(addr: SocketAddr, query: &str, headers: &[(&str, &str)]) -> u16 {
    let path = format!("/sim{query}");
    let body = Some(r#"{"latency_ms":5}"#);
    common::http::request(Method::PUT, addr, &path, headers, body)
        .await
        .status
}

/// A page served by any region the deployment advertises (its own URL or a peer's, default
/// ports as browsers send them) may open WebSockets and drive `/sim`; other hosts and ports
/// are refused with 403, loopback pages are accepted as before.
#[tokio::test]
async fn pages_of_every_region_of_the_deployment_are_accepted() {
    let regions = Regions::start_with(&["as"], common::memory_broker(), peers).await;
    let addr = regions.addr("as");
    for good in [
        "http://10.9.8.1:4000",
        "http://10.9.8.2:4001",
        "https://eu.example",
        "http://127.0.0.1:4000",
    ] {
        assert_eq!(upgrade(addr, "", good).await, 101, "{good}");
        assert_eq!(put_sim(addr, "", &[("Origin", good)]).await, 200, "{good}");
    }
    for bad in [
        "http://10.9.8.1:4001",
        "http://10.9.8.3:4000",
        "https://eu.example:8443",
        "http://eu.example",
        "http://evil.example",
    ] {
        assert_eq!(upgrade(addr, "", bad).await, 403, "{bad}");
        assert_eq!(put_sim(addr, "", &[("Origin", bad)]).await, 403, "{bad}");
    }
    // CORS answers the deployment's pages too, so a page on AS can read US's /health.
    let head = raw_head(addr, "/health", "http://10.9.8.2:4001").await;
    assert!(
        head.to_ascii_lowercase()
            .contains("access-control-allow-origin: http://10.9.8.2:4001"),
        "{head}"
    );
}

/// `--allow-origin` still adds an origin outside the deployment.
#[tokio::test]
async fn allow_origin_adds_to_the_deployment() {
    let regions = Regions::start_with(&["as"], common::memory_broker(), |c| {
        peers(c);
        c.access.allow_origins = vec!["https://ops.example".into()];
    })
    .await;
    let addr = regions.addr("as");
    assert_eq!(upgrade(addr, "", "https://ops.example").await, 101);
    assert_eq!(upgrade(addr, "", "http://10.9.8.2:4001").await, 101);
    assert_eq!(upgrade(addr, "", "https://other.example").await, 403);
}

/// A peer named like a local region sets the URL `/regions` advertises for it (what
/// `--public-url` and `--peer` do); the others keep their listening address.
#[tokio::test]
async fn a_peer_named_like_a_local_region_sets_its_advertised_url() {
    let regions = Regions::start_with(&["as", "us"], common::memory_broker(), |c| {
        c.identity.peers = vec![
            wire::RegionInfo {
                name: "as".into(),
                url: "http://a.internal:4000".into(),
            },
            wire::RegionInfo {
                name: "eu".into(),
                url: "http://c.internal:4002".into(),
            },
        ];
    })
    .await;
    let list: Vec<wire::RegionInfo> = common::http_get_json(regions.addr("us"), "/regions").await;
    let urls: Vec<(String, String)> = list.into_iter().map(|r| (r.name, r.url)).collect();
    assert_eq!(
        urls,
        vec![
            ("as".into(), "http://a.internal:4000".into()),
            ("us".into(), format!("http://{}", regions.addr("us"))),
            ("eu".into(), "http://c.internal:4002".into()),
        ]
    );
    // And a page served at the advertised URL may drive the region.
    assert_eq!(
        upgrade(regions.addr("as"), "", "http://a.internal:4000").await,
        101
    );
}

/// `PUT /sim` takes the token as `?token=` or `Authorization: Bearer`, like `/ws`; without
/// it, or with a wrong one, 401 and nothing changes.
#[tokio::test]
async fn sim_accepts_the_token_in_the_query_or_the_header() {
    let regions = Regions::start_with(&["as"], common::memory_broker(), |c| {
        c.access.token = Some("s3cret".into());
    })
    .await;
    let addr = regions.addr("as");
    assert_eq!(put_sim(addr, "", &[]).await, 401);
    assert_eq!(put_sim(addr, "?token=wrong", &[]).await, 401);
    assert_eq!(
        put_sim(addr, "", &[("Authorization", "Bearer wrong")]).await,
        401
    );
    let sim: wire::sim::LinkSettings = common::http_get_json(addr, "/sim").await;
    assert_eq!(sim.latency_ms, 0, "refused PUTs changed nothing");
    assert_eq!(put_sim(addr, "?token=s3cret", &[]).await, 200);
    assert_eq!(
        put_sim(addr, "", &[("Authorization", "Bearer s3cret")]).await,
        200
    );
    let sim: wire::sim::LinkSettings = common::http_get_json(addr, "/sim").await;
    assert_eq!(sim.latency_ms, 5);
}

/// The headers of `GET path` with an `Origin` (which must answer 200), as `name: value` lines.
async fn raw_head(addr: SocketAddr, path: &str, origin: &str) -> String {
    let resp = common::http::request(Method::GET, addr, path, &[("Origin", origin)], None).await;
    assert_eq!(resp.status, 200);
    let text = resp.text();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

/// Socket.IO admits exactly the pages `/ws` admits: a page of a deployment region opens a
/// polling session; a foreign page gets 403.
#[tokio::test]
async fn socket_io_admits_the_pages_of_the_deployment_like_ws() {
    let regions = Regions::start_with(&["as"], common::memory_broker(), peers).await;
    let addr = regions.addr("as");
    let handshake = "/socket.io/?EIO=4&transport=polling";
    for (origin, status) in [
        ("http://10.9.8.2:4001", 200),
        ("http://127.0.0.1:4000", 200),
        ("http://evil.example", 403),
    ] {
        let (got, body) = common::http_get(addr, handshake, &[("Origin", origin)]).await;
        assert_eq!(got, status, "{origin}: {body}");
        assert_eq!(
            upgrade(addr, "", origin).await,
            if status == 200 { 101 } else { 403 }
        );
    }
}
