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
}

/// Title bar: what this is, which broker the regions share, desktop settings.
#[component]
pub fn Header(props: &HeaderProps) -> Html {
    let mut kinds: Vec<&str> = props
        .state
        .panes
        .iter()
        .filter_map(|p| p.broker.as_deref())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let broker = match kinds.as_slice() {
        [] => html! { <span class="broker-label unknown">{ "broker: …" }</span> },
        [one] => html! {
            <span class={classes!("broker-label", one.to_string())} data-testid="broker-kind">
                { format::broker(one) }
            </span>
        },
        _ => html! { <span class="broker-label mixed">{ "regions use different brokers" }</span> },
    };
    let onclick = props.ontogglesettings.reform(|_: MouseEvent| ());
    html! {
        <header class="header">
            <div class="title">
                <h1>{ "Multi-Region Servers" }</h1>
                <span class="subtitle">{ "publish in one region, watch it arrive in all" }</span>
            </div>
            <div class="header-right">
                { broker }
                if props.tauri {
                    <button class="ghost" data-testid="settings-toggle" {onclick}>{ "Settings" }</button>
                }
            </div>
        </header>
    }
}
