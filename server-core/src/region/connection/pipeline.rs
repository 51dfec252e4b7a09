//! A connection's publishes in flight, and its replies in order.
//!
//! # Contract (one connection)
//! - **Many in flight.** A client need not wait for an ack before its next publish: up to
//!   [`RegionConfig::publish_pipeline`] frames may be unanswered at once. Past that, the
//!   server stops reading the socket until replies go out (TCP pushes back on the client);
//!   nothing is dropped.
//! - **Stored in the order sent.** Publishes go to the broker in batches, one batch at a
//!   time: everything that arrived while a batch was in flight forms the next one, sent in
//!   one round trip (a Redis pipeline), in order. So a connection's events are stored in the
//!   order it sent them, whatever the latency or jitter of the link. If a publish fails
//!   (broker unavailable), the ones after it in its batch are not tried and fail too: what is
//!   stored is always in order, and the client retries the failed ones by id, in order.
//! - **Answered in the order sent.** Every frame the client sends gets its reply (ack or
//!   error) in the order the frames came, refusals included.
//! - **Ack before its own event.** A client gets the ack of its publish before the event
//!   itself comes back to it through the fan-out.
//! - **Live events keep flowing** to the socket while publishes are in flight.
//! - On disconnect, unanswered publishes may or may not have been stored: republish them by
//!   id (never stored twice).
//!
//! [`RegionConfig::publish_pipeline`]: crate::region::RegionConfig::publish_pipeline

use crate::broker::{Published, SharedBroker};
use crate::error::Result;
use crate::event::NewEvent;
use futures_util::future::BoxFuture;
use std::collections::VecDeque;
use std::time::Instant;
use wire::ServerFrame;

/// One reply slot, in the order of the frames the client sent.
enum Slot {
    /// The reply is known.
    Ready(ServerFrame),
    /// The reply waits for the broker (a publish read at this instant, in flight or not
    /// yet sent).
    Waiting(Instant),
}

/// The batch at the broker now: the ids in it, and the broker's answers to come.
struct InFlight {
    ids: Vec<String>,
    answers: BoxFuture<'static, Vec<Result<Published>>>,
}

/// A connection's unanswered frames; see the module docs for the contract.
pub(super) struct Pipeline {
    /// Replies, in the order of the frames they answer. Bounded by `limit`.
    slots: VecDeque<Slot>,
    /// Publishes not yet sent to the broker, in order (all behind the in-flight ones).
    unsent: Vec<NewEvent>,
    in_flight: Option<InFlight>,
    /// Most unanswered frames.
    limit: usize,
}

impl Pipeline {
    /// A pipeline of at most `limit` unanswered frames (at least 1).
    pub(super) fn new(limit: usize) -> Self {
        Pipeline {
            slots: VecDeque::new(),
            unsent: Vec::new(),
            in_flight: None,
            limit: limit.max(1),
        }
    }

    /// True while another frame may be read from the client.
    pub(super) fn has_room(&self) -> bool {
        self.slots.len() < self.limit
    }

    /// Answer the next frame with `frame` (after the replies of the frames before it).
    pub(super) fn reply(&mut self, frame: ServerFrame) {
        self.slots.push_back(Slot::Ready(frame));
    }

    /// Publish `event` (read at `started`) after the publishes before it.
    pub(super) fn publish(&mut self, event: NewEvent, started: Instant) {
        self.slots.push_back(Slot::Waiting(started));
        self.unsent.push(event);
    }

    /// Send what waits to `broker` as one batch, unless a batch is already at the broker.
    pub(super) fn start(&mut self, broker: &SharedBroker) {
        if self.in_flight.is_some() || self.unsent.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.unsent);
        let ids = events.iter().map(|e| e.id.clone()).collect();
        let broker = broker.clone();
        self.in_flight = Some(InFlight {
            ids,
            answers: Box::pin(async move { broker.publish_all(events).await }),
        });
    }

    /// True while a batch is at the broker.
    pub(super) fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// True when the publish `id` is at the broker now: its event may come back through the
    /// fan-out before its answer does.
    pub(super) fn awaits(&self, id: &str) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|f| f.ids.iter().any(|i| i == id))
    }

    /// Wait for the batch at the broker (if any) and turn its answers into replies, with
    /// `answer` making each reply. Cancel-safe: the batch stays in flight if this is dropped.
    pub(super) async fn settle(
        &mut self,
        answer: impl Fn(String, Result<Published>, Instant) -> ServerFrame,
    ) {
        let Some(in_flight) = self.in_flight.as_mut() else {
            return;
        };
        let results = (&mut in_flight.answers).await;
        let in_flight = self.in_flight.take().expect("still there");
        let mut answers = in_flight.ids.into_iter().zip(results);
        for slot in self.slots.iter_mut() {
            if let Slot::Waiting(started) = *slot {
                let Some((id, result)) = answers.next() else {
                    break;
                };
                *slot = Slot::Ready(answer(id, result, started));
            }
        }
    }

    /// The replies that can go out now (those not behind a publish still waiting), in order.
    pub(super) fn ready(&mut self) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        while let Some(Slot::Ready(_)) = self.slots.front() {
            if let Some(Slot::Ready(frame)) = self.slots.pop_front() {
                out.push(frame);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::MemoryBroker;
    use crate::event::payload;
    use std::sync::Arc;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: payload(&serde_json::Value::Null),
            published_at: 0,
        }
    }

    fn ack(id: String, r: Result<Published>, _: Instant) -> ServerFrame {
        let p = r.unwrap();
        ServerFrame::Ack {
            id,
            offset: p.offset,
            duplicate: p.duplicate,
        }
    }

    fn ids(frames: &[ServerFrame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                ServerFrame::Ack { id, offset, .. } => format!("{id}@{offset}"),
                ServerFrame::Error { id, .. } => format!("err:{}", id.clone().unwrap_or_default()),
                _ => "?".into(),
            })
            .collect()
    }

    /// Replies keep the order of the frames, refusals included; what arrives while a batch is
    /// at the broker goes in the next batch, stored after it.
    #[tokio::test]
    async fn replies_and_offsets_follow_the_order_sent() {
        let broker: SharedBroker = Arc::new(MemoryBroker::new(100));
        let mut p = Pipeline::new(10);
        p.publish(event("a"), Instant::now());
        p.start(&broker);
        assert!(p.awaits("a") && p.busy());
        p.reply(ServerFrame::error(wire::ErrorCode::InvalidJson, "x"));
        p.publish(event("b"), Instant::now());
        p.publish(event("c"), Instant::now());
        p.start(&broker); // a batch is at the broker: b and c wait
        assert!(!p.awaits("b"));
        assert!(p.ready().is_empty(), "nothing may overtake a's ack");
        p.settle(ack).await;
        assert_eq!(ids(&p.ready()), ["a@1", "err:"]);
        p.start(&broker);
        assert!(p.awaits("b") && p.awaits("c"));
        p.settle(ack).await;
        assert_eq!(ids(&p.ready()), ["b@2", "c@3"]);
        assert!(!p.busy());
    }

    /// The pipeline stops taking frames at its limit, and takes them again once replies go.
    #[tokio::test]
    async fn it_is_bounded() {
        let broker: SharedBroker = Arc::new(MemoryBroker::new(100));
        let mut p = Pipeline::new(2);
        p.publish(event("a"), Instant::now());
        assert!(p.has_room());
        p.publish(event("b"), Instant::now());
        assert!(!p.has_room());
        p.start(&broker);
        p.settle(ack).await;
        assert!(!p.has_room(), "replies not sent yet still count");
        assert_eq!(p.ready().len(), 2);
        assert!(p.has_room());
        assert_eq!(broker.status().await.unwrap().latest, 2);
    }
}
