//! One event on the sync timeline, a marker per hop.

use crate::axis::Axis;
use crate::clock;
use crate::export::Starts;
use crate::format;
use crate::log::{Delivery, Row};
use std::rc::Rc;
use wire::Micros;
use yew::prelude::*;

/// Props of [`TimelineRow`].
#[derive(Properties, PartialEq)]
pub struct TimelineRowProps {
    /// The event.
    pub row: Rc<Row>,
    /// Region names in pane order, with where each pane's feeds started (`None`: unknown).
    pub regions: Rc<Vec<(AttrValue, Option<Starts>)>>,
    /// Say which channel the row is of (the log holds more than `global`).
    pub show_channel: bool,
    /// The time axis (µs after publish).
    pub axis: Axis,
    /// The page clock's resolution, µs (0 when unknown).
    pub resolution: Micros,
    /// Draw when each pane painted the row (render time), where measured.
    pub show_render: bool,
}

/// One hop of one event: `(data-hop, label, time)`; `None` while pending.
struct Hop {
    key: String,
    label: String,
    region: Option<AttrValue>,
    /// When it happened, µs; for a delivery, on its region's time line ([`Row::drawn`]).
    at: Option<Micros>,
    /// Where it is drawn: not before the hop it depends on ([`Row::drawn`]).
    drawn: Option<Micros>,
    /// The pane's feed started after this event: it was never due there.
    not_due: bool,
    /// How precisely `at` is known against the hop before it, µs, when that is coarser than
    /// the gap between them: shown as "≈ … ± …" and a range, not as a precise point.
    uncertain: Option<Micros>,
    /// The range drawn for an uncertain hop: `drawn ± uncertain`, not before the hop before.
    range: Option<(Micros, Micros)>,
    /// What the figure adds (which clock, how sure).
    note: Option<String>,
    /// For a delivery: `"region"` when put on its region's time line, `"page"` when the
    /// page's own stamp is shown (no measure of the region's clock yet).
    clock: Option<&'static str>,
}

impl Hop {
    fn new(key: String, label: String, region: Option<AttrValue>, at: Option<Micros>) -> Hop {
        Hop {
            key,
            label,
            region,
            drawn: at,
            at,
            not_due: false,
            uncertain: None,
            range: None,
            note: None,
            clock: None,
        }
    }
}

/// Pane `name`'s delivery hop (and its render mark when shown) for the copy `d`, drawn at
/// `drawn` (`(received, delivered)`, [`Row::drawn`]).
fn delivery_hops(
    name: &AttrValue,
    d: Option<Delivery>,
    drawn: Option<(Micros, Micros)>,
    not_due: bool,
    props: &TimelineRowProps,
) -> Vec<Hop> {
    let up = name.to_uppercase();
    let region = Some(name.clone());
    let mut hop = Hop::new(
        format!("delivered-{name}"),
        format!("delivered to the {up} pane"),
        region.clone(),
        d.map(|d| d.on_region_line()),
    );
    hop.drawn = drawn.map(|(_, d)| d);
    hop.not_due = not_due;
    let Some(d) = d else { return vec![hop] };
    hop.clock = Some(if d.clock.is_some() { "region" } else { "page" });
    let gap = (d.on_region_line() as i64 - d.received_at as i64).unsigned_abs();
    hop.note = Some(match d.clock {
        None => format!("by the page's clock, not (yet) compared with the {up} server's"),
        Some(c) => {
            let b = clock::bound(&c, props.resolution);
            hop.uncertain = (b >= gap).then_some(b);
            hop.range =
                (hop.uncertain.zip(drawn)).map(|(b, (r, d))| (d.saturating_sub(b).max(r), d + b));
            format!(
                "±{} on the {up} server's time line: the page's clock {} it",
                format::duration(b),
                if c.offset >= 0 {
                    format!("{} behind", format::duration(c.offset as Micros))
                } else {
                    format!("{} ahead of", format::duration(c.offset.unsigned_abs()))
                }
            )
        }
    });
    let mut hops = vec![hop];
    if let (true, Some(render), Some((_, drawn))) = (props.show_render, d.render_time(), drawn) {
        let mut paint = Hop::new(
            format!("rendered-{name}"),
            format!("painted in the {up} pane"),
            region,
            Some(d.on_region_line() + render),
        );
        paint.drawn = Some(drawn + render);
        paint.note = Some(format!(
            "{} after its socket got the frame",
            format::duration(render)
        ));
        hops.push(paint);
    }
    hops
}

/// Every hop of `props.row`, in the order the row lists them: published, stored, then per
/// pane its region's receipt and its delivery (and render mark, when shown).
fn hops(props: &TimelineRowProps) -> Vec<Hop> {
    let row = &props.row;
    let (drawn_stored, drawn_panes) = row.drawn();
    let mut stored = Hop::new(
        "stored".into(),
        "stored in the broker".into(),
        None,
        Some(row.stored_at),
    );
    stored.drawn = Some(drawn_stored);
    let mut hops = vec![
        Hop::new(
            "published".into(),
            format!("published at {}", row.origin.to_uppercase()),
            None,
            Some(row.published_at),
        ),
        stored,
    ];
    for (i, (name, starts)) in props.regions.iter().enumerate() {
        let d = row.delivered.get(i).copied().flatten();
        let drawn = drawn_panes.get(i).copied().flatten();
        // Due where the pane follows the channel, after its feed started; unknown: due.
        let not_due = starts.as_ref().is_some_and(|s| {
            s.get(&*row.channel)
                .is_none_or(|start| row.offset <= *start)
        });
        let mut received = Hop::new(
            format!("received-{name}"),
            format!("received by the {} server", name.to_uppercase()),
            Some(name.clone()),
            d.map(|d| d.received_at),
        );
        received.drawn = drawn.map(|(r, _)| r);
        received.not_due = not_due;
        hops.push(received);
        hops.extend(delivery_hops(name, d, drawn, not_due, props));
    }
    hops
}

/// The latest hop that happened (render marks left out: they are not hops of the event).
fn last_hop(hops: &[Hop]) -> Option<&Hop> {
    (hops.iter())
        .filter(|h| !h.key.starts_with("rendered"))
        .filter(|h| h.at.is_some())
        .max_by_key(|h| h.at)
}

/// `h`'s marker on the track (with its ± range, if uncertain), or its pending placeholder;
/// `pos` places a time on the axis.
fn marker(h: &Hop, t0: Micros, pos: impl Fn(Micros) -> f64) -> Html {
    let kind = h.key.split('-').next().unwrap_or_default().to_owned();
    let region = h.region.as_ref().map(|r| format!("region-{r}"));
    match (h.at, h.drawn) {
        (Some(at), Some(drawn)) => html! {
            <>
            if let Some((lo, hi)) = h.range {
                <span class={classes!("hop-range", region.clone())}
                    style={format!("left: {:.2}%; width: {:.2}%", pos(lo), (pos(hi) - pos(lo)).max(0.3))}></span>
            }
            <span class={classes!("hop", kind, region, (drawn > at).then_some("skewed"), h.uncertain.map(|_| "uncertain"))}
                data-hop={h.key.clone()} data-filled="true"
                data-ms={format!("{:.3}", (at as f64 - t0 as f64) / 1000.0)}
                data-uncertain-us={h.uncertain.map(|b| b.to_string())} data-clock={h.clock}
                style={format!("left: {:.2}%", pos(drawn))}></span>
            </>
        },
        _ => html! {
            <span class={classes!("hop", "pending", kind, region)} data-hop={h.key.clone()} data-filled="false"></span>
        },
    }
}

/// The row's end: how long after publish the last hop came, or which panes it still waits
/// for (those due to get it).
fn status(hops: &[Hop], t0: Micros) -> Html {
    let waiting: Vec<&Hop> = hops
        .iter()
        .filter(|h| h.at.is_none() && h.key.starts_with("delivered") && !h.not_due)
        .collect();
    if waiting.is_empty() {
        let last = last_hop(hops);
        let last_uncertain = last.and_then(|h| h.uncertain);
        let last = last.and_then(|h| h.at).unwrap_or(t0);
        html! {
            <span class="done" title="last hop, after publish">
                { last_uncertain.map_or(String::new(), |_| "≈ ".into()) }{ format::duration(last.saturating_sub(t0)) }
            </span>
        }
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
    }
}

/// What the tooltip and the details table say of `h`: its time after publish (`t0`), how
/// sure, and why it is drawn where it is.
fn figure(h: &Hop, t0: Micros) -> String {
    match h.at {
        Some(at) if h.drawn.is_some_and(|d| d > at) => format!(
            "{}{} (drawn at the hop before it: {}){}",
            h.uncertain.map_or("", |_| "≈ "),
            format::offset_from(t0, at),
            if h.uncertain.is_some() {
                "the page cannot tell them apart"
            } else {
                "these clocks differ by more than the gap"
            },
            h.note
                .as_ref()
                .map(|n| format!("; {n}"))
                .unwrap_or_default()
        ),
        Some(at) => format!(
            "{}{}{}",
            h.uncertain.map_or("", |_| "≈ "),
            format::offset_from(t0, at),
            h.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        None if h.not_due => {
            "not due (the pane does not follow the channel, or followed it later)".into()
        }
        None => "pending".into(),
    }
}

/// The table an open row shows: every hop's figure, and the event's id.
fn details(hops: &[Hop], row: &Row) -> Html {
    let t0 = row.published_at;
    html! {
        <table class="details">
            { for hops.iter().map(|h| html! {
                <tr>
                    <td>{ h.label.clone() }</td>
                    <td class="num">{ figure(h, t0) }</td>
                </tr>
            }) }
            <tr><td>{ "event id" }</td><td class="num">{ row.id.to_string() }</td></tr>
        </table>
    }
}

/// One event on the timeline: a marker per hop; hover the row for every hop's figure, click
/// it for a table of them. A delivery whose time against its region's receipt is finer than
/// the page can tell (clock offset and resolution) reads "≈" with a ± range drawn.
#[component]
pub fn TimelineRow(props: &TimelineRowProps) -> Html {
    let open = use_state(|| false);
    let row = &props.row;
    let t0 = row.published_at;
    let hops = hops(props);
    let last = last_hop(&hops).and_then(|h| h.at).unwrap_or(t0);
    let pos = |us: Micros| props.axis.position(us.saturating_sub(t0));
    // One tooltip per row (not per marker: fewer strings to build for every new row).
    let title: String = hops
        .iter()
        .map(|h| format!("{}: {}", h.label, figure(h, t0)))
        .collect::<Vec<_>>()
        .join("\n");
    let onclick = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    html! {
        <li class={classes!("timeline-row", (*open).then_some("open"))} data-testid="timeline-row"
            data-channel={row.channel.to_string()} data-offset={row.offset.to_string()} data-id={row.id.to_string()}
            {title} {onclick}>
            <div class="line">
                <span class="offset">
                    if props.show_channel {
                        <span class="chan" style={format::channel_style(&row.channel)}>{ row.channel.to_string() }</span>
                    }
                    { format!("#{}", row.offset) }
                </span>
                <span class="what">
                    <span class={classes!("region-badge", format!("region-{}", row.origin))}>{ row.origin.to_uppercase() }</span>
                    <span class="kind">{ row.kind.to_string() }</span>
                    <span class="text">{ row.text.to_string() }</span>
                </span>
                <div class="track">
                    <span class="span" style={format!("width: {:.2}%", pos(last))}></span>
                    { for hops.iter().filter(|h| h.at.is_some()).map(|h| marker(h, t0, pos)) }
                    <span class="pending-hops">{ for hops.iter().filter(|h| h.at.is_none()).map(|h| marker(h, t0, pos)) }</span>
                </div>
                { status(&hops, t0) }
            </div>
            if *open {
                { details(&hops, row) }
            }
        </li>
    }
}
