//! `use_app`: the app's context (dispatcher and shared handles) from any component.

use crate::context::AppContext;
use yew::prelude::*;

/// The [`AppContext`] provided by [`crate::app::App`].
///
/// # Panics
/// Outside the app's context provider (a component rendered on its own): a programming
/// error, not a runtime condition.
#[hook]
pub fn use_app() -> AppContext {
    use_context::<AppContext>().expect("rendered inside App's ContextProvider<AppContext>")
}
