//! What a region is doing, as Prometheus metrics: served at `GET /metrics`.
//!
//! Each region owns one [`Metrics`] with a registry of its own (no global recorder), so several
//! regions in one process (the desktop app, the tests) each report exactly their own counts.
//! Every series carries `region="<name>"`; the names and labels are listed in
//! docs/protocol.md ("Metrics"). The instrumented code calls one method per fact, each a
//! handful of atomic operations (a histogram takes a short mutex): nothing here blocks on I/O
//! or allocates per event beyond a refusal's `code` label.
//!
//! The exposition is the Prometheus text format 0.0.4 ([`CONTENT_TYPE`]), which every
//! Prometheus version scrapes and a person can read with `curl`.

use crate::event::Micros;
use axum::extract::ws::Message;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::borrow::Cow;
use std::time::{Duration, Instant};
use wire::{ErrorCode, ServerFrame};

mod labels;

use self::labels::{ByOperation, ByTransport, PublishLabels};
pub use self::labels::{Operation, Outcome, Transport};

/// `Content-Type` of `GET /metrics`: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds (seconds) of every latency histogram: 100 µs to 10 s, so a loopback hop and a
/// broker outage both land in a bucket of their own size.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

type Latencies = Family<ByTransport, Histogram, fn() -> Histogram>;

/// The metrics of one region and the registry that exposes them.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    connections: Family<ByTransport, Gauge>,
    accepted: Family<ByTransport, Counter>,
    publishes: Family<PublishLabels, Counter>,
    publish_time: Latencies,
    delivered: Family<ByTransport, Counter>,
    sent_bytes: Family<ByTransport, Counter>,
    fanout_time: Latencies,
    broker_lag: Histogram,
    slow_consumers: Family<ByTransport, Counter>,
    gaps: Counter,
    epoch_changes: Counter,
    presence_changes: Counter,
    broker_errors: Family<ByOperation, Counter>,
    feed_reconnects: Counter,
    replays: Counter,
    replayed_events: Counter,
}

impl Metrics {
    /// Metrics of the region called `region`, every series at zero.
    pub(crate) fn new(region: &str) -> Self {
        let label = (Cow::Borrowed("region"), Cow::Owned(region.to_owned()));
        let mut registry = Registry::with_prefix_and_labels("multiregion", std::iter::once(label));
        let latencies = || Latencies::new_with_constructor(latency_histogram);
        let m = Metrics {
            connections: Family::default(),
            accepted: Family::default(),
            publishes: Family::default(),
            publish_time: latencies(),
            delivered: Family::default(),
            sent_bytes: Family::default(),
            fanout_time: latencies(),
            broker_lag: latency_histogram(),
            slow_consumers: Family::default(),
            gaps: Counter::default(),
            epoch_changes: Counter::default(),
            presence_changes: Counter::default(),
            broker_errors: Family::default(),
            feed_reconnects: Counter::default(),
            replays: Counter::default(),
            replayed_events: Counter::default(),
            registry: Registry::default(),
        };
        m.register_clients(&mut registry);
        m.register_events(&mut registry);
        m.register_broker(&mut registry);
        m.create_series();
        Metrics { registry, ..m }
    }

    /// Connections, publishes and what is sent to clients.
    fn register_clients(&self, r: &mut Registry) {
        r.register(
            "connections",
            "Clients connected now",
            self.connections.clone(),
        );
        r.register(
            "connections_accepted",
            "Clients accepted since start",
            self.accepted.clone(),
        );
        r.register(
            "publishes",
            "Publishes answered, by outcome (stored, duplicate, refused with its error code)",
            self.publishes.clone(),
        );
        r.register_with_unit(
            "publish_duration",
            "Time from a publish read to its ack (stored or duplicate)",
            Unit::Seconds,
            self.publish_time.clone(),
        );
        r.register(
            "slow_consumer_disconnects",
            "Clients disconnected for not keeping up",
            self.slow_consumers.clone(),
        );
        r.register(
            "history_replays",
            "Resumes served from the history (since=N)",
            self.replays.clone(),
        );
        r.register(
            "replayed_events",
            "Events sent to resuming clients from the history",
            self.replayed_events.clone(),
        );
    }

    /// The fan-out: deliveries, bytes, and how long an event takes to go out.
    fn register_events(&self, r: &mut Registry) {
        r.register(
            "events_delivered",
            "Live events written to client sockets (replays not included)",
            self.delivered.clone(),
        );
        r.register_with_unit(
            "sent",
            "Bytes of frames handed to client sockets (Socket.IO: the emitted JSON)",
            Unit::Bytes,
            self.sent_bytes.clone(),
        );
        r.register_with_unit(
            "fanout_duration",
            "Time from this region reading an event to writing it to a client socket",
            Unit::Seconds,
            self.fanout_time.clone(),
        );
    }

    /// The broker: lag, errors, reconnects, and what the log announced.
    fn register_broker(&self, r: &mut Registry) {
        r.register_with_unit(
            "broker_lag",
            "Time from the broker storing an event (stored_at) to this region reading it (received_at)",
            Unit::Seconds,
            self.broker_lag.clone(),
        );
        r.register("gaps", "Gaps in the log this region announced (offsets that fell out of the history before it read them)", self.gaps.clone());
        r.register(
            "epoch_changes",
            "New logs (epochs) this region moved to",
            self.epoch_changes.clone(),
        );
        r.register(
            "presence_changes",
            "Joins and leaves (of every region's members) this region read",
            self.presence_changes.clone(),
        );
        r.register(
            "broker_errors",
            "Failed broker operations, by operation",
            self.broker_errors.clone(),
        );
        r.register(
            "feed_reconnects",
            "Times the feed reached the broker again after losing it",
            self.feed_reconnects.clone(),
        );
    }

    /// Every series a dashboard reads exists from the start, at zero (refusals appear with
    /// their first code).
    fn create_series(&self) {
        for transport in [Transport::Ws, Transport::SocketIo] {
            for outcome in [Outcome::Stored, Outcome::Duplicate] {
                let code = None;
                let _ = self.publishes.get_or_create(&PublishLabels {
                    transport,
                    outcome,
                    code,
                });
            }
            let t = ByTransport(transport);
            let _ = self.publish_time.get_or_create(&t);
            let _ = self.fanout_time.get_or_create(&t);
            let _ = self.connections.get_or_create(&t);
            let _ = self.accepted.get_or_create(&t);
            let _ = self.delivered.get_or_create(&t);
            let _ = self.sent_bytes.get_or_create(&t);
            let _ = self.slow_consumers.get_or_create(&t);
        }
        for outcome in [Outcome::Stored, Outcome::Duplicate] {
            let labels = PublishLabels {
                transport: Transport::Http,
                outcome,
                code: None,
            };
            let _ = self.publishes.get_or_create(&labels);
        }
        let _ = self
            .publish_time
            .get_or_create(&ByTransport(Transport::Http));
        for op in [
            Operation::Publish,
            Operation::Read,
            Operation::History,
            Operation::Presence,
        ] {
            let _ = self.broker_errors.get_or_create(&ByOperation(op));
        }
    }

    /// The exposition served at `/metrics` ([`CONTENT_TYPE`]).
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// Count a client as connected (and accepted) until the guard is dropped.
    pub(crate) fn connected(&self, transport: Transport) -> Connected {
        let t = ByTransport(transport);
        self.accepted.get_or_create(&t).inc();
        let gauge = self.connections.get_or_create_owned(&t);
        gauge.inc();
        Connected(gauge)
    }

    /// Count `frame` as the answer to a publish read at `started`: an ack, or an error
    /// frame (a refusal).
    pub(crate) fn answered(&self, transport: Transport, frame: &ServerFrame, started: Instant) {
        match frame {
            ServerFrame::Ack { duplicate, .. } => self.published(transport, *duplicate, started),
            ServerFrame::Error { code, .. } => self.refused(transport, code),
            _ => {}
        }
    }

    /// A publish read at `started` was acked: stored, or a `duplicate`.
    pub(crate) fn published(&self, transport: Transport, duplicate: bool, started: Instant) {
        let outcome = if duplicate {
            Outcome::Duplicate
        } else {
            Outcome::Stored
        };
        let labels = PublishLabels {
            transport,
            outcome,
            code: None,
        };
        self.publishes.get_or_create(&labels).inc();
        let seconds = started.elapsed().as_secs_f64();
        self.publish_time
            .get_or_create(&ByTransport(transport))
            .observe(seconds);
    }

    /// A publish (or anything a client sent) was refused with `code`. A `broker_unavailable`
    /// refusal is a failed broker publish too.
    pub(crate) fn refused(&self, transport: Transport, code: &ErrorCode) {
        if *code == ErrorCode::BrokerUnavailable {
            self.broker_error(Operation::Publish);
        }
        let labels = PublishLabels {
            transport,
            outcome: Outcome::Refused,
            code: Some(code.as_str().to_owned()),
        };
        self.publishes.get_or_create(&labels).inc();
    }

    /// A frame is handed to a `/ws` client's socket.
    pub(crate) fn sending(&self, message: &Message) {
        self.sent(Transport::Ws, message_bytes(message));
    }

    /// `bytes` were handed to client sockets.
    pub(crate) fn sent(&self, transport: Transport, bytes: usize) {
        self.sent_bytes
            .get_or_create(&ByTransport(transport))
            .inc_by(bytes as u64);
    }

    /// Fan-out frames were written to one client: `written`'s events are delivered.
    pub(crate) fn fanned_out(&self, transport: Transport, written: &Written) {
        let t = ByTransport(transport);
        self.sent(transport, written.bytes);
        self.delivered
            .get_or_create(&t)
            .inc_by(written.received.len() as u64);
        let now = crate::event::now_micros();
        let histogram = self.fanout_time.get_or_create(&t);
        for received_at in &written.received {
            histogram.observe(seconds_between(*received_at, now));
        }
    }

    /// The feed read an event stored at `stored_at` at `received_at`.
    pub(crate) fn read(&self, stored_at: Micros, received_at: Micros) {
        self.broker_lag
            .observe(seconds_between(stored_at, received_at));
    }

    /// A client was disconnected for not keeping up.
    pub(crate) fn slow_consumer(&self, transport: Transport) {
        self.slow_consumers
            .get_or_create(&ByTransport(transport))
            .inc();
    }

    /// The feed announced a gap.
    pub(crate) fn gap(&self) {
        self.gaps.inc();
    }

    /// The feed read a join or a leave.
    pub(crate) fn presence_change(&self) {
        self.presence_changes.inc();
    }

    /// The region moved to a new epoch of the log.
    pub(crate) fn epoch_changed(&self) {
        self.epoch_changes.inc();
    }

    /// A broker operation failed.
    pub(crate) fn broker_error(&self, operation: Operation) {
        self.broker_errors
            .get_or_create(&ByOperation(operation))
            .inc();
    }

    /// The feed reached the broker again after an outage.
    pub(crate) fn feed_reconnected(&self) {
        self.feed_reconnects.inc();
    }

    /// A resume starts reading the history.
    pub(crate) fn replay_started(&self) {
        self.replays.inc();
    }

    /// `n` events of the history went to a resuming client.
    pub(crate) fn replayed(&self, n: usize) {
        self.replayed_events.inc_by(n as u64);
    }
}

/// Keeps a client in `multiregion_connections` while it lives.
#[derive(Debug)]
pub(crate) struct Connected(Gauge);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What one write of fan-out frames carried: its bytes, and when each event in it was read.
/// Bounded by the caller's batch (the fan-out writes at most a few dozen frames at once).
#[derive(Debug, Default)]
pub(crate) struct Written {
    bytes: usize,
    received: Vec<Micros>,
}

impl Written {
    /// Add one frame; `received_at` when it is an event (gaps and epochs carry none).
    pub(crate) fn add(&mut self, message: &Message, received_at: Option<Micros>) {
        self.bytes += message_bytes(message);
        self.received.extend(received_at);
    }

    /// Add one Socket.IO event of `bytes` of JSON, read at `received_at`.
    pub(crate) fn add_json(&mut self, bytes: usize, received_at: Micros) {
        self.bytes += bytes;
        self.received.push(received_at);
    }
}

fn message_bytes(message: &Message) -> usize {
    match message {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 0,
    }
}

/// Seconds from `from` to `to` (0 when the clocks disagree and `to` is earlier).
fn seconds_between(from: Micros, to: Micros) -> f64 {
    Duration::from_micros(to.saturating_sub(from)).as_secs_f64()
}

#[cfg(test)]
mod tests;
