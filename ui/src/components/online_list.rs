//! Who is online, per channel the pane follows: every region's members, each in its region's
//! colour, with counts.

use crate::channels::{Channel, Follows};
use crate::format;
use crate::presence::Roster;
use im_rc::OrdMap;
use wire::Member;
use yew::prelude::*;

/// Props of [`OnlineList`].
#[derive(Properties, PartialEq)]
pub struct OnlineListProps {
    /// The pane's region.
    pub region: AttrValue,
    /// The channels the pane follows (in its order).
    pub follows: Follows,
    /// Per channel, who the region said is online.
    pub presence: OrdMap<Channel, Roster>,
    /// This pane's own client, to mark it.
    pub me: Option<Member>,
}

/// One member: its name in its region's colour; the pane's own client is marked "you".
fn member(pane: &AttrValue, channel: &Channel, m: &Member, me: bool) -> Html {
    let title = format!(
        "{} · connected to {} · connection {}{}",
        m.name,
        m.region.to_uppercase(),
        m.id,
        if me { " · this pane" } else { "" }
    );
    html! {
        <li class={classes!("member", format!("region-{}", m.region), me.then_some("me"))}
            data-testid={format!("member-{pane}")} data-channel={channel.to_string()}
            data-name={m.name.clone()} data-region={m.region.clone()} data-id={m.id.clone()} {title}>
            { m.name.clone() }
        </li>
    }
}

/// One channel's members, region by region (the region's badge with its count, then its
/// members, oldest first), or "…" while its list has not come.
fn channel(props: &OnlineListProps, c: &Channel) -> Html {
    let r = &props.region;
    let label = html! {
        <span class="online-channel">
            if props.follows.is_global_only() {
                { "Online" }
            } else {
                <span class="chan" style={format::channel_style(c)}>{ c.to_string() }</span>
            }
        </span>
    };
    let Some(roster) = props.presence.get(c) else {
        return html! {
            <div class="online" data-testid={format!("online-{r}")} data-channel={c.to_string()} data-count="">
                { label }<span class="muted">{ "…" }</span>
            </div>
        };
    };
    let me = props.me.as_ref().map(|m| m.id.as_str());
    let unlisted = roster.unlisted();
    html! {
        <div class="online" data-testid={format!("online-{r}")} data-channel={c.to_string()}
            data-count={roster.count().to_string()}>
            { label }
            <span class="online-count" title="members online, every region">{ roster.count() }</span>
            { for roster.by_region().into_iter().map(|(region, members)| html! {
                <span class={classes!("online-region", format!("region-{region}"))}
                    data-testid={format!("online-{r}-{region}")} data-count={members.len().to_string()}>
                    <span class="region-badge" title={format!("{} online in {}", members.len(), region.to_uppercase())}>
                        { format!("{} {}", region.to_uppercase(), members.len()) }
                    </span>
                    <ul class="members">
                        { for members.iter().map(|m| member(r, c, m, Some(m.id.as_str()) == me)) }
                    </ul>
                </span>
            }) }
            if unlisted > 0 {
                <span class="muted">{ format!("+{unlisted} not listed") }</span>
            }
        </div>
    }
}

/// Who is online on each channel this pane follows, in every region.
#[component]
pub fn OnlineList(props: &OnlineListProps) -> Html {
    html! {
        <div class="online-list">
            { for props.follows.iter().map(|c| channel(props, c)) }
        </div>
    }
}
