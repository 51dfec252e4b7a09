//! What every component reaches through Yew's context rather than through props: the
//! dispatcher of the shared state and the handles the sockets share.
//!
//! The value is made once when the app mounts and never changes, so providing it re-renders
//! nothing: components re-render only when the props they render change. The state itself
//! stays in [`crate::app::App`], which hands each component the part it shows.

use crate::render_batcher::RenderBatcher;
use crate::socket_registry::SocketRegistry;
use crate::state::Action;
use yew::Callback;

/// Provided by [`crate::app::App`] to every component under it.
#[derive(Clone, PartialEq)]
pub struct AppContext {
    /// Dispatches to the app's reducer ([`crate::state::State`]).
    pub dispatch: Callback<Action>,
    /// Where every socket drops the frames it receives.
    pub batcher: RenderBatcher,
    /// Every pane's open socket, for the scripted demo to publish on.
    pub sockets: SocketRegistry,
    /// Running inside the desktop app.
    pub tauri: bool,
}
