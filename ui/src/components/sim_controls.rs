//! A pane's simulated-link controls: latency slider, cut-off switch, backlog.

use crate::format;
use crate::sim::{with_cut_off, with_latency, SimView, SLIDER_MAX_MS};
use web_sys::HtmlInputElement;
use wire::sim::LinkSettings;
use yew::prelude::*;

/// Props of [`SimControls`].
#[derive(Properties, PartialEq)]
pub struct SimControlsProps {
    /// Region name.
    pub name: AttrValue,
    /// The region's link, as last read.
    pub sim: SimView,
    /// Events the log has that this region has not read (`None` until known).
    pub backlog: Option<u64>,
    /// Set the region's link to these settings.
    pub onchange: Callback<LinkSettings>,
}

/// What the latency reads: the slider's draft while it moves, else the region's settings.
fn shown(draft: Option<u32>, current: Option<&LinkSettings>) -> String {
    match (draft, current) {
        (Some(ms), _) => format::link(ms, ms / 10),
        (None, Some(s)) => format::link(s.latency_ms, s.jitter_ms),
        (None, None) => "…".to_owned(),
    }
}

/// The banner shown while region `name` is cut off.
fn banner(name: &AttrValue) -> Html {
    html! {
        <div class="cutoff-banner" data-testid={format!("cutoff-{name}")}>
            <strong>{ "Cut off from broker" }</strong>
            <span>{ "publishes here fail; the log keeps what this region misses" }</span>
        </div>
    }
}

/// Region `name`'s backlog counter (`None` until known).
fn backlog(name: &AttrValue, backlog: Option<u64>) -> Html {
    let text = match backlog {
        None => "backlog: …".to_owned(),
        Some(0) => "in sync".to_owned(),
        Some(n) => format!("{n} behind"),
    };
    html! {
        <span class={classes!("backlog", (backlog.unwrap_or(0) > 0).then_some("behind"))}
            data-testid={format!("backlog-{name}")} data-count={backlog.map(|n| n.to_string()).unwrap_or_default()}
            title="Backlog: events the log has that this region has not read yet">
            { text }
        </span>
    }
}

/// The slider's value, ms, from one of its events.
fn read(e: &Event) -> u32 {
    e.target_unchecked_into::<HtmlInputElement>()
        .value()
        .parse::<u32>()
        .unwrap_or(0)
}

/// The cut-off switch of a region whose link `cut` is (or is not), `known` once read.
fn cut_off_switch(
    name: &AttrValue,
    cut: bool,
    known: bool,
    ontoggle: Callback<MouseEvent>,
) -> Html {
    html! {
        <button type="button" class={classes!("toggle", cut.then_some("on"))} disabled={!known}
            aria-pressed={cut.to_string()} data-on={cut.to_string()}
            data-testid={format!("sim-cutoff-{name}")} onclick={ontoggle}
            title={if cut { "Reconnect this region to the broker" } else { "Simulate a network partition between this region and the broker" }}>
            { if cut { "Heal link" } else { "Cut off" } }
        </button>
    }
}

/// The region's simulated distance to the broker (a latency slider), the cut-off switch, the
/// backlog counter, and a clear banner while the region is cut off.
#[component]
pub fn SimControls(props: &SimControlsProps) -> Html {
    let name = &props.name;
    let sim = &props.sim;
    let current = sim.settings.as_ref();
    // While the slider moves (and until the region answers), show where it is.
    let draft = use_state(|| None::<u32>);
    {
        let draft = draft.clone();
        use_effect_with(sim.loads, move |_| draft.set(None));
    }
    let latency = draft.unwrap_or(current.map_or(0, |s| s.latency_ms));
    let oninput = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| draft.set(Some(read(&e))))
    };
    let onslide = {
        let (draft, current) = (draft.clone(), current.cloned());
        props.onchange.reform(move |e: Event| {
            let ms = read(&e);
            draft.set(Some(ms));
            with_latency(current.as_ref(), ms)
        })
    };
    let cut = sim.cut_off();
    let ontoggle = {
        let current = current.cloned();
        props
            .onchange
            .reform(move |_: MouseEvent| with_cut_off(current.as_ref(), !cut))
    };
    let known = current.is_some();
    html! {
        <div class={classes!("sim", cut.then_some("cut"))}>
            if cut {
                { banner(name) }
            }
            <div class="sim-row">
                <label class="sim-latency" title="Simulated one-way delay between this region and the broker (jitter 10 %)">
                    <span class="muted">{ "to broker" }</span>
                    <input type="range" min="0" max={SLIDER_MAX_MS.to_string()} step="5"
                        value={latency.to_string()} disabled={!known}
                        data-testid={format!("sim-latency-{name}")} aria-label="latency to the broker, ms"
                        {oninput} onchange={onslide} />
                    <span class="sim-value" data-testid={format!("sim-value-{name}")}>
                        { shown(*draft, current) }
                    </span>
                </label>
                { cut_off_switch(name, cut, known, ontoggle) }
                { backlog(name, props.backlog) }
            </div>
            if let Some(e) = &sim.error {
                <p class="notice error" data-testid={format!("sim-error-{name}")}>{ e.clone() }</p>
            }
        </div>
    }
}
