//! One region's pane: its socket, health, link controls, channels, publish form and events.

use crate::channels::{Channel, Follows};
use crate::components::{ChannelBar, EventList, NameForm, Notices, OnlineList, PaneStatus};
use crate::components::{PublishForm, SimControls};
use crate::format;
use crate::hooks::{use_app, use_health, use_region_socket, use_sim};
use crate::log::Log;
use crate::sim_client;
use crate::socket::Draft;
use crate::state::{guest_name, Action, Level, Link, Pane};
use wire::sim::LinkSettings;
use wire::{BrokerStatus, Micros};
use yew::prelude::*;

/// Props of [`RegionPane`].
#[derive(Properties, PartialEq)]
pub struct RegionPaneProps {
    /// Which pane of the state's panes.
    pub index: usize,
    /// What the state holds of this pane.
    pub pane: Pane,
    /// Events the log has that this region has not read (`State::backlog`).
    pub backlog: Option<u64>,
    /// Desktop only: which broker the app chose, for the broker chip.
    pub broker_status: Option<BrokerStatus>,
    /// Every event seen (the pane lists its own).
    pub log: Log,
    /// The browser's clock, for ages.
    pub now: Micros,
}

/// One region: its connection, its client (its name) and who is online with it, the channels
/// it follows, a form to publish there, what it received. Owns that region's socket and health poll.
#[component]
pub fn RegionPane(props: &RegionPaneProps) -> Html {
    let dispatch = use_app().dispatch;
    let pane = &props.pane;
    let name = AttrValue::from(pane.region.name.clone());
    let url = AttrValue::from(pane.region.url.clone());
    let member_name = AttrValue::from(pane.name.to_string());
    let socket = use_region_socket(
        props.index,
        name.clone(),
        url.clone(),
        pane.follows.clone(),
        member_name.clone(),
    );
    let connected = pane.link == Link::Connected;
    use_health(props.index, url.clone(), connected);
    use_sim(props.index, url.clone());

    let index = props.index;
    let onpublish = {
        let dispatch = dispatch.clone();
        Callback::from(move |draft: Draft| {
            let Some(socket) = &socket else { return };
            if let Err(e) = socket.publish(&draft) {
                dispatch.emit(Action::Notify(index, Level::Error, e.to_string()));
            }
        })
    };
    let ondismiss = dispatch.reform(move |id| Action::Dismiss(index, id));
    let onfollow = dispatch.reform(move |f: Follows| Action::Follow(index, f));
    let onname = dispatch.reform(move |n: String| Action::Name(index, n));
    let confirmed = (pane.me.as_ref()).map(|m| AttrValue::from(m.name.clone()));
    let guest = AttrValue::from(guest_name(&pane.region.name).to_string());
    let live: Vec<Channel> = pane.feeds.keys().cloned().collect();
    let onsim = {
        let (dispatch, url) = (dispatch.clone(), url.to_string());
        Callback::from(move |settings: LinkSettings| {
            let (dispatch, url) = (dispatch.clone(), url.clone());
            wasm_bindgen_futures::spawn_local(async move {
                // The outcome, a refusal included, is shown by the pane's link controls.
                let _ = sim_client::change(index, &url, settings, &dispatch).await;
            });
        })
    };
    let status = props.broker_status.as_ref();
    let broker_label = match pane.broker {
        Some(kind) => format::broker_label(kind, status),
        None => "broker: …",
    };
    let broker_title = status.map(|s| AttrValue::from(s.description.clone()));
    let cut = pane.sim.cut_off();
    html! {
        <article class={classes!("pane", format!("region-{name}"), cut.then_some("cut"))}
            data-testid={format!("pane-{name}")} data-cut-off={cut.to_string()}>
            <header class="pane-head">
                <span class="region-badge big">{ name.to_uppercase() }</span>
                <a class="pane-url" href={url.clone()} target="_blank">{ url.trim_start_matches("http://").to_owned() }</a>
            </header>
            <PaneStatus name={name.clone()} link={pane.link.clone()} broker={pane.broker}
                {broker_label} {broker_title} health={pane.health.clone()} duplicates={pane.duplicates} cut_off={cut} />
            <SimControls name={name.clone()} sim={pane.sim.clone()} backlog={props.backlog}
                onchange={onsim} />
            <Notices notices={pane.notices.clone()} {ondismiss} />
            <NameForm region={name.clone()} name={member_name} {confirmed} {guest} {onname} />
            <OnlineList region={name.clone()} follows={pane.follows.clone()} presence={pane.presence.clone()}
                me={pane.me.clone()} />
            <ChannelBar region={name.clone()} follows={pane.follows.clone()} {live} {onfollow} />
            <PublishForm region={name.clone()} follows={pane.follows.clone()} {onpublish} sent={pane.sent}
                acked={pane.acked} outbox={pane.publishes.clone()} />
            <EventList index={props.index} region={name.clone()} feeds={pane.feeds.clone()}
                show_channel={!pane.follows.is_global_only()} log={props.log.clone()} now={props.now} />
        </article>
    }
}
