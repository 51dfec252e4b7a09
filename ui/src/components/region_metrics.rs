//! The Settings panel's live figures: each region's connections, events/s and broker lag p99,
//! from its `/metrics`.

use crate::format;
use crate::metrics::{Board, Row, Scraped};
use crate::platform::{get_text, now_micros};
use gloo_timers::callback::Interval;
use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

/// How often each region's `/metrics` is read.
const POLL_MS: u32 = 3_000;

/// Props of [`RegionMetrics`].
#[derive(Properties, PartialEq)]
pub struct RegionMetricsProps {
    /// The regions to read, in the order shown.
    pub regions: Vec<wire::RegionInfo>,
}

/// A table with one row per region, read from `<url>/metrics` (with the tab's token) now and
/// every [`POLL_MS`]. Events/s is the delivered count's rise between the last two reads; a
/// region that does not answer keeps its last figures and says why.
#[component]
pub fn RegionMetrics(props: &RegionMetricsProps) -> Html {
    let board = use_reducer(Board::default);
    {
        let dispatcher = board.dispatcher();
        use_effect_with(props.regions.clone(), move |regions| {
            let alive = Rc::new(Cell::new(true));
            let poll = {
                let (alive, regions) = (alive.clone(), regions.clone());
                move || {
                    for r in &regions {
                        let (alive, dispatcher) = (alive.clone(), dispatcher.clone());
                        let (region, url) = (r.name.clone(), format!("{}/metrics", r.url));
                        wasm_bindgen_futures::spawn_local(async move {
                            let result = get_text(&url).await;
                            // A read that answers after the panel closed reports nothing.
                            if alive.get() {
                                let at = now_micros();
                                dispatcher.dispatch(Scraped { region, at, result });
                            }
                        });
                    }
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
    let row = |name: &str| -> Html {
        let found = board.rows.iter().find(|r| r.region == name);
        let (connections, rate, p99) = cells(found);
        let error = found.and_then(|r| r.error.clone());
        html! {
            <tr data-testid={format!("metrics-{name}")}>
                <th>{ name.to_uppercase() }</th>
                <td class="num" data-testid="metrics-connections">{ connections }</td>
                <td class="num" data-testid="metrics-rate">{ rate }</td>
                <td class="num" data-testid="metrics-lag">{ p99 }</td>
                <td class="muted small">{ error.unwrap_or_default() }</td>
            </tr>
        }
    };
    html! {
        <table class="region-metrics" data-testid="region-metrics">
            <thead><tr>
                <th>{ "Region" }</th><th>{ "Connections" }</th><th>{ "Events/s" }</th>
                <th>{ "Broker lag p99" }</th><th></th>
            </tr></thead>
            <tbody>{ for props.regions.iter().map(|r| row(&r.name)) }</tbody>
        </table>
    }
}

/// The three figures of a row as they read ("—" until known).
fn cells(row: Option<&Row>) -> (String, String, String) {
    let dash = || "—".to_owned();
    let Some(f) = row.and_then(|r| r.figures) else {
        return (dash(), dash(), dash());
    };
    (
        f.connections.to_string(),
        f.events_per_sec.map_or_else(dash, |r| format!("{r:.1}")),
        f.lag_p99
            .map_or_else(dash, |s| format::duration((s * 1e6).round() as u64)),
    )
}
