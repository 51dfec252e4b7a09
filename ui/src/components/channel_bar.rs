//! A pane's channels: the ones its clients follow, and a field to follow another.

use crate::channels::{Channel, Follows};
use crate::format;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`ChannelBar`].
#[derive(Properties, PartialEq)]
pub struct ChannelBarProps {
    /// The pane's region.
    pub region: AttrValue,
    /// The channels the pane follows.
    pub follows: Follows,
    /// Those its socket is subscribed to (the others are on their way).
    pub live: Vec<Channel>,
    /// Follow these instead.
    pub onfollow: Callback<Follows>,
}

/// One followed channel: its name, whether the region confirmed it, and × to leave it.
fn chip(region: &AttrValue, channel: &Channel, live: bool, onleave: Callback<MouseEvent>) -> Html {
    let title = if live {
        format!("{region} follows {channel}")
    } else {
        format!("subscribing to {channel}…")
    };
    html! {
        <li class={classes!("chip", (!live).then_some("pending"))} data-testid={format!("follows-{region}")}
            data-channel={channel.to_string()} data-live={live.to_string()} {title}
            style={format::channel_style(channel)}>
            <span class="chip-name">{ channel.to_string() }</span>
            <button type="button" class="unfollow" data-testid={format!("unfollow-{region}-{channel}")}
                title={format!("Stop following {channel}")} aria-label={format!("stop following {channel}")}
                onclick={onleave}>{ "×" }</button>
        </li>
    }
}

/// The channels this pane's clients follow (each subscribed on the live socket), a field to
/// follow one more, and why a name was refused (checked before anything is sent).
#[component]
pub fn ChannelBar(props: &ChannelBarProps) -> Html {
    let draft = use_state(String::new);
    let error = use_state(|| None::<String>);
    let r = &props.region;
    let onsubmit = {
        let (draft, error) = (draft.clone(), error.clone());
        let (follows, onfollow) = (props.follows.clone(), props.onfollow.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match follows.add(&draft) {
                Ok(f) => {
                    onfollow.emit(f);
                    draft.set(String::new());
                    error.set(None);
                }
                Err(why) => error.set(Some(why.to_string())),
            }
        })
    };
    let oninput = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| {
            draft.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let leave = |channel: &Channel| {
        let (follows, onfollow, error) =
            (props.follows.clone(), props.onfollow.clone(), error.clone());
        let channel = channel.clone();
        Callback::from(move |_: MouseEvent| match follows.remove(&channel) {
            Ok(f) => {
                onfollow.emit(f);
                error.set(None);
            }
            Err(why) => error.set(Some(why.to_string())),
        })
    };
    html! {
        <div class="channels" data-testid={format!("channels-{r}")}>
            <form class="follow" {onsubmit}>
                <span class="channels-label" title="The channels this pane's clients follow: it lists their events only">{ "Channels" }</span>
                <ul class="chips">
                    { for props.follows.iter().map(|c| chip(r, c, props.live.contains(c), leave(c))) }
                </ul>
                <input class="follow-input" data-testid={format!("follow-input-{r}")} value={(*draft).clone()}
                    {oninput} maxlength="64" placeholder="add channel" aria-label="channel to follow" />
                <button type="submit" data-testid={format!("follow-{r}")}>{ "Follow" }</button>
            </form>
            if let Some(e) = &*error {
                <div class="field-error" data-testid={format!("follow-error-{r}")}>{ e.clone() }</div>
            }
        </div>
    }
}
