//! One received event in a pane's list.

use crate::format;
use crate::log::{Delivery, Row};
use std::rc::Rc;

/// What an [`EventItem`] shows of a row: unlike the row itself, it does not change when
/// *another* pane gets the event, so the item is not re-rendered then.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    channel: Rc<str>,
    offset: u64,
    id: Rc<str>,
    origin: Rc<str>,
    kind: Rc<str>,
    text: Rc<str>,
    published_at: Micros,
}

impl From<&Row> for Shown {
    fn from(r: &Row) -> Self {
        Shown {
            channel: r.channel.clone(),
            offset: r.offset,
            id: r.id.clone(),
            origin: r.origin.clone(),
            kind: r.kind.clone(),
            text: r.text.clone(),
            published_at: r.published_at,
        }
    }
}
use wire::Micros;
use yew::prelude::*;

/// Props of [`EventItem`].
#[derive(Properties, PartialEq)]
pub struct EventItemProps {
    /// The event.
    pub row: Shown,
    /// The pane's region.
    pub region: AttrValue,
    /// This pane's copy.
    pub delivered: Option<Delivery>,
    /// Name the event's channel (the pane follows more than `global`).
    pub show_channel: bool,
    /// The browser's clock, for the age.
    pub now: Micros,
}

/// One received event: origin badge, channel and offset, kind, text, latency and age.
#[component]
pub fn EventItem(props: &EventItemProps) -> Html {
    let row = &props.row;
    let (latency, age, replay) = match props.delivered {
        Some(d) => (
            format::duration(d.at.saturating_sub(row.published_at)),
            format::age(props.now, d.at),
            d.replay,
        ),
        None => ("—".into(), String::new(), false),
    };
    html! {
        <li class="event" data-testid={format!("event-{}", props.region)}
            data-channel={row.channel.to_string()} data-offset={row.offset.to_string()} data-id={row.id.to_string()}
            data-at={props.delivered.map(|d| d.at.to_string())}>
            <span class={classes!("region-badge", format!("region-{}", row.origin))}>{ row.origin.to_uppercase() }</span>
            <span class="offset" title={format!("offset {} of {}", row.offset, row.channel)}>
                if props.show_channel {
                    <span class="chan" style={format::channel_style(&row.channel)}>{ row.channel.to_string() }</span>
                }
                { format!("#{}", row.offset) }
            </span>
            <span class="kind">{ row.kind.to_string() }</span>
            <span class="text" title={row.id.to_string()}>{ row.text.to_string() }</span>
            <span class="latency" title="delivered here, after it was published">
                if replay { <span class="tag">{ "replay" }</span> }
                { latency }
            </span>
            <span class="age">{ age }</span>
        </li>
    }
}
