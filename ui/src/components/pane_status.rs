//! A pane's status line: connection, broker, client count.

use crate::error::HttpError;
use crate::format;
use crate::state::Link;
use wire::{BrokerKind, Health};
use yew::prelude::*;

/// Props of [`PaneStatus`] (only what it shows, so that it re-renders only when that changes).
#[derive(Properties, PartialEq)]
pub struct PaneStatusProps {
    /// Region name.
    pub name: AttrValue,
    /// Socket state.
    pub link: Link,
    /// Broker kind, once known.
    pub broker: Option<BrokerKind>,
    /// What the broker chip says.
    pub broker_label: AttrValue,
    /// The chip's tooltip (the desktop app's account of its broker).
    pub broker_title: Option<AttrValue>,
    /// Last `/health` answer.
    pub health: Option<Result<Health, HttpError>>,
    /// Duplicate deliveries seen.
    pub duplicates: u64,
    /// The region's simulated link is cut (its `/health` may take a moment to notice).
    pub cut_off: bool,
}

/// Connection state, broker and client count of one region.
#[component]
pub fn PaneStatus(props: &PaneStatusProps) -> Html {
    let p = props;
    let name = &p.name;
    let health = p.health.as_ref();
    let reachable = matches!(health, Some(Ok(_)));
    let (class, label) = match &p.link {
        Link::Connected => ("connected", "connected".to_owned()),
        Link::Connecting => ("connecting", "connecting…".to_owned()),
        Link::Reconnecting { attempt, .. } if *attempt >= 3 && !reachable => {
            ("offline", format!("offline — retrying (attempt {attempt})"))
        }
        Link::Reconnecting { attempt, retry_ms } => (
            "reconnecting",
            format!(
                "reconnecting — attempt {attempt} in {}",
                format::duration(*retry_ms as u64 * 1000)
            ),
        ),
    };
    let (clients, broker_link) = match health {
        Some(Ok(h)) => (
            format!(
                "{} client{}",
                h.clients,
                if h.clients == 1 { "" } else { "s" }
            ),
            if p.cut_off {
                html! { <span class="bad">{ "broker cut off (simulated)" }</span> }
            } else if h.connected {
                html! { <span class="ok">{ "broker connected" }</span> }
            } else {
                html! { <span class="bad">{ "broker unreachable" }</span> }
            },
        ),
        Some(Err(e)) => (
            "clients: ?".to_owned(),
            html! { <span class="bad" title={e.to_string()}>{ "health check failed" }</span> },
        ),
        None => ("clients: …".to_owned(), html! {}),
    };
    html! {
        <div class="pane-status">
            <span class={classes!("link", class)} data-testid={format!("status-{name}")} data-state={class}>
                <span class="dot"></span>{ label }
            </span>
            <span class="meta">
                <span class={classes!("broker-chip", p.broker.map(BrokerKind::as_str))} title={p.broker_title.clone()}>{ p.broker_label.clone() }</span>
                { broker_link }
                <span data-testid={format!("clients-{name}")}>{ clients }</span>
                if p.duplicates > 0 {
                    <span class="bad">{ format!("{} duplicates", p.duplicates) }</span>
                }
            </span>
        </div>
    }
}
