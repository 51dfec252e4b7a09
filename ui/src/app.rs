//! The root component: loads the region list, holds the state, provides the app's context,
//! and hands each component the part of the state it shows.

use crate::components::{broker_kinds, latency_figures, timeline_regions, TimelineRegions};
use crate::components::{Header, LatencySummary, RegionPane, ScenarioBar, SettingsPanel};
use crate::components::{Timeline, TimelineFile, TokenForm};
use crate::context::AppContext;
use crate::export::Opened;
use crate::hooks::{use_broker_status, use_now, use_regions, use_scenario};
use crate::platform::in_tauri;
use crate::refusal::Refusal;
use crate::render_batcher::RenderBatcher;
use crate::scenario::ScenarioEvent;
use crate::sim_client;
use crate::socket_registry::SocketRegistry;
use crate::state::{Action, State};
use crate::token;
use wire::{Micros, RegionInfo};
use yew::prelude::*;

/// The whole page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(State::default);
    // The dispatcher is the same for the app's lifetime, so the context is made once.
    let ctx = (*use_memo((), |_| context(state.dispatcher().into()))).clone();
    let dispatch = ctx.dispatch.clone();
    use_regions(dispatch.clone());
    let now = use_now(1_000);
    let settings_open = use_state(|| false);
    use_broker_status(ctx.tauri, state.global_epoch(), dispatch.clone());
    use_scenario(&state, ctx.sockets.clone(), dispatch.clone());

    let ontogglesettings = {
        let open = settings_open.clone();
        use_callback(*settings_open, move |(), shown| open.set(!*shown))
    };
    let regions: Vec<RegionInfo> = state.panes.iter().map(|p| p.region.clone()).collect();
    let onpreset = use_callback(
        (regions, dispatch.clone()),
        |name: String, (regions, dispatch)| apply_preset(name, regions, dispatch),
    );
    let running = state
        .scenario
        .as_ref()
        .is_some_and(|s| s.current().is_some());
    let onscenario = use_callback(
        (running, dispatch.clone()),
        |script, (running, dispatch)| {
            let event = if *running {
                ScenarioEvent::Stop
            } else {
                ScenarioEvent::Start(script)
            };
            dispatch.emit(Action::Scenario(event));
        },
    );
    let refused = token_refused(&state);
    html! {
        <ContextProvider<AppContext> context={ctx.clone()}>
            <div class="app">
                <Header brokers={broker_kinds(&state)} broker_status={state.broker_status.clone()}
                    preset={state.preset()} {running} has_panes={!state.panes.is_empty()}
                    {ontogglesettings} {onpreset} {onscenario} />
                if !refused.is_empty() {
                    <TokenForm regions={refused} had_token={token::get().is_some()} />
                }
                if ctx.tauri && *settings_open {
                    <SettingsPanel regions={state.panes.iter().map(|p| p.region.clone()).collect::<Vec<_>>()} />
                }
                { body(&state, now) }
            </div>
        </ContextProvider<AppContext>>
    }
}

/// The app's context, around `dispatch` (the reducer's): made once, when the app mounts.
fn context(dispatch: Callback<Action>) -> AppContext {
    // Before any socket opens (they open in effects, after this first render).
    token::adopt_from_page();
    AppContext {
        batcher: RenderBatcher::new(dispatch.clone()),
        dispatch,
        sockets: SocketRegistry::default(),
        tauri: in_tauri(),
    }
}

/// Put every region on preset `name`, in the background.
fn apply_preset(name: String, regions: &[RegionInfo], dispatch: &Callback<Action>) {
    let regions = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (i, r.name.clone(), r.url.clone()))
        .collect();
    let dispatch = dispatch.clone();
    wasm_bindgen_futures::spawn_local(async move {
        // Each region's outcome, a refusal included, shows in its pane.
        let _ = sim_client::preset(&name, regions, &dispatch).await;
    });
}

/// The regions (upper-case) that refuse this page for want of its token: the token form asks
/// for it while there are any.
fn token_refused(state: &State) -> Vec<String> {
    (state.panes.iter())
        .filter(|p| p.refused == Some(Refusal::Token))
        .map(|p| p.region.name.to_uppercase())
        .collect()
}

/// The regions of a recording, with where their feeds started when it says.
fn recorded_regions(r: &Opened) -> TimelineRegions {
    (r.regions.iter().enumerate())
        .map(|(i, n)| {
            let starts = r.feeds.as_ref().and_then(|f| f.get(i)).cloned();
            (AttrValue::from(n.clone()), starts)
        })
        .collect()
}

/// Below the header: the region list loading, why it did not load, or the page itself.
fn body(state: &State, now: Micros) -> Html {
    match &state.regions {
        None => html! { <p class="placeholder">{ "Loading the region list…" }</p> },
        Some(Err(e)) => html! {
            <div class="placeholder error">
                <strong>{ "Could not load the region list. " }</strong>{ e.to_string() }
            </div>
        },
        Some(Ok(())) => regions_and_timeline(state, now),
    }
}

/// The scenario bar, one pane per region, the latency summary and the timeline.
fn regions_and_timeline(state: &State, now: Micros) -> Html {
    // The timeline shows an opened recording instead of the live log, while there is one.
    let (shown_log, shown_presence, shown_regions) = match &state.recording {
        Some(Ok(r)) => (r.log.clone(), r.presence.clone(), recorded_regions(r)),
        _ => (
            state.log.clone(),
            state.presence.clone(),
            timeline_regions(state),
        ),
    };
    html! {
        <>
            <ScenarioBar scenario={state.scenario.clone()} />
            <section class="panes" style={format!("--panes: {}", state.panes.len().max(1))}>
                { for (0..state.panes.len()).map(|i| html! {
                    <RegionPane key={state.panes[i].region.name.clone()} index={i}
                        pane={state.panes[i].clone()} backlog={state.backlog(i)}
                        broker_status={state.broker_status.clone()} log={state.log.clone()} {now} />
                }) }
            </section>
            <LatencySummary figures={latency_figures(state)} />
            <TimelineFile log={shown_log.clone()} presence={shown_presence.clone()} regions={shown_regions.clone()}
                recording={state.recording.clone()} />
            <Timeline log={shown_log} presence={shown_presence} regions={shown_regions} show_render={state.show_render} />
        </>
    }
}
