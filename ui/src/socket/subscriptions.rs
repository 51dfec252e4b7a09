//! Which channels a socket asks its region for, and the frames that get it there.
//!
//! The pane's person chooses the channels ([`Follows`]). A socket names them when it
//! connects (`/ws?channels=…`, see [`Cursor::query`]); while it is open, each change is sent
//! as `subscribe` / `unsubscribe` frames (each `subscribe` asks for the channel's presence,
//! as the connect query does with `presence=1`), so the connection (and every other channel's
//! stream on it) carries on. A change made while a socket is still connecting goes out once
//! it opens. What the server confirmed (`welcome`, `subscribed`, `unsubscribed`) is kept
//! apart from what was asked: the scripted demo waits for it before publishing.
//!
//! Pure (no socket): [`super`] sends what it returns.

use super::Cursor;
use crate::channels::{Channel, Follows};
use crate::query;
use std::collections::BTreeSet;
use wire::{ClientFrame, ServerFrame, Subscribe, Unsubscribe, GLOBAL};

/// What one socket is asked to follow, has asked for, and was confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriptions {
    wanted: Follows,
    /// What the current socket asked for (its URL, then its frames); empty while closed.
    asked: BTreeSet<Channel>,
    /// What the server confirmed the current socket follows.
    confirmed: BTreeSet<Channel>,
}

impl Subscriptions {
    /// Nothing asked yet; `wanted` from the first connection on.
    pub fn new(wanted: Follows) -> Subscriptions {
        Subscriptions {
            wanted,
            asked: BTreeSet::new(),
            confirmed: BTreeSet::new(),
        }
    }

    /// What is wanted (the next connection's `?channels=`).
    pub fn wanted(&self) -> &Follows {
        &self.wanted
    }

    /// Want `follows` from now; returns the channels no longer wanted (their resume
    /// positions should go: following one again starts at the live end).
    pub fn want(&mut self, follows: Follows) -> Vec<Channel> {
        let gone = (self.wanted.iter())
            .filter(|c| !follows.contains(c))
            .cloned()
            .collect();
        self.wanted = follows;
        gone
    }

    /// The query of the next connection: its channels and where each resumes (`cursor`), the
    /// display name its client goes by, and presence asked for on every channel it names.
    pub fn connect_query(&self, cursor: &Cursor, name: &str) -> String {
        let member = format!("name={}&presence=1", query::encode(name));
        match cursor.query(&self.wanted) {
            Some(q) => format!("{q}&{member}"),
            None => member,
        }
    }

    /// A socket is being opened, asking for what is wanted in its URL.
    pub fn connecting(&mut self) {
        self.asked = self.wanted.iter().cloned().collect();
        self.confirmed.clear();
    }

    /// The socket closed: it follows nothing any more.
    pub fn disconnected(&mut self) {
        self.asked.clear();
        self.confirmed.clear();
    }

    /// The frames that make the open socket follow what is wanted: `subscribe` each channel
    /// newly wanted (resuming where `cursor` has it), `unsubscribe` each no longer wanted.
    pub fn changes(&mut self, cursor: &Cursor) -> Vec<ClientFrame> {
        let wanted: BTreeSet<Channel> = self.wanted.iter().cloned().collect();
        let mut frames: Vec<ClientFrame> = (wanted.difference(&self.asked))
            .map(|c| {
                let at = cursor.at(c);
                ClientFrame::Subscribe(Subscribe {
                    channel: c.to_string(),
                    since: at.map(|(offset, _)| *offset),
                    epoch: at.map(|(_, epoch)| epoch.clone()),
                    // Every pane shows who is online on its channels.
                    presence: true,
                })
            })
            .collect();
        frames.extend((self.asked.difference(&wanted)).map(|c| {
            ClientFrame::Unsubscribe(Unsubscribe {
                channel: c.to_string(),
            })
        }));
        self.asked = wanted;
        frames
    }

    /// Note what `frame` confirms.
    pub fn on_frame(&mut self, frame: &ServerFrame) {
        match frame {
            ServerFrame::Welcome { channels, .. } if channels.is_empty() => {
                // A server older than channels: every client is on `global`.
                self.confirmed.insert(GLOBAL.into());
            }
            ServerFrame::Welcome { channels, .. } => {
                let named = channels.iter().map(|c| Channel::from(c.channel.as_str()));
                self.confirmed.extend(named);
            }
            ServerFrame::Subscribed { channel, .. } => {
                self.confirmed.insert(channel.as_str().into());
            }
            ServerFrame::Unsubscribed { channel } => {
                self.confirmed.remove(channel.as_str());
            }
            _ => {}
        }
    }

    /// True when the server confirmed every one of `channels` on the current socket.
    pub fn confirmed(&self, channels: &[&str]) -> bool {
        channels.iter().all(|c| self.confirmed.contains(*c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: &[ClientFrame]) -> Vec<String> {
        frames.iter().map(ClientFrame::to_text).collect()
    }

    /// A change while open is sent as frames (only the difference); one made while connecting
    /// waits for the socket to open; a reconnect asks for all of it in its URL instead.
    #[test]
    fn an_open_socket_subscribes_and_unsubscribes_only_the_difference() {
        let mut s = Subscriptions::new(Follows::default());
        s.connecting();
        assert!(s.changes(&Cursor::default()).is_empty(), "the URL asked");
        let rooms = Follows::default()
            .add("room-1")
            .unwrap()
            .add("room-2")
            .unwrap();
        assert!(s.want(rooms.clone()).is_empty());
        assert_eq!(
            texts(&s.changes(&Cursor::default())),
            [
                r#"{"type":"subscribe","channel":"room-1","presence":true}"#,
                r#"{"type":"subscribe","channel":"room-2","presence":true}"#
            ]
        );
        assert!(s.changes(&Cursor::default()).is_empty(), "sent once");
        let gone = s.want(rooms.remove("global").unwrap().remove("room-1").unwrap());
        assert_eq!(gone, [Channel::from("global"), Channel::from("room-1")]);
        assert_eq!(
            texts(&s.changes(&Cursor::default())),
            [
                r#"{"type":"unsubscribe","channel":"global"}"#,
                r#"{"type":"unsubscribe","channel":"room-1"}"#
            ]
        );
        s.disconnected();
        s.connecting();
        assert!(s.changes(&Cursor::default()).is_empty());
    }

    /// Every connection names its client and asks for presence, resumed or not.
    #[test]
    fn a_connection_says_who_it_is_and_asks_for_presence() {
        let s = Subscriptions::new(Follows::default());
        let mut cursor = Cursor::default();
        assert_eq!(
            s.connect_query(&cursor, "guest US"),
            "name=guest%20US&presence=1"
        );
        cursor.on_frame(&ServerFrame::Subscribed {
            channel: GLOBAL.into(),
            offset: 4,
            epoch: "E".into(),
        });
        assert_eq!(
            s.connect_query(&cursor, "Ana"),
            "since=4&epoch=E&name=Ana&presence=1"
        );
    }

    #[test]
    fn a_subscription_resumes_where_the_cursor_has_it_and_confirmations_are_kept() {
        let mut s = Subscriptions::new(Follows::default());
        s.connecting();
        let mut cursor = Cursor::default();
        let subscribed = ServerFrame::Subscribed {
            channel: "a".into(),
            offset: 5,
            epoch: "E".into(),
        };
        cursor.on_frame(&subscribed);
        s.want(Follows::default().add("a").unwrap());
        assert_eq!(
            texts(&s.changes(&cursor)),
            [r#"{"type":"subscribe","channel":"a","since":5,"epoch":"E","presence":true}"#]
        );
        assert!(!s.confirmed(&["a"]));
        s.on_frame(&subscribed);
        assert!(s.confirmed(&["a"]));
        s.on_frame(&ServerFrame::Unsubscribed {
            channel: "a".into(),
        });
        assert!(!s.confirmed(&["a"]));
        s.on_frame(&ServerFrame::Welcome {
            region: "as".into(),
            offset: 0,
            epoch: "e".into(),
            broker: wire::BrokerKind::Embedded,
            channels: vec![],
            member: None,
        });
        assert!(
            s.confirmed(&["global"]),
            "an older server's welcome is global's"
        );
        s.disconnected();
        assert!(!s.confirmed(&["global"]));
    }
}
