//! Who may talk to a region: loopback pages and the desktop app, native clients, and holders
//! of the shared token when one is set. A web page the user visits must not drive the servers.

mod common;

use common::{Client, Regions};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn connect_with(
    addr: std::net::SocketAddr,
    query: &str,
    headers: &[(&'static str, &str)],
) -> Result<(), u16> {
    let mut req = format!("ws://{addr}/ws{query}")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// WebSocket upgrades from a foreign `Origin` are refused with 403; loopback pages, the
/// desktop app and origin-less native clients are accepted.
#[tokio::test]
async fn foreign_origins_are_refused() {
    let regions = Regions::start(&["us"], common::memory_broker()).await;
    let addr = regions.addr("us");
    for evil in [
        "http://evil.example",
        "https://localhost.evil.example",
        "null",
    ] {
        assert_eq!(
            connect_with(addr, "", &[("Origin", evil)]).await,
            Err(403),
            "{evil}"
        );
    }
    for good in [
        "http://127.0.0.1:4000",
        "http://localhost:4001",
        "tauri://localhost",
    ] {
        assert_eq!(
            connect_with(addr, "", &[("Origin", good)]).await,
            Ok(()),
            "{good}"
        );
    }
    assert_eq!(connect_with(addr, "", &[]).await, Ok(()));
    // CORS on the HTTP API answers only allowed origins.
    let evil = raw_get(addr, "/health", "http://evil.example").await;
    assert!(
        !evil
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{evil}"
    );
    let good = raw_get(addr, "/health", "http://127.0.0.1:4000").await;
    assert!(
        good.to_ascii_lowercase()
            .contains("access-control-allow-origin: http://127.0.0.1:4000"),
        "{good}"
    );
}

async fn raw_get(addr: std::net::SocketAddr, path: &str, origin: &str) -> String {
    let headers = [("Origin", origin)];
    common::http::request(common::http::Method::GET, addr, path, &headers, None)
        .await
        .text()
}

/// `--allow-origin` adds an origin.
#[tokio::test]
async fn an_allowed_origin_is_accepted() {
    let regions = Regions::start_with(&["us"], common::memory_broker(), |c| {
        c.access.allow_origins = vec!["https://ops.example".into()]
    })
    .await;
    assert_eq!(
        connect_with(regions.addr("us"), "", &[("Origin", "https://ops.example")]).await,
        Ok(())
    );
    assert_eq!(
        connect_with(
            regions.addr("us"),
            "",
            &[("Origin", "https://other.example")]
        )
        .await,
        Err(403)
    );
}

/// With a token set, upgrades without it (or with a wrong one) get 401; `?token=` and
/// `Authorization: Bearer` both work.
#[tokio::test]
async fn token_auth_guards_exposed_regions() {
    let regions = Regions::start_with(&["us"], common::memory_broker(), |c| {
        c.access.token = Some("s3cret".into())
    })
    .await;
    let addr = regions.addr("us");
    assert_eq!(connect_with(addr, "", &[]).await, Err(401));
    assert_eq!(connect_with(addr, "?token=wrong", &[]).await, Err(401));
    assert_eq!(
        connect_with(addr, "", &[("Authorization", "Bearer nope")]).await,
        Err(401)
    );
    assert_eq!(connect_with(addr, "?token=s3cret", &[]).await, Ok(()));
    assert_eq!(
        connect_with(addr, "", &[("Authorization", "Bearer s3cret")]).await,
        Ok(())
    );
    let mut c = Client::connect_query(addr, "?token=s3cret").await;
    assert!(matches!(
        c.publish_and_wait("t1").await,
        wire::ServerFrame::Ack { .. }
    ));
}
