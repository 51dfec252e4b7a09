//! The publisher role of a connection: what the client sends is decoded, rate-limited, and
//! queued in the connection's [`Pipeline`](super::pipeline::Pipeline), which publishes in
//! ordered batches and answers every frame in the order it came (see its contract).
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
use wire::ErrorCode;

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
            Some(Ok(Message::Text(text))) => {
                self.on_text(&text);
                self.send_replies().await
            }
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

    /// Decode one text frame and queue it: a publish for the broker, or its refusal.
    fn on_text(&mut self, text: &str) {
        let started = Instant::now();
        let publish = match input::decode(text) {
            Ok(wire::ClientFrame::Publish(p)) => p,
            Err(e) => {
                self.region.metrics.refused(Transport::Ws, &e.code);
                return self.pipeline.reply(frames::invalid_input(e));
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
            return self.pipeline.reply(refusal);
        }
        self.pipeline.publish(
            NewEvent {
                id: publish.id,
                origin: self.region.name().into(),
                kind: publish.kind,
                payload: publish.payload,
                published_at: now_micros(),
            },
            started,
        );
        // At once when no batch is at the broker; otherwise with the next batch.
        self.pipeline.start(self.region.broker());
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

/// The reply to one publish (read at `started`) from the broker's answer, counted.
pub(super) fn answer(
    region: &Region,
    id: String,
    result: crate::error::Result<crate::broker::Published>,
    started: Instant,
) -> wire::ServerFrame {
    let reply = match result {
        Ok(published) => frames::ack(id, published),
        Err(e) => frames::not_stored(id, &e),
    };
    region.metrics.answered(Transport::Ws, &reply, started);
    reply
}
