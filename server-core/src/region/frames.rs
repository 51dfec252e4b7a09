//! Every frame a connection sends, built in one place: the error frames (codes from
//! [`ErrorCode`], messages that say what to do), the replay frames, and the close codes.
//!
//! The fan-out's frames (live events, gaps and epochs the feed reads) are serialized once by
//! the feed and shared by every client; everything here is one client's own.

use crate::error::BrokerError;
use crate::event::Offset;
use axum::extract::ws::{CloseFrame, Message};
use std::time::Duration;
use wire::{ChannelPosition, ErrorCode, ServerFrame};

/// Why the server closes a socket, as a WebSocket close code (RFC 6455) and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Close {
    /// 1001: the server is shutting down; reconnect with `since`.
    ShuttingDown,
    /// 1008: a slow consumer, after its `slow_consumer` error frame.
    SlowConsumer,
    /// 1009: a message over the limit, after its `frame_too_large` error frame.
    TooBig,
    /// 1011: history could not be read for a resume; reconnect with `since`.
    HistoryUnavailable,
}

impl Close {
    /// The close frame as a message.
    pub(super) fn message(self) -> Message {
        let (code, reason) = match self {
            Close::ShuttingDown => (
                1001,
                "server shutting down; reconnect with since=<last offset>",
            ),
            Close::SlowConsumer => (1008, "slow consumer"),
            Close::TooBig => (1009, "message too big"),
            Close::HistoryUnavailable => (1011, "history unavailable"),
        };
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    }
}

/// First frame of every connection: where each channel it subscribed to stood (the first
/// one's position also as the frame's own `offset` and `epoch`, for clients of one channel),
/// and who it is as a member.
pub(super) fn welcome(
    region: &str,
    channels: Vec<ChannelPosition>,
    broker: wire::BrokerKind,
    member: wire::Member,
) -> ServerFrame {
    let (offset, epoch) = channels
        .first()
        .map_or((0, String::new()), |c| (c.offset, c.epoch.clone()));
    ServerFrame::Welcome {
        region: region.into(),
        offset,
        epoch,
        broker,
        channels,
        member: Some(member),
    }
}

/// A `subscribe` is done: live events of the channel after `position.offset` follow.
pub(super) fn subscribed(position: ChannelPosition) -> ServerFrame {
    ServerFrame::Subscribed {
        channel: position.channel,
        offset: position.offset,
        epoch: position.epoch,
    }
}

/// An `unsubscribe` is done.
pub(super) fn unsubscribed(channel: &str) -> ServerFrame {
    ServerFrame::Unsubscribed {
        channel: channel.into(),
    }
}

/// The publish `id` is stored in `channel` (or was already: `duplicate`).
pub(super) fn ack(id: String, channel: String, published: crate::broker::Published) -> ServerFrame {
    ServerFrame::Ack {
        id,
        channel,
        offset: published.offset,
        duplicate: published.duplicate,
    }
}

/// The replay of `channel` reached `offset`; live events follow.
pub(super) fn caught_up(channel: &str, offset: Offset) -> ServerFrame {
    ServerFrame::CaughtUp {
        channel: channel.into(),
        offset,
    }
}

/// Offsets `from..=to` of `channel` fell out of the history before this client asked for
/// them.
pub(super) fn replay_gap(channel: &str, from: Offset, to: Offset) -> ServerFrame {
    ServerFrame::Gap {
        channel: channel.into(),
        from,
        to,
        message: format!(
            "events {from} to {to} are older than the history this server keeps; \
             they cannot be replayed"
        ),
    }
}

/// The client's offsets belong to an earlier log (its `epoch` parameter names another one).
/// `lost_after` is the client's `since`: what it had of the old log after that may be lost.
pub(super) fn stale_epoch(
    channel: &str,
    epoch: &str,
    offset: Offset,
    since: Offset,
) -> ServerFrame {
    epoch_frame(
        channel,
        epoch,
        offset,
        since,
        "your offsets belong to an earlier log (the broker lost its data or was switched); \
         replaying the current log from its start",
    )
}

/// `since` is past the end of the log (whose newest offset is below it): the client's offsets
/// cannot belong to this log.
pub(super) fn past_the_end(
    channel: &str,
    epoch: &str,
    offset: Offset,
    since: Offset,
    latest: Offset,
) -> ServerFrame {
    epoch_frame(
        channel,
        epoch,
        offset,
        since,
        &format!(
            "since={since} is past the end of this log (its newest offset is {latest}): your \
             offsets belong to another log; replaying the current log from its start"
        ),
    )
}

/// The log was recreated while this client's replay was reading it: the new log is replayed
/// from its start. `lost_after` is the last offset of the old log this client was sent.
pub(super) fn recreated_during_replay(
    channel: &str,
    epoch: &str,
    lost_after: Offset,
) -> ServerFrame {
    epoch_frame(
        channel,
        epoch,
        0,
        lost_after,
        "the event log was lost or went back in time while your history was being replayed, \
         and a new one started; offsets restart from 0: forget the offsets you kept; \
         replaying the new log from its start",
    )
}

/// The client's offsets belong to the channel's current log `epoch`, which this region is
/// just taking up (its welcome may have named the one before): nothing is lost, events go on
/// after `since`.
pub(super) fn continued_in(channel: &str, epoch: &str, since: Offset) -> ServerFrame {
    epoch_frame(
        channel,
        epoch,
        since,
        since,
        "this region is taking up the channel's current log, which your offsets belong to; \
         nothing of yours is lost: events go on after your offset",
    )
}

fn epoch_frame(
    channel: &str,
    epoch: &str,
    offset: Offset,
    lost_after: Offset,
    message: &str,
) -> ServerFrame {
    ServerFrame::Epoch {
        channel: channel.into(),
        epoch: epoch.into(),
        offset,
        lost_after,
        message: message.into(),
    }
}

/// History could not be read to resume after `after`.
pub(super) fn history_unavailable(e: &BrokerError, after: Offset) -> ServerFrame {
    ServerFrame::error(
        ErrorCode::BrokerUnavailable,
        format!(
            "could not read history to resume ({e}); reconnect with since={after} to try again"
        ),
    )
}

/// A frame the decoder refused.
pub(super) fn invalid_input(e: crate::region::input::InputError) -> ServerFrame {
    publish_error(e.code, e.message, e.id)
}

/// The publish `id` went over the connection's rate limit.
pub(super) fn rate_limited(id: String, rate: u32, burst: u32) -> ServerFrame {
    let message = format!(
        "more than {rate} publishes/s (burst {burst}) on one connection; \
         slow down and retry this id"
    );
    publish_error(ErrorCode::RateLimited, message, Some(id))
}

/// The publish `id` was not stored.
pub(super) fn not_stored(id: String, e: &BrokerError) -> ServerFrame {
    let message =
        format!("the event was not stored ({e}); retry with the same id: it will be stored once");
    publish_error(ErrorCode::BrokerUnavailable, message, Some(id))
}

/// A message of `len` bytes, over the limit.
pub(super) fn frame_too_large(len: usize) -> ServerFrame {
    let limit = wire::limits::MAX_FRAME_BYTES;
    ServerFrame::error(
        ErrorCode::FrameTooLarge,
        format!("a message was {len} bytes; the limit is {limit}"),
    )
}

/// A binary message.
pub(super) fn binary_not_supported() -> ServerFrame {
    ServerFrame::error(
        ErrorCode::BinaryNotSupported,
        "send JSON in text frames; binary frames are not part of the protocol",
    )
}

/// Why a slow consumer is disconnected, and where it resumes (`since`: the `since` query
/// value to reconnect with, `N` or `CHANNEL:N,…`).
pub(super) fn slow_consumer(queue: usize, write_timeout: Duration, since: &str) -> ServerFrame {
    ServerFrame::error(
        ErrorCode::SlowConsumer,
        format!(
            "you fell behind: more than {queue} events queued or a frame not taken within \
             {write_timeout:?}; reconnect with since={since} to resume"
        ),
    )
}

/// Why a Socket.IO client is disconnected as a slow consumer (it cannot resume: it misses
/// what is stored until it connects again).
pub(super) fn socketio_slow_consumer(queue: usize, write_timeout: Duration) -> ServerFrame {
    ServerFrame::error(
        ErrorCode::SlowConsumer,
        format!(
            "you fell behind: more than {queue} events queued or a packet not taken within \
             {write_timeout:?}; you are disconnected and miss what is published until you \
             connect again"
        ),
    )
}

fn publish_error(code: ErrorCode, message: String, id: Option<String>) -> ServerFrame {
    ServerFrame::error_for(code, message, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_frames_carry_their_codes_temporary_flag() {
        let slow = slow_consumer(10, Duration::from_secs(5), "42");
        assert!(matches!(
            slow,
            ServerFrame::Error {
                code: ErrorCode::SlowConsumer,
                temporary: true,
                ..
            }
        ));
        let limited = rate_limited("a".into(), 1, 2);
        assert!(matches!(
            limited,
            ServerFrame::Error {
                temporary: true,
                id: Some(_),
                ..
            }
        ));
        assert!(matches!(
            binary_not_supported(),
            ServerFrame::Error {
                temporary: false,
                ..
            }
        ));
    }
}
