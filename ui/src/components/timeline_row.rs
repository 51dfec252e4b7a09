//! One event on the sync timeline, a marker per hop.

use crate::axis::Axis;
use crate::format;
use crate::log::Row;
use std::rc::Rc;
use wire::{Micros, Offset};
use yew::prelude::*;

/// Props of [`TimelineRow`].
#[derive(Properties, PartialEq)]
pub struct TimelineRowProps {
    /// The event.
    pub row: Rc<Row>,
    /// Region names in pane order, with the offset each pane's feed started after.
    pub regions: Rc<Vec<(AttrValue, Option<Offset>)>>,
    /// The time axis (µs after publish).
    pub axis: Axis,
}

/// One hop of one event: `(data-hop, label, time)`; `None` while pending.
struct Hop {
    key: String,
    label: String,
    region: Option<AttrValue>,
    at: Option<Micros>,
    /// Where it is drawn: not before the hop it depends on ([`Row::drawn`]).
    drawn: Option<Micros>,
    /// The pane's feed started after this event: it was never due there.
    not_due: bool,
}

/// One event on the timeline: a marker per hop; hover the row for every hop's figure, click
/// it for a table of them.
#[component]
pub fn TimelineRow(props: &TimelineRowProps) -> Html {
    let open = use_state(|| false);
    let row = &props.row;
    let t0 = row.published_at;
    let (drawn_stored, drawn_panes) = row.drawn();
    let mut hops = vec![
        Hop {
            key: "published".into(),
            label: format!("published at {}", row.origin.to_uppercase()),
            region: None,
            at: Some(t0),
            drawn: Some(t0),
            not_due: false,
        },
        Hop {
            key: "stored".into(),
            label: "stored in the broker".into(),
            region: None,
            at: Some(row.stored_at),
            drawn: Some(drawn_stored),
            not_due: false,
        },
    ];
    for (i, (name, start)) in props.regions.iter().enumerate() {
        let d = row.delivered.get(i).copied().flatten();
        let not_due = start.is_some_and(|s| row.offset <= s);
        let up = name.to_uppercase();
        hops.push(Hop {
            key: format!("received-{name}"),
            label: format!("received by the {up} server"),
            region: Some(name.clone()),
            at: d.map(|d| d.received_at),
            drawn: drawn_panes.get(i).copied().flatten().map(|(r, _)| r),
            not_due,
        });
        hops.push(Hop {
            key: format!("delivered-{name}"),
            label: format!("delivered to the {up} pane"),
            region: Some(name.clone()),
            at: d.map(|d| d.at),
            drawn: drawn_panes.get(i).copied().flatten().map(|(_, d)| d),
            not_due,
        });
    }
    let last = hops.iter().filter_map(|h| h.at).max().unwrap_or(t0);
    let waiting: Vec<&Hop> = hops
        .iter()
        .filter(|h| h.at.is_none() && h.key.starts_with("delivered") && !h.not_due)
        .collect();
    let marker = |h: &Hop| {
        let kind = h.key.split('-').next().unwrap_or_default().to_owned();
        let region = h.region.as_ref().map(|r| format!("region-{r}"));
        match (h.at, h.drawn) {
            (Some(at), Some(drawn)) => html! {
                <span class={classes!("hop", kind, region, (drawn > at).then_some("skewed"))}
                    data-hop={h.key.clone()} data-filled="true"
                    data-ms={format!("{:.3}", (at as f64 - t0 as f64) / 1000.0)}
                    style={format!("left: {:.2}%", props.axis.position(drawn.saturating_sub(t0)))}></span>
            },
            _ => html! {
                <span class={classes!("hop", "pending", kind, region)} data-hop={h.key.clone()} data-filled="false"></span>
            },
        }
    };
    let status = if waiting.is_empty() {
        html! { <span class="done" title="last hop, after publish">{ format::duration(last.saturating_sub(t0)) }</span> }
    } else {
        html! {
            <span class="waiting">{ "waiting: " }
                { for waiting.iter().map(|h| html! {
                    <span class={classes!("region-text", h.region.as_ref().map(|r| format!("region-{r}")))}>
                        { h.region.as_ref().map(|r| r.to_uppercase()).unwrap_or_default() }{ " " }
                    </span>
                }) }
            </span>
        }
    };
    // One tooltip per row (not per marker: fewer strings to build for every new row).
    let figure = |h: &Hop| match h.at {
        Some(at) if h.drawn.is_some_and(|d| d > at) => format!(
            "{} (drawn at the hop before it: these clocks differ by more than the gap)",
            format::offset_from(t0, at)
        ),
        Some(at) => format::offset_from(t0, at),
        None if h.not_due => "not due (the pane connected later)".into(),
        None => "pending".into(),
    };
    let title: String = hops
        .iter()
        .map(|h| format!("{}: {}", h.label, figure(h)))
        .collect::<Vec<_>>()
        .join("\n");
    let onclick = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    html! {
        <li class={classes!("timeline-row", (*open).then_some("open"))} data-testid="timeline-row"
            data-offset={row.offset.to_string()} data-id={row.id.to_string()} {title} {onclick}>
            <div class="line">
                <span class="offset">{ format!("#{}", row.offset) }</span>
                <span class="what">
                    <span class={classes!("region-badge", format!("region-{}", row.origin))}>{ row.origin.to_uppercase() }</span>
                    <span class="kind">{ row.kind.to_string() }</span>
                    <span class="text">{ row.text.to_string() }</span>
                </span>
                <div class="track">
                    <span class="span" style={format!("width: {:.2}%", props.axis.position(last.saturating_sub(t0)))}></span>
                    { for hops.iter().filter(|h| h.at.is_some()).map(&marker) }
                    <span class="pending-hops">{ for hops.iter().filter(|h| h.at.is_none()).map(&marker) }</span>
                </div>
                { status }
            </div>
            if *open {
                <table class="details">
                    { for hops.iter().map(|h| html! {
                        <tr>
                            <td>{ h.label.clone() }</td>
                            <td class="num">{ figure(h) }</td>
                        </tr>
                    }) }
                    <tr><td>{ "event id" }</td><td class="num">{ row.id.to_string() }</td></tr>
                </table>
            }
        </li>
    }
}
