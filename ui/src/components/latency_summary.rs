use crate::format;
use crate::state::State;
use yew::prelude::*;

/// Events the percentiles look back over.
pub const WINDOW: usize = 200;

/// Props of [`LatencySummary`].
#[derive(Properties, PartialEq)]
pub struct LatencySummaryProps {
    /// The UI state.
    pub state: UseReducerHandle<State>,
}

/// p50 / p99 delivery latency (delivered to the pane minus published at the origin) per
/// region over the newest [`WINDOW`] events, replays left out.
#[component]
pub fn LatencySummary(props: &LatencySummaryProps) -> Html {
    let state = &props.state;
    html! {
        <section class="summary" data-testid="latency-summary">
            <span class="summary-title" title="Delivered = when this page's script handled the frame (browser clock), so it includes time the page was busy rendering. Published = the origin server's clock. Replayed events are left out.">
                { "Delivery latency" }
                <small>{ format!("publish → pane, newest {WINDOW} events") }</small>
            </span>
            { for state.panes.iter().enumerate().map(|(i, pane)| {
                let name = &pane.region.name;
                let figures = match state.log.percentiles(i, WINDOW) {
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
