//! `use_sim`: a region's simulated link settings, read when its pane mounts.

use crate::hooks::use_app;
use crate::sim_client;
use yew::prelude::*;

/// Read region `url`'s simulated link settings (`GET /sim`) into pane `pane` when the pane
/// mounts or its URL changes; every change made from the UI reads them again itself.
#[hook]
pub fn use_sim(pane: usize, url: AttrValue) {
    let dispatch = use_app().dispatch;
    use_effect_with((pane, url), move |(pane, url)| {
        let (pane, url) = (*pane, url.to_string());
        wasm_bindgen_futures::spawn_local(async move {
            sim_client::load(pane, &url, &dispatch).await;
        });
    });
}
