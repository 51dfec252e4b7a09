//! `use_scenario`: performs the scripted demo's steps as the reducer enters them.

use crate::platform::sleep;
use crate::scenario::{Effect, ScenarioEvent, STEPS};
use crate::sim::with_cut_off;
use crate::sim_client;
use crate::socket_registry::SocketRegistry;
use crate::state::{Action, State};
use wire::sim::LinkSettings;
use yew::prelude::*;

/// What a step needs to know of a pane when it starts.
struct PaneRef {
    index: usize,
    name: String,
    url: String,
    sim: Option<LinkSettings>,
}

/// Run the scripted demo: whenever [`State::scenario`] enters a step, perform its effect,
/// wait its dwell time, and report the step done (or failed, with why).
#[hook]
pub fn use_scenario(state: &State, sockets: SocketRegistry, dispatch: Callback<Action>) {
    let current = state
        .scenario
        .as_ref()
        .and_then(|s| s.current().map(|(n, _)| (s.run, n)));
    let panes: Vec<PaneRef> = state
        .panes
        .iter()
        .enumerate()
        .map(|(index, p)| PaneRef {
            index,
            name: p.region.name.clone(),
            url: p.region.url.clone(),
            sim: p.sim.settings.clone(),
        })
        .collect();
    use_effect_with(current, move |current| {
        if let Some((run, step)) = *current {
            wasm_bindgen_futures::spawn_local(async move {
                let s = &STEPS[step];
                let event = match perform(s.effect, &panes, &sockets, &dispatch).await {
                    Ok(()) => {
                        sleep(s.dwell_ms).await;
                        ScenarioEvent::StepDone { run, step }
                    }
                    Err(error) => ScenarioEvent::StepFailed { run, step, error },
                };
                // The reducer ignores this if the user stopped or restarted the demo meanwhile.
                dispatch.emit(Action::Scenario(event));
            });
        }
    });
}

async fn perform(
    effect: Effect,
    panes: &[PaneRef],
    sockets: &SocketRegistry,
    dispatch: &Callback<Action>,
) -> Result<(), String> {
    let find = |region: &str| {
        panes
            .iter()
            .find(|p| p.name == region)
            .ok_or_else(|| format!("this page has no {} region", region.to_uppercase()))
    };
    match effect {
        Effect::Preset(name) => {
            let regions = panes
                .iter()
                .map(|p| (p.index, p.name.clone(), p.url.clone()))
                .collect();
            sim_client::preset(name, regions, dispatch).await
        }
        Effect::Burst { region, count } => {
            let targets: Vec<&PaneRef> = match region {
                Some(r) => vec![find(r)?],
                None => panes.iter().collect(),
            };
            for p in targets {
                let up = p.name.to_uppercase();
                let socket = sockets
                    .get(p.index)
                    .ok_or_else(|| format!("{up}: no connection to publish on"))?;
                socket
                    .publish("demo", &format!("scenario burst from {up}"), count)
                    .map_err(|e| format!("{up}: {e}"))?;
            }
            Ok(())
        }
        Effect::CutOff { region, on } => {
            let p = find(region)?;
            let settings = with_cut_off(p.sim.as_ref(), on);
            sim_client::change(p.index, &p.url, settings, dispatch)
                .await
                .map_err(|e| format!("{}: {e}", region.to_uppercase()))
        }
    }
}
