use crate::sim_client;
use crate::state::Action;
use yew::prelude::*;

/// Read region `url`'s simulated link settings (`GET /sim`) into pane `pane` when the pane
/// mounts or its URL changes; every change made from the UI reads them again itself.
#[hook]
pub fn use_sim(pane: usize, url: AttrValue, dispatch: Callback<Action>) {
    use_effect_with((pane, url), move |(pane, url)| {
        let (pane, url) = (*pane, url.to_string());
        wasm_bindgen_futures::spawn_local(async move {
            sim_client::load(pane, &url, &dispatch).await;
        });
    });
}
