//! `use_regions`: the region list, loaded once.

use crate::platform;
use crate::state::Action;
use yew::prelude::*;

/// Load the region list once (the desktop app's `regions` command, else `GET /regions`).
///
/// After a broker switch in the desktop app the regions restart on the same URLs, so the
/// list is not reloaded: the sockets reconnect and the epoch change resets the state.
#[hook]
pub fn use_regions(dispatch: Callback<Action>) {
    use_effect_with((), move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            dispatch.emit(Action::Regions(platform::regions().await));
        });
    });
}
