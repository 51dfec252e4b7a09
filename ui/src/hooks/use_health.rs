//! `use_health`: a region's `/health`, polled for its pane.

use crate::hooks::use_app;
use crate::platform::get_json;
use crate::state::Action;
use gloo_timers::callback::Interval;
use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

/// How often each region's `/health` is polled.
const POLL_MS: u32 = 2_000;

/// Poll `GET <url>/health` now and every [`POLL_MS`], reporting to pane `pane`; polls again
/// at once when the socket connects or drops (`connected`), so the client count is current.
#[hook]
pub fn use_health(pane: usize, url: AttrValue, connected: bool) {
    let dispatch = use_app().dispatch;
    use_effect_with((pane, url, connected), move |(pane, url, _)| {
        let alive = Rc::new(Cell::new(true));
        let poll = {
            let (alive, pane, url) = (alive.clone(), *pane, format!("{url}/health"));
            move || {
                let (alive, url, dispatch) = (alive.clone(), url.clone(), dispatch.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let health = get_json::<wire::Health>(&url).await;
                    // A poll that answers after the pane went away reports nothing.
                    if alive.get() {
                        dispatch.emit(Action::Health(pane, health));
                    }
                });
            }
        };
        poll();
        let interval = Interval::new(POLL_MS, poll);
        move || {
            alive.set(false);
            drop(interval);
        }
    });
}
