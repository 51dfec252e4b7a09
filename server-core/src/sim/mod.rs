//! The simulated WAN between each region and the broker (`/sim`, `--sim`), out of the way
//! when it is off.
//!
//! Each region has a [`Link`]: its [`LinkSettings`] (latency, jitter, cut-off, stall) and a
//! flag that says whether any of them is on. The region reaches the broker through a
//! [`Route`]: while every setting is zero the route hands out the plain broker, so the hot
//! path costs one relaxed atomic load per broker operation and nothing else (no task, timer,
//! allocation or lock per event); once a setting is on, it hands out the same broker seen
//! through a [`LinkedBroker`], which applies the settings to every crossing.
//!
//! The link never reorders anything: each region reads the log sequentially from its own last
//! offset, so delaying (or failing) a read delays everything behind it, and the log's order
//! and exactly-once delivery hold under any settings and across switching the link on or off.
//! This is the fault-injection hook of the reliability tests and the engine of the WAN
//! demo alike.

mod linked;

pub use self::linked::LinkedBroker;
pub use wire::sim::{presets, LinkSettings};

use crate::broker::{Batch, Cursor, LogReader, Partition, SharedBroker};
use crate::error::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A shared handle on one region's link settings. Cloning it shares the settings.
#[derive(Debug, Clone, Default)]
pub struct Link {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    // A std lock: it is never held across an await, only to copy or replace the settings.
    settings: RwLock<LinkSettings>,
    /// `settings.is_active()`, readable without the lock on every broker operation.
    active: AtomicBool,
    /// When the last publish batch sent through the link arrives at the broker: batches
    /// arrive in the order sent, as over one connection (see `LinkedBroker::publish_all`).
    last_arrival: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Link {
    /// The current settings.
    pub fn settings(&self) -> LinkSettings {
        self.shared.settings.read().unwrap().clone()
    }

    /// Replace the settings; they apply to the next crossing.
    pub fn set(&self, settings: LinkSettings) {
        self.modify(|s| *s = settings);
    }

    /// Cut the region off from the broker, or heal it.
    pub fn set_cut_off(&self, cut_off: bool) {
        self.modify(|s| s.cut_off = cut_off);
    }

    /// True when any setting is on, so broker traffic must go through the simulated link.
    pub fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::Relaxed)
    }

    fn modify(&self, change: impl FnOnce(&mut LinkSettings)) {
        let mut settings = self.shared.settings.write().unwrap();
        change(&mut settings);
        // Under the write lock, so the flag always matches the last settings written.
        self.shared
            .active
            .store(settings.is_active(), Ordering::Relaxed);
    }
}

/// A region's way to the broker: straight to it, or through its simulated [`Link`] while
/// any of the link's settings is on.
pub struct Route {
    direct: SharedBroker,
    linked: SharedBroker,
    link: Link,
}

impl Route {
    /// Route to `broker`, through `link` whenever it is active.
    pub fn new(broker: SharedBroker, link: Link) -> Self {
        Route {
            linked: Arc::new(LinkedBroker::new(broker.clone(), link.clone())),
            direct: broker,
            link,
        }
    }

    /// The link this route follows (its settings change at run time).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The broker to use for the next operation.
    pub fn broker(&self) -> &SharedBroker {
        self.current().0
    }

    /// The broker to use for the next operation, and whether it goes through the link.
    pub fn current(&self) -> (&SharedBroker, bool) {
        if self.via_link() {
            (&self.linked, true)
        } else {
            (&self.direct, false)
        }
    }

    /// True while traffic goes through the simulated link. A caller that started an
    /// operation on the direct path and finds this true once it is done treats the answer
    /// as lost on the way (as the link would have), and asks again.
    pub fn via_link(&self) -> bool {
        self.link.is_active()
    }
}

/// A consumer's reader of one partition along a [`Route`]: it reads through whichever path the
/// route takes at each read, and opens a new reader when the route switched since the last.
/// Nothing is reordered or lost by a switch: every read asks from the consumer's cursor.
#[derive(Default)]
pub struct RouteReader {
    /// The reader in use, and whether it reads through the link.
    current: Option<(Box<dyn LogReader>, bool)>,
}

impl RouteReader {
    /// Up to `max` events after `from` along `route` (see [`LogReader::next`]). `Ok(None)`
    /// when the link came on while this read took the direct path: its answer is lost on the
    /// way, as on the link it would be; ask again.
    pub async fn next(
        &mut self,
        route: &Route,
        partition: Partition,
        from: &Cursor,
        max: usize,
        wait: Duration,
    ) -> Result<Option<Batch>> {
        let (broker, via_link) = route.current();
        if self.current.as_ref().is_some_and(|(_, v)| *v != via_link) {
            self.current = None;
        }
        if self.current.is_none() {
            self.current = Some((broker.reader(partition).await?, via_link));
        }
        let (reader, _) = self.current.as_mut().expect("set above");
        let batch = reader.next(from, max, wait).await?;
        if !via_link && route.via_link() {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    /// Drop the reader (after a failed or stalled read): the next read opens a fresh one.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_active_exactly_while_a_setting_is_on() {
        let link = Link::default();
        assert!(!link.is_active());
        link.set_cut_off(true);
        assert!(link.is_active());
        link.set_cut_off(false);
        assert!(!link.is_active());
        link.set(LinkSettings {
            stalled: true,
            ..LinkSettings::default()
        });
        assert!(link.is_active());
        link.set(presets::settings("global", "eu").unwrap());
        assert!(link.is_active());
        link.set(presets::settings("off", "eu").unwrap());
        assert!(!link.is_active());
    }
}
