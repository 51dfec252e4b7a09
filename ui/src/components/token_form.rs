//! The token form: shown when a region refuses this page for want of its token.

use crate::hooks::use_app;
use crate::token;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`TokenForm`].
#[derive(Properties, PartialEq)]
pub struct TokenFormProps {
    /// The regions that refused the page's token (or its lack of one), upper-case.
    pub regions: Vec<String>,
    /// This tab already holds a token (so the one it holds was refused).
    pub had_token: bool,
}

/// "These regions need the token they were started with": a password field; the token is
/// kept for this tab ([`crate::token`]) and every socket reconnects with it at once.
#[component]
pub fn TokenForm(props: &TokenFormProps) -> Html {
    let sockets = use_app().sockets;
    let input = use_node_ref();
    let onsubmit = {
        let input = input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            token::set(value.trim());
            sockets.reconnect_all();
        })
    };
    let which = props.regions.join(", ");
    let why = match (props.had_token, props.regions.len()) {
        (true, _) => "refused the token this tab holds",
        (false, 1) => "needs a token",
        (false, _) => "need a token",
    };
    html! {
        <form class="token-form notice error" data-testid="token-form" {onsubmit}>
            <span>
                <strong>{ format!("{which} {why}.") }</strong>
                { " Enter the token the regions were started with (--token); it is kept for this tab only." }
            </span>
            <input ref={input} type="password" autocomplete="off" data-testid="token-input"
                aria-label="token" placeholder="token" />
            <button type="submit" class="primary" data-testid="token-submit">{ "Connect" }</button>
        </form>
    }
}
