//! A protocol-level WebSocket client for tests, and an ordering assertion.

use crate::PATIENCE;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wire::{EventFrame, Publish, ServerFrame};

/// A client's WebSocket.
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A protocol-level WebSocket client.
pub struct Client {
    /// The socket, for tests that send raw frames.
    pub ws: Socket,
    /// The `welcome` frame the server opened with.
    pub welcome: ServerFrame,
}

impl Client {
    /// Connect to `ws://addr/ws` and read the welcome frame.
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_query(addr, "").await
    }

    /// Connect resuming after offset `since`.
    pub async fn connect_since(addr: SocketAddr, since: u64) -> Self {
        Self::connect_query(addr, &format!("?since={since}")).await
    }

    /// Connect with a query string (`?since=…&token=…`); the first frame must be welcome.
    pub async fn connect_query(addr: SocketAddr, query: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws{query}"))
            .await
            .expect("websocket connect");
        let mut ws = ws;
        let welcome = next_frame(&mut ws, PATIENCE)
            .await
            .expect("a welcome frame within the patience window");
        assert!(
            matches!(welcome, ServerFrame::Welcome { .. }),
            "first frame must be welcome: {welcome:?}"
        );
        Client { ws, welcome }
    }

    /// Send one text message as is.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// Publish an event with id `id` (kind `test`), without waiting for the answer.
    pub async fn publish(&mut self, id: &str) {
        let publish = Publish::new(id, "test", &serde_json::json!({ "id": id }));
        self.send_text(&publish.to_text()).await;
    }

    /// Publish an event with id `id` (kind `test`) on `channel`, without waiting.
    pub async fn publish_on(&mut self, channel: &str, id: &str) {
        let publish = Publish::new(id, "test", &serde_json::json!({ "id": id })).on(channel);
        self.send_text(&publish.to_text()).await;
    }

    /// Send a `subscribe` frame for `channel` (resuming after `since`, when given).
    pub async fn subscribe(&mut self, channel: &str, since: Option<u64>) {
        let frame = wire::ClientFrame::Subscribe(wire::Subscribe {
            channel: channel.into(),
            since,
            epoch: None,
            presence: false,
        });
        self.send_text(&frame.to_text()).await;
    }

    /// Send an `unsubscribe` frame for `channel`.
    pub async fn unsubscribe(&mut self, channel: &str) {
        let frame = wire::ClientFrame::Unsubscribe(wire::Unsubscribe {
            channel: channel.into(),
        });
        self.send_text(&frame.to_text()).await;
    }

    /// The next frame that is not an event (events before it are returned too).
    pub async fn next_other(&mut self) -> (Vec<EventFrame>, ServerFrame) {
        let mut events = Vec::new();
        loop {
            match self.next().await {
                ServerFrame::Event(e) => events.push(e),
                other => return (events, other),
            }
        }
    }

    /// Publish and wait for the answer to it (ack or error), skipping events.
    pub async fn publish_and_wait(&mut self, id: &str) -> ServerFrame {
        self.publish(id).await;
        self.answer_to(id).await
    }

    /// [`Self::publish_and_wait`] on `channel`.
    pub async fn publish_and_wait_on(&mut self, channel: &str, id: &str) -> ServerFrame {
        self.publish_on(channel, id).await;
        self.answer_to(id).await
    }

    /// The answer to the publish `id` (ack or error), skipping events.
    async fn answer_to(&mut self, id: &str) -> ServerFrame {
        loop {
            let f = self.next().await;
            match &f {
                ServerFrame::Ack { id: i, .. } if i == id => return f,
                ServerFrame::Error { id: Some(i), .. } if i == id => return f,
                ServerFrame::Error { id: None, .. } => return f,
                _ => {}
            }
        }
    }

    /// The next protocol frame (fails the test after [`PATIENCE`]).
    pub async fn next(&mut self) -> ServerFrame {
        self.try_next(PATIENCE)
            .await
            .expect("a frame within the patience window")
    }

    /// The next frame, or `None` if none comes within `wait` or the socket closed. Pings
    /// (the server sends one every ping interval) do not extend the wait.
    pub async fn try_next(&mut self, wait: Duration) -> Option<ServerFrame> {
        next_frame(&mut self.ws, wait).await
    }

    /// Collect `n` events, ignoring acks and other frames.
    pub async fn events(&mut self, n: usize) -> Vec<EventFrame> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if let ServerFrame::Event(e) = self.next().await {
                out.push(e);
            }
        }
        out
    }

    /// Assert that no further event arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        while let Some(f) = self.try_next(wait).await {
            assert!(
                !matches!(f, ServerFrame::Event(_)),
                "unexpected extra event: {f:?}"
            );
        }
    }
}

/// The next protocol frame on `ws`, or `None` if none comes within `wait` or the socket
/// closed (pings do not extend the wait).
async fn next_frame(ws: &mut Socket, wait: Duration) -> Option<ServerFrame> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(t) => {
                return Some(serde_json::from_str(&t).expect("server frames are valid"))
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Offsets strictly increase by one, starting after `after`.
pub fn assert_dense_in_order(events: &[EventFrame], after: u64) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.offset,
            after + 1 + i as u64,
            "offset out of order or missing at position {i}"
        );
    }
}
