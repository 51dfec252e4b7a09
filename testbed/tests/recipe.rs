//! The README's "Running regions on several machines" recipe, run exactly (machine names
//! replaced by testbed addresses) on separate hosts: the regions advertise their public URLs,
//! accept each other's pages and the token, refuse the rest, and share one log across hosts.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use testbed::load::in_clients;
use testbed::Host;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use wire::ServerFrame;

const PATIENCE: Duration = Duration::from_secs(15);

/// The pages of the three regions: every region accepts their WebSockets.
const PAGES_OF_THE_DEPLOYMENT: [&str; 3] = [
    "http://10.203.77.11:4000",
    "http://10.203.77.12:4001",
    "http://10.203.77.13:4002",
];
/// Origins that are not a page of the deployment (another host, another region's port,
/// elsewhere): refused.
const OTHER_PAGES: [&str; 3] = [
    "http://10.203.77.30:4000",
    "http://10.203.77.11:4001",
    "http://evil.example",
];

/// Upgrade status of `/ws?query` on `region` from the clients host, with an `Origin`.
async fn upgrade(region: Host, query: &str, origin: Option<&str>) -> u16 {
    let addr = testbed::region_addr(region);
    let mut req = format!("ws://{addr}/ws{query}")
        .into_client_request()
        .unwrap();
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("{region:?}: {e}"),
    }
}

/// The recipe brings up Redis and three regions on four hosts; from the clients host, each
/// region lists all three at their public URLs, wants the token, accepts pages of every
/// region of the deployment and no other, and an event published in EU reaches subscribers
/// of AS, US and EU.
#[test]
fn the_readme_recipe_works_across_hosts() {
    let Some(bed) = testbed::for_test() else {
        return;
    };
    assert_every_region_lists_all(&bed);
    let token = bed.token().to_owned();
    let page_of_as = bed.url(Host::As);
    in_clients(async move {
        let with = format!("?token={token}");
        assert_token_and_origins_checked(&with).await;
        assert_an_event_from_eu_reaches_every_region(&with, &page_of_as).await;
    });
}

/// Each region's `/regions` lists the three regions at their public URLs.
fn assert_every_region_lists_all(bed: &testbed::Testbed) {
    let mut expected: Vec<(String, String)> = Host::REGIONS
        .iter()
        .map(|r| (r.name().to_owned(), bed.url(*r)))
        .collect();
    expected.sort();
    for region in Host::REGIONS {
        let body = bed.get(region, "/regions").unwrap();
        let list: Vec<wire::RegionInfo> = serde_json::from_str(&body).unwrap();
        let mut got: Vec<(String, String)> = list.into_iter().map(|r| (r.name, r.url)).collect();
        got.sort();
        assert_eq!(got, expected, "/regions of {}", region.name());
    }
}

/// Every region refuses a missing or wrong token (401), accepts the pages of the three
/// regions (101) and refuses any other origin (403); `with` is `?token=…`.
async fn assert_token_and_origins_checked(with: &str) {
    for region in Host::REGIONS {
        assert_eq!(
            upgrade(region, "", None).await,
            401,
            "{region:?} without token"
        );
        assert_eq!(upgrade(region, "?token=nope", None).await, 401);
        for (pages, status) in [(PAGES_OF_THE_DEPLOYMENT, 101), (OTHER_PAGES, 403)] {
            for page in pages {
                assert_eq!(
                    upgrade(region, with, Some(page)).await,
                    status,
                    "{region:?} from {page}"
                );
            }
        }
    }
}

/// A subscriber in each region (a page of AS, `with` its token); one event published on
/// EU's reaches all three, with origin `eu`.
async fn assert_an_event_from_eu_reaches_every_region(with: &str, page_of_as: &str) {
    let mut subscribers = Vec::new();
    for region in Host::REGIONS {
        let url = format!("ws://{}/ws{with}", testbed::region_addr(region));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(page_of_as).unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        subscribers.push((region, ws));
    }
    let id = "from-eu-across-hosts";
    let publish = wire::Publish::new(id, "test", &serde_json::json!({})).to_text();
    let eu = &mut subscribers[2].1;
    eu.send(Message::Text(publish.into())).await.unwrap();
    for (region, ws) in &mut subscribers {
        let got = tokio::time::timeout(PATIENCE, async {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg {
                    if let Ok(ServerFrame::Event(e)) = serde_json::from_str(&t) {
                        return Some(e);
                    }
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{region:?} got no event"));
        assert_eq!(got.id, id, "{region:?}");
        assert_eq!(got.origin, "eu", "{region:?}");
    }
}
