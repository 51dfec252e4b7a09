//! The server API, for backends that publish and read without holding a socket:
//! `POST /publish` and `GET /history`, with the token and origin rules of `/ws`.
//!
//! # Contract
//! - `POST /publish` stores one event (a publish frame's fields without `type`; `channel`
//!   defaults to `global`), idempotent by `(channel, id)` like a publish frame, and answers
//!   its `ack` frame: `200 {"type":"ack","id":…,"channel":…,"offset":N,"duplicate":bool}`.
//!   Refusals carry the error frame as their body: 400 for what the request got wrong (the
//!   input codes of the protocol), 413 `frame_too_large` for a body over 64 KiB, 503
//!   `broker_unavailable` (temporary: retry with the same id), 401/403 as for `/ws`.
//! - `GET /history?channel=C&since=N&limit=L` answers up to `L` (default 100, at most
//!   [`MAX_LIMIT`]) events of `C` after offset `N` (default 0), in order:
//!   `{"channel","epoch","latest","events":[event frames],"gap":{"from","to"}|null,"next"}`.
//!   `gap` names offsets after `N` that fell out of the history (as a resume's `gap` frame
//!   does); `next` is the `since` of the next page (the last offset returned, or `N`); the
//!   channel has more when `next < latest`. Offsets belong to `epoch`: a client that kept
//!   another epoch starts again from 0.

use super::access::refuse;
use super::metrics::Transport;
use super::{frames, input, Region};
use crate::event::{now_micros, NewEvent, Offset};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Instant;
use wire::limits::MAX_FRAME_BYTES;
use wire::{ErrorCode, ServerFrame};

/// Most events one `GET /history` answers.
pub const MAX_LIMIT: usize = 1000;

/// Events one `GET /history` answers when it names no `limit`.
pub const DEFAULT_LIMIT: usize = 100;

/// The token of a request (`?token=`), when it has one in its query.
#[derive(Debug, Deserialize)]
pub(super) struct TokenParams {
    token: Option<String>,
}

/// Query of `GET /history`.
#[derive(Debug, Deserialize)]
pub(super) struct HistoryParams {
    channel: Option<String>,
    since: Option<Offset>,
    limit: Option<usize>,
    token: Option<String>,
}

/// `"gap"` of a history page.
#[derive(Debug, Serialize)]
struct Gap {
    from: Offset,
    to: Offset,
}

/// The body of a `GET /history` answer.
#[derive(Debug, Serialize)]
struct Page {
    channel: String,
    epoch: String,
    latest: Offset,
    events: Vec<Box<RawValue>>,
    gap: Option<Gap>,
    next: Offset,
}

/// `POST /publish`: store one event (see the module's contract).
pub(super) async fn publish(
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
    let started = Instant::now();
    let refused = |frame: ServerFrame| {
        let ServerFrame::Error { code, .. } = &frame else {
            unreachable!("refusals are error frames")
        };
        region.metrics.refused(Transport::Http, code);
        (status_of(code), Json(frame)).into_response()
    };
    if body.len() > MAX_FRAME_BYTES {
        return refused(frames::frame_too_large(body.len()));
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return refused(ServerFrame::error(
            ErrorCode::InvalidJson,
            "the body is not UTF-8 JSON",
        ));
    };
    let publish = match input::decode_publish_body(text) {
        Ok(p) => p,
        Err(e) => return refused(frames::invalid_input(e)),
    };
    let event = NewEvent {
        channel: publish.channel().into(),
        id: publish.id,
        origin: region.name().into(),
        kind: publish.kind,
        payload: publish.payload,
        published_at: now_micros(),
        after: None,
    };
    let (channel, id) = (event.channel.clone(), event.id.clone());
    match region.broker().publish(event).await {
        Ok(published) => {
            region
                .metrics
                .published(Transport::Http, published.duplicate, started);
            Json(frames::ack(id, channel, published)).into_response()
        }
        Err(e) => refused(frames::not_stored(id, &e)),
    }
}

/// `GET /history`: a page of a channel's history (see the module's contract).
pub(super) async fn history(
    State(region): State<Arc<Region>>,
    Query(params): Query<HistoryParams>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = region
        .access
        .refusal(region.name(), &headers, params.token.as_deref())
    {
        return refused;
    }
    let channel = params.channel.unwrap_or_else(|| wire::GLOBAL.into());
    if let Err(e) = input::channel(&channel) {
        return refuse(StatusCode::BAD_REQUEST, e.code, &e.message);
    }
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        let message = format!("limit must be 1 to {MAX_LIMIT}");
        return refuse(StatusCode::BAD_REQUEST, ErrorCode::InvalidFrame, &message);
    }
    let since = params.since.unwrap_or(0);
    let broker = region.broker();
    let read = async {
        let status = broker.channel_status(&channel).await?;
        let batch = broker.history(&channel, since, limit).await?;
        Ok::<_, crate::error::BrokerError>((status, batch))
    };
    let (status, batch) = match read.await {
        Ok(r) => r,
        Err(e) => {
            region
                .metrics
                .broker_error(super::metrics::Operation::History);
            let frame = frames::history_unavailable(&e, since);
            return (StatusCode::SERVICE_UNAVAILABLE, Json(frame)).into_response();
        }
    };
    let first = batch.events.first().map_or(status.latest + 1, |e| e.offset);
    let gap = (first > since + 1 && since < status.latest).then(|| Gap {
        from: since + 1,
        to: first - 1,
    });
    let now = now_micros();
    let next = batch
        .events
        .last()
        .map_or(since.max(gap.as_ref().map_or(0, |g| g.to)), |e| e.offset);
    let events = batch
        .events
        .iter()
        .map(|e| RawValue::from_string(e.frame_text(now, true)).expect("event frames are JSON"))
        .collect();
    Json(Page {
        channel,
        epoch: batch.epoch,
        latest: status.latest,
        events,
        gap,
        next,
    })
    .into_response()
}

/// The HTTP status of a refusal with `code`.
fn status_of(code: &ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BrokerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::FrameTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}
