//! The client count `/health` reports and the connection cap enforces: one guard per admitted
//! client (WebSocket or Socket.IO), taken *before* the upgrade or the connect is answered
//! and held for as long as that client's task or session lives.

use super::access::refuse;
use super::Region;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use wire::ErrorCode;

/// One admitted client of a region, counted in `/health` and against
/// [`RegionConfig::max_connections`](super::RegionConfig::max_connections) for as long as it
/// lives, however its task or session ends: the count goes up when the guard is taken and
/// down when it is dropped (including when an upgrade is abandoned before it completes).
pub(super) struct ClientCount(Arc<Region>);

/// The region already holds `max_connections` clients; nothing was counted.
#[derive(Debug, thiserror::Error)]
#[error("region {region} is full ({max} connections)")]
pub(super) struct Full {
    /// The region's name.
    pub(super) region: String,
    /// Its cap.
    pub(super) max: usize,
}

impl ClientCount {
    /// Take one of `region`'s connection slots, or fail with [`Full`] if all are taken.
    ///
    /// Race-free: the check and the increment are one atomic step, so concurrent upgrades
    /// never admit more than the cap. Clients already admitted are never affected.
    pub(super) fn admit(region: &Arc<Region>) -> Result<Self, Full> {
        let max = region.config.clients.max_connections;
        region
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ClientCount(region.clone()))
            .map_err(|_| Full {
                region: region.name().into(),
                max,
            })
    }

    /// Whether `region` has a free slot now, without taking it (a fast refusal before work
    /// that [`admit`](Self::admit) later settles).
    pub(super) fn room(region: &Arc<Region>) -> Result<(), Full> {
        let max = region.config.clients.max_connections;
        if region.clients.load(Ordering::Acquire) < max {
            Ok(())
        } else {
            Err(Full {
                region: region.name().into(),
                max,
            })
        }
    }
}

impl Full {
    /// The 503 a refused upgrade or Socket.IO handshake gets, with the error frame as body.
    pub(super) fn refusal(&self) -> Response {
        tracing::info!(region = %self.region, max = self.max, "connection refused: region full");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TooManyConnections,
            &format!(
                "this region is at its limit of {} connections (--max-connections); \
                 retry later or connect to another region",
                self.max
            ),
        )
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}
