//! The client count `/health` reports: one guard per connected client (WebSocket or
//! Socket.IO), held for as long as that client's task or session lives.

use super::Region;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Counts a client in `/health` for as long as it lives, however its task or session ends:
/// the count goes up when the guard is made and down when it is dropped.
pub(super) struct ClientCount(Arc<Region>);

impl ClientCount {
    /// Count one more client of `region` until the guard is dropped.
    pub(super) fn new(region: &Arc<Region>) -> Self {
        region.clients.fetch_add(1, Ordering::Relaxed);
        ClientCount(region.clone())
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}
