use crate::inbox::Inbox;
use crate::socket::Socket;
use crate::sockets::Sockets;
use crate::state::Action;
use yew::prelude::*;

/// The WebSocket of pane `pane` to the region `name` at `url`: opened on mount, reconnected
/// with backoff and resumed by [`Socket`] itself, closed on unmount or when the URL changes.
/// It is also listed in `sockets` while open.
#[hook]
pub fn use_region_socket(
    pane: usize,
    name: AttrValue,
    url: AttrValue,
    dispatch: Callback<Action>,
    inbox: Inbox,
    sockets: Sockets,
) -> Option<Socket> {
    let socket = use_state(|| None::<Socket>);
    {
        let socket = socket.clone();
        use_effect_with((pane, name, url), move |(pane, name, url)| {
            let pane = *pane;
            let s = Socket::open(pane, name, url, dispatch, inbox);
            socket.set(Some(s.clone()));
            sockets.set(pane, Some(s.clone()));
            move || {
                sockets.set(pane, None);
                s.stop()
            }
        });
    }
    (*socket).clone()
}
