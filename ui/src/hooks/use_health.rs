//! `use_health`: a region's `/health`, polled for its pane, each poll timed so that the page
//! can measure the region's clock against its own ([`crate::clock`]).

use crate::clock::Sample;
use crate::error::HttpError;
use crate::hooks::use_app;
use crate::platform::get_json_timed;
use crate::state::Action;
use gloo_timers::callback::{Interval, Timeout};
use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

/// How often each region's `/health` is polled: every poll is also a clock sample, so the
/// estimate (the best of the last 30 s, [`crate::clock::WINDOW`]) is re-sampled continuously.
const POLL_MS: u32 = 2_000;

/// Extra timed exchanges right after the first poll (which may include opening the
/// connection), so the page's stamps are on the region's time line within a second.
const FIRST_PROBES: u32 = 4;

/// Between those probes, ms.
const PROBE_GAP_MS: u32 = 150;

/// `GET url`, timed by the page's clock: the answer and the clock sample it makes (a
/// sample only from a region that says its clock).
async fn timed(url: &str) -> (Result<wire::Health, HttpError>, Option<Sample>) {
    let (health, sent, received) = get_json_timed::<wire::Health>(url).await;
    let sample = (health.as_ref().ok()).map(|h| Sample {
        sent,
        region: h.now,
        received,
    });
    (health, sample)
}

/// Poll `GET <url>/health` now and every [`POLL_MS`], reporting to pane `pane` (the answer
/// as [`Action::Health`], its timing as [`Action::Clock`]); polls again at once when the
/// socket connects or drops (`connected`), so the client count is current. Answers that come
/// after the pane went away report nothing.
#[hook]
pub fn use_health(pane: usize, url: AttrValue, connected: bool) {
    let dispatch = use_app().dispatch;
    use_effect_with((pane, url, connected), move |(pane, url, _)| {
        let alive = Rc::new(Cell::new(true));
        let (pane, url) = (*pane, format!("{url}/health"));
        let poll = {
            let (alive, url, dispatch) = (alive.clone(), url.clone(), dispatch.clone());
            move || {
                let (alive, url, dispatch) = (alive.clone(), url.clone(), dispatch.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let (health, sample) = timed(&url).await;
                    if alive.get() {
                        if let Some(s) = sample {
                            dispatch.emit(Action::Clock(pane, s));
                        }
                        dispatch.emit(Action::Health(pane, health));
                    }
                });
            }
        };
        poll();
        let probes: Vec<Timeout> = (1..=FIRST_PROBES)
            .map(|i| {
                let (alive, url, dispatch) = (alive.clone(), url.clone(), dispatch.clone());
                Timeout::new(i * PROBE_GAP_MS, move || {
                    wasm_bindgen_futures::spawn_local(async move {
                        if let (_, Some(s)) = timed(&url).await {
                            if alive.get() {
                                dispatch.emit(Action::Clock(pane, s));
                            }
                        }
                    });
                })
            })
            .collect();
        let interval = Interval::new(POLL_MS, poll);
        move || {
            alive.set(false);
            drop((interval, probes));
        }
    });
}
