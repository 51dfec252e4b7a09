//! The feed: reads the global log from this region's last offset and fans each event out.

use super::metrics::Operation;
use super::{frame_text, Outgoing, Region};
use crate::broker::{Cursor, LogReader};
use crate::error::BrokerError;
use crate::event::{now_micros, Offset};
use std::collections::{HashMap, VecDeque};
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
/// Delivered `(offset, id)` pairs remembered, to find how much of them a new epoch keeps.
const DELIVERED: usize = 4096;
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Follow the log until the region shuts down. A broker outage marks the region
/// disconnected and retries with exponential backoff; on return it resumes from its last
/// offset, so nothing still in the history is lost.
pub(super) async fn run(region: Arc<Region>) {
    let mut cursor = Cursor {
        epoch: region.epoch.read().unwrap().clone(),
        offset: region.offset.load(Ordering::SeqCst),
        id: None,
    };
    // What this region delivered last, to tell after a new epoch how much of it the new log
    // still holds. Bounded: the oldest entry goes when a new one comes past DELIVERED.
    let mut delivered: VecDeque<(Offset, String)> = VecDeque::new();
    // The reader, and whether it reads through the simulated link.
    let mut reader: Option<(Box<dyn LogReader>, bool)> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let step = async {
            if cursor.epoch.is_empty() {
                // The broker was unreachable when the region started: begin at the log's
                // current end, as a region that started normally would, instead of
                // re-broadcasting the whole history as if it were new.
                let status = region.broker().status().await?;
                cursor = Cursor {
                    epoch: status.epoch.clone(),
                    offset: status.latest,
                    id: None,
                };
                region.offset.store(status.latest, Ordering::SeqCst);
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
                r.next(&cursor, READ_BATCH, READ_WAIT),
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
            // A new log: find how much of what we delivered it still holds before moving.
            let kept = if !batch.epoch.is_empty() && batch.epoch != cursor.epoch {
                Some(still_held(&region, &batch.epoch, &delivered).await?)
            } else {
                None
            };
            Ok(Some((batch, kept)))
        };
        let result = tokio::select! {
            _ = region.shutdown.cancelled() => return,
            r = step => r,
        };
        match result {
            Ok(None) => continue,
            Ok(Some((batch, kept))) => {
                if !region.connected.swap(true, Ordering::Relaxed) {
                    tracing::info!(region = %region.name(), offset = cursor.offset, "broker reachable again; catching up");
                    region.metrics.feed_reconnected();
                }
                backoff = BACKOFF_MIN;
                if let Some(kept) = kept {
                    delivered.retain(|(o, _)| *o <= kept);
                    cursor = Cursor {
                        id: delivered.back().map(|(_, id)| id.clone()),
                        offset: new_epoch(&region, batch.epoch, kept),
                        epoch: region.epoch.read().unwrap().clone(),
                    };
                    continue;
                }
                let received_at = now_micros();
                for stored in batch.events {
                    if stored.offset <= cursor.offset {
                        continue;
                    }
                    region.metrics.read(stored.stored_at, received_at);
                    if stored.offset > cursor.offset + 1 {
                        gap(&region, cursor.offset + 1, stored.offset - 1);
                    }
                    // Serialized once here; every client shares these bytes.
                    let text = stored.frame_text(received_at, false).into();
                    cursor.offset = stored.offset;
                    cursor.id = Some(stored.event.id.clone());
                    if delivered.len() == DELIVERED {
                        delivered.pop_front();
                    }
                    let id: Arc<str> = stored.event.id.as_str().into();
                    delivered.push_back((stored.offset, stored.event.id));
                    region.offset.store(cursor.offset, Ordering::SeqCst);
                    let _ = region.fanout.send(Outgoing::Event {
                        offset: cursor.offset,
                        id,
                        received_at,
                        text,
                    });
                }
            }
            Err(e) => {
                region.metrics.broker_error(Operation::Read);
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

/// The newest offset of `delivered` that the log of `epoch` still holds with the same event
/// (0 when none: a log that was lost, or that went back before everything we remember).
async fn still_held(
    region: &Region,
    epoch: &str,
    delivered: &VecDeque<(Offset, String)>,
) -> crate::error::Result<Offset> {
    let (Some((first, _)), Some((last, _))) = (delivered.front(), delivered.back()) else {
        return Ok(0);
    };
    let mut held = HashMap::new();
    let mut after = first - 1;
    while after < *last {
        let batch = region.broker().read(after, READ_BATCH).await?;
        if batch.epoch != epoch {
            // It changed again meanwhile: the next read finds the newest and asks again.
            break;
        }
        let Some(newest) = batch.events.last().map(|e| e.offset) else {
            break;
        };
        for e in batch.events {
            held.insert(e.offset, e.event.id);
        }
        after = newest;
    }
    Ok(delivered
        .iter()
        .rev()
        .find(|(o, id)| held.get(o) == Some(id))
        .map_or(0, |(o, _)| *o))
}

/// The log has a new epoch (it was lost, or went back in time): continue after `kept`, the
/// last offset this region delivered that the new log still holds, and tell every client
/// that events of the old log after it may be lost.
fn new_epoch(region: &Region, epoch: String, kept: Offset) -> Offset {
    let old = std::mem::replace(&mut *region.epoch.write().unwrap(), epoch.clone());
    let read = region.offset.swap(kept, Ordering::SeqCst);
    tracing::warn!(region = %region.name(), %old, new = %epoch, read, kept, "log epoch changed: the broker lost its data or went back in time");
    region.metrics.epoch_changed();
    let frame = ServerFrame::Epoch {
        epoch,
        offset: kept,
        lost_after: kept,
        message: format!(
            "The event log was lost or went back in time (the broker restarted without its \
             data or from an older copy, or failed over to a replica that lagged) and a new \
             one started. It still holds the events up to offset {kept} as you got them; \
             events of the old log after {kept}, and any event you were acked but had not \
             received, may be lost: republish them (same id) if they matter. New events \
             continue after offset {kept} of the new log."
        ),
    };
    let _ = region.fanout.send(Outgoing::Epoch {
        text: frame_text(&frame),
    });
    kept
}

fn gap(region: &Region, from: Offset, to: Offset) {
    tracing::warn!(region = %region.name(), from, to, "offsets fell out of the history before this region read them");
    region.metrics.gap();
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
