//! The embedded broker: the log in this process's memory.

mod presence;

use self::presence::Presence;
use super::partition::Partition;
use super::presence::{Members, Membership, Renewed, Update};
use super::{Batch, Broker, BrokerKind, Cursor, LogReader, LogStatus, Published};
use crate::defaults;
use crate::error::{Result, Unavailable};
use crate::event::{new_epoch, now_micros, NewEvent, Offset, StoredEvent};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The in-process log: the default when no Redis is configured or reachable.
///
/// Each partition keeps its latest `history` events (older ones and their ids are dropped
/// when a new one arrives); it is shared only by the regions of this process. Its epochs
/// never change.
#[derive(Clone)]
pub struct MemoryBroker {
    inner: Arc<Inner>,
}

struct Inner {
    history: usize,
    partitions: Vec<Part>,
}

/// One partition.
struct Part {
    epoch: String,
    // A std Mutex: it is never held across an await, and the critical sections are short.
    log: Mutex<Log>,
    // Latest position and presence position, so readers can wait for news without polling.
    latest: watch::Sender<(Offset, Offset)>,
}

#[derive(Default)]
struct Log {
    events: VecDeque<StoredEvent>,
    /// `(channel, id)` → offset, for every event in `events`.
    ids: HashMap<(String, String), Offset>,
    /// Newest position.
    position: Offset,
    /// Newest offset of every channel used.
    channels: HashMap<String, Offset>,
    presence: Presence,
}

impl Log {
    fn first_position(&self) -> Offset {
        self.events
            .front()
            .map_or(self.position + 1, |e| e.position)
    }
}

impl MemoryBroker {
    /// A new, empty log of [`defaults::PARTITIONS`] partitions keeping the latest `history`
    /// events (at least 1) each.
    pub fn new(history: usize) -> Self {
        Self::with_partitions(history, defaults::PARTITIONS)
    }

    /// A new, empty log of `partitions` partitions (at least 1).
    pub fn with_partitions(history: usize, partitions: Partition) -> Self {
        MemoryBroker {
            inner: Arc::new(Inner {
                history: history.max(1),
                partitions: (0..partitions.max(1))
                    .map(|_| Part {
                        epoch: new_epoch(),
                        log: Mutex::new(Log::default()),
                        latest: watch::channel((0, 0)).0,
                    })
                    .collect(),
            }),
        }
    }

    fn part(&self, partition: Partition) -> &Part {
        &self.inner.partitions[usize::from(partition) % self.inner.partitions.len()]
    }

    fn read_now(&self, partition: Partition, after: Offset, max: usize) -> Batch {
        let part = self.part(partition);
        let log = part.log.lock().unwrap();
        let skip = (after + 1).saturating_sub(log.first_position()) as usize;
        Batch::of(
            part.epoch.clone(),
            log.events.iter().skip(skip).take(max).cloned().collect(),
        )
    }

    /// Change the presence of `partition` with `change`, and wake its readers.
    fn presence<T>(&self, partition: Partition, change: impl FnOnce(&mut Presence) -> T) -> T {
        let part = self.part(partition);
        let (out, latest) = {
            let mut log = part.log.lock().unwrap();
            let out = change(&mut log.presence);
            (out, (log.position, log.presence.position))
        };
        part.latest.send_replace(latest);
        out
    }

    /// Store `event` in `log`: a duplicate's offset, or the new event's.
    fn append(&self, log: &mut Log, event: NewEvent) -> Result<Published> {
        let key = (event.channel.clone(), event.id.clone());
        if let Some(&offset) = log.ids.get(&key) {
            return Ok(Published {
                offset,
                duplicate: true,
            });
        }
        if let Some(after) = &event.after {
            if !log
                .ids
                .contains_key(&(event.channel.clone(), after.clone()))
            {
                return Err(Unavailable::OutOfOrder(after.clone()).into());
            }
        }
        log.position += 1;
        let offset = {
            let latest = log.channels.entry(event.channel.clone()).or_default();
            *latest += 1;
            *latest
        };
        log.ids.insert(key, offset);
        log.events.push_back(StoredEvent {
            offset,
            position: log.position,
            stored_at: now_micros(),
            event,
        });
        while log.events.len() > self.inner.history {
            if let Some(old) = log.events.pop_front() {
                log.ids.remove(&(old.event.channel, old.event.id));
            }
        }
        Ok(Published {
            offset,
            duplicate: false,
        })
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Embedded
    }

    fn partitions(&self) -> Partition {
        self.inner.partitions.len() as Partition
    }

    async fn publish(&self, event: NewEvent) -> Result<Published> {
        let part = self.part(self.partition_of(&event.channel));
        let (published, latest) = {
            let mut log = part.log.lock().unwrap();
            let published = self.append(&mut log, event);
            (published, (log.position, log.presence.position))
        };
        part.latest.send_replace(latest);
        published
    }

    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch> {
        Ok(self.read_now(partition, after, max))
    }

    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch> {
        let part = self.part(self.partition_of(channel));
        let log = part.log.lock().unwrap();
        let events = log
            .events
            .iter()
            .filter(|e| e.event.channel == channel && e.offset > after)
            .take(max)
            .cloned()
            .collect();
        Ok(Batch::of(part.epoch.clone(), events))
    }

    async fn status(&self, partition: Partition) -> Result<LogStatus> {
        let part = self.part(partition);
        let log = part.log.lock().unwrap();
        Ok(LogStatus {
            epoch: part.epoch.clone(),
            latest: log.position,
            oldest: log.first_position(),
            presence: log.presence.position,
        })
    }

    async fn channel_status(&self, channel: &str) -> Result<LogStatus> {
        let part = self.part(self.partition_of(channel));
        let log = part.log.lock().unwrap();
        let latest = log.channels.get(channel).copied().unwrap_or(0);
        let oldest = log
            .events
            .iter()
            .find(|e| e.event.channel == channel)
            .map_or(latest + 1, |e| e.offset);
        Ok(LogStatus {
            epoch: part.epoch.clone(),
            latest,
            oldest,
            presence: log.presence.position,
        })
    }

    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(MemoryReader {
            broker: self.clone(),
            partition,
            latest: self.part(partition).latest.subscribe(),
        }))
    }

    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        let mut refused = Vec::new();
        for u in updates {
            let partition = self.partition_of(u.channel());
            let taken = self.presence(partition, |p| match &u {
                Update::Join(m) => p.join_leased(m),
                Update::Leave { channel, id } => {
                    p.leave(channel, id);
                    true
                }
            });
            if !taken && !refused.contains(&partition) {
                refused.push(partition);
            }
        }
        Ok(refused)
    }

    async fn members(&self, channel: &str, max: usize) -> Result<Members> {
        let part = self.part(self.partition_of(channel));
        let log = part.log.lock().unwrap();
        let (count, members) = log.presence.list(channel, max);
        Ok(Members {
            epoch: part.epoch.clone(),
            position: log.presence.position,
            count,
            members,
        })
    }

    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed> {
        let mut renewed = Renewed::default();
        for p in 0..self.partitions() {
            if self.presence(p, |presence| presence.renew(instance, ttl, reap)) {
                renewed.lost.push(p);
            }
        }
        Ok(renewed)
    }

    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        self.presence(partition, |p| {
            p.renew(instance, ttl, false);
            p.resync(instance, live)
        });
        Ok(())
    }

    async fn release(&self, instance: &str) -> Result<()> {
        for p in 0..self.partitions() {
            self.presence(p, |presence| presence.release(instance));
        }
        Ok(())
    }
}

struct MemoryReader {
    broker: MemoryBroker,
    partition: Partition,
    latest: watch::Receiver<(Offset, Offset)>,
}

#[async_trait]
impl LogReader for MemoryReader {
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch> {
        // This log never loses anything nor changes its epoch: only the positions matter.
        let (after, seen) = (from.position, from.presence);
        // Waiting on the watch (not polling) wakes us as soon as anything newer is stored.
        let news = self.latest.wait_for(|&(p, q)| p > after || q > seen);
        let _ = tokio::time::timeout(wait, news).await;
        let mut batch = self.broker.read_now(self.partition, after, max);
        let part = self.broker.part(self.partition);
        batch.presence = part.log.lock().unwrap().presence.after(seen, max);
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.into(),
            channel: wire::GLOBAL.into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: crate::event::payload(&serde_json::Value::Null),
            published_at: 0,
            after: None,
        }
    }

    /// A live read with nothing new waits its whole wait and returns empty; one that news
    /// reaches returns as soon as the event is stored (tokio's paused clock).
    #[tokio::test(start_paused = true)]
    async fn a_live_read_waits_for_news_or_its_wait() {
        let broker = MemoryBroker::new(10);
        let partition = broker.partition_of(wire::GLOBAL);
        let mut reader = broker.reader(partition).await.unwrap();
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
