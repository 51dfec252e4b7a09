use crate::components::event_item::Shown;
use crate::components::EventItem;
use crate::state::State;
use wire::Micros;
use yew::prelude::*;

/// Events rendered per list before "show more".
const PAGE: usize = 200;

/// Props of [`EventList`].
#[derive(Properties, PartialEq)]
pub struct EventListProps {
    /// Which pane.
    pub index: usize,
    /// The UI state.
    pub state: UseReducerHandle<State>,
    /// The browser's clock, for ages.
    pub now: Micros,
}

/// What one pane received, newest first; renders the newest [`PAGE`] and more on request.
#[component]
pub fn EventList(props: &EventListProps) -> Html {
    let limit = use_state(|| PAGE);
    let state = &props.state;
    let pane = &state.panes[props.index];
    let total = pane.offsets.len();
    let items = pane
        .offsets
        .iter()
        .rev()
        .take(*limit)
        .filter_map(|o| state.log.get(*o))
        .map(|row| {
            let delivered = row.delivered.get(props.index).copied().flatten();
            html! {
                <EventItem key={row.offset} row={Shown::from(&**row)} region={pane.region.name.clone()}
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
                <span class="count" data-testid={format!("count-{}", pane.region.name)}>
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
