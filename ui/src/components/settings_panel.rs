//! Desktop settings: the broker in use and switching its Redis URL, and each region's live
//! figures.

use crate::components::RegionMetrics;
use crate::error::ShellError;
use crate::format;
use crate::hooks::use_app;
use crate::platform::invoke;
use crate::state::Action;
use web_sys::HtmlInputElement;
use wire::BrokerStatus;
use yew::prelude::*;

/// Props of [`SettingsPanel`].
#[derive(Properties, PartialEq)]
pub struct SettingsPanelProps {
    /// The regions whose figures are shown.
    pub regions: Vec<wire::RegionInfo>,
}

/// Desktop only: the broker in use, and switching the Redis URL (empty = automatic choice).
/// A refused switch leaves the app on its old broker and shows why. Below, each region's
/// connections, events/s and broker lag p99 ([`RegionMetrics`]).
#[component]
pub fn SettingsPanel(props: &SettingsPanelProps) -> Html {
    // What the app answered (on open and after a switch) goes to the shared state too.
    let onstatus = use_app().dispatch.reform(Action::BrokerStatus);
    let status = use_state(|| None::<Result<BrokerStatus, ShellError>>);
    let busy = use_state(|| false);
    let error = use_state(|| None::<ShellError>);
    let input = use_node_ref();
    {
        let (status, onstatus) = (status.clone(), onstatus.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let answer = invoke::<BrokerStatus>("broker_status", None).await;
                if let Ok(s) = &answer {
                    onstatus.emit(s.clone());
                }
                status.set(Some(answer));
            });
        });
    }
    let onsubmit = {
        let (status, busy, error, input, onstatus) = (
            status.clone(),
            busy.clone(),
            error.clone(),
            input.clone(),
            onstatus.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let url = input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            let (status, busy, error, onstatus) = (
                status.clone(),
                busy.clone(),
                error.clone(),
                onstatus.clone(),
            );
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let args = serde_json::json!({ "url": url.trim() });
                match invoke::<BrokerStatus>("set_redis_url", Some(args)).await {
                    Ok(s) => {
                        onstatus.emit(s.clone());
                        status.set(Some(Ok(s)));
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    let current = match &*status {
        None => html! { <p class="muted">{ "Asking the app…" }</p> },
        Some(Err(e)) => {
            html! { <p class="notice error">{ format!("Could not read the broker status: {e}") }</p> }
        }
        Some(Ok(s)) => html! {
            <p>
                <span class={classes!("broker-chip", s.kind.as_str())} data-testid="settings-broker">{ format::broker_label(s.kind, Some(s)) }</span>
                <span class="muted">{ format!(" {}", s.description) }</span>
            </p>
        },
    };
    let value = match &*status {
        Some(Ok(s)) => s.url.clone().unwrap_or_default(),
        _ => String::new(),
    };
    {
        // Set only when the broker's URL changes: as an attribute, Yew would write it back
        // on every render and wipe what the user is typing.
        let input = input.clone();
        use_effect_with(value, move |v| {
            if let Some(i) = input.cast::<HtmlInputElement>() {
                i.set_value(v);
            }
        });
    }
    html! {
        <section class="settings" data-testid="settings">
            <h2>{ "Broker" }</h2>
            { current }
            <form {onsubmit}>
                <label>{ "Redis URL" }
                    <input ref={input} data-testid="redis-url" placeholder="redis://127.0.0.1:6379 (empty: automatic)" />
                </label>
                <button type="submit" class="primary" disabled={*busy}>
                    { if *busy { "Switching…" } else { "Switch" } }
                </button>
            </form>
            <p class="muted small" data-testid="settings-help">{
                "Empty: automatic choice, in this order: REDIS_URL if set; else Redis at 127.0.0.1:6379 if it answers; \
                 else a private redis-server the app starts (if redis-server is installed); else the embedded broker. \
                 Regions restart on the same URLs; panes reconnect by themselves."
            }</p>
            if let Some(e) = &*error {
                <p class="notice error" data-testid="settings-error">{ format!("Not switched (still on the previous broker): {e}") }</p>
            }
            <h2>{ "Regions" }</h2>
            <RegionMetrics regions={props.regions.clone()} />
        </section>
    }
}
