//! The title bar: the network preset, the scripted demo, the broker, desktop settings.

use crate::components::PresetPicker;
use crate::format;
use crate::hooks::use_app;
use crate::scenario::{Script, SCRIPTS};
use crate::state::State;
use web_sys::HtmlSelectElement;
use wire::{BrokerKind, BrokerStatus};
use yew::prelude::*;

/// The broker kinds the panes report, sorted, each once: what [`HeaderProps::brokers`] takes.
pub fn broker_kinds(state: &State) -> Vec<BrokerKind> {
    let mut kinds: Vec<BrokerKind> = state.panes.iter().filter_map(|p| p.broker).collect();
    kinds.sort_unstable_by_key(|k| k.as_str());
    kinds.dedup();
    kinds
}

/// Props of [`Header`].
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// Broker kinds the regions report ([`broker_kinds`]).
    pub brokers: Vec<BrokerKind>,
    /// Desktop only: which broker the app chose and why.
    pub broker_status: Option<BrokerStatus>,
    /// The preset every region is on, if one.
    pub preset: Option<&'static str>,
    /// The scripted demo is running.
    pub running: bool,
    /// The region list has loaded with at least one region.
    pub has_panes: bool,
    /// The settings button was pressed.
    pub ontogglesettings: Callback<()>,
    /// A network preset was picked for every region.
    pub onpreset: Callback<String>,
    /// "Run scenario" (or "Stop", while it runs) was pressed, with this demo picked.
    pub onscenario: Callback<&'static Script>,
}

/// The demo picker and its run (or stop) button.
fn scenario_controls(
    running: bool,
    picked: &UseStateHandle<&'static Script>,
    onscenario: &Callback<&'static Script>,
) -> Html {
    let script = **picked;
    let onclick = onscenario.reform(move |_: MouseEvent| script);
    let onchange = {
        let picked = picked.clone();
        Callback::from(move |e: Event| {
            let name = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(s) = Script::named(&name) {
                picked.set(s);
            }
        })
    };
    html! {
        <span class="scenario-pick">
            <select data-testid="scenario-pick" disabled={running} {onchange} aria-label="scenario"
                title="Which scripted demo to run">
                { for SCRIPTS.iter().map(|s| html! {
                    <option value={s.name} selected={s.name == script.name}>{ s.name }</option>
                }) }
            </select>
            <button class={classes!(if running { "ghost" } else { "primary" }, "scenario-run")}
                data-testid="scenario-run" data-running={running.to_string()} {onclick}
                title={script.about}>
                { if running { "Stop scenario" } else { "▶ Run scenario" } }
            </button>
        </span>
    }
}

/// Title bar: what this is, the network preset, the scripted demo, which broker the regions
/// share, desktop settings.
#[component]
pub fn Header(props: &HeaderProps) -> Html {
    let tauri = use_app().tauri;
    let status = props.broker_status.as_ref();
    let broker = match props.brokers.as_slice() {
        [] => html! { <span class="broker-label unknown">{ "broker: …" }</span> },
        [one] => html! {
            <span class={classes!("broker-label", one.as_str())} data-testid="broker-kind"
                title={status.map(|s| s.description.clone())}>
                { format::broker_label(*one, status) }
            </span>
        },
        _ => html! { <span class="broker-label mixed">{ "regions use different brokers" }</span> },
    };
    let running = props.running;
    let picked = use_state(|| SCRIPTS[0]);
    let onsettings = props.ontogglesettings.reform(|_: MouseEvent| ());
    html! {
        <header class="header">
            <div class="title">
                <h1>{ "Multi-Region Servers" }</h1>
                <span class="subtitle">{ "publish in one region, watch it arrive in all" }</span>
            </div>
            <div class="header-right">
                if props.has_panes {
                    <PresetPicker current={props.preset} onpick={props.onpreset.clone()} />
                    { scenario_controls(running, &picked, &props.onscenario) }
                }
                { broker }
                if tauri {
                    <button class="ghost" data-testid="settings-toggle" onclick={onsettings}>{ "Settings" }</button>
                }
            </div>
        </header>
    }
}
