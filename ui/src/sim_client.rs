//! The requests behind the link controls: `GET /sim` and `PUT /sim` on a region's own URL,
//! each outcome reported to the pane (errors included: they are shown, never dropped).

use crate::platform::{get_json, put_json};
use crate::sim::SimEvent;
use crate::state::Action;
use wire::sim::LinkSettings;
use yew::Callback;

/// Read region `url`'s link settings into pane `pane`.
pub async fn load(pane: usize, url: &str, dispatch: &Callback<Action>) {
    let settings = get_json::<LinkSettings>(&format!("{url}/sim")).await;
    dispatch.emit(Action::Sim(pane, SimEvent::Loaded(settings)));
}

/// Set region `url`'s link to `settings`, then read back what it holds now (also after a
/// refusal, so the pane shows the truth). Returns the refusal, if any.
pub async fn change(
    pane: usize,
    url: &str,
    settings: LinkSettings,
    dispatch: &Callback<Action>,
) -> Result<(), String> {
    dispatch.emit(Action::Sim(pane, SimEvent::Sending));
    let put = put_json::<_, LinkSettings>(&format!("{url}/sim"), &settings)
        .await
        .map(drop);
    dispatch.emit(Action::Sim(pane, SimEvent::Applied(put.clone())));
    load(pane, url, dispatch).await;
    put
}

/// Put every `(pane, region name, url)` on preset `name`, one after the other (each is a
/// local HTTP call: not worth running in parallel). Every region is tried; the first refusal
/// is returned, naming its region.
pub async fn preset(
    name: &str,
    regions: Vec<(usize, String, String)>,
    dispatch: &Callback<Action>,
) -> Result<(), String> {
    let mut first_error = None;
    for (pane, region, url) in regions {
        let result = match wire::sim::presets::settings(name, &region) {
            Some(settings) => change(pane, &url, settings, dispatch).await,
            None => Err(format!("unknown preset {name:?}")),
        };
        if let Err(e) = result {
            first_error.get_or_insert(format!("{}: {e}", region.to_uppercase()));
        }
    }
    first_error.map_or(Ok(()), Err)
}
