//! HTTP surface of a region: `/ws`, `/socket.io/`, `/health`, `/ready`, `/metrics`,
//! `/regions`, the server API (`/publish`, `/history`, `/presence`), and the UI at `/`.

use super::access::refuse;
use super::client_count::ClientCount;
use super::{api, connection, input, presence_api, Region};
use crate::sim::LinkSettings;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};
use wire::limits::MAX_FRAME_BYTES;
use wire::ErrorCode;

/// Query of `GET /ws` (see [`input::wants`]).
#[derive(Debug, Deserialize)]
struct WsParams {
    /// The channels to follow, comma-separated (`global` when none).
    channels: Option<String>,
    /// Resume after this offset (`N`, or `CHANNEL:N,…`).
    since: Option<String>,
    /// Epoch the `since` offset belongs to (`E`, or `CHANNEL:E,…`); if the log has another
    /// epoch now, the client is told (`epoch` frame) and replayed from the start of the
    /// current log instead.
    epoch: Option<String>,
    /// The client's display name (see [`input::name`]); an anonymous one when not given.
    name: Option<String>,
    /// Which channels to get the members of (see [`input::presence`]).
    presence: Option<String>,
    /// Shared token, when the region requires one.
    token: Option<String>,
}

/// Query of `PUT /sim` and `GET /metrics`.
#[derive(Debug, Deserialize)]
struct TokenParams {
    /// Shared token, when the region requires one.
    token: Option<String>,
}

/// The region's router. Tests call it directly; [`super::run`] serves it.
pub fn router(region: Arc<Region>) -> Router {
    let cors = region.access.cors([
        axum::http::Method::GET,
        axum::http::Method::PUT,
        axum::http::Method::POST,
    ]);
    let api = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/regions", get(regions))
        .route("/sim", get(get_sim).put(put_sim))
        .route("/history", get(api::history))
        .route("/presence", get(presence_api::presence))
        .route("/publish", axum::routing::post(api::publish))
        .layer(cors)
        .route("/ws", get(ws))
        .merge(super::socketio::routes(region.clone()));
    let api = match &region.config.identity.ui_dir {
        Some(dir) if dir.join("index.html").is_file() => api.fallback_service(
            ServeDir::new(dir).not_found_service(ServeFile::new(dir.join("index.html"))),
        ),
        _ => api.fallback(no_ui),
    };
    api.with_state(region)
}

async fn health(State(region): State<Arc<Region>>) -> Json<wire::Health> {
    Json(region.health())
}

/// `GET /ready`: 200 while the region reaches its broker (it can store publishes and
/// deliver events), 503 while it cannot, for load balancers and orchestrators to route
/// clients elsewhere. `/health` answers 200 either way, with the details.
async fn ready(State(region): State<Arc<Region>>) -> Response {
    let health = region.health();
    if region.ready() {
        Json(serde_json::json!({ "ready": true, "region": health.region })).into_response()
    } else {
        let body = serde_json::json!({
            "ready": false,
            "region": health.region,
            "message": "this region cannot reach its broker: publishes fail with a temporary \
                        error and no events arrive until it is back",
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// `GET /metrics`: this region's metrics in the Prometheus text format. With `--token`, the
/// token is required (`?token=` or `Authorization: Bearer`), as for `/ws`.
async fn metrics(
    State(region): State<Arc<Region>>,
    Query(params): Query<TokenParams>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = region
        .access
        .refusal(region.name(), &headers, params.token.as_deref())
    {
        return refused;
    }
    let content_type = [(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)];
    (content_type, region.metrics.encode()).into_response()
}

async fn regions(State(region): State<Arc<Region>>) -> Json<Vec<wire::RegionInfo>> {
    Json(region.config.identity.peers.clone())
}

async fn no_ui() -> (StatusCode, Html<&'static str>) {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!doctype html><title>Multi-Region Servers</title><h1>The UI is not built</h1>\
             <p>This region serves its API at <code>/ws</code>, <code>/health</code> and \
             <code>/regions</code>. To get the UI here, build it (<code>cargo xtask ui</code>) \
             and start the server with <code>--ui-dir ui/dist</code>.</p>",
        ),
    )
}

async fn get_sim(State(region): State<Arc<Region>>) -> Json<LinkSettings> {
    Json(region.route.link().settings())
}

/// Replace this region's simulated link to the broker.
async fn put_sim(
    State(region): State<Arc<Region>>,
    Query(params): Query<TokenParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = region
        .access
        .refusal(region.name(), &headers, params.token.as_deref())
    {
        return refused;
    }
    let settings: LinkSettings = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!(
                "the body must be JSON like {{\"latency_ms\":45,\"jitter_ms\":5,\"cut_off\":false}} ({e})"
            );
            return refuse(StatusCode::BAD_REQUEST, ErrorCode::InvalidSim, &msg);
        }
    };
    if let Err(e) = settings.validate() {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidSim,
            &e.to_string(),
        );
    }
    tracing::info!(region = %region.name(), ?settings, "simulated link changed");
    region.route.link().set(settings.clone());
    Json(settings).into_response()
}

async fn ws(
    State(region): State<Arc<Region>>,
    Query(params): Query<WsParams>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = region
        .access
        .refusal(region.name(), &headers, params.token.as_deref())
    {
        return refused;
    }
    let asked = input::wants(
        params.channels.as_deref(),
        params.since.as_deref(),
        params.epoch.as_deref(),
    )
    .and_then(|mut wants| {
        input::presence(params.presence.as_deref(), &mut wants)?;
        Ok((wants, input::name(params.name.as_deref())?))
    });
    let (wants, name) = match asked {
        Ok(asked) => asked,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    // The slot is taken before the upgrade is answered and moves into the connection's task;
    // if the upgrade never completes, dropping the callback frees it.
    let counted = match ClientCount::admit(&region) {
        Ok(counted) => counted,
        Err(full) => return full.refusal(),
    };
    let tracker = region.tracker.clone();
    // The transport takes up to twice the limit, so that a message just over it is read
    // whole and refused with a clear error and close code 1009; larger ones are dropped
    // at the frame header.
    // Small initial buffers (`defaults::SOCKET_BUFFER`).
    upgrade
        .max_message_size(2 * MAX_FRAME_BYTES)
        .max_frame_size(2 * MAX_FRAME_BYTES)
        .read_buffer_size(crate::defaults::SOCKET_BUFFER)
        .write_buffer_size(crate::defaults::SOCKET_BUFFER)
        .on_upgrade(move |socket| {
            tracker.track_future(connection::serve(region, socket, wants, name, counted))
        })
}
