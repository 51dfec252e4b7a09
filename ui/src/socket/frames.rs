//! What a region's socket receives: decoding its text frames, and the resume cursor they move.
//!
//! Pure, so it is unit-tested natively; the connection itself is in [`super`].

use crate::query;
use wire::{Offset, ServerFrame};

/// A text frame from the server that is not a [`ServerFrame`] (a newer or broken server).
/// Shown, not swallowed: it becomes a notice in the pane.
#[derive(Debug, thiserror::Error)]
#[error("unreadable frame from the server ({0})")]
pub struct UnreadableFrame(serde_json::Error);

/// Decode one text frame from the server.
pub fn decode(text: &str) -> Result<ServerFrame, UnreadableFrame> {
    serde_json::from_str::<ServerFrame>(text).map_err(UnreadableFrame)
}

/// Where a reconnect resumes: the last offset seen and the epoch it belongs to (none before
/// the first welcome).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor(Option<(Offset, String)>);

impl Cursor {
    /// Move past what `frame` shows was received: the first welcome sets the start, an epoch
    /// frame starts a new log at 0, events, gaps and catch-ups advance it (never back).
    pub fn on_frame(&mut self, frame: &ServerFrame) {
        let mut advance = |to: Offset| {
            if let Some((o, _)) = &mut self.0 {
                *o = (*o).max(to);
            }
        };
        match frame {
            ServerFrame::Welcome { offset, epoch, .. } => {
                self.0.get_or_insert_with(|| (*offset, epoch.clone()));
            }
            ServerFrame::Epoch { epoch, .. } => self.0 = Some((0, epoch.clone())),
            ServerFrame::Event(ev) => advance(ev.offset),
            ServerFrame::Gap { to, .. } => advance(*to),
            ServerFrame::CaughtUp { offset } => advance(*offset),
            ServerFrame::Ack { .. } | ServerFrame::Error { .. } => {}
        }
    }

    /// The query that resumes here (`since=N&epoch=E`), or `None` before the first welcome
    /// (a fresh connection starts at the live end).
    pub fn query(&self) -> Option<String> {
        let (offset, epoch) = self.0.as_ref()?;
        Some(format!("since={offset}&epoch={}", query::encode(epoch)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn welcome(offset: Offset, epoch: &str) -> ServerFrame {
        ServerFrame::Welcome {
            region: "us".into(),
            offset,
            epoch: epoch.into(),
            broker: wire::BrokerKind::Redis,
        }
    }

    #[test]
    fn the_cursor_resumes_after_the_newest_offset_seen_in_its_epoch() {
        let mut c = Cursor::default();
        assert_eq!(c.query(), None, "a first connection starts live");
        c.on_frame(&welcome(7, "e 1"));
        c.on_frame(&ServerFrame::CaughtUp { offset: 9 });
        // A resume's welcome names the live end; the cursor keeps what was received.
        c.on_frame(&welcome(40, "e 1"));
        c.on_frame(&ServerFrame::CaughtUp { offset: 3 });
        assert_eq!(c.query().as_deref(), Some("since=9&epoch=e%201"));
        c.on_frame(&ServerFrame::Epoch {
            epoch: "e2".into(),
            offset: 0,
            lost_after: 0,
            message: "reset".into(),
        });
        assert_eq!(c.query().as_deref(), Some("since=0&epoch=e2"));
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
