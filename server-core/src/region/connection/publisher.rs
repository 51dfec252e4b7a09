//! The publisher role of a connection: what the client sends is decoded, rate-limited, and
//! queued in the connection's [`Pipeline`](crate::region::pipeline::Pipeline), which publishes in
//! ordered batches and answers every frame in the order it came (see its contract).
//!
//! `subscribe` and `unsubscribe` frames wait for the publishes before them to be answered,
//! so every frame is still answered in the order it came.
//!
//! A refused frame gets an error frame and the connection stays open, except for a message
//! over the size limit (error, then close 1009).

use super::{Closed, Connection, Result};
use crate::event::{now_micros, NewEvent};
use crate::region::frames::{self, Close};
use crate::region::input;
use crate::region::metrics::Transport;
use crate::region::Region;
use axum::extract::ws::Message;
use std::time::Instant;
use wire::limits::MAX_FRAME_BYTES;
use wire::{ClientFrame, ErrorCode};

impl Connection {
    /// Handle the next thing the client sent (`None`: its stream ended).
    pub(super) async fn on_client(
        &mut self,
        msg: Option<std::result::Result<Message, axum::Error>>,
    ) -> Result {
        match msg {
            Some(Ok(Message::Text(text))) if text.len() > MAX_FRAME_BYTES => {
                self.region
                    .metrics
                    .refused(Transport::Ws, &ErrorCode::FrameTooLarge);
                self.send_frame(&frames::frame_too_large(text.len()))
                    .await?;
                self.close(Close::TooBig).await
            }
            Some(Ok(Message::Text(text))) => match self.on_text(&text) {
                Some(control) => self.control(control).await,
                None => self.send_replies().await,
            },
            Some(Ok(Message::Binary(_))) => {
                self.region
                    .metrics
                    .refused(Transport::Ws, &ErrorCode::BinaryNotSupported);
                self.pipeline.reply(frames::binary_not_supported());
                self.send_replies().await
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Close(_))) | None => Err(Closed::Gone),
            Some(Err(e)) => {
                tracing::debug!(region = %self.region.name(), error = %e, "socket error");
                Err(Closed::Gone)
            }
        }
    }

    /// Decode one text frame and queue it: a publish for the broker, or its refusal; a
    /// subscription change is handed back, to be made once the frames before it are answered.
    fn on_text(&mut self, text: &str) -> Option<ClientFrame> {
        let started = Instant::now();
        let publish = match input::decode(text) {
            Ok(ClientFrame::Publish(p)) => p,
            Ok(control) => return Some(control),
            Err(e) => {
                self.region.metrics.refused(Transport::Ws, &e.code);
                self.pipeline.reply(frames::invalid_input(e));
                return None;
            }
        };
        if !self.bucket.take() {
            let config = &self.region.config;
            let refusal = frames::rate_limited(
                publish.id,
                config.publishing.publish_rate,
                config.publishing.publish_burst,
            );
            self.region
                .metrics
                .refused(Transport::Ws, &ErrorCode::RateLimited);
            self.pipeline.reply(refusal);
            return None;
        }
        self.pipeline.publish(
            NewEvent {
                channel: publish.channel().into(),
                id: publish.id,
                origin: self.region.name().into(),
                kind: publish.kind,
                payload: publish.payload,
                published_at: now_micros(),
                after: None,
            },
            started,
        );
        // Sent by the session loop once it has read what the client already sent.
        None
    }

    /// A `subscribe` or `unsubscribe`, made once every frame before it is answered.
    async fn control(&mut self, frame: ClientFrame) -> Result {
        self.pipeline.start(self.region.broker());
        while self.pipeline.busy() {
            self.settle_publishes().await?;
        }
        self.send_replies().await?;
        match frame {
            ClientFrame::Subscribe(s) => self.subscribe(s).await,
            ClientFrame::Unsubscribe(u) => {
                self.follows.remove(&u.channel);
                self.send_frame(&frames::unsubscribed(&u.channel)).await
            }
            ClientFrame::Publish(_) => unreachable!("publishes are queued by on_text"),
        }
    }

    /// Follow a channel (again: a subscribe of a followed channel starts it over), and
    /// replay it when the client resumes.
    async fn subscribe(&mut self, s: wire::Subscribe) -> Result {
        let again = self.follows.by_name(&s.channel).is_some();
        if !again && self.follows.len() >= wire::channel::MAX_SUBSCRIPTIONS {
            let refusal = input::too_many(self.follows.len() + 1);
            self.region.metrics.refused(Transport::Ws, &refusal.code);
            return self.send_frame(&frames::invalid_input(refusal)).await;
        }
        let (position, members) = self.follows.join(&s.channel, s.presence).await;
        self.send_frame(&frames::subscribed(position)).await?;
        if let Some(members) = members {
            let list = crate::region::delivery::members_frame(&s.channel, members);
            self.send_frame(&list).await?;
        }
        match s.since {
            Some(since) => self.resume(&s.channel, since, s.epoch).await,
            None => Ok(()),
        }
    }

    /// Wait for the batch at the broker, then send the replies that are due and start the
    /// next batch.
    pub(super) async fn settle_publishes(&mut self) -> Result {
        let region = self.region.clone();
        self.pipeline
            .settle(|id, r, t| answer(&region, id, r, t))
            .await;
        self.publishes_settled().await
    }

    /// The batch at the broker was answered: start the next one, send the replies due.
    pub(super) async fn publishes_settled(&mut self) -> Result {
        self.pipeline.start(self.region.broker());
        self.send_replies().await
    }

    /// Send the replies that are due, in order, with one flush.
    pub(super) async fn send_replies(&mut self) -> Result {
        let replies = self.pipeline.ready();
        if replies.is_empty() {
            return Ok(());
        }
        let messages = replies
            .iter()
            .map(|frame| {
                let msg = Message::Text(crate::region::frame_text(frame));
                self.region.metrics.sending(&msg);
                msg
            })
            .collect();
        self.write(messages).await
    }
}

/// The reply to one publish (`channel`, `id`, read at `started`) from the broker's answer,
/// counted.
pub(super) fn answer(
    region: &Region,
    (channel, id): (String, String),
    result: crate::error::Result<crate::broker::Published>,
    started: Instant,
) -> wire::ServerFrame {
    let reply = match result {
        Ok(published) => frames::ack(id, channel, published),
        Err(e) => frames::not_stored(id, &e),
    };
    region.metrics.answered(Transport::Ws, &reply, started);
    reply
}
