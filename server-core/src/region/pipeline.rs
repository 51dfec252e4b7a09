//! A connection's publishes in flight, and its replies in order: the same for `/ws` and
//! Socket.IO clients (each with its own kind of reply `R`).
//!
//! # Contract (one connection)
//! - **Many in flight.** A client need not wait for an ack before its next publish: up to
//!   [`PublishLimits::publish_pipeline`] frames may be unanswered at once. Past that, the
//!   server stops reading the client until replies go out; nothing is dropped.
//! - **Stored in the order sent, per channel.** Publishes go to the broker in batches, up to
//!   [`PublishLimits::publish_batches`] at a time: everything that arrived while every slot
//!   was busy forms the next batch, sent in one round trip per partition (a Redis pipeline
//!   each), in order. So with a long link to the broker a connection pays one round trip per
//!   `publish_batches` batches, not per batch. While a batch is at the broker, the next
//!   one waits for company for at most a tenth of the last round trip (never over
//!   [`MAX_LINGER`]): a burst whose frames trickle in one by one goes in one or two batches
//!   instead of taking every slot with a batch of one. With no batch at the broker, a
//!   publish goes at once. Every event names the one of its channel
//!   sent before it while that one was still at the broker (`NewEvent::after`), and the
//!   broker refuses it (out of order, temporary) unless that one is stored: a connection's
//!   events of one channel are stored in the order it sent them, whatever the latency,
//!   jitter or reconnects on the way; its channels are stored side by side, in no promised
//!   order between them. A failed publish (broker unavailable) fails the ones of its channel
//!   behind it that were already sent; the client retries them by id, in order.
//! - **Answered in the order sent.** Every frame the client sends gets its reply in the
//!   order the frames came, refusals included.
//! - **Ack before its own event.** A client gets the ack of its publish before the event
//!   itself comes back to it through the fan-out.
//! - **Live events keep flowing** to the client while publishes are in flight.
//! - On disconnect, unanswered publishes may or may not have been stored: republish them by
//!   id (never stored twice).
//!
//! [`PublishLimits::publish_pipeline`]: crate::settings::PublishLimits
//! [`PublishLimits::publish_batches`]: crate::settings::PublishLimits

use crate::broker::{Published, SharedBroker};
use crate::error::Result;
use crate::event::NewEvent;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a batch waits for company while another is at the broker.
pub(crate) const MAX_LINGER: Duration = Duration::from_millis(5);

/// A batch waits for company for at most this share of the last round trip.
const LINGER_SHARE: u32 = 10;

/// The last round trip of a publish batch of a region's connections (µs), shared by them:
/// a new connection's first burst lingers as long as a seasoned one's.
#[derive(Debug, Default)]
pub(crate) struct RoundTrip(AtomicU64);

impl RoundTrip {
    fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, took: Duration) {
        self.0.store(took.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Wait until `due` ([`Pipeline::due`]); forever if it is `None`.
pub(crate) async fn until(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// One reply slot, in the order of the frames the client sent.
enum Slot<R> {
    /// The reply is known.
    Ready(R),
    /// The reply waits for the broker (a publish read at this instant, in flight or not
    /// yet sent).
    Waiting(Instant),
}

/// A connection's unanswered frames; see the module docs for the contract.
pub(crate) struct Pipeline<R> {
    /// Replies, in the order of the frames they answer. Bounded by `limit`.
    slots: VecDeque<Slot<R>>,
    /// Publishes not yet sent to the broker, in order (all behind the in-flight ones).
    unsent: Vec<NewEvent>,
    /// The batches at the broker, oldest first: their answers, and their `(channel, id)`s.
    in_flight: FuturesOrdered<BoxFuture<'static, Vec<Result<Published>>>>,
    ids: VecDeque<Vec<(String, String)>>,
    /// Per channel, the newest id sent and the batch it went in, while that batch is at the
    /// broker: what the channel's next event must follow.
    tail: HashMap<String, (String, u64)>,
    /// Batches sent so far, and answered so far.
    sent: u64,
    settled: u64,
    /// Most unanswered frames, and most batches at the broker.
    limit: usize,
    depth: usize,
    /// When each batch at the broker was sent, oldest first; the last one's round trip;
    /// since when the oldest unsent publish waits.
    sent_at: VecDeque<tokio::time::Instant>,
    round_trip: Arc<RoundTrip>,
    waiting_since: Option<tokio::time::Instant>,
}

impl<R> Pipeline<R> {
    /// A pipeline of at most `limit` unanswered frames and `depth` batches at the broker
    /// (each at least 1), learning the broker's round trip in `round_trip`.
    pub(crate) fn new(limit: usize, depth: usize, round_trip: Arc<RoundTrip>) -> Self {
        Pipeline {
            slots: VecDeque::new(),
            unsent: Vec::new(),
            in_flight: FuturesOrdered::new(),
            ids: VecDeque::new(),
            tail: HashMap::new(),
            sent: 0,
            settled: 0,
            limit: limit.max(1),
            depth: depth.max(1),
            sent_at: VecDeque::new(),
            round_trip,
            waiting_since: None,
        }
    }

    /// True while another frame may be read from the client.
    pub(crate) fn has_room(&self) -> bool {
        self.slots.len() < self.limit
    }

    /// Answer the next frame with `reply` (after the replies of the frames before it).
    pub(crate) fn reply(&mut self, reply: R) {
        self.slots.push_back(Slot::Ready(reply));
    }

    /// Publish `event` (read at `started`) after the publishes before it.
    pub(crate) fn publish(&mut self, event: NewEvent, started: Instant) {
        self.slots.push_back(Slot::Waiting(started));
        self.unsent.push(event);
        self.waiting_since
            .get_or_insert_with(tokio::time::Instant::now);
    }

    /// When what waits is to be sent, if a batch slot is free but another batch is at the
    /// broker (with none at the broker, [`Self::start`] sends at once): wait for it with
    /// [`until`], then [`Self::start`].
    pub(crate) fn due(&self) -> Option<tokio::time::Instant> {
        if self.in_flight.is_empty() || self.in_flight.len() >= self.depth {
            return None;
        }
        let linger = (self.round_trip.get() / LINGER_SHARE).min(MAX_LINGER);
        Some(self.waiting_since? + linger)
    }

    /// Send what waits to `broker` as one batch: at once if no batch is at the broker,
    /// once it is due if one is, never while every batch slot is taken.
    pub(crate) fn start(&mut self, broker: &SharedBroker) {
        if self.in_flight.len() >= self.depth || self.unsent.is_empty() {
            return;
        }
        if self
            .due()
            .is_some_and(|due| tokio::time::Instant::now() < due)
        {
            return;
        }
        self.waiting_since = None;
        self.sent_at.push_back(tokio::time::Instant::now());
        let mut events = std::mem::take(&mut self.unsent);
        let batch = self.sent;
        self.sent += 1;
        for event in &mut events {
            // Its channel's event sent before it, if that one may not be stored yet.
            let before = self
                .tail
                .insert(event.channel.clone(), (event.id.clone(), batch));
            event.after = before.map(|(id, _)| id);
        }
        self.ids.push_back(
            events
                .iter()
                .map(|e| (e.channel.clone(), e.id.clone()))
                .collect(),
        );
        let broker = broker.clone();
        self.in_flight
            .push_back(Box::pin(async move { broker.publish_all(events).await }));
    }

    /// True while a batch is at the broker.
    pub(crate) fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// True when the publish `id` of `channel` is at the broker now: its event may come back
    /// through the fan-out before its answer does.
    pub(crate) fn awaits(&self, channel: &str, id: &str) -> bool {
        self.ids
            .iter()
            .flatten()
            .any(|(c, i)| c == channel && i == id)
    }

    /// Wait for the oldest batch at the broker (if any) and turn its answers into replies,
    /// with `answer` making each reply. Cancel-safe: the batches stay in flight if this is
    /// dropped.
    pub(crate) async fn settle(
        &mut self,
        answer: impl Fn((String, String), Result<Published>, Instant) -> R,
    ) {
        let Some(results) = self.in_flight.next().await else {
            return;
        };
        let ids = self.ids.pop_front().expect("one id list per batch");
        if let Some(sent_at) = self.sent_at.pop_front() {
            self.round_trip.set(sent_at.elapsed());
        }
        let batch = self.settled;
        self.settled += 1;
        // What this batch sent is answered: the next events of its channels follow nothing.
        self.tail.retain(|_, (_, b)| *b != batch);
        let mut answers = ids.into_iter().zip(results);
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
    pub(crate) fn ready(&mut self) -> Vec<R> {
        let mut out = Vec::new();
        while let Some(Slot::Ready(_)) = self.slots.front() {
            if let Some(Slot::Ready(reply)) = self.slots.pop_front() {
                out.push(reply);
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
    use wire::ServerFrame;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.into(),
            channel: wire::GLOBAL.into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: payload(&serde_json::Value::Null),
            published_at: 0,
            after: None,
        }
    }

    fn ack((channel, id): (String, String), r: Result<Published>, _: Instant) -> ServerFrame {
        let p = r.unwrap();
        ServerFrame::Ack {
            id,
            channel,
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
        let mut p = Pipeline::new(10, 1, Default::default());
        p.publish(event("a"), Instant::now());
        p.start(&broker);
        assert!(p.awaits("global", "a") && p.busy());
        p.reply(ServerFrame::error(wire::ErrorCode::InvalidJson, "x"));
        p.publish(event("b"), Instant::now());
        p.publish(event("c"), Instant::now());
        p.start(&broker); // a batch is at the broker: b and c wait
        assert!(!p.awaits("global", "b"));
        assert!(p.ready().is_empty(), "nothing may overtake a's ack");
        p.settle(ack).await;
        assert_eq!(ids(&p.ready()), ["a@1", "err:"]);
        p.start(&broker);
        assert!(p.awaits("global", "b") && p.awaits("global", "c"));
        p.settle(ack).await;
        assert_eq!(ids(&p.ready()), ["b@2", "c@3"]);
        assert!(!p.busy());
    }

    /// While a batch is at the broker, the next waits for company for a tenth of the last
    /// round trip (at most `MAX_LINGER`); with none at the broker, a publish goes at once.
    #[tokio::test(start_paused = true)]
    async fn a_batch_lingers_only_while_another_is_at_the_broker() {
        let broker: SharedBroker = Arc::new(MemoryBroker::new(100));
        let round_trip = Arc::new(RoundTrip::default());
        round_trip.set(Duration::from_millis(20));
        let mut p = Pipeline::new(10, 4, round_trip.clone());
        p.publish(event("a"), Instant::now());
        p.start(&broker);
        assert!(p.awaits("global", "a"), "nothing at the broker: at once");
        p.publish(event("b"), Instant::now());
        p.start(&broker);
        assert!(!p.awaits("global", "b"), "a is at the broker: b lingers");
        let due = p.due().expect("b is due later");
        assert_eq!(due - tokio::time::Instant::now(), Duration::from_millis(2));
        p.publish(event("c"), Instant::now());
        until(p.due()).await;
        p.start(&broker);
        assert!(
            p.awaits("global", "b") && p.awaits("global", "c"),
            "one batch"
        );
        round_trip.set(Duration::from_secs(1));
        p.publish(event("d"), Instant::now());
        assert_eq!(
            p.due().unwrap() - tokio::time::Instant::now(),
            MAX_LINGER,
            "never longer than MAX_LINGER"
        );
        p.settle(ack).await;
        p.settle(ack).await;
        assert_eq!(ids(&p.ready()), ["a@1", "b@2", "c@3"]);
        assert_eq!(p.due(), None, "nothing at the broker: d goes at once");
        p.start(&broker);
        assert!(p.awaits("global", "d"));
    }

    /// The pipeline stops taking frames at its limit, and takes them again once replies go.
    #[tokio::test]
    async fn it_is_bounded() {
        let broker: SharedBroker = Arc::new(MemoryBroker::new(100));
        let mut p = Pipeline::new(2, 1, Default::default());
        p.publish(event("a"), Instant::now());
        assert!(p.has_room());
        p.publish(event("b"), Instant::now());
        assert!(!p.has_room());
        p.start(&broker);
        p.settle(ack).await;
        assert!(!p.has_room(), "replies not sent yet still count");
        assert_eq!(p.ready().len(), 2);
        assert!(p.has_room());
        assert_eq!(broker.channel_status("global").await.unwrap().latest, 2);
    }
}
