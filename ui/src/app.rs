//! The root component: loads the region list, holds the state, lays out the page.

use crate::components::{Header, LatencySummary, RegionPane, SettingsPanel, Timeline};
use crate::hooks::{use_now, use_regions};
use crate::inbox::Inbox;
use crate::platform::in_tauri;
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
    let now = use_now(1_000);
    let settings_open = use_state(|| false);
    let tauri = use_memo((), |_| in_tauri());

    let ontogglesettings = {
        let open = settings_open.clone();
        Callback::from(move |_| open.set(!*open))
    };
    let body = match &state.regions {
        None => html! { <p class="placeholder">{ "Loading the region list…" }</p> },
        Some(Err(e)) => html! {
            <div class="placeholder error">
                <strong>{ "Could not load the region list. " }</strong>{ e.clone() }
            </div>
        },
        Some(Ok(())) => html! {
            <>
                <section class="panes" style={format!("--panes: {}", state.panes.len().max(1))}>
                    { for (0..state.panes.len()).map(|i| html! {
                        <RegionPane key={state.panes[i].region.name.clone()} index={i}
                            state={state.clone()} now={now} inbox={(*inbox).clone()} />
                    }) }
                </section>
                <LatencySummary state={state.clone()} />
                <Timeline state={state.clone()} />
            </>
        },
    };
    html! {
        <div class="app">
            <Header state={state.clone()} tauri={*tauri} ontogglesettings={ontogglesettings} />
            if *tauri && *settings_open {
                <SettingsPanel />
            }
            { body }
        </div>
    }
}
