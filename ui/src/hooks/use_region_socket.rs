use crate::inbox::Inbox;
use crate::socket::Socket;
use crate::state::Action;
use yew::prelude::*;

/// The WebSocket of pane `pane` to the region `name` at `url`: opened on mount, reconnected
/// with backoff and resumed by [`Socket`] itself, closed on unmount or when the URL changes.
#[hook]
pub fn use_region_socket(
    pane: usize,
    name: AttrValue,
    url: AttrValue,
    dispatch: Callback<Action>,
    inbox: Inbox,
) -> Option<Socket> {
    let socket = use_state(|| None::<Socket>);
    {
        let socket = socket.clone();
        use_effect_with((pane, name, url), move |(pane, name, url)| {
            let s = Socket::open(*pane, name, url, dispatch, inbox);
            socket.set(Some(s.clone()));
            move || s.stop()
        });
    }
    (*socket).clone()
}
