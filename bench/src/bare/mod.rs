//! The bare broadcast server: the limit of fanning one event out to N sockets on this machine,
//! built from the libraries the regions use (tokio, tokio-tungstenite) and nothing else.
//!
//! It uses the tokio-tungstenite the regions get through axum (0.29; the bench's clients use
//! the workspace's 0.28) with the regions' socket settings, and sets TCP_NODELAY as they do.
//!
//! It speaks just enough of `docs/protocol.md` for the bench's clients to drive it like the
//! regions: `welcome` on connect, `ack` for a publish, and `event` frames in the regions'
//! field order. What it leaves out is what the regions pay for their guarantees: no broker,
//! no history or resume, no rate limit, no input limits, no keepalive pings, no write deadline.
//!
//! # Contract
//! - It serves [`wire::REGIONS`] ports ("regions") sharing one fan-out ([`fanout`]): a
//!   publish on any port is given the next offset in this process (1, 2, …), serialized once
//!   as an `event` frame by the regions' serializer ([`wire::EventRef`]: `origin` is the
//!   port's region; `published_at`, `stored_at` and `received_at` are one instant, as nothing
//!   stands between them; the payload is the JSON text the publisher sent, as in the
//!   regions), and that one frame (a shared, reference-counted buffer) goes to every client of
//!   every port, the publisher included; then the publisher is acked
//!   (`{"type":"ack","id":…,"offset":N,"duplicate":false}`).
//! - The fan-out is the regions' without the broker: each port's task (their feed) pushes
//!   every frame pending for it to each of its clients' queues (their per-client queue of
//!   [`CLIENT_QUEUE`](server_core::defaults::CLIENT_QUEUE) frames) in one pass, so a batch of frames wakes a client once. A client
//!   that falls further behind is closed (1008), like theirs.
//! - Delivery: every client gets every event published after its `welcome` exactly once, in
//!   offset order. Ids are not remembered: a repeated id is a new event.
//! - Writes are coalesced as the regions' are: when a client's task wakes for a frame it also
//!   takes every frame already queued behind it, up to `write_batch` ([`WRITE_BATCH`] by
//!   default), feeds them all to the socket and flushes once (one write for several frames).
//!   `write_batch = 1` flushes every frame on its own.
//! - A frame is parsed as the regions parse it ([`wire::ClientFrame::parse`], none of their
//!   input limits checked); one that is not a publish gets an `invalid_frame` (or
//!   `unknown_type`) error frame, and the socket stays open.
//! - On shutdown every task stops; sockets are dropped without a close frame.
//!
//! # Why the fan-out has the regions' shape
//! It used to queue every frame in one [`tokio::sync::broadcast`] ring that all clients of
//! all ports read, sent from the publisher's own task: each publish woke every waiting client
//! at once (300 in scenario (a)) from whichever of the 30 publisher tasks sent it, under the
//! ring's lock. The regions' feeds push each batch to per-client queues from one task per
//! region, so a client wakes once per batch and the publishing task does no fan-out; and the
//! regions' p99 read 0.4–0.7× this "floor". The bare server now does what the regions do at
//! every step, minus the broker. That is what a floor should be; it did not measure faster
//! (an A/B of the two shapes came out within 10 % on p99): docs/performance.md ("The bare
//! broadcast floor") has those runs, and what is known of why a p99 ratio can still read
//! below 1.

mod fanout;

use crate::target::Target;
use fanout::Fanout;
use futures_util::{SinkExt, StreamExt};
use server_core::defaults::SOCKET_BUFFER;
use server_core::event::now_micros;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio_tungstenite_axum::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite_axum::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite_axum::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wire::client::ParseError;
use wire::{ClientFrame, ErrorCode, EventRef, Publish, ServerFrame};

/// Most frames fed before one flush, by default: the regions' own `WRITE_BATCH`, read from
/// server-core (`bench bare-server --write-batch` sets another, to match regions built with
/// one).
pub use server_core::defaults::WRITE_BATCH;

/// The name of its runs (`latency-bare`); its `welcome` frames name the embedded broker, the
/// in-process kind it stands for.
pub const BROKER: &str = "bare";

/// What every port shares.
struct Hub {
    /// Every client's queue ([`CLIENT_QUEUE`](server_core::defaults::CLIENT_QUEUE) frames; a client further behind is closed).
    fanout: Fanout,
    write_batch: usize,
}

/// The regions' socket settings (`server-core/src/region/http.rs`): [`SOCKET_BUFFER`]
/// (8 KiB) buffers, which also means a batch of frames is written in 8 KiB pieces, and the
/// transport taking up to twice the frame limit.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(Some(2 * wire::limits::MAX_FRAME_BYTES))
        .max_frame_size(Some(2 * wire::limits::MAX_FRAME_BYTES))
}

/// The event frame for `publish` at `offset`, published at `now` (Unix µs) in `origin`: the
/// regions' serializer, with the payload borrowed as the raw text the publisher sent.
fn event_frame(publish: &Publish, origin: &str, offset: u64, now: u64) -> String {
    EventRef {
        channel: publish.channel(),
        offset,
        id: &publish.id,
        origin,
        kind: &publish.kind,
        payload: &publish.payload,
        published_at: now,
        stored_at: now,
        received_at: now,
        replay: false,
    }
    .to_text()
}

fn text(frame: &ServerFrame) -> Message {
    Message::text(frame.to_text())
}

/// A running bare server: its ports, and what stops it.
pub struct BareServer {
    /// `(region, address)` of each port, in [`wire::REGIONS`] order.
    pub regions: Vec<(String, SocketAddr)>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl BareServer {
    /// Listen on `port_base`, `port_base + 1`, `port_base + 2` (each a free port when
    /// `port_base` is 0) and serve until `shutdown` is cancelled or [`BareServer::stop`].
    pub async fn start(
        port_base: u16,
        write_batch: usize,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let hub = Arc::new(Hub {
            fanout: Fanout::new(wire::REGIONS.len()),
            write_batch: write_batch.max(1),
        });
        let tracker = TaskTracker::new();
        for port in 0..wire::REGIONS.len() {
            let (hub, shutdown) = (hub.clone(), shutdown.clone());
            tracker.spawn(async move { hub.fanout.run_port(port, shutdown).await });
        }
        let mut regions = Vec::new();
        for (i, name) in wire::REGIONS.iter().enumerate() {
            let port = if port_base == 0 {
                0
            } else {
                port_base + i as u16
            };
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
            let listener = socket.listen(1024)?;
            regions.push((name.to_string(), listener.local_addr()?));
            let accept = accept(
                listener,
                (i, name),
                hub.clone(),
                shutdown.clone(),
                tracker.clone(),
            );
            tracker.spawn(accept);
        }
        Ok(BareServer {
            regions,
            shutdown,
            tracker,
        })
    }

    /// Where the bench's clients connect, one per port.
    pub fn targets(&self) -> Vec<Target> {
        crate::target::targets_at(&self.regions)
    }

    /// Stop accepting and end every client's task.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

async fn accept(
    listener: TcpListener,
    region: (usize, &'static str),
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let tcp = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // Out of descriptors or the like: the client is refused, the port stays up.
                Err(_) => continue,
            },
        };
        let client = client(tcp, region, hub.clone(), shutdown.clone());
        tracker.spawn(client);
    }
}

/// One client of port `region.0`: welcome, then its queue and its publishes, until either
/// side ends.
async fn client(
    tcp: TcpStream,
    (port, region): (usize, &'static str),
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let _ = tcp.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite_axum::accept_async_with_config(tcp, Some(ws_config())).await
    else {
        return;
    };
    // Every event after the welcome's offset reaches the queue (the seam of `fanout`).
    let joined = hub.fanout.join(port);
    let (offset, mut live, lagged) = (joined.offset, joined.queue, joined.lagged);
    let (mut sink, mut stream) = ws.split();
    let welcome = ServerFrame::Welcome {
        region: region.into(),
        offset,
        epoch: "bare".into(),
        broker: wire::BrokerKind::Embedded,
        channels: vec![wire::ChannelPosition {
            channel: wire::GLOBAL.into(),
            offset,
            epoch: "bare".into(),
        }],
        member: None,
    };
    if sink.send(text(&welcome)).await.is_err() {
        return;
    }
    loop {
        let sent = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = lagged.cancelled() => {
                let close = CloseFrame { code: CloseCode::Policy, reason: "slow consumer".into() };
                let _ = sink.send(Message::Close(Some(close))).await;
                return;
            }
            out = live.recv() => match out {
                Some(first) => forward(first, &mut live, &mut sink, hub.write_batch).await,
                None => return,
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let answer = publish(&t, region, &hub);
                    sink.send(text(&answer)).await
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                // Pings are answered by tungstenite with the next write or flush.
                Some(Ok(_)) => Ok(()),
            },
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Feed `first` and every frame already queued behind it (at most `write_batch`), then
/// flush once.
async fn forward<S>(
    first: Utf8Bytes,
    live: &mut mpsc::Receiver<Utf8Bytes>,
    sink: &mut S,
    write_batch: usize,
) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    sink.feed(Message::Text(first)).await?;
    for _ in 1..write_batch {
        match live.try_recv() {
            Ok(next) => sink.feed(Message::Text(next)).await?,
            // Disconnected: the next recv says so.
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    sink.flush().await
}

/// Number, serialize and queue the publish in `text` for every client; the answer for the
/// publisher (its ack, or an error frame).
fn publish(text: &str, region: &str, hub: &Hub) -> ServerFrame {
    let publish = match ClientFrame::parse(text) {
        Ok(ClientFrame::Publish(p)) => p,
        Ok(_) | Err(ParseError::UnknownType(_)) => {
            return ServerFrame::error(ErrorCode::UnknownType, "only publish is served")
        }
        Err(e @ (ParseError::NoType(_) | ParseError::Fields(..))) => {
            return ServerFrame::error(ErrorCode::InvalidFrame, e.to_string())
        }
    };
    let offset = hub
        .fanout
        .publish(|offset| Utf8Bytes::from(event_frame(&publish, region, offset, now_micros())));
    ServerFrame::Ack {
        channel: publish.channel().into(),
        id: publish.id,
        offset,
        duplicate: false,
    }
}

/// `bench bare-server`: serve until stdin closes (the parent exited), after printing
/// `ready as=ws://…/ws,us=…,eu=…` once every port listens.
pub async fn serve_child(port_base: u16, write_batch: usize) -> anyhow::Result<()> {
    let server = BareServer::start(port_base, write_batch, CancellationToken::new()).await?;
    crate::child::ready_until_parent_exits(&server.targets()).await?;
    server.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event frame has the regions' shape: the wire crate reads it back as the same
    /// event, and the bench's receiver scans it.
    #[test]
    fn event_frame_is_the_regions_shape() {
        let text = r#"{"type":"publish","id":"b1-0-7","kind":"bench","payload":123456}"#;
        let Ok(ClientFrame::Publish(p)) = ClientFrame::parse(text) else {
            panic!("a publish")
        };
        let frame = event_frame(&p, "us", 42, 9);
        let parsed: ServerFrame = serde_json::from_str(&frame).unwrap();
        let expected = ServerFrame::Event(wire::EventFrame {
            channel: "global".into(),
            offset: 42,
            id: "b1-0-7".into(),
            origin: "us".into(),
            kind: "bench".into(),
            payload: serde_json::json!(123456),
            published_at: 9,
            stored_at: 9,
            received_at: 9,
            replay: false,
        });
        assert_eq!(parsed, expected);
        assert_eq!(frame, serde_json::to_string(&expected).unwrap());
        let e = crate::receiver::parse_event(&frame).unwrap();
        assert_eq!((e.offset, e.id, e.sent_us), (42, "b1-0-7", 123456));
    }

    /// Anything but a publish is answered with an error and numbers nothing.
    #[test]
    fn refuses_what_is_not_a_publish() {
        let hub = Hub {
            fanout: Fanout::new(1),
            write_batch: WRITE_BATCH,
        };
        let answer = publish(
            r#"{"type":"subscribe","id":"x","kind":"k","payload":1}"#,
            "as",
            &hub,
        );
        assert!(matches!(answer, ServerFrame::Error { .. }), "{answer:?}");
        let answer = publish("{", "as", &hub);
        assert!(matches!(answer, ServerFrame::Error { .. }), "{answer:?}");
        assert_eq!(hub.fanout.last(), 0);
        let answer = publish(
            r#"{"type":"publish","id":"x","kind":"k","payload":{"a":[1]}}"#,
            "as",
            &hub,
        );
        let ack = ServerFrame::Ack {
            id: "x".into(),
            channel: "global".into(),
            offset: 1,
            duplicate: false,
        };
        assert_eq!(answer, ack);
    }
}
