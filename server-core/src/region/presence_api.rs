//! `GET /presence?channel=C`: the members of a channel over HTTP, with the token rules of
//! `/metrics` (and the origin rules of every route).
//!
//! # Contract
//! Answers `200` with the `presence` frame a subscriber would get:
//! `{"type":"presence","channel":C,"count":N,"members":[{"id","name","region","since"},…]}`,
//! every region's members of `C` (default `global`) as the broker holds them now, oldest
//! first, at most [`MAX_LISTED`] listed (`count` stays exact). 400 `invalid_channel` for a
//! bad name, 401/403 as for `/metrics`, 503 `broker_unavailable` while the broker does not
//! answer (retry).

use super::access::refuse;
use super::delivery::members_frame;
use super::{input, Region};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;
use wire::presence::MAX_LISTED;
use wire::ErrorCode;

/// Query of `GET /presence`.
#[derive(Debug, Deserialize)]
pub(super) struct PresenceParams {
    channel: Option<String>,
    token: Option<String>,
}

/// `GET /presence`: see the module's contract.
pub(super) async fn presence(
    State(region): State<Arc<Region>>,
    Query(params): Query<PresenceParams>,
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
    match region.broker().members(&channel, MAX_LISTED).await {
        Ok(members) => Json(members_frame(&channel, members)).into_response(),
        Err(e) => {
            region
                .metrics
                .broker_error(super::metrics::Operation::Presence);
            let message = format!("{e}; retry: the members are back once the broker answers");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::BrokerUnavailable,
                &message,
            )
        }
    }
}
