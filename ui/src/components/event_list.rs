//! A pane's received events, newest first (its channels interleaved), paged.

use crate::channels::Channel;
use crate::components::event_item::Shown;
use crate::components::EventItem;
use crate::log::Log;
use crate::state::Feed;
use im_rc::OrdMap;
use wire::Micros;
use yew::prelude::*;

/// Events rendered per list before "show more".
const PAGE: usize = 200;

/// Props of [`EventList`].
#[derive(Properties)]
pub struct EventListProps {
    /// Which pane.
    pub index: usize,
    /// The pane's region.
    pub region: AttrValue,
    /// The pane's feeds: per channel, the offsets it got.
    pub feeds: OrdMap<Channel, Feed>,
    /// Name each event's channel (the pane follows more than `global`).
    pub show_channel: bool,
    /// Every event seen (rows by channel and offset).
    pub log: Log,
    /// The browser's clock, for ages.
    pub now: Micros,
}

/// The feeds compare by identity first (unchanged feeds are the same persistent map), so an
/// unchanged list costs O(1) to compare, not a walk of up to `MAX_EVENTS` offsets.
impl PartialEq for EventListProps {
    fn eq(&self, other: &Self) -> bool {
        (self.index, &self.region, self.show_channel, self.now)
            == (other.index, &other.region, other.show_channel, other.now)
            && self.log == other.log
            && (self.feeds.ptr_eq(&other.feeds) || self.feeds == other.feeds)
    }
}

/// What one pane received, newest first; renders the newest [`PAGE`] and more on request.
#[component]
pub fn EventList(props: &EventListProps) -> Html {
    let limit = use_state(|| PAGE);
    let total: usize = props.feeds.values().map(|f| f.received.len()).sum();
    let region = &props.region;
    let received = props.feeds.iter().map(|(c, f)| (c, &f.received));
    let rows = props.log.received(received, *limit);
    let items = rows.iter().map(|row| {
        let delivered = row.delivered.get(props.index).copied().flatten();
        html! {
            <EventItem key={format!("{}#{}", row.channel, row.offset)} row={Shown::from(&**row)}
                region={region.clone()} {delivered} show_channel={props.show_channel} now={props.now} />
        }
    });
    let onmore = {
        let limit = limit.clone();
        Callback::from(move |_: MouseEvent| limit.set(*limit + PAGE))
    };
    html! {
        <div class="events">
            <div class="events-head">
                <span>{ "Received" }</span>
                <span class="count" data-testid={format!("count-{region}")}>
                    { format!("{total} event{}", if total == 1 { "" } else { "s" }) }
                </span>
            </div>
            if total == 0 {
                <p class="empty">{ "Nothing yet. Publish in any region." }</p>
            }
            <ol class={classes!("event-list", props.show_channel.then_some("with-channel"))}>{ for items }</ol>
            if total > *limit {
                <button class="more" onclick={onmore}>
                    { format!("Show {} more (of {} hidden)", PAGE.min(total - *limit), total - *limit) }
                </button>
            }
        </div>
    }
}
