use crate::format;
use crate::platform::invoke;
use serde::Deserialize;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Answer of the desktop app's `broker_status` and `set_redis_url` commands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BrokerStatus {
    /// `"redis"` or `"embedded"`.
    pub kind: String,
    /// In words, e.g. `redis at redis://127.0.0.1:6379`.
    pub description: String,
    /// The Redis URL in use, if any.
    pub url: Option<String>,
}

/// Desktop only: the broker in use, and switching the Redis URL (empty = automatic choice).
/// A refused switch leaves the app on its old broker and shows why.
#[component]
pub fn SettingsPanel() -> Html {
    let status = use_state(|| None::<Result<BrokerStatus, String>>);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let input = use_node_ref();
    {
        let status = status.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                status.set(Some(invoke::<BrokerStatus>("broker_status", None).await));
            });
        });
    }
    let onsubmit = {
        let (status, busy, error, input) =
            (status.clone(), busy.clone(), error.clone(), input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let url = input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            let (status, busy, error) = (status.clone(), busy.clone(), error.clone());
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let args = serde_json::json!({ "url": url.trim() });
                match invoke::<BrokerStatus>("set_redis_url", Some(args)).await {
                    Ok(s) => status.set(Some(Ok(s))),
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
                <span class={classes!("broker-chip", s.kind.clone())} data-testid="settings-broker">{ format::broker(&s.kind) }</span>
                <span class="muted">{ format!(" {}", s.description) }</span>
            </p>
        },
    };
    let value = match &*status {
        Some(Ok(s)) => s.url.clone().unwrap_or_default(),
        _ => String::new(),
    };
    html! {
        <section class="settings" data-testid="settings">
            <h2>{ "Broker" }</h2>
            { current }
            <form {onsubmit}>
                <label>{ "Redis URL" }
                    <input ref={input} data-testid="redis-url" value={value} placeholder="redis://127.0.0.1:6379 (empty: automatic)" />
                </label>
                <button type="submit" class="primary" disabled={*busy}>
                    { if *busy { "Switching…" } else { "Switch" } }
                </button>
            </form>
            <p class="muted small">{ "Empty: use Redis at 127.0.0.1:6379 if it answers, else the embedded broker. Regions restart on the same URLs; panes reconnect by themselves." }</p>
            if let Some(e) = &*error {
                <p class="notice error" data-testid="settings-error">{ format!("Not switched (still on the previous broker): {e}") }</p>
            }
        </section>
    }
}
