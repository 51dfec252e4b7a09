//! The delivery-latency summary: p50 and p99 per region.

use crate::format;
use crate::state::State;
use wire::Micros;
use yew::prelude::*;

/// Events the percentiles look back over.
pub const WINDOW: usize = 200;

/// One region's figures: its name, and p50, p99 (µs) and how many events they cover.
pub type RegionLatency = (String, Option<(Micros, Micros, usize)>);

/// Every pane's figures over the newest [`WINDOW`] events: what [`LatencySummary`] shows.
pub fn latency_figures(state: &State) -> Vec<RegionLatency> {
    (state.panes.iter().enumerate())
        .map(|(i, p)| (p.region.name.clone(), state.log.percentiles(i, WINDOW)))
        .collect()
}

/// Props of [`LatencySummary`].
#[derive(Properties, PartialEq)]
pub struct LatencySummaryProps {
    /// Per region, in pane order ([`latency_figures`]).
    pub figures: Vec<RegionLatency>,
}

/// p50 / p99 delivery latency (delivered to the pane minus published at the origin) per
/// region over the newest [`WINDOW`] events, replays left out.
#[component]
pub fn LatencySummary(props: &LatencySummaryProps) -> Html {
    html! {
        <section class="summary" data-testid="latency-summary">
            <span class="summary-title" title="Delivered = when this page's script handled the frame (browser clock), so it includes time the page was busy rendering. Published = the origin server's clock. Replayed events are left out.">
                { "Delivery latency" }
                <small>{ format!("publish → pane, newest {WINDOW} events") }</small>
            </span>
            { for props.figures.iter().map(|(name, figures)| {
                let figures = match *figures {
                    Some((p50, p99, n)) => html! {
                        <>
                            <span class="fig"><small>{ "p50" }</small>{ format::duration(p50) }</span>
                            <span class="fig"><small>{ "p99" }</small>{ format::duration(p99) }</span>
                            <span class="n">{ format!("n={n}") }</span>
                        </>
                    },
                    None => html! { <span class="n">{ "no live events yet" }</span> },
                };
                html! {
                    <div class={classes!("summary-cell", format!("region-{name}"))} data-testid={format!("latency-{name}")}>
                        <span class="region-badge">{ name.to_uppercase() }</span>
                        { figures }
                    </div>
                }
            }) }
        </section>
    }
}
