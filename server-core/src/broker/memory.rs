//! The embedded broker: the log in this process's memory.

use super::{Batch, Broker, BrokerKind, Cursor, LogReader, LogStatus, Published};
use crate::error::Result;
use crate::event::{new_epoch, now_micros, NewEvent, Offset, StoredEvent};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The in-process log: the default when no Redis is configured or reachable.
///
/// It keeps the latest `history` events (older ones and their ids are dropped when a new one
/// arrives) and is shared only by the regions of this process. Its epoch never changes.
#[derive(Clone)]
pub struct MemoryBroker {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: String,
    history: usize,
    // A std Mutex: it is never held across an await, and the critical sections are short.
    log: Mutex<Log>,
    // Latest offset, so readers can wait for news without polling.
    latest: watch::Sender<Offset>,
}

#[derive(Default)]
struct Log {
    events: VecDeque<StoredEvent>,
    ids: HashMap<String, Offset>,
    latest: Offset,
}

impl MemoryBroker {
    /// A new, empty log keeping the latest `history` events (at least 1).
    pub fn new(history: usize) -> Self {
        MemoryBroker {
            inner: Arc::new(Inner {
                epoch: new_epoch(),
                history: history.max(1),
                log: Mutex::new(Log::default()),
                latest: watch::channel(0).0,
            }),
        }
    }

    fn read_now(&self, after: Offset, max: usize) -> Batch {
        let log = self.inner.log.lock().unwrap();
        let first = log.events.front().map_or(log.latest + 1, |e| e.offset);
        let skip = (after + 1).saturating_sub(first) as usize;
        let events = log.events.iter().skip(skip).take(max).cloned().collect();
        Batch {
            epoch: self.inner.epoch.clone(),
            events,
        }
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Embedded
    }

    async fn publish(&self, event: NewEvent) -> Result<Published> {
        let offset = {
            let mut log = self.inner.log.lock().unwrap();
            if let Some(&offset) = log.ids.get(&event.id) {
                return Ok(Published {
                    offset,
                    duplicate: true,
                });
            }
            log.latest += 1;
            let offset = log.latest;
            log.ids.insert(event.id.clone(), offset);
            log.events.push_back(StoredEvent {
                offset,
                stored_at: now_micros(),
                event,
            });
            while log.events.len() > self.inner.history {
                if let Some(old) = log.events.pop_front() {
                    log.ids.remove(&old.event.id);
                }
            }
            offset
        };
        self.inner.latest.send_replace(offset);
        Ok(Published {
            offset,
            duplicate: false,
        })
    }

    async fn read(&self, after: Offset, max: usize) -> Result<Batch> {
        Ok(self.read_now(after, max))
    }

    async fn status(&self) -> Result<LogStatus> {
        let log = self.inner.log.lock().unwrap();
        Ok(LogStatus {
            epoch: self.inner.epoch.clone(),
            latest: log.latest,
            oldest: log.events.front().map_or(log.latest + 1, |e| e.offset),
        })
    }

    async fn reader(&self) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(MemoryReader {
            broker: self.clone(),
            latest: self.inner.latest.subscribe(),
        }))
    }
}

struct MemoryReader {
    broker: MemoryBroker,
    latest: watch::Receiver<Offset>,
}

#[async_trait]
impl LogReader for MemoryReader {
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch> {
        // This log never loses anything nor changes its epoch: only the offset matters.
        let after = from.offset;
        // Waiting on the watch (not polling) wakes us as soon as a newer offset is stored.
        let _ = tokio::time::timeout(wait, self.latest.wait_for(|&latest| latest > after)).await;
        Ok(self.broker.read_now(after, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: crate::event::payload(&serde_json::Value::Null),
            published_at: 0,
        }
    }

    /// A live read with nothing new waits its whole wait and returns empty; one that news
    /// reaches returns as soon as the event is stored (tokio's paused clock).
    #[tokio::test(start_paused = true)]
    async fn a_live_read_waits_for_news_or_its_wait() {
        let broker = MemoryBroker::new(10);
        let mut reader = broker.reader().await.unwrap();
        let started = Instant::now();
        let batch = reader
            .next(&Cursor::default(), 10, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(batch.events.is_empty());
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        let publisher = broker.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            publisher.publish(event("late")).await.unwrap();
        });
        let started = Instant::now();
        let batch = reader
            .next(&Cursor::default(), 10, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(batch.events[0].event.id, "late");
        assert_eq!(started.elapsed(), Duration::from_millis(300));
    }
}
