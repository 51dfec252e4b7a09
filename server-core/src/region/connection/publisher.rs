//! The publisher role of a connection: what the client sends is decoded, rate-limited,
//! published to the broker, and answered with an ack or an error.
//!
//! Each publish is answered before the next message is read, so a client's publishes are
//! stored in the order it sent them. A refused frame gets an error frame and the connection
//! stays open, except for a message over the size limit (error, then close 1009).

use super::{Closed, Conn, Result};
use crate::event::{now_micros, NewEvent};
use crate::region::frames::{self, Close};
use crate::region::input;
use crate::region::metrics::Transport;
use axum::extract::ws::Message;
use std::time::Instant;
use wire::limits::MAX_FRAME_BYTES;
use wire::{ClientFrame, ErrorCode};

impl Conn {
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
            Some(Ok(Message::Text(text))) => self.on_text(&text).await,
            Some(Ok(Message::Binary(_))) => {
                self.region
                    .metrics
                    .refused(Transport::Ws, &ErrorCode::BinaryNotSupported);
                self.send_frame(&frames::binary_not_supported()).await
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Close(_))) | None => Err(Closed::Gone),
            Some(Err(e)) => {
                tracing::debug!(region = %self.region.name(), error = %e, "socket error");
                Err(Closed::Gone)
            }
        }
    }

    /// Decode one text frame, publish it, and answer.
    async fn on_text(&mut self, text: &str) -> Result {
        let started = Instant::now();
        let frame = match input::decode(text) {
            Ok(f) => f,
            Err(e) => {
                self.region.metrics.refused(Transport::Ws, &e.code);
                return self.send_frame(&frames::invalid_input(e)).await;
            }
        };
        let ClientFrame::Publish { id, kind, payload } = frame;
        if !self.bucket.take() {
            let config = &self.region.config;
            let refusal = frames::rate_limited(id, config.publish_rate, config.publish_burst);
            self.region
                .metrics
                .refused(Transport::Ws, &ErrorCode::RateLimited);
            return self.send_frame(&refusal).await;
        }
        let event = NewEvent {
            id: id.clone(),
            origin: self.region.name().into(),
            kind,
            payload,
            published_at: now_micros(),
        };
        let reply = match self.region.broker().publish(event).await {
            Ok(published) => frames::ack(id, published),
            Err(e) => frames::not_stored(id, &e),
        };
        self.region.metrics.answered(Transport::Ws, &reply, started);
        self.send_frame(&reply).await
    }
}
