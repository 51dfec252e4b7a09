//! A pane's received events, newest first, paged.

use crate::components::event_item::Shown;
use crate::components::EventItem;
use crate::log::Log;
use im_rc::OrdSet;
use wire::{Micros, Offset};
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
    /// Offsets this pane got.
    pub offsets: OrdSet<Offset>,
    /// Every event seen (rows by offset).
    pub log: Log,
    /// The browser's clock, for ages.
    pub now: Micros,
}

/// The offsets compare by identity first (an unchanged set is the same persistent set), so
/// an unchanged list costs O(1) to compare, not a walk of up to `MAX_EVENTS` offsets.
impl PartialEq for EventListProps {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && self.region == other.region
            && self.now == other.now
            && self.log == other.log
            && (self.offsets.ptr_eq(&other.offsets) || self.offsets == other.offsets)
    }
}

/// What one pane received, newest first; renders the newest [`PAGE`] and more on request.
#[component]
pub fn EventList(props: &EventListProps) -> Html {
    let limit = use_state(|| PAGE);
    let total = props.offsets.len();
    let region = &props.region;
    let items = props
        .offsets
        .iter()
        .rev()
        .take(*limit)
        .filter_map(|o| props.log.get(*o))
        .map(|row| {
            let delivered = row.delivered.get(props.index).copied().flatten();
            html! {
                <EventItem key={row.offset} row={Shown::from(&**row)} region={region.clone()}
                    delivered={delivered} now={props.now} />
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
            <ol class="event-list">{ for items }</ol>
            if total > *limit {
                <button class="more" onclick={onmore}>
                    { format!("Show {} more (of {} hidden)", PAGE.min(total - *limit), total - *limit) }
                </button>
            }
        </div>
    }
}
