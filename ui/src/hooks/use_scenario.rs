//! `use_scenario`: performs the scripted demo's steps as the reducer enters them.

use crate::channels::{FollowError, Follows};
use crate::error::HttpError;
use crate::platform::sleep;
use crate::scenario::{Effect, ScenarioEvent, Step};
use crate::sim::with_cut_off;
use crate::sim_client::{self, PresetError};
use crate::socket::{Draft, OutboxFull};
use crate::socket_registry::SocketRegistry;
use crate::state::{guest_name, Action, State};
use wire::sim::LinkSettings;
use yew::prelude::*;

/// How long a step that follows channels waits for every socket to confirm them, ms.
const SUBSCRIBE_WAIT_MS: u32 = 10_000;

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
        .and_then(|s| s.current().map(|(n, step)| (s.run, n, step)));
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
        if let Some((run, step, s)) = *current {
            wasm_bindgen_futures::spawn_local(async move {
                let s: &Step = s;
                let event = match perform(s.effect, &panes, &sockets, &dispatch).await {
                    Ok(()) => {
                        sleep(s.dwell_ms).await;
                        ScenarioEvent::StepDone { run, step }
                    }
                    Err(e) => ScenarioEvent::StepFailed {
                        run,
                        step,
                        error: e.to_string(),
                    },
                };
                // The reducer ignores this if the user stopped or restarted the demo meanwhile.
                dispatch.emit(Action::Scenario(event));
            });
        }
    });
}

/// Why a step could not be performed; what the scenario bar shows.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// The step names a region this page has no pane for.
    #[error("this page has no {} region", .0.to_uppercase())]
    NoRegion(&'static str),
    /// A region refused its preset.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// The region's pane has no socket to publish on.
    #[error("{0}: no connection to publish on")]
    NotConnected(String),
    /// The region's outbox refused the burst.
    #[error("{region}: {why}")]
    Publish {
        /// The region, upper-case.
        region: String,
        /// Why.
        why: OutboxFull,
    },
    /// The region's link could not be changed.
    #[error("{}: {why}", region.to_uppercase())]
    Sim {
        /// The region.
        region: &'static str,
        /// Why.
        why: HttpError,
    },
    /// The step names channels a pane cannot follow.
    #[error("{}: {why}", region.to_uppercase())]
    Follow {
        /// The region.
        region: &'static str,
        /// Why.
        why: FollowError,
    },
    /// A region did not confirm its client's new name in time.
    #[error("{}: not connected as {name} after {} s", region.to_uppercase(), SUBSCRIBE_WAIT_MS / 1000)]
    NotNamed {
        /// The region.
        region: &'static str,
        /// The name.
        name: String,
    },
    /// A region did not confirm its channels in time.
    #[error("{}: not subscribed to {} after {} s", region.to_uppercase(), channels.join(", "), SUBSCRIBE_WAIT_MS / 1000)]
    NotSubscribed {
        /// The region.
        region: &'static str,
        /// The channels it was to follow.
        channels: &'static [&'static str],
    },
}

async fn perform(
    effect: Effect,
    panes: &[PaneRef],
    sockets: &SocketRegistry,
    dispatch: &Callback<Action>,
) -> Result<(), StepError> {
    let find = |region: &'static str| {
        panes
            .iter()
            .find(|p| p.name == region)
            .ok_or(StepError::NoRegion(region))
    };
    match effect {
        Effect::Preset(name) => {
            let regions = panes
                .iter()
                .map(|p| (p.index, p.name.clone(), p.url.clone()))
                .collect();
            Ok(sim_client::preset(name, regions, dispatch).await?)
        }
        Effect::Burst { region, count } => {
            let targets: Vec<&PaneRef> = match region {
                Some(r) => vec![find(r)?],
                None => panes.iter().collect(),
            };
            for p in targets {
                let text = format!("scenario burst from {}", p.name.to_uppercase());
                publish(p, sockets, &Draft::new("demo", text, count))?;
            }
            Ok(())
        }
        Effect::Post(posts) => {
            for &(region, channel, count) in posts {
                let p = find(region)?;
                // The row says its channel; the text says who spoke.
                let text = format!("{} says hi", p.name.to_uppercase());
                let draft = Draft::new("chat", text, count).on(channel.into());
                publish(p, sockets, &draft)?;
            }
            Ok(())
        }
        Effect::Follow(members) => {
            for &(region, channels) in members {
                let p = find(region)?;
                let follows = Follows::of(channels.iter().copied())
                    .map_err(|why| StepError::Follow { region, why })?;
                dispatch.emit(Action::Follow(p.index, follows));
            }
            for &(region, channels) in members {
                confirmed(find(region)?, region, channels, sockets).await?;
            }
            Ok(())
        }
        Effect::LogIn(names) => {
            let names: Vec<(&PaneRef, &'static str, String)> = (names.iter())
                .map(|&(region, name)| {
                    let p = find(region)?;
                    let name = name.map_or_else(|| guest_name(&p.name).to_string(), String::from);
                    Ok((p, region, name))
                })
                .collect::<Result<_, StepError>>()?;
            for (p, _, name) in &names {
                dispatch.emit(Action::Name(p.index, name.clone()));
            }
            for (p, region, name) in names {
                named(p, region, name, sockets).await?;
            }
            Ok(())
        }
        Effect::Fire { region, text } => {
            let p = find(region)?;
            publish(p, sockets, &Draft::new("event", text.to_owned(), 1))
        }
        Effect::CutOff { region, on } => {
            let p = find(region)?;
            let settings = with_cut_off(p.sim.as_ref(), on);
            sim_client::change(p.index, &p.url, settings, dispatch)
                .await
                .map_err(|why| StepError::Sim { region, why })
        }
    }
}

/// Queue `draft` on pane `p`'s socket.
fn publish(p: &PaneRef, sockets: &SocketRegistry, draft: &Draft) -> Result<(), StepError> {
    let up = p.name.to_uppercase();
    let socket = (sockets.get(p.index)).ok_or_else(|| StepError::NotConnected(up.clone()))?;
    socket
        .publish(draft)
        .map(|_| ())
        .map_err(|why| StepError::Publish { region: up, why })
}

/// Wait until pane `p`'s socket is confirmed on every one of `channels` (the state's change
/// reaches the socket in the pane's next render, its `subscribed` frames a round trip later):
/// a post into a room before that would not reach the pane.
async fn confirmed(
    p: &PaneRef,
    region: &'static str,
    channels: &'static [&'static str],
    sockets: &SocketRegistry,
) -> Result<(), StepError> {
    for _ in 0..SUBSCRIBE_WAIT_MS / 100 {
        if sockets
            .get(p.index)
            .is_some_and(|s| s.follows_all(channels))
        {
            return Ok(());
        }
        sleep(100).await;
    }
    Err(StepError::NotSubscribed { region, channels })
}

/// Wait until pane `p`'s socket is connected under `name` (the state's change reaches the
/// socket in the pane's next render, its new connection's welcome a round trip later).
async fn named(
    p: &PaneRef,
    region: &'static str,
    name: String,
    sockets: &SocketRegistry,
) -> Result<(), StepError> {
    for _ in 0..SUBSCRIBE_WAIT_MS / 100 {
        if sockets.get(p.index).is_some_and(|s| s.named(&name)) {
            return Ok(());
        }
        sleep(100).await;
    }
    Err(StepError::NotNamed { region, name })
}
