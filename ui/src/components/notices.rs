//! A pane's dismissible notices.

use crate::state::{Level, Notice};
use yew::prelude::*;

/// Props of [`Notices`].
#[derive(Properties, PartialEq)]
pub struct NoticesProps {
    /// Newest last.
    pub notices: Vec<Notice>,
    /// The notice with this id was dismissed.
    pub ondismiss: Callback<u64>,
}

/// A pane's notices (errors from the server, log resets, gaps), newest first, dismissible.
#[component]
pub fn Notices(props: &NoticesProps) -> Html {
    if props.notices.is_empty() {
        return html! {};
    }
    html! {
        <ul class="notices">
            { for props.notices.iter().rev().map(|n| {
                let id = n.id;
                let onclick = props.ondismiss.reform(move |_: MouseEvent| id);
                let class = match n.level { Level::Info => "info", Level::Error => "error" };
                html! {
                    <li key={id} class={classes!("notice", class)} data-testid="notice">
                        <span>{ n.text.to_string() }</span>
                        <button class="dismiss" title="Dismiss" aria-label="Dismiss" {onclick}>{ "×" }</button>
                    </li>
                }
            }) }
        </ul>
    }
}
