//! The requests behind the link controls: `GET /sim` and `PUT /sim` on a region's own URL,
//! each outcome reported to the pane (errors included: they are shown, never dropped).

use crate::error::HttpError;
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

/// Why a region was not put on a preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetFailure {
    /// No preset has this name.
    #[error("unknown preset {0:?}")]
    Unknown(String),
    /// The region refused the change, or could not be asked.
    #[error(transparent)]
    Change(#[from] HttpError),
}

/// The first region a preset could not be applied to, and why (`US: invalid_sim: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {why}", region.to_uppercase())]
pub struct PresetError {
    /// The region's name.
    pub region: String,
    /// Why.
    pub why: PresetFailure,
}

/// Set region `url`'s link to `settings`, then read back what it holds now (also after a
/// refusal, so the pane shows the truth). Returns the refusal, if any.
pub async fn change(
    pane: usize,
    url: &str,
    settings: LinkSettings,
    dispatch: &Callback<Action>,
) -> Result<(), HttpError> {
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
) -> Result<(), PresetError> {
    let mut first_error = None;
    for (pane, region, url) in regions {
        let result = match wire::sim::presets::settings(name, &region) {
            Some(settings) => change(pane, &url, settings, dispatch)
                .await
                .map_err(PresetFailure::from),
            None => Err(PresetFailure::Unknown(name.to_owned())),
        };
        if let Err(why) = result {
            first_error.get_or_insert(PresetError { region, why });
        }
    }
    first_error.map_or(Ok(()), Err)
}
