//! Channels: the independent ordered streams of the log. Every event belongs to exactly one
//! channel, and every channel has its own dense offsets, its own order, history and resume.
//! There is no order between channels.
//!
//! # Names
//! 1 to [`MAX_CHANNEL_BYTES`] bytes of `A–Z a–z 0–9 _ - . :` (so `chat:room-1` and `orders.eu`
//! are names; a `:` or `.` is only a character, not a pattern: there are no wildcards, because a
//! resume names the channels it continues, and a pattern has no offsets to resume from).
//! Clients that name none are on [`GLOBAL`].

use serde::{Deserialize, Serialize};

/// The channel of every client and publish that names none: the whole original stream.
pub const GLOBAL: &str = "global";

/// Longest accepted channel name, in bytes.
pub const MAX_CHANNEL_BYTES: usize = 64;

/// Most channels one connection may be subscribed to at once.
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// A name that is not a channel name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadChannel {
    /// Empty, or over [`MAX_CHANNEL_BYTES`].
    #[error("a channel name is 1 to {MAX_CHANNEL_BYTES} bytes; {0} is not")]
    Length(usize),
    /// A character outside `A–Z a–z 0–9 _ - . :`.
    #[error("a channel name has only A-Z a-z 0-9 _ - . : (found {0:?})")]
    Character(char),
}

/// Check `name` against the channel-name rules.
pub fn check_name(name: &str) -> Result<(), BadChannel> {
    if name.is_empty() || name.len() > MAX_CHANNEL_BYTES {
        return Err(BadChannel::Length(name.len()));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        Some(c) => Err(BadChannel::Character(c)),
        None => Ok(()),
    }
}

/// `"global"`, for serde defaults of fields older servers did not send.
pub fn global() -> String {
    GLOBAL.to_owned()
}

/// Where a connection stands in one channel: its latest offset there when the connection
/// subscribed (live events after it follow), and the epoch of the log it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPosition {
    /// The channel.
    pub channel: String,
    /// Latest offset of the channel when the connection subscribed to it.
    pub offset: crate::Offset,
    /// Epoch of the channel's log.
    pub epoch: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rules() {
        for ok in [
            "global",
            "chat:room-1",
            "orders.eu",
            "A_b-9",
            &"x".repeat(64),
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_name(""), Err(BadChannel::Length(0)));
        assert_eq!(check_name(&"x".repeat(65)), Err(BadChannel::Length(65)));
        for (bad, c) in [
            ("a b", ' '),
            ("a,b", ','),
            ("a*", '*'),
            ("é", 'é'),
            ("a/b", '/'),
        ] {
            assert_eq!(check_name(bad), Err(BadChannel::Character(c)), "{bad}");
        }
    }
}
