use crate::components::PresetPicker;
use crate::format;
use crate::state::State;
use yew::prelude::*;

/// Props of [`Header`].
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// The UI state.
    pub state: UseReducerHandle<State>,
    /// Running inside the desktop app (shows the settings button).
    pub tauri: bool,
    /// The settings button was pressed.
    pub ontogglesettings: Callback<()>,
    /// A network preset was picked for every region.
    pub onpreset: Callback<String>,
    /// "Run scenario" (or "Stop", while it runs) was pressed.
    pub onscenario: Callback<()>,
}

/// Title bar: what this is, the network preset, the scripted demo, which broker the regions
/// share, desktop settings.
#[component]
pub fn Header(props: &HeaderProps) -> Html {
    let state = &props.state;
    let mut kinds: Vec<&str> = state
        .panes
        .iter()
        .filter_map(|p| p.broker.as_deref())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let status = state.broker_status.as_ref();
    let broker = match kinds.as_slice() {
        [] => html! { <span class="broker-label unknown">{ "broker: …" }</span> },
        [one] => html! {
            <span class={classes!("broker-label", one.to_string())} data-testid="broker-kind"
                title={status.map(|s| s.description.clone())}>
                { format::broker_label(one, status) }
            </span>
        },
        _ => html! { <span class="broker-label mixed">{ "regions use different brokers" }</span> },
    };
    let running = state
        .scenario
        .as_ref()
        .is_some_and(|s| s.current().is_some());
    let onsettings = props.ontogglesettings.reform(|_: MouseEvent| ());
    let onscenario = props.onscenario.reform(|_: MouseEvent| ());
    html! {
        <header class="header">
            <div class="title">
                <h1>{ "Multi-Region Servers" }</h1>
                <span class="subtitle">{ "publish in one region, watch it arrive in all" }</span>
            </div>
            <div class="header-right">
                if !state.panes.is_empty() {
                    <PresetPicker state={state.clone()} onpick={props.onpreset.clone()} />
                    <button class={classes!(if running { "ghost" } else { "primary" }, "scenario-run")}
                        data-testid="scenario-run" data-running={running.to_string()} onclick={onscenario}
                        title="A 30-second scripted demo: distance, a partition, and its healing">
                        { if running { "Stop scenario" } else { "▶ Run scenario" } }
                    </button>
                }
                { broker }
                if props.tauri {
                    <button class="ghost" data-testid="settings-toggle" onclick={onsettings}>{ "Settings" }</button>
                }
            </div>
        </header>
    }
}
