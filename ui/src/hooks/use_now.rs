//! `use_now`: the browser's clock, refreshed on an interval for ages.

use crate::platform::now_micros;
use gloo_timers::callback::Interval;
use wire::Micros;
use yew::prelude::*;

/// The browser's clock (µs), refreshed every `every_ms`: for "12 s ago" labels.
#[hook]
pub fn use_now(every_ms: u32) -> Micros {
    let now = use_state(now_micros);
    {
        let now = now.clone();
        use_effect_with(every_ms, move |every| {
            let interval = Interval::new(*every, move || now.set(now_micros()));
            move || drop(interval)
        });
    }
    *now
}
