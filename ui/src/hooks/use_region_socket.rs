//! `use_region_socket`: a pane's WebSocket, opened and closed with the pane, following the
//! pane's channels, its client under the pane's display name.

use crate::channels::Follows;
use crate::hooks::use_app;
use crate::socket::Socket;
use yew::prelude::*;

/// The WebSocket of pane `pane` to the region `name` at `url`: opened on mount, reconnected
/// with backoff and resumed by [`Socket`] itself, closed on unmount or when the URL changes.
/// It follows `follows` (subscribing and unsubscribing as that changes); its client goes by
/// `member_name` (a change connects again under the new name). It is also listed
/// in the app's [`crate::socket_registry::SocketRegistry`] while open.
#[hook]
pub fn use_region_socket(
    pane: usize,
    name: AttrValue,
    url: AttrValue,
    follows: Follows,
    member_name: AttrValue,
) -> Option<Socket> {
    let ctx = use_app();
    let socket = use_state(|| None::<Socket>);
    {
        let socket = socket.clone();
        let first = follows.clone();
        let first_name = member_name.clone();
        use_effect_with((pane, name, url), move |(pane, name, url)| {
            let (pane, sockets) = (*pane, ctx.sockets);
            // Opened with the channels of the render that opens it; later changes reach it
            // through `follow` below (which also runs right after this: a no-op then).
            let s = Socket::open(
                pane,
                name,
                url,
                first,
                &first_name,
                ctx.dispatch,
                ctx.batcher,
            );
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
    use_effect_with(((*socket).clone(), member_name), |(socket, name)| {
        if let Some(s) = socket {
            s.rename(name);
        }
    });
    (*socket).clone()
}
