//! `use_region_socket`: a pane's WebSocket, opened and closed with the pane, following the
//! pane's channels.

use crate::channels::Follows;
use crate::hooks::use_app;
use crate::socket::Socket;
use yew::prelude::*;

/// The WebSocket of pane `pane` to the region `name` at `url`: opened on mount, reconnected
/// with backoff and resumed by [`Socket`] itself, closed on unmount or when the URL changes.
/// It follows `follows` (subscribing and unsubscribing as that changes). It is also listed
/// in the app's [`crate::socket_registry::SocketRegistry`] while open.
#[hook]
pub fn use_region_socket(
    pane: usize,
    name: AttrValue,
    url: AttrValue,
    follows: Follows,
) -> Option<Socket> {
    let ctx = use_app();
    let socket = use_state(|| None::<Socket>);
    {
        let socket = socket.clone();
        let first = follows.clone();
        use_effect_with((pane, name, url), move |(pane, name, url)| {
            let (pane, sockets) = (*pane, ctx.sockets);
            // Opened with the channels of the render that opens it; later changes reach it
            // through `follow` below (which also runs right after this: a no-op then).
            let s = Socket::open(pane, name, url, first, ctx.dispatch, ctx.batcher);
            socket.set(Some(s.clone()));
            sockets.set(pane, Some(s.clone()));
            move || {
                sockets.set(pane, None);
                s.stop()
            }
        });
    }
    use_effect_with(((*socket).clone(), follows), |(socket, follows)| {
        if let Some(s) = socket {
            s.follow(follows.clone());
        }
    });
    (*socket).clone()
}
