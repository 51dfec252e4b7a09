//! The sync timeline: every event's hops on one time axis, newest first, with the joins and
//! leaves as rows of their own; all channels, or one.

use crate::axis::Axis;
use crate::components::{PresenceRow, TimelineRow};
use crate::export::Starts;
use crate::format;
use crate::hooks::use_app;
use crate::log::{Gap, Item, Log, MAX_EVENTS};
use crate::presence::{Change, Changes};
use crate::state::{Action, State};
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use wire::Micros;
use yew::prelude::*;

/// Timeline rows rendered before "show more".
const PAGE: usize = 100;

/// Region names in pane order, with the channels each pane follows and the offset each of
/// those feeds started after (`None`: not known, as in an export older than channels).
pub type TimelineRegions = Vec<(AttrValue, Option<Starts>)>;

/// What [`TimelineProps::regions`] takes, from the state.
pub fn timeline_regions(state: &State) -> TimelineRegions {
    (state.panes.iter())
        .map(|p| (AttrValue::from(p.region.name.clone()), Some(p.starts())))
        .collect()
}

/// Props of [`Timeline`].
#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    /// Every event seen.
    pub log: Log,
    /// Every join and leave seen.
    pub presence: Changes,
    /// The panes ([`timeline_regions`]).
    pub regions: TimelineRegions,
    /// Render times are shown ([`crate::state::State::show_render`]).
    pub show_render: bool,
}

/// The legend: what each marker means, the page clock's resolution, the render-time switch.
fn legend(resolution: Option<f64>, show_render: bool, ontoggle: Callback<Event>) -> Html {
    html! {
        <span class="legend">
            <span><i class="hop published"></i>{ "published" }</span>
            <span><i class="hop stored"></i>{ "stored in broker" }</span>
            <span><i class="hop received"></i>{ "received by region" }</span>
            <span title="When the pane's socket received the frame, put on its region's time line by the offset measured between the page's clock and the region's (timed /health exchanges); where that offset and the page clock's resolution are coarser than the gap after the region's receipt, the figure reads ≈ with a ± range drawn. A hop is never drawn before the one it depends on.">
                <i class="hop delivered"></i>{ "delivered to pane" }
                if let Some(r) = resolution {
                    <small class="muted" data-testid="clock-resolution" data-us={format!("{r:.0}")}>
                        { format!(" (page clock ±{})", format::duration(r.round() as u64)) }
                    </small>
                }
            </span>
            <label class="render-toggle" title="Also draw when each pane painted the row: from its socket receiving the frame to the animation frame after the state took it in (measuring costs one more update per batch)">
                <input type="checkbox" data-testid="show-render" checked={show_render} onchange={ontoggle} />
                <i class="hop rendered"></i>{ "render time" }
            </label>
        </span>
    }
}

/// The time axis above the rows, with its ticks.
fn axis_head(axis: &Axis) -> Html {
    let ticks = axis.ticks();
    html! {
        <div class="timeline-axis" data-testid="timeline-axis" data-max-ms={(axis.max / 1000).to_string()}
            title={format!("linear up to {}, logarithmic above", format::short(axis.knee))}>
            <span></span><span></span>
            <div class="track">
                { for ticks.iter().map(|t| html! {
                    <span class="tick" style={format!("left: {:.2}%", axis.position(*t))}>
                        { if *t == 0 { "0".to_owned() } else { format::short(*t) } }
                    </span>
                }) }
            </div>
            <span></span>
        </div>
    }
}

/// The channel picker: every channel, or one (with how many rows each has).
fn channel_filter(log: &Log, shown: Option<&AttrValue>, onpick: Callback<Event>) -> Html {
    let mut channels: Vec<AttrValue> = log
        .channels()
        .map(|c| AttrValue::from(c.to_string()))
        .collect();
    if let Some(c) = shown.filter(|c| !channels.contains(c)) {
        channels.push(c.clone()); // reset meanwhile: still the one shown
    }
    html! {
        <label class="channel-filter" title="Show every channel's events, or one channel's">
            <span class="muted">{ "Channel" }</span>
            <select data-testid="timeline-channel" data-current={shown.cloned().unwrap_or_default()} onchange={onpick}>
                <option value="" selected={shown.is_none()}>{ format!("all channels ({})", log.len()) }</option>
                { for channels.iter().map(|c| html! {
                    <option value={c.clone()} selected={shown == Some(c)}>{ format!("{c} ({})", log.len_of(c)) }</option>
                }) }
            </select>
        </label>
    }
}

/// What the timeline lists: an event (or gap) of the log, or a join or leave.
enum Shown {
    Log(Item),
    Presence(Rc<Change>),
}

/// The log's `items` (newest first) with the `changes` (newest first) among them by time: a
/// change goes above the first event stored before it happened ([`Change::at`]; a gap stays
/// just above the row below it). Changes older than the oldest event listed follow it only
/// when every event is listed (`all`): below a "show more" they would be out of place.
fn merged(items: Vec<Item>, changes: Vec<Rc<Change>>, all: bool) -> Vec<Shown> {
    // Each item's time: a row's when it was stored; a gap's that of the row below it.
    let mut keys = vec![0; items.len()];
    let mut below = 0;
    for (i, item) in items.iter().enumerate().rev() {
        if let Item::Row(r) = item {
            below = r.stored_at;
        }
        keys[i] = below;
    }
    let mut changes = changes.into_iter().peekable();
    let mut out = Vec::with_capacity(items.len());
    for (item, key) in items.into_iter().zip(keys) {
        while let Some(c) = changes.next_if(|c| c.at() > key) {
            out.push(Shown::Presence(c));
        }
        out.push(Shown::Log(item));
    }
    if all {
        out.extend(changes.map(Shown::Presence));
    }
    out
}

/// A row for offsets no pane has: the server's reason, or how many are missing.
fn gap_row(gap: &Gap, show_channel: bool) -> Html {
    let offsets = if gap.from == gap.to {
        format!("#{}", gap.from)
    } else {
        format!("#{}–{}", gap.from, gap.to)
    };
    html! {
        <li key={format!("gap-{}-{}", gap.channel, gap.from)} class="timeline-gap" data-testid="timeline-gap"
            data-channel={gap.channel.to_string()} data-from={gap.from.to_string()} data-to={gap.to.to_string()}>
            <span class="offset">
                if show_channel {
                    <span class="chan" style={format::channel_style(&gap.channel)}>{ gap.channel.to_string() }</span>
                }
                { offsets }
            </span>
            <span>{ match &gap.message {
                Some(m) => format!("gap — {m}"),
                None => format!("gap — {} offset{} not received by any pane (yet)", gap.to - gap.from + 1, if gap.from == gap.to { "" } else { "s" }),
            } }</span>
        </li>
    }
}

/// One row per event (newest first: by offset within a channel, channels interleaved by when
/// each event was stored) with every hop on a shared time axis that starts when the origin
/// accepted the event; holes in a channel's offsets show as gap rows. With channels other
/// than `global`, a picker shows one channel or all, and each row says its channel.
#[component]
pub fn Timeline(props: &TimelineProps) -> Html {
    let limit = use_state(|| PAGE);
    let channel = use_state(|| None::<AttrValue>);
    // Measured once: what the page's own stamps ("delivered") can resolve.
    let resolution = *use_memo((), |_| crate::platform::clock_resolution());
    let log = &props.log;
    let show_channel = log.has_channels();
    let items = log.items(channel.as_deref(), *limit);
    let changes = props.presence.newest_first(channel.as_deref());
    let regions = Rc::new(props.regions.clone());
    let axis = Axis::fit(items.iter().filter_map(|i| match i {
        Item::Row(r) => Some(&**r),
        Item::Gap(_) => None,
    }));
    // The joins and leaves shown are drawn on the same axis: it reaches their last receipt.
    let axis = (changes.iter().take(*limit))
        .filter_map(|c| Some(c.seen.iter().flatten().max()?.saturating_sub(c.at())))
        .fold(axis, Axis::cover);
    let total = match &*channel {
        Some(c) => log.len_of(c),
        None => log.len(),
    };
    let (joins, leaves) = (changes.iter()).fold((0, 0), |(j, l), c| match c.kind {
        crate::presence::Kind::Join => (j + 1, l),
        crate::presence::Kind::Leave => (j, l + 1),
    });
    let shown = merged(items, changes, total <= *limit);
    let onpick = {
        let channel = channel.clone();
        Callback::from(move |e: Event| {
            let picked = e.target_unchecked_into::<HtmlSelectElement>().value();
            channel.set((!picked.is_empty()).then(|| picked.into()));
        })
    };
    let ontoggle = {
        let app = use_app();
        Callback::from(move |e: Event| {
            let on = e
                .target_dyn_into::<web_sys::HtmlInputElement>()
                .is_some_and(|i| i.checked());
            app.batcher.measure_paint(on);
            app.dispatch.emit(Action::ShowRender(on));
        })
    };
    let onmore = {
        let limit = limit.clone();
        Callback::from(move |_: MouseEvent| limit.set(*limit + PAGE))
    };
    html! {
        <section class={classes!("timeline", show_channel.then_some("with-channel"))} data-testid="timeline">
            <div class="timeline-head">
                <h2>{ "Sync timeline" }</h2>
                if show_channel || channel.is_some() {
                    { channel_filter(log, channel.as_ref(), onpick) }
                }
                <span class="muted" data-testid="timeline-count" data-count={total.to_string()}>
                    { format!("{total} events, newest first · time since the origin accepted each event") }
                    if joins + leaves > 0 {
                        <span data-testid="timeline-presence-count" data-joins={joins.to_string()} data-leaves={leaves.to_string()}>
                            { format!(" · {joins} joins, {leaves} leaves (→ ←: time since it happened)") }
                        </span>
                    }
                    if log.dropped > 0 {
                        { format!(" · {} older events dropped (keeps the newest {MAX_EVENTS})", log.dropped) }
                    }
                </span>
                { legend(resolution, props.show_render, ontoggle) }
            </div>
            { axis_head(&axis) }
            if shown.is_empty() {
                <p class="empty">{ "Events appear here as they arrive." }</p>
            }
            <ol class="timeline-rows">
                { for shown.into_iter().map(|item| match item {
                    Shown::Presence(change) => html! {
                        <PresenceRow key={format!("{}-{}-{}-{}", change.kind.as_str(), change.channel, change.member.id, change.member.since)}
                            change={change.clone()} regions={regions.clone()} {axis} {show_channel} />
                    },
                    Shown::Log(Item::Row(row)) => html! {
                        <TimelineRow key={format!("{}#{}", row.channel, row.offset)} row={row.clone()}
                            regions={regions.clone()} {axis} {show_channel}
                            resolution={resolution.map_or(0, |r| r.ceil() as Micros)} show_render={props.show_render} />
                    },
                    Shown::Log(Item::Gap(gap)) => gap_row(&gap, show_channel),
                }) }
            </ol>
            if total > *limit {
                <button class="more" onclick={onmore}>{ format!("Show {PAGE} more rows") }</button>
            }
        </section>
    }
}
