//! In-order intake of what a Socket.IO client sends.
//!
//! socketioxide runs an ordinary message handler in a task of its own per packet, so two
//! messages of one client could reach the broker in another order than the client sent them.
//! [`Intake`] is a handler that runs inline, where socketioxide reads the client's packets one
//! after the other: it only checks the packet and queues the result for the client's session
//! ([`super::session`]), which handles them one at a time, in the order sent.

use super::mapping::{self, Refusal};
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, Event};
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What one packet of the client asks for, queued for its session.
pub(super) struct Incoming {
    /// What a well-formed packet asks, or why the packet is refused.
    pub(super) asked: Result<Asked, Refusal>,
    /// Where to answer, when the client asked for an acknowledgement.
    pub(super) ack: Option<Ack>,
}

/// What a well-formed packet asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Asked {
    /// `message` with its text: store it on `global`.
    Message(String),
    /// `join` a room: follow the channel of that name.
    Join(String),
    /// `leave` a room.
    Leave(String),
}

/// An acknowledgement the client is waiting for.
pub(super) struct Ack {
    socket: Arc<Socket<LocalAdapter>>,
    id: i64,
}

impl Ack {
    /// A sender for this acknowledgement (cheap; one per try, as sending consumes it).
    pub(super) fn sender(&self) -> AckSender {
        let mut unused = Value::Bytes(Default::default());
        match AckSender::from_message_parts(&self.socket, &mut unused, &Some(self.id)) {
            Ok(sender) => sender,
            Err(never) => match never {},
        }
    }
}

/// The handler of one client's `message` event (and, as its fallback, of every other event).
///
/// Its queues are bounded. `inbox` holds [`super::INBOX`] packets; when the session falls
/// that far behind (the broker is slower than the client), further packets are refused with
/// `rate_limited` through `overflow` ([`super::OVERFLOW`] refusals, a few bytes each), which
/// the session answers as it answers everything else. Past both, a packet is dropped without
/// an answer (nothing is stored). So a flooding client costs bounded memory.
#[derive(Clone)]
pub(super) struct Intake {
    pub(super) inbox: mpsc::Sender<Incoming>,
    pub(super) overflow: mpsc::Sender<Option<Ack>>,
}

impl MessageHandler<LocalAdapter, ()> for Intake {
    fn call(&self, s: Arc<Socket<LocalAdapter>>, mut v: Value, ack_id: Option<i64>) {
        let asked = match Event::from_message_parts(&s, &mut v, &ack_id) {
            Ok(Event(name)) => match name.as_str() {
                "message" => decode(&v).map(Asked::Message),
                "join" => decode(&v).and_then(room).map(Asked::Join),
                "leave" => decode(&v).and_then(room).map(Asked::Leave),
                _ => Err(Refusal::UnknownEvent(name)),
            },
            Err(_) => Err(Refusal::NotAString),
        };
        let ack = ack_id.map(|id| Ack {
            socket: s.clone(),
            id,
        });
        if let Err(mpsc::error::TrySendError::Full(full)) =
            self.inbox.try_send(Incoming { asked, ack })
        {
            if self.overflow.try_send(full.ack).is_err() {
                tracing::debug!(sid = %s.id, "socket.io queues full; a packet is dropped unanswered");
            }
        }
    }
}
/// A room name: a channel name.
fn room(name: String) -> Result<String, Refusal> {
    wire::channel::check_name(&name).map_err(Refusal::BadRoom)?;
    Ok(name)
}

/// The one string argument of a packet: no binary attachments.
fn decode(v: &Value) -> Result<String, Refusal> {
    match v {
        Value::Str(raw, None) => mapping::message_text(raw.as_str()),
        Value::Str(raw, Some(bins)) if bins.is_empty() => mapping::message_text(raw.as_str()),
        Value::Str(_, Some(_)) | Value::Bytes(_) => Err(Refusal::Binary),
    }
}
