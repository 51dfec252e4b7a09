//! Who may act on a region: the web origins it accepts and its shared token, decided in one
//! place for `/ws`, `PUT /sim` and Socket.IO alike.
//!
//! Origins: loopback pages and the desktop app, the pages of every region this one lists in
//! `/regions` (so a page served by any region of the deployment may drive all of them), and
//! `--allow-origin`; see [`super::origin`]. Requests without `Origin` (native clients) pass.
//! Token: when the region has one, a request must present it (`?token=`, `Authorization:
//! Bearer`, or a Socket.IO `auth` payload).

use super::origin;
use super::RegionConfig;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use wire::ErrorCode;

/// A region's admission rules, computed once when it starts.
#[derive(Debug)]
pub(crate) struct Access {
    /// Origins allowed besides loopback and the desktop app.
    origins: Arc<Vec<String>>,
    token: Option<String>,
}

impl Access {
    /// The rules `config` sets: its `/regions` list, `--allow-origin` and `--token`.
    pub(crate) fn new(config: &RegionConfig) -> Self {
        Access {
            origins: Arc::new(origin::deployment_origins(
                config.identity.peers.iter().map(|p| p.url.as_str()),
                &config.access.allow_origins,
            )),
            token: config.access.token.clone(),
        }
    }

    /// Whether a request with this `Origin` header (none for native clients) may act.
    pub(crate) fn origin_allowed(&self, origin: Option<&str>) -> bool {
        origin::allowed(origin, &self.origins)
    }

    /// CORS headers for the allowed origins on `methods`.
    pub(crate) fn cors<const N: usize>(&self, methods: [Method; N]) -> CorsLayer {
        let origins = self.origins.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |o: &HeaderValue, _| {
                origin::allowed(o.to_str().ok(), &origins)
            }))
            .allow_methods(methods)
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
    }

    /// Whether the token is satisfied: none is required, or `headers` carry it as
    /// `Authorization: Bearer`, or one of `presented` (query, Socket.IO auth) is it.
    pub(crate) fn token_presented<'a>(
        &self,
        headers: &HeaderMap,
        presented: impl IntoIterator<Item = Option<&'a str>>,
    ) -> bool {
        let Some(expected) = self.token.as_deref() else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        bearer == Some(expected) || presented.into_iter().any(|t| t == Some(expected))
    }

    /// The 403 for a request from a foreign origin, if it is one.
    pub(crate) fn origin_refusal(&self, region: &str, headers: &HeaderMap) -> Option<Response> {
        let origin = headers
            .get(header::ORIGIN)
            .map(|o| o.to_str().unwrap_or("<invalid>"));
        if self.origin_allowed(origin) {
            return None;
        }
        tracing::warn!(region, ?origin, "refused a request from a foreign origin");
        Some(refuse(
            StatusCode::FORBIDDEN,
            ErrorCode::ForbiddenOrigin,
            "this server accepts requests only from the pages of its deployment's regions \
             (its /regions list), loopback pages and the desktop app; start it with \
             --allow-origin <origin> to allow another site",
        ))
    }

    /// The 403 or 401 for a request that may not act (`/ws`, `PUT /sim`), if any.
    pub(crate) fn refusal(
        &self,
        region: &str,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Option<Response> {
        if let Some(refused) = self.origin_refusal(region, headers) {
            return Some(refused);
        }
        if !self.token_presented(headers, [query_token]) {
            return Some(refuse(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "this region requires a token: add ?token=<token> or send Authorization: Bearer <token>",
            ));
        }
        None
    }
}

/// An HTTP refusal whose JSON body has the error frame's shape.
pub(crate) fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (status, Json(wire::ServerFrame::error(code, message))).into_response()
}
