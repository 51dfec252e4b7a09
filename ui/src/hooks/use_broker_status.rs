//! `use_broker_status`: the desktop app's account of its broker, kept current.

use crate::platform::invoke;
use crate::state::Action;
use wire::BrokerStatus;
use yew::prelude::*;

/// Desktop only: ask the app which broker it chose (`broker_status`), on load and whenever
/// the log's epoch changes (a broker switch lands on another log). A failure is left to the
/// settings panel, which asks too and shows it; the labels then stay generic.
#[hook]
pub fn use_broker_status(tauri: bool, epoch: Option<String>, dispatch: Callback<Action>) {
    use_effect_with((tauri, epoch), move |(tauri, _)| {
        if *tauri {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(s) = invoke::<BrokerStatus>("broker_status", None).await {
                    dispatch.emit(Action::BrokerStatus(s));
                }
            });
        }
    });
}
