//! The simulated WAN link of each region, as the UI knows it: what `GET /sim` last said,
//! whether a change is on its way, and why the last one failed.
//!
//! Pure: the requests themselves are in [`crate::sim_client`].

use crate::error::HttpError;
use wire::sim::{presets, LinkSettings};

/// Largest latency the pane's slider offers, ms (the server accepts up to
/// [`LinkSettings::MAX_MS`]).
pub const SLIDER_MAX_MS: u32 = 500;

/// One region's link as the pane shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimView {
    /// The settings `GET /sim` (or the answer to the last `PUT`) returned; `None` until then.
    pub settings: Option<LinkSettings>,
    /// Why the last change or read failed; cleared when the next change is sent.
    pub error: Option<String>,
    /// Changes sent and not answered yet.
    pub pending: u32,
    /// Answers of `GET /sim` so far (a control's draft value gives way to each new one).
    pub loads: u64,
}

/// What happened to a region's link settings.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// A change (`PUT /sim`) was sent.
    Sending,
    /// The change was answered: applied, or refused/failed, and why.
    Applied(Result<(), HttpError>),
    /// `GET /sim` answered.
    Loaded(Result<LinkSettings, HttpError>),
}

impl SimView {
    /// Apply `event`.
    pub fn apply(&mut self, event: SimEvent) {
        match event {
            SimEvent::Sending => {
                self.pending += 1;
                self.error = None;
            }
            SimEvent::Applied(result) => {
                self.pending = self.pending.saturating_sub(1);
                if let Err(e) = result {
                    self.error = Some(format!("not changed: {e}"));
                }
            }
            SimEvent::Loaded(Ok(s)) => {
                self.settings = Some(s);
                self.loads += 1;
            }
            SimEvent::Loaded(Err(e)) => {
                self.error = Some(format!("could not read the link settings: {e}"))
            }
        }
    }

    /// True when the region is known to be cut off from the broker.
    pub fn cut_off(&self) -> bool {
        self.settings.as_ref().is_some_and(|s| s.cut_off)
    }
}

/// The settings a latency of `latency_ms` gives, keeping the other fields of `current`:
/// jitter follows the presets' rule (10 % of the latency).
pub fn with_latency(current: Option<&LinkSettings>, latency_ms: u32) -> LinkSettings {
    LinkSettings {
        latency_ms,
        jitter_ms: latency_ms / 10,
        ..current.cloned().unwrap_or_default()
    }
}

/// `current` with the cut-off switch set to `cut_off`.
pub fn with_cut_off(current: Option<&LinkSettings>, cut_off: bool) -> LinkSettings {
    LinkSettings {
        cut_off,
        ..current.cloned().unwrap_or_default()
    }
}

/// The preset every region is on, if they all match the same one exactly (a region cut off
/// or with its own latency makes it "custom": `None`). `None` too while any is unknown.
pub fn preset_of<'a>(
    regions: impl IntoIterator<Item = (&'a str, Option<&'a LinkSettings>)>,
) -> Option<&'static str> {
    let regions: Vec<_> = regions.into_iter().collect();
    if regions.is_empty() {
        return None;
    }
    presets::NAMES.into_iter().find(|name| {
        regions
            .iter()
            .all(|(region, s)| s.is_some() && presets::settings(name, region).as_ref() == *s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(region: &str) -> LinkSettings {
        presets::settings("global", region).unwrap()
    }

    #[test]
    fn a_failed_change_keeps_its_error_until_the_next_change() {
        let mut v = SimView::default();
        v.apply(SimEvent::Sending);
        assert_eq!(v.pending, 1);
        v.apply(SimEvent::Applied(Err(HttpError::Refused {
            code: wire::ErrorCode::InvalidSim,
            message: "too long".into(),
        })));
        v.apply(SimEvent::Loaded(Ok(LinkSettings::default())));
        assert_eq!(v.pending, 0);
        assert_eq!(
            v.error.as_deref(),
            Some("not changed: invalid_sim: too long")
        );
        v.apply(SimEvent::Sending);
        assert_eq!(v.error, None);
    }

    #[test]
    fn a_failed_read_is_shown() {
        let mut v = SimView::default();
        v.apply(SimEvent::Loaded(Err(HttpError::Status {
            url: "http://127.0.0.1:4002/sim".into(),
            status: 500,
        })));
        assert!(v.error.as_deref().unwrap().contains("HTTP 500"));
        assert_eq!(v.settings, None);
    }

    #[test]
    fn the_preset_is_named_only_when_every_region_matches_it() {
        let (a, u, e) = (global("as"), global("us"), global("eu"));
        let all = [("as", Some(&a)), ("us", Some(&u)), ("eu", Some(&e))];
        assert_eq!(preset_of(all), Some("global"));
        let off = LinkSettings::default();
        assert_eq!(
            preset_of([("as", Some(&off)), ("us", Some(&off))]),
            Some("off")
        );
        let cut = with_cut_off(Some(&e), true);
        assert_eq!(preset_of([("as", Some(&a)), ("eu", Some(&cut))]), None);
        assert_eq!(preset_of([("as", Some(&a)), ("eu", None)]), None);
    }

    #[test]
    fn the_slider_sets_latency_and_jitter_and_keeps_the_switches() {
        let cut = with_cut_off(None, true);
        let s = with_latency(Some(&cut), 250);
        assert_eq!((s.latency_ms, s.jitter_ms, s.cut_off), (250, 25, true));
    }
}
