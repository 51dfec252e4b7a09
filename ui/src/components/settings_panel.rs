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

/// The panel's state, shared by its first question and its form.
#[derive(Clone)]
struct Panel {
    /// What the app answered goes to the shared state too.
    onstatus: Callback<BrokerStatus>,
    /// The app's last answer about its broker (`None` while asking).
    status: UseStateHandle<Option<Result<BrokerStatus, ShellError>>>,
    /// A switch is on its way.
    busy: UseStateHandle<bool>,
    /// Why the last switch was refused.
    error: UseStateHandle<Option<ShellError>>,
}

impl Panel {
    /// Ask the app which broker it uses.
    fn ask(self) {
        wasm_bindgen_futures::spawn_local(async move {
            let answer = invoke::<BrokerStatus>("broker_status", None).await;
            if let Ok(s) = &answer {
                self.onstatus.emit(s.clone());
            }
            self.status.set(Some(answer));
        });
    }

    /// Switch the app to the Redis at `url` (empty: the automatic choice); a refusal leaves
    /// it where it was and is shown.
    fn switch(self, url: String) {
        self.busy.set(true);
        self.error.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            let args = serde_json::json!({ "url": url.trim() });
            match invoke::<BrokerStatus>("set_redis_url", Some(args)).await {
                Ok(s) => {
                    self.onstatus.emit(s.clone());
                    self.status.set(Some(Ok(s)));
                }
                Err(e) => self.error.set(Some(e)),
            }
            self.busy.set(false);
        });
    }
}

/// The broker in use, as the app last said (or why it could not).
fn current(status: Option<&Result<BrokerStatus, ShellError>>) -> Html {
    match status {
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
    }
}

/// The Redis URL field and its button (disabled while a switch is `busy`), with how the
/// automatic choice goes.
fn switch_form(input: NodeRef, busy: bool, onsubmit: Callback<SubmitEvent>) -> Html {
    html! {
        <>
            <form {onsubmit}>
                <label>{ "Redis URL" }
                    <input ref={input} data-testid="redis-url" placeholder="redis://127.0.0.1:6379 (empty: automatic)" />
                </label>
                <button type="submit" class="primary" disabled={busy}>
                    { if busy { "Switching…" } else { "Switch" } }
                </button>
            </form>
            <p class="muted small" data-testid="settings-help">{
                "Empty: automatic choice, in this order: REDIS_URL if set; else Redis at 127.0.0.1:6379 if it answers; \
                 else a private redis-server the app starts (if redis-server is installed); else the embedded broker. \
                 Regions restart on the same URLs; panes reconnect by themselves."
            }</p>
        </>
    }
}

/// Desktop only: the broker in use, and switching the Redis URL (empty = automatic choice).
/// A refused switch leaves the app on its old broker and shows why. Below, each region's
/// connections, events/s and broker lag p99 ([`RegionMetrics`]).
#[component]
pub fn SettingsPanel(props: &SettingsPanelProps) -> Html {
    let panel = Panel {
        onstatus: use_app().dispatch.reform(Action::BrokerStatus),
        status: use_state(|| None),
        busy: use_state(|| false),
        error: use_state(|| None),
    };
    let input = use_node_ref();
    {
        let panel = panel.clone();
        use_effect_with((), move |_| panel.ask());
    }
    let onsubmit = {
        let (panel, input) = (panel.clone(), input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let url = input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            panel.clone().switch(url);
        })
    };
    let value = match &*panel.status {
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
    let (busy, error) = (*panel.busy, &*panel.error);
    html! {
        <section class="settings" data-testid="settings">
            <h2>{ "Broker" }</h2>
            { current(panel.status.as_ref()) }
            { switch_form(input.clone(), busy, onsubmit) }
            if let Some(e) = error {
                <p class="notice error" data-testid="settings-error">{ format!("Not switched (still on the previous broker): {e}") }</p>
            }
            <h2>{ "Regions" }</h2>
            <RegionMetrics regions={props.regions.clone()} />
        </section>
    }
}
