//! A join or a leave on the sync timeline: a row of its own, with a mark where each pane was
//! told of it.

use crate::axis::Axis;
use crate::export::Starts;
use crate::format;
use crate::presence::{Change, Kind};
use std::rc::Rc;
use wire::Micros;
use yew::prelude::*;

/// Props of [`PresenceRow`].
#[derive(Properties, PartialEq)]
pub struct PresenceRowProps {
    /// The join or leave.
    pub change: Rc<Change>,
    /// Region names in pane order, with where each pane's feeds started (its channels).
    pub regions: Rc<Vec<(AttrValue, Option<Starts>)>>,
    /// Say which channel the row is of.
    pub show_channel: bool,
    /// The time axis (µs after the change).
    pub axis: Axis,
}

/// One join or leave: who (in its region's colour), which channel, and a mark per pane where
/// that pane's socket was told, on the time axis from when it happened ([`Change::at`]: a
/// join from when its member joined at its region; a leave, which carries no time, from the
/// first pane told). A pane that follows the channel and was not told yet is "waiting"
/// (the pane whose own client it is is not due it).
#[component]
pub fn PresenceRow(props: &PresenceRowProps) -> Html {
    let c = &props.change;
    let t0 = c.at();
    let pos = |us: Micros| props.axis.position(us.saturating_sub(t0));
    let (verb, arrow) = match c.kind {
        Kind::Join => ("joined", "→"),
        Kind::Leave => ("left", "←"),
    };
    let seen: Vec<(AttrValue, Option<Micros>, bool)> = (props.regions.iter().enumerate())
        .map(|(i, (name, starts))| {
            let due = c.due(i) && starts.as_ref().is_none_or(|s| s.contains_key(&*c.channel));
            (name.clone(), c.seen.get(i).copied().flatten(), due)
        })
        .collect();
    let last = seen.iter().filter_map(|(_, at, _)| *at).max().unwrap_or(t0);
    let waiting: Vec<&AttrValue> = (seen.iter())
        .filter(|(_, at, due)| at.is_none() && *due)
        .map(|(n, _, _)| n)
        .collect();
    let title = (seen.iter().enumerate())
        .map(|(i, (n, at, due))| {
            let figure = match at {
                Some(at) => format::offset_from(t0, *at),
                None if *due => "waiting".into(),
                None if c.own == Some(i) => "its own client (not told of itself)".into(),
                None if c.listed.contains(&i) => "its presence list already said so".into(),
                None => "not due (the pane does not follow the channel)".into(),
            };
            format!("told in the {} pane: {figure}", n.to_uppercase())
        })
        .chain([format!("connection {}", c.member.id)])
        .collect::<Vec<_>>()
        .join("\n");
    html! {
        <li class={classes!("timeline-row", "presence-row", c.kind.as_str())} data-testid="timeline-presence"
            data-kind={c.kind.as_str()} data-channel={c.channel.to_string()} data-name={c.member.name.clone()}
            data-region={c.member.region.clone()} data-id={c.member.id.clone()}
            data-own={c.own.and_then(|p| props.regions.get(p)).map(|(n, _)| n.clone())}
            data-waiting={(!waiting.is_empty()).to_string()} {title}>
            <div class="line">
                <span class="offset">
                    if props.show_channel {
                        <span class="chan" style={format::channel_style(&c.channel)}>{ c.channel.to_string() }</span>
                    }
                    { arrow }
                </span>
                <span class="what">
                    <span class={classes!("region-badge", format!("region-{}", c.member.region))}>{ c.member.region.to_uppercase() }</span>
                    <span class={classes!("member-name", format!("region-{}", c.member.region))}>{ c.member.name.clone() }</span>
                    <span class="text">{ format!("{verb} {}", c.channel) }</span>
                </span>
                <div class="track">
                    <span class="span" style={format!("width: {:.2}%", pos(last))}></span>
                    { for seen.iter().map(|(n, at, _)| match at {
                        Some(at) => html! {
                            <span class={classes!("hop", "delivered", format!("region-{n}"))} data-hop={format!("seen-{n}")}
                                data-filled="true" data-ms={format!("{:.3}", (*at as f64 - t0 as f64) / 1000.0)}
                                style={format!("left: {:.2}%", pos(*at))}></span>
                        },
                        None => html! {
                            <span class={classes!("hop", "pending", format!("region-{n}"))} data-hop={format!("seen-{n}")}
                                data-filled="false"></span>
                        },
                    }) }
                </div>
                if waiting.is_empty() {
                    <span class="done" title="the last pane told, after it happened">{ format::duration(last.saturating_sub(t0)) }</span>
                } else {
                    <span class="waiting">{ "waiting: " }
                        { for waiting.iter().map(|n| html! {
                            <span class={classes!("region-text", format!("region-{n}"))}>{ format!("{} ", n.to_uppercase()) }</span>
                        }) }
                    </span>
                }
            </div>
        </li>
    }
}
