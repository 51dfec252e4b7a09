//! The relay: the region's fan-out, rendered once for Socket.IO clients.
//!
//! One task per region (started with its first Socket.IO client) follows the same ordered
//! fan-out the `/ws` clients get, renders each item once ([`Rendered`]) and passes it on, in
//! the same order, to every Socket.IO session of the region.

use super::mapping::Rendered;
use crate::region::{Notice, Outgoing, Region};
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// One item of the relay, in fan-out order.
#[derive(Debug, Clone)]
pub(super) enum Relayed {
    /// A log event: sent as `broadcast` and `event`.
    Event(Rendered),
    /// A `gap` or `epoch` notice of the feed: sent as an event of that name.
    Notice {
        name: &'static str,
        body: Arc<RawValue>,
    },
    /// The relay itself fell behind the fan-out and lost items: every session must end,
    /// as a slow consumer, rather than go on with a hole.
    Lagged,
}

/// Follow `fanout` until the region shuts down, passing every item on to `out`.
///
/// `fanout` must be subscribed before the task is spawned, so nothing the feed sends after
/// the relay was started is missed. `out` holds up to the region's `client_queue` items for
/// each session; a session that falls further behind ends as a slow consumer.
pub(super) async fn run(
    region: Arc<Region>,
    mut fanout: broadcast::Receiver<Outgoing>,
    out: broadcast::Sender<Relayed>,
) {
    loop {
        let item = tokio::select! {
            _ = region.shutdown.cancelled() => return,
            item = fanout.recv() => item,
        };
        let relayed = match item {
            Ok(Outgoing::Event {
                event, received_at, ..
            }) => Relayed::Event(Rendered::new(&event, received_at)),
            Ok(Outgoing::Gap { notice, .. }) => notice_of("gap", &notice),
            Ok(Outgoing::Epoch { notice }) => notice_of("epoch", &notice),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(region = %region.name(), behind = n, "socket.io relay fell behind the fan-out; its clients are disconnected");
                Relayed::Lagged
            }
            Err(RecvError::Closed) => return,
        };
        // No session listening is fine: the next one subscribes when it connects.
        let _ = out.send(relayed);
    }
}

fn notice_of(name: &'static str, notice: &Notice) -> Relayed {
    Relayed::Notice {
        name,
        body: Arc::from(notice.frame.to_object()),
    }
}
