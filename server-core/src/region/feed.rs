//! The feed: reads the global log from this region's last offset and fans each event out.

use super::{frame_text, Outgoing, Region};
use crate::broker::LogReader;
use crate::error::BrokerError;
use crate::event::{now_micros, Offset};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

/// How long one blocking read waits for news before it checks in again.
const READ_WAIT: Duration = Duration::from_secs(2);
/// Events read per round trip.
const READ_BATCH: usize = 512;
/// A read that has not answered this long after its wait is over is a stalled connection.
const STALL_GRACE: Duration = Duration::from_secs(3);
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Follow the log until the region shuts down. A broker outage marks the region
/// disconnected and retries with exponential backoff; on return it resumes from its last
/// offset, so nothing still in the history is lost.
pub(super) async fn run(region: Arc<Region>) {
    let mut last: Offset = region.offset.load(Ordering::SeqCst);
    // The reader, and whether it reads through the simulated link.
    let mut reader: Option<(Box<dyn LogReader>, bool)> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let step = async {
            if region.epoch.read().unwrap().is_empty() {
                // The broker was unreachable when the region started: begin at the log's
                // current end, as a region that started normally would, instead of
                // re-broadcasting the whole history as if it were new.
                let status = region.broker().status().await?;
                last = status.latest;
                region.offset.store(last, Ordering::SeqCst);
                *region.epoch.write().unwrap() = status.epoch;
            }
            let (broker, via_link) = region.route.current();
            if reader.as_ref().is_some_and(|(_, v)| *v != via_link) {
                // The simulated link was switched on or off: read through the new path.
                reader = None;
            }
            if reader.is_none() {
                reader = Some((broker.reader().await?, via_link));
            }
            let (r, _) = reader.as_mut().expect("set above");
            // Liveness: every read is a round trip through the broker that must answer
            // within its wait plus a grace period, so a silently dead connection is noticed.
            let batch = match tokio::time::timeout(
                READ_WAIT + STALL_GRACE,
                r.next(last, READ_BATCH, READ_WAIT),
            )
            .await
            {
                Ok(batch) => batch?,
                Err(_) => {
                    return Err(BrokerError::Unavailable(format!(
                        "no answer from the broker within {:?}: the connection stalled",
                        READ_WAIT + STALL_GRACE
                    )))
                }
            };
            if !via_link && region.route.via_link() {
                // The link came on while this read took the direct path: its answer is lost
                // on the way, as on the link it would be; read it again through the link.
                return Ok(None);
            }
            Ok(Some(batch))
        };
        let result = tokio::select! {
            _ = region.shutdown.cancelled() => return,
            r = step => r,
        };
        match result {
            Ok(None) => continue,
            Ok(Some(batch)) => {
                if !region.connected.swap(true, Ordering::Relaxed) {
                    tracing::info!(region = %region.name(), offset = last, "broker reachable again; catching up");
                }
                backoff = BACKOFF_MIN;
                if !batch.epoch.is_empty() && batch.epoch != *region.epoch.read().unwrap() {
                    last = new_epoch(&region, batch.epoch);
                    continue;
                }
                let received_at = now_micros();
                for stored in batch.events {
                    if stored.offset <= last {
                        continue;
                    }
                    if stored.offset > last + 1 {
                        gap(&region, last + 1, stored.offset - 1);
                    }
                    // Serialized once here; every client shares these bytes.
                    let text = frame_text(&ServerFrame::Event(stored.to_frame(received_at, false)));
                    last = stored.offset;
                    region.offset.store(last, Ordering::SeqCst);
                    let _ = region.fanout.send(Outgoing::Event { offset: last, text });
                }
            }
            Err(e) => {
                if region.connected.swap(false, Ordering::Relaxed) {
                    tracing::warn!(region = %region.name(), error = %e, "broker read failed; retrying with backoff");
                }
                reader = None;
                tokio::select! {
                    _ = region.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// The log was recreated: restart from offset 0 and tell every client.
fn new_epoch(region: &Region, epoch: String) -> Offset {
    let old = std::mem::replace(&mut *region.epoch.write().unwrap(), epoch.clone());
    tracing::warn!(region = %region.name(), %old, new = %epoch, "log epoch changed: the broker lost its data; offsets restart");
    region.offset.store(0, Ordering::SeqCst);
    let frame = ServerFrame::Epoch {
        epoch,
        offset: 0,
        message: "The event log was lost (the broker restarted without its data) and a new \
                  one started. Offsets restart from 0: forget the offsets you kept."
            .into(),
    };
    let _ = region.fanout.send(Outgoing::Epoch {
        text: frame_text(&frame),
    });
    0
}

fn gap(region: &Region, from: Offset, to: Offset) {
    tracing::warn!(region = %region.name(), from, to, "offsets fell out of the history before this region read them");
    let frame = ServerFrame::Gap {
        from,
        to,
        message: "These events fell out of the bounded history before this region could \
                  read them (it was cut off for longer than the history covers)."
            .into(),
    };
    let _ = region.fanout.send(Outgoing::Gap {
        to,
        text: frame_text(&frame),
    });
}
