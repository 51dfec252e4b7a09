//! What a region's fan-out carries to its clients ([`Delivery`]): each event and each notice
//! serialized once per region and shared, behind an `Arc`, by every subscriber of its
//! channel, whatever their protocol (the Socket.IO rendering is made once too, by the first
//! Socket.IO client that needs it).

use super::socketio::Rendered;
use crate::broker::presence::{Change, Members, PresenceChange};
use crate::event::{Micros, Offset, StoredEvent};
use axum::extract::ws::Utf8Bytes;
use std::sync::{Arc, OnceLock};
use wire::ServerFrame;

/// One item of a client's queue.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    /// An event of a channel the client follows.
    Event(Arc<Fanned>),
    /// A gap or a new epoch of a channel the client follows.
    Notice(Arc<Notice>),
}

impl Delivery {
    /// The channel it is of.
    pub(crate) fn channel(&self) -> &Arc<str> {
        match self {
            Delivery::Event(e) => &e.channel,
            Delivery::Notice(n) => &n.channel,
        }
    }
}

/// An event as a region fans it out.
#[derive(Debug)]
pub(crate) struct Fanned {
    /// The hub's key of its channel.
    pub(crate) channel: Arc<str>,
    pub(crate) event: StoredEvent,
    /// When this region read it from the log.
    pub(crate) received_at: Micros,
    /// The text of its `event` frame.
    pub(crate) text: Utf8Bytes,
    /// Its Socket.IO rendering, made once, when first needed.
    socketio: OnceLock<Rendered>,
}

impl Fanned {
    /// `event` of `channel`, read at `received_at`, its frame serialized now.
    pub(crate) fn new(channel: Arc<str>, event: StoredEvent, received_at: Micros) -> Fanned {
        Fanned {
            text: event.frame_text(received_at, false).into(),
            channel,
            event,
            received_at,
            socketio: OnceLock::new(),
        }
    }

    /// The Socket.IO rendering (made by the first caller, shared by the others).
    pub(crate) fn socketio(&self) -> &Rendered {
        self.socketio
            .get_or_init(|| Rendered::new(&self.event, self.received_at))
    }
}

/// What a notice tells about its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// Offsets `..=to` are gone from the log.
    Gap { to: Offset },
    /// The channel's log has a new epoch; events continue after `offset`.
    Epoch { offset: Offset },
    /// A member joined or left, at `position` of the partition's presence stream (for the
    /// clients that asked for presence).
    Presence { position: Offset },
    /// The channel's members as of `position` (a fresh list, after the region lost track).
    Members { position: Offset },
}

impl NoticeKind {
    /// True for what only the clients that asked for presence get.
    pub(crate) fn is_presence(self) -> bool {
        matches!(
            self,
            NoticeKind::Presence { .. } | NoticeKind::Members { .. }
        )
    }
}

/// A frame of the feed's own about one channel, serialized once.
#[derive(Debug)]
pub(crate) struct Notice {
    pub(crate) channel: Arc<str>,
    pub(crate) kind: NoticeKind,
    pub(crate) frame: ServerFrame,
    pub(crate) text: Utf8Bytes,
}

impl Notice {
    fn new(channel: Arc<str>, kind: NoticeKind, frame: ServerFrame) -> Notice {
        Notice {
            text: frame.to_text().into(),
            channel,
            kind,
            frame,
        }
    }

    /// Offsets `from..=to` of `channel` fell out of the history before this region read
    /// them.
    pub(crate) fn gap(channel: Arc<str>, from: Offset, to: Offset) -> Notice {
        let frame = ServerFrame::Gap {
            channel: channel.to_string(),
            from,
            to,
            message: "These events fell out of the bounded history before this region could \
                      read them (it was cut off for longer than the history covers)."
                .into(),
        };
        Notice::new(channel, NoticeKind::Gap { to }, frame)
    }

    /// `change` of the presence of `channel`, at `position` of its partition's stream.
    pub(crate) fn presence(channel: Arc<str>, change: &PresenceChange) -> Notice {
        let member = change.member.clone();
        let frame = match change.change {
            Change::Join => ServerFrame::Join {
                channel: channel.to_string(),
                member,
            },
            Change::Leave => ServerFrame::Leave {
                channel: channel.to_string(),
                member,
            },
        };
        let kind = NoticeKind::Presence {
            position: change.position,
        };
        Notice::new(channel, kind, frame)
    }

    /// The members of `channel` as read (a fresh list).
    pub(crate) fn members(channel: Arc<str>, members: Members) -> Notice {
        let kind = NoticeKind::Members {
            position: members.position,
        };
        Notice::new(channel.clone(), kind, members_frame(&channel, members))
    }

    /// The log of `channel` has the new `epoch`, which still holds what this region delivered
    /// of it up to `kept`; events continue after it.
    pub(crate) fn epoch(channel: Arc<str>, epoch: String, kept: Offset) -> Notice {
        let frame = ServerFrame::Epoch {
            channel: channel.to_string(),
            epoch,
            offset: kept,
            lost_after: kept,
            message: format!(
                "The event log of this channel was lost or went back in time (the broker \
                 restarted without its data or from an older copy, or failed over to a \
                 replica that lagged) and a new one started. It still holds the events up to \
                 offset {kept} as you got them; events of the old log after {kept}, and any \
                 event you were acked but had not received, may be lost: republish them \
                 (same id) if they matter. New events continue after offset {kept} of the \
                 new log."
            ),
        };
        Notice::new(channel, NoticeKind::Epoch { offset: kept }, frame)
    }
}

/// The `presence` frame of `channel` for `members`.
pub(crate) fn members_frame(channel: &str, members: Members) -> ServerFrame {
    ServerFrame::Presence {
        channel: channel.to_owned(),
        count: members.count,
        members: members.members,
    }
}
