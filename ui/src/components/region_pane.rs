use crate::components::{EventList, Notices, PaneStatus, PublishForm, SimControls};
use crate::format;
use crate::hooks::{use_health, use_region_socket, use_sim};
use crate::inbox::Inbox;
use crate::sim_client;
use crate::sockets::Sockets;
use crate::state::{Action, Level, Link, State};
use wire::{LinkSettings, Micros};
use yew::prelude::*;

/// Props of [`RegionPane`].
#[derive(Properties, PartialEq)]
pub struct RegionPaneProps {
    /// Which pane of `state.panes`.
    pub index: usize,
    /// The UI state.
    pub state: UseReducerHandle<State>,
    /// The browser's clock, for ages.
    pub now: Micros,
    /// Where the socket drops its frames.
    pub inbox: Inbox,
    /// Where the socket is listed for the scripted demo.
    pub sockets: Sockets,
}

/// One region: its connection, its clients, a form to publish there, what it received.
/// Owns that region's socket and health poll.
#[component]
pub fn RegionPane(props: &RegionPaneProps) -> Html {
    let dispatch: Callback<Action> = props.state.dispatcher().into();
    let pane = &props.state.panes[props.index];
    let name = AttrValue::from(pane.region.name.clone());
    let url = AttrValue::from(pane.region.url.clone());
    let socket = use_region_socket(
        props.index,
        name.clone(),
        url.clone(),
        dispatch.clone(),
        props.inbox.clone(),
        props.sockets.clone(),
    );
    let connected = pane.link == Link::Connected;
    use_health(props.index, url.clone(), connected, dispatch.clone());
    use_sim(props.index, url.clone(), dispatch.clone());

    let index = props.index;
    let onpublish = {
        let dispatch = dispatch.clone();
        Callback::from(move |(kind, text, count): (String, String, u32)| {
            let Some(socket) = &socket else { return };
            if let Err(e) = socket.publish(&kind, &text, count) {
                dispatch.emit(Action::Notify(index, Level::Error, e));
            }
        })
    };
    let ondismiss = dispatch.reform(move |id| Action::Dismiss(index, id));
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
    let status = props.state.broker_status.as_ref();
    let broker_label = match pane.broker.as_deref() {
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
            <PaneStatus name={name.clone()} link={pane.link.clone()} broker={pane.broker.clone()}
                {broker_label} {broker_title} health={pane.health.clone()} duplicates={pane.duplicates} cut_off={cut} />
            <SimControls name={name.clone()} sim={pane.sim.clone()} backlog={props.state.backlog(index)}
                onchange={onsim} />
            <Notices notices={pane.notices.clone()} {ondismiss} />
            <PublishForm region={name.clone()} {onpublish} sent={pane.sent} acked={pane.acked} />
            <EventList index={props.index} state={props.state.clone()} now={props.now} />
        </article>
    }
}
