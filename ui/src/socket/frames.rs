//! What a region's socket receives: decoding its text frames, and the resume cursor they move.
//!
//! Pure, so it is unit-tested natively; the connection itself is in [`super`].

use crate::channels::{Channel, Follows};
use crate::query;
use std::collections::BTreeMap;
use wire::{Offset, ServerFrame, GLOBAL};

/// A text frame from the server that is not a [`ServerFrame`] (a newer or broken server).
/// Shown, not swallowed: it becomes a notice in the pane.
#[derive(Debug, thiserror::Error)]
#[error("unreadable frame from the server ({0})")]
pub struct UnreadableFrame(serde_json::Error);

/// Decode one text frame from the server.
pub fn decode(text: &str) -> Result<ServerFrame, UnreadableFrame> {
    serde_json::from_str::<ServerFrame>(text).map_err(UnreadableFrame)
}

/// Where a reconnect resumes, per channel: the last offset seen and the epoch it belongs to
/// (a channel has none before its first subscription). Each channel resumes on its own,
/// after its own offset, in its own epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor(BTreeMap<Channel, (Offset, String)>);

impl Cursor {
    /// Move past what `frame` shows was received: a channel's first subscription (welcome or
    /// `subscribed`) sets its start, an epoch frame starts its new log at 0, events, gaps and
    /// catch-ups advance it (never back), `unsubscribed` forgets it.
    pub fn on_frame(&mut self, frame: &ServerFrame) {
        let mut advance = |channel: &str, to: Offset| {
            if let Some((o, _)) = self.0.get_mut(channel) {
                *o = (*o).max(to);
            }
        };
        match frame {
            ServerFrame::Welcome {
                offset,
                epoch,
                channels,
                ..
            } => {
                if channels.is_empty() {
                    // A server older than channels: the welcome is `global`'s.
                    self.start(GLOBAL, *offset, epoch);
                }
                for c in channels {
                    self.start(&c.channel, c.offset, &c.epoch);
                }
            }
            ServerFrame::Subscribed {
                channel,
                offset,
                epoch,
            } => self.start(channel, *offset, epoch),
            ServerFrame::Unsubscribed { channel } => self.forget(channel),
            ServerFrame::Epoch { channel, epoch, .. } => {
                if let Some(at) = self.0.get_mut(channel.as_str()) {
                    *at = (0, epoch.clone());
                }
            }
            ServerFrame::Event(ev) => advance(&ev.channel, ev.offset),
            ServerFrame::Gap { channel, to, .. } => advance(channel, *to),
            ServerFrame::CaughtUp { channel, offset } => advance(channel, *offset),
            ServerFrame::Ack { .. }
            | ServerFrame::Error { .. }
            | ServerFrame::Presence { .. }
            | ServerFrame::Join { .. }
            | ServerFrame::Leave { .. } => {}
        }
    }

    /// `channel` starts at `offset` of `epoch`, unless it has a position already (a
    /// resume's welcome names the live end; the cursor keeps what was received).
    fn start(&mut self, channel: &str, offset: Offset, epoch: &str) {
        if !self.0.contains_key(channel) {
            self.0.insert(channel.into(), (offset, epoch.to_owned()));
        }
    }

    /// Drop `channel`'s position: it is no longer followed (following it again starts live).
    pub fn forget(&mut self, channel: &str) {
        self.0.remove(channel);
    }

    /// Where `channel` resumes: after this offset, of this epoch.
    pub fn at(&self, channel: &str) -> Option<&(Offset, String)> {
        self.0.get(channel)
    }

    /// The query that connects to `follows`, each channel resuming here: for `global` alone
    /// exactly what a client before channels sent (`since=N&epoch=E`, or nothing before the
    /// first welcome: a fresh connection starts at the live end); otherwise
    /// `channels=a,b&since=a:N,b:M&epoch=a:E,b:F` (a channel without a position starts live).
    pub fn query(&self, follows: &Follows) -> Option<String> {
        if follows.is_global_only() {
            let (offset, epoch) = self.at(GLOBAL)?;
            return Some(format!("since={offset}&epoch={}", query::encode(epoch)));
        }
        let names: Vec<&str> = follows.iter().map(|c| &**c).collect();
        let mut q = format!("channels={}", query::encode(&names.join(",")));
        let resumed: Vec<(&str, &(Offset, String))> = (names.iter())
            .filter_map(|c| Some((*c, self.at(c)?)))
            .collect();
        if !resumed.is_empty() {
            let since: Vec<String> = (resumed.iter())
                .map(|(c, (offset, _))| format!("{c}:{offset}"))
                .collect();
            let epoch: Vec<String> = (resumed.iter())
                .map(|(c, (_, epoch))| format!("{c}:{epoch}"))
                .collect();
            let (since, epoch) = (since.join(","), epoch.join(","));
            q += &format!(
                "&since={}&epoch={}",
                query::encode(&since),
                query::encode(&epoch)
            );
        }
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ChannelPosition;

    fn welcome(offset: Offset, epoch: &str) -> ServerFrame {
        ServerFrame::Welcome {
            region: "us".into(),
            offset,
            epoch: epoch.into(),
            broker: wire::BrokerKind::Redis,
            channels: vec![],
            member: None,
        }
    }

    fn caught_up(channel: &str, offset: Offset) -> ServerFrame {
        ServerFrame::CaughtUp {
            channel: channel.into(),
            offset,
        }
    }

    #[test]
    fn the_cursor_resumes_after_the_newest_offset_seen_in_its_epoch() {
        let mut c = Cursor::default();
        let global = Follows::default();
        assert_eq!(c.query(&global), None, "a first connection starts live");
        c.on_frame(&welcome(7, "e 1"));
        c.on_frame(&caught_up(GLOBAL, 9));
        // A resume's welcome names the live end; the cursor keeps what was received.
        c.on_frame(&welcome(40, "e 1"));
        c.on_frame(&caught_up(GLOBAL, 3));
        assert_eq!(c.query(&global).as_deref(), Some("since=9&epoch=e%201"));
        c.on_frame(&ServerFrame::Epoch {
            channel: GLOBAL.into(),
            epoch: "e2".into(),
            offset: 0,
            lost_after: 0,
            message: "reset".into(),
        });
        assert_eq!(c.query(&global).as_deref(), Some("since=0&epoch=e2"));
    }

    /// Two channels resume each after its own offset, in its own epoch; one followed later
    /// (subscribed on the open socket) joins the list; one dropped leaves it.
    #[test]
    fn each_channel_resumes_after_its_own_offset_with_its_own_epoch() {
        let mut c = Cursor::default();
        let rooms = Follows::of(["room-1", "chat:2"]).unwrap();
        assert_eq!(
            c.query(&rooms).as_deref(),
            Some("channels=room-1%2Cchat%3A2"),
            "named, starting live"
        );
        let at = |channel: &str, offset, epoch: &str| ChannelPosition {
            channel: channel.into(),
            offset,
            epoch: epoch.into(),
        };
        c.on_frame(&ServerFrame::Welcome {
            region: "eu".into(),
            offset: 3,
            epoch: "E1".into(),
            broker: wire::BrokerKind::Redis,
            channels: vec![at("room-1", 3, "E1"), at("chat:2", 0, "E2")],
            member: None,
        });
        let mut ev = |channel: &str, offset| {
            let frame = ServerFrame::Event(wire::EventFrame {
                channel: channel.into(),
                offset,
                id: "i".into(),
                origin: "as".into(),
                kind: "k".into(),
                payload: serde_json::Value::Null,
                published_at: 0,
                stored_at: 0,
                received_at: 0,
                replay: false,
            });
            c.on_frame(&frame);
        };
        ev("room-1", 4);
        ev("chat:2", 1);
        ev("chat:2", 2);
        ev("elsewhere", 99);
        let q = c.query(&rooms).unwrap();
        assert_eq!(
            query::decode(&q),
            "channels=room-1,chat:2&since=room-1:4,chat:2:2&epoch=room-1:E1,chat:2:E2"
        );
        let more = rooms.add("late").unwrap();
        c.on_frame(&ServerFrame::Subscribed {
            channel: "late".into(),
            offset: 8,
            epoch: "E3".into(),
        });
        assert!(query::decode(&c.query(&more).unwrap()).contains("since=room-1:4,chat:2:2,late:8"));
        c.on_frame(&ServerFrame::Unsubscribed {
            channel: "room-1".into(),
        });
        let fewer = more.remove("room-1").unwrap();
        assert_eq!(
            query::decode(&c.query(&fewer).unwrap()),
            "channels=chat:2,late&since=chat:2:2,late:8&epoch=chat:2:E2,late:E3"
        );
        c.on_frame(&ServerFrame::Epoch {
            channel: "room-1".into(),
            epoch: "E9".into(),
            offset: 0,
            lost_after: 0,
            message: "not followed".into(),
        });
        assert_eq!(
            c.at("room-1"),
            None,
            "an epoch frame does not bring a channel back"
        );
    }

    #[test]
    fn garbage_is_reported_not_swallowed() {
        assert!(decode("{\"type\":\"caught_up\",\"offset\":4}").is_ok());
        assert!(decode("nope")
            .unwrap_err()
            .to_string()
            .contains("unreadable frame"));
    }
}
