//! The root component: loads the region list, holds the state, lays out the page.

use crate::components::{Header, LatencySummary, RegionPane, ScenarioBar, SettingsPanel, Timeline};
use crate::hooks::{use_broker_status, use_now, use_regions, use_scenario};
use crate::inbox::Inbox;
use crate::platform::in_tauri;
use crate::scenario::ScenarioEvent;
use crate::sim_client;
use crate::sockets::Sockets;
use crate::state::{Action, State};
use yew::prelude::*;

/// Equal when the revision is: props holding the state re-render exactly when it changed.
impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        self.rev == other.rev
    }
}

/// The whole page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(State::default);
    let dispatch: Callback<Action> = state.dispatcher().into();
    use_regions(dispatch.clone());
    let inbox = use_memo((), |_| Inbox::new(dispatch.clone()));
    let sockets = use_memo((), |_| Sockets::default());
    let now = use_now(1_000);
    let settings_open = use_state(|| false);
    let tauri = use_memo((), |_| in_tauri());
    use_broker_status(*tauri, state.epoch.clone(), dispatch.clone());
    use_scenario(state.clone(), (*sockets).clone());

    let ontogglesettings = {
        let open = settings_open.clone();
        Callback::from(move |_| open.set(!*open))
    };
    let onpreset = {
        let (dispatch, state) = (dispatch.clone(), state.clone());
        Callback::from(move |name: String| {
            let regions = state
                .panes
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.region.name.clone(), p.region.url.clone()))
                .collect();
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Each region's outcome, a refusal included, shows in its pane.
                let _ = sim_client::preset(&name, regions, &dispatch).await;
            });
        })
    };
    let onscenario = {
        let (dispatch, state) = (dispatch.clone(), state.clone());
        Callback::from(move |()| {
            let running = state
                .scenario
                .as_ref()
                .is_some_and(|s| s.current().is_some());
            let event = if running {
                ScenarioEvent::Stop
            } else {
                ScenarioEvent::Start
            };
            dispatch.emit(Action::Scenario(event));
        })
    };
    // One callback for good: a new one per render would re-render the settings panel with
    // every state change.
    let onstatus = (*use_memo((), |_| dispatch.reform(Action::BrokerStatus))).clone();
    let body = match &state.regions {
        None => html! { <p class="placeholder">{ "Loading the region list…" }</p> },
        Some(Err(e)) => html! {
            <div class="placeholder error">
                <strong>{ "Could not load the region list. " }</strong>{ e.clone() }
            </div>
        },
        Some(Ok(())) => html! {
            <>
                <ScenarioBar scenario={state.scenario.clone()} />
                <section class="panes" style={format!("--panes: {}", state.panes.len().max(1))}>
                    { for (0..state.panes.len()).map(|i| html! {
                        <RegionPane key={state.panes[i].region.name.clone()} index={i}
                            state={state.clone()} now={now} inbox={(*inbox).clone()}
                            sockets={(*sockets).clone()} />
                    }) }
                </section>
                <LatencySummary state={state.clone()} />
                <Timeline state={state.clone()} />
            </>
        },
    };
    html! {
        <div class="app">
            <Header state={state.clone()} tauri={*tauri} {ontogglesettings} {onpreset} {onscenario} />
            if *tauri && *settings_open {
                <SettingsPanel {onstatus} />
            }
            { body }
        </div>
    }
}
