//! A pane's publish form: one event or a burst, to a channel, and what is pending.

use crate::channels::{publish_channel, Follows};
use crate::outbox_counts::OutboxCounts;
use crate::socket::Draft;
use web_sys::HtmlInputElement;
use wire::GLOBAL;
use yew::prelude::*;

/// Largest burst the form sends at once (the socket paces it under the server's limit).
const MAX_BURST: u32 = 10_000;

/// Props of [`PublishForm`].
#[derive(Properties, PartialEq)]
pub struct PublishFormProps {
    /// Region the form publishes in.
    pub region: AttrValue,
    /// The channels the pane follows (offered for the channel field; any other may be typed).
    pub follows: Follows,
    /// Publish this.
    pub onpublish: Callback<Draft>,
    /// Publish frames sent from this pane so far (retries included).
    pub sent: u64,
    /// Of which acknowledged.
    pub acked: u64,
    /// What the socket's outbox holds.
    pub outbox: OutboxCounts,
}

/// The value of the input behind `node` (empty before it mounts).
fn read(node: &NodeRef) -> String {
    node.cast::<HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

/// A callback that keeps what the person types in `value`.
fn keep(value: &UseStateHandle<String>) -> Callback<InputEvent> {
    let value = value.clone();
    Callback::from(move |e: InputEvent| {
        value.set(e.target_unchecked_into::<HtmlInputElement>().value())
    })
}

/// The form's inputs.
#[derive(Clone)]
struct Inputs {
    kind: NodeRef,
    channel: NodeRef,
    text: NodeRef,
    count: NodeRef,
}

impl Inputs {
    /// What to publish: the kind is "message" when left empty, the channel `global` when
    /// blank, the text `default_text` when blank, the count 1, or the burst size (clamped) for
    /// a burst; or why the channel typed is not one.
    fn read(&self, default_text: &str, burst: bool) -> Result<Draft, String> {
        let channel =
            publish_channel(&read(&self.channel)).map_err(|e| format!("not published: {e}"))?;
        let (kind, text, count) = self.fields(default_text, burst);
        Ok(Draft::new(kind, text, count).on(channel))
    }

    /// Kind, text and count, with their defaults.
    fn fields(&self, default_text: &str, burst: bool) -> (String, String, u32) {
        let k = read(&self.kind).trim().to_owned();
        let k = if k.is_empty() {
            "message".to_owned()
        } else {
            k
        };
        let t = read(&self.text);
        let t = if t.trim().is_empty() {
            default_text.to_owned()
        } else {
            t
        };
        let n = if burst {
            read(&self.count)
                .trim()
                .parse::<u32>()
                .unwrap_or(100)
                .clamp(1, MAX_BURST)
        } else {
            1
        };
        (k, t, n)
    }
}

/// What the pending line says: how many publishes wait, and how many to retry and why.
fn waiting(p: &OutboxCounts) -> String {
    match (p.total(), p.retrying, &p.retry_reason) {
        (0, _, _) => String::new(),
        (n, 0, _) => format!("{n} pending"),
        (n, r, Some(why)) => format!("{n} pending · {r} to retry ({why})"),
        (n, r, None) => format!("{n} pending · {r} to retry"),
    }
}

/// The line under the form: what the outbox holds.
fn pending_row(region: &AttrValue, p: &OutboxCounts) -> Html {
    html! {
        <div class="row pending-row">
            <span class={classes!("pending", (p.total() > 0).then_some("busy"))}
                data-testid={format!("pending-{region}")} data-count={p.total().to_string()}
                data-retrying={p.retrying.to_string()}
                title="Publishes not acknowledged yet: each keeps its id and is sent again after a temporary refusal or a reconnect">
                { waiting(p) }
            </span>
        </div>
    }
}

/// Kind + text, and "publish" one or a burst of N events in this region.
#[component]
pub fn PublishForm(props: &PublishFormProps) -> Html {
    let inputs = Inputs {
        kind: use_node_ref(),
        channel: use_node_ref(),
        text: use_node_ref(),
        count: use_node_ref(),
    };
    // Yew writes an input's `value` back on every render, and this form re-renders whenever
    // its pane does (acks, health polls, events): so the values the user typed live in state,
    // or they would snap back to the defaults between typing and pressing a button.
    let kind_value = use_state(|| "click".to_owned());
    let channel_value = use_state(|| GLOBAL.to_owned());
    let count_value = use_state(|| "100".to_owned());
    let error = use_state(|| None::<String>);
    let r = &props.region;
    let fire = {
        let (inputs, onpublish, error) = (inputs.clone(), props.onpublish.clone(), error.clone());
        let default_text = format!("hello from {r}");
        move |burst: bool| match inputs.read(&default_text, burst) {
            Ok(draft) => {
                error.set(None);
                onpublish.emit(draft);
            }
            Err(why) => error.set(Some(why)),
        }
    };
    let onsubmit = {
        let fire = fire.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            fire(false);
        })
    };
    let onburst = Callback::from(move |_: MouseEvent| fire(true));
    let p = &props.outbox;
    html! {
        <form class="publish" {onsubmit}>
            <div class="row">
                <input ref={inputs.kind} class="kind" data-testid={format!("kind-{r}")} value={(*kind_value).clone()}
                    oninput={keep(&kind_value)}
                    maxlength="64" aria-label="kind" placeholder="kind" />
                <span class="to" aria-hidden="true">{ "to" }</span>
                <input ref={inputs.channel} class="channel" data-testid={format!("publish-channel-{r}")}
                    value={(*channel_value).clone()} oninput={keep(&channel_value)} list={format!("publish-channels-{r}")}
                    maxlength="64" aria-label="channel" placeholder={GLOBAL} title="The channel to publish to (this pane need not follow it)" />
                <datalist id={format!("publish-channels-{r}")}>
                    { for props.follows.iter().map(|c| html! { <option value={c.to_string()} /> }) }
                </datalist>
                <input ref={inputs.text} class="text" data-testid={format!("text-{r}")}
                    placeholder={format!("hello from {r}")} aria-label="text" />
                <button type="submit" class="primary" data-testid={format!("publish-{r}")}>{ "Publish" }</button>
            </div>
            <div class="row">
                <label class="burst-label">{ "Burst of" }
                    <input ref={inputs.count} type="number" min="1" max={MAX_BURST.to_string()}
                        value={(*count_value).clone()} oninput={keep(&count_value)}
                        class="count" data-testid={format!("burst-count-{r}")} aria-label="burst size" />
                </label>
                <button type="button" class="secondary" data-testid={format!("burst-{r}")} onclick={onburst}>
                    { "Send burst" }
                </button>
                <span class="sent" data-testid={format!("sent-{r}")}>
                    { format!("sent {} · acked {}", props.sent, props.acked) }
                    if p.dropped > 0 { { format!(" · {} refused", p.dropped) } }
                </span>
            </div>
            if let Some(e) = &*error {
                <div class="field-error" data-testid={format!("publish-error-{r}")}>{ e.clone() }</div>
            }
            { pending_row(r, p) }
        </form>
    }
}
