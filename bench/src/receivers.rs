//! [`Receivers`]: the receiving clients of one run, counted together.
//!
//! The load runs and the capacity scenario both open many [`crate::receiver`]s a few at a
//! time, count the deliveries of their own run's ids on one shared counter, and stop them
//! all at the end; this is that, once.

use crate::load::channel_name;
use crate::receiver::{self, Received};
use crate::target::Target;
use futures_util::{stream, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

/// Receiving clients, one task each, counting the events whose id starts with their tag.
pub struct Receivers {
    /// Ids of this run start with it; the receivers count only those.
    pub tag: Arc<str>,
    delivered: Arc<AtomicU64>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Received>>,
    /// Receivers following each channel, by channel index.
    followers: Vec<u64>,
}

impl Receivers {
    /// None yet, for the run tagged `tag`.
    pub fn new(tag: String) -> Self {
        Receivers {
            tag: tag.into(),
            delivered: Arc::new(AtomicU64::new(0)),
            stop: CancellationToken::new(),
            tasks: Vec::new(),
            followers: Vec::new(),
        }
    }

    /// Connect `per_target` more receivers to each of `targets`, `concurrency` connections
    /// at a time; the first that fails to connect is the error (those connected stay).
    pub async fn connect(
        &mut self,
        targets: &[Target],
        per_target: usize,
        concurrency: usize,
    ) -> anyhow::Result<()> {
        self.connect_over(targets, per_target, concurrency, 1).await
    }

    /// [`Self::connect`], each receiver following one of `channels` channels
    /// ([`crate::load::channel_name`]): the `i`-th of a target follows channel `i % channels`.
    pub async fn connect_over(
        &mut self,
        targets: &[Target],
        per_target: usize,
        concurrency: usize,
        channels: usize,
    ) -> anyhow::Result<()> {
        let channels = channels.max(1);
        self.followers.resize(self.followers.len().max(channels), 0);
        let mut urls = Vec::with_capacity(targets.len() * per_target);
        for t in targets {
            for i in 0..per_target {
                let k = i % channels;
                self.followers[k] += 1;
                urls.push(match channels {
                    1 => t.url.clone(),
                    _ => format!("{}?channels={}", t.url, channel_name(k, channels)),
                });
            }
        }
        self.tasks.reserve(urls.len());
        let mut connected = stream::iter(urls)
            .map(|url| async move { receiver::connect(&url).await })
            .buffer_unordered(concurrency);
        while let Some(ws) = connected.next().await {
            self.tasks.push(tokio::spawn(receiver::receive(
                ws?,
                self.tag.clone(),
                self.delivered.clone(),
                self.stop.clone(),
            )));
        }
        Ok(())
    }

    /// Receivers following the channel of index `k`.
    pub fn followers(&self, k: usize) -> u64 {
        self.followers.get(k).copied().unwrap_or(0)
    }

    /// Receivers connected.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True before the first is connected.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Unique deliveries so far, all receivers together.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Stop every receiver (none is left): what each one saw.
    pub async fn stop(&mut self) -> Result<Vec<Received>, JoinError> {
        self.stop.cancel();
        let mut seen = Vec::with_capacity(self.tasks.len());
        for t in self.tasks.drain(..) {
            seen.push(t.await?);
        }
        Ok(seen)
    }
}
