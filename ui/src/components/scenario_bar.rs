//! The scripted demo's progress bar.

use crate::scenario::{Phase, Scenario};
use yew::prelude::*;

/// Props of [`ScenarioBar`].
#[derive(Properties, PartialEq)]
pub struct ScenarioBarProps {
    /// The demo's run, once started.
    pub scenario: Option<Scenario>,
}

/// The scripted demo's progress: every step in a row, the current one lit, and what to watch.
#[component]
pub fn ScenarioBar(props: &ScenarioBarProps) -> Html {
    let Some(s) = &props.scenario else {
        return html! {};
    };
    let steps = s.script.steps;
    let (at, state) = match &s.phase {
        Phase::Running(n) => (*n, "running"),
        Phase::Done => (steps.len(), "done"),
        Phase::Failed(n, _) => (*n, "failed"),
        Phase::Stopped(n) => (*n, "stopped"),
    };
    let (headline, detail) = match &s.phase {
        Phase::Running(n) => (
            format!("Step {} of {}: {}", n + 1, steps.len(), steps[*n].title),
            format!("Watch {}", steps[*n].watch),
        ),
        Phase::Done => (format!("{}: done", s.script.name), s.script.done.to_owned()),
        Phase::Failed(n, e) => (
            format!("Step {} failed: {}", n + 1, steps[*n].title),
            e.clone(),
        ),
        Phase::Stopped(n) => (
            format!("Stopped at step {}", n + 1),
            "The links stay as they are; use the preset picker or a pane's switch to reset them."
                .to_owned(),
        ),
    };
    html! {
        <section class={classes!("scenario", state)}>
            <div class="scenario-now" data-testid="scenario-step" data-step={at.to_string()} data-state={state}
                data-script={s.script.name}>
                <strong>{ headline }</strong>
                <span class="muted">{ detail }</span>
            </div>
            <ol class="scenario-steps">
                { for steps.iter().enumerate().map(|(i, step)| {
                    let class = if i < at { "done" } else if i == at && state != "done" { state } else { "todo" };
                    html! { <li class={class} title={step.watch}>{ step.title }</li> }
                }) }
            </ol>
        </section>
    }
}
