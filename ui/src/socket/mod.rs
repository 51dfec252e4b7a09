//! One region's WebSocket connection: open, reconnect with backoff, resume with
//! `since`/`epoch`, follow the pane's channels, send publishes at a pace. What it receives is
//! decoded in [`frames`]; what it publishes waits in its [`outbox`] until acknowledged.
//!
//! - **Channels.** The socket follows the channels its pane chose: it names them when it
//!   connects, and subscribes and unsubscribes on the open socket when they change
//!   ([`subscriptions`]).
//! - **Resume.** The socket keeps a [`Cursor`] (per channel: last offset seen, its epoch) and
//!   reconnects with `/ws?since=<offset>&epoch=<epoch>` (`since=a:N,b:M&epoch=a:E,b:F` for
//!   several channels): the server replays what was missed of each channel (or says `epoch`
//!   when a channel's log was reset), so nothing is lost or doubled.
//! - **Backoff.** 250 ms doubling to 10 s, ±25 % jitter, reset once a connection opens.
//! - **Who.** The socket connects as its pane's client, under the display name the pane holds
//!   (`/ws?name=…`), and asks for presence on every channel (`presence=1`, and on each
//!   `subscribe`). A new name is a new connection ([`Socket::rename`]): the old member leaves,
//!   the new one joins, and the feeds resume where they were.
//! - **Token.** Every attempt carries the tab's token ([`crate::token`]) as `?token=`. When an
//!   attempt closes without ever opening, the region is asked why ([`platform::refusal`]) and
//!   a refusal for the token is reported to the pane, which asks the person for it.
//! - **Batching.** Frames are stamped with the browser's clock on arrival, in the socket's own
//!   worker ([`transport`]: a busy main thread does not delay the stamps), and go to the
//!   shared [`RenderBatcher`], so a burst of events costs a few renders, not one each.
//! - **Publishing.** Publishes go out at most [`SEND_RATE`] per second (under the server's
//!   limit) and stay in the [`Outbox`] until acked: retried with the same id after a temporary
//!   refusal or a reconnect, dropped (with the server's reason shown) after a permanent one.
//!   The outbox is bounded ([`outbox::MAX_PENDING`]); the pane shows what it holds.

pub mod frames;
pub mod outbox;
pub mod subscriptions;
pub mod token_bucket;
pub mod transport;

pub use frames::{decode, Cursor};
pub use outbox::{Draft, Outbox, OutboxFull};
pub use subscriptions::Subscriptions;
pub use token_bucket::TokenBucket;

use crate::channels::Follows;
use crate::platform::{self, random};
use crate::render_batcher::RenderBatcher;
use crate::state::{Action, Level, Link};
use crate::token;
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use transport::{Event, Handler, Transport};
use wire::Micros;
use yew::Callback;

/// Publishes sent per second at most (the server allows 1,000/s per connection).
const SEND_RATE: f64 = 800.0;

struct Inner {
    pane: usize,
    /// The region's base URL (`http://…`), for the refusal probe.
    http_url: String,
    /// Its `/ws` URL, without query.
    url: String,
    dispatch: Callback<Action>,
    ws: Option<Transport>,
    /// The current socket opened (a close before that is a refused or failed attempt).
    opened: bool,
    /// Handlers of the current socket, and of closed ones (a closure must not be dropped
    /// while it runs, so old ones wait here until the next connect).
    handlers: Handler,
    attempt: u32,
    cursor: Cursor,
    subscriptions: Subscriptions,
    /// The display name it connects with.
    member_name: String,
    /// The name the current connection's `welcome` confirmed (`None` until it came).
    confirmed_name: Option<String>,
    batcher: RenderBatcher,
    outbox: Outbox,
    /// Paces the sends at [`SEND_RATE`].
    pace: TokenBucket,
    timers: Timers,
    stopped: bool,
}

#[derive(Default)]
struct Timers {
    pump: Option<Timeout>,
    retry: Option<Timeout>,
}

/// A handle on one region's socket; dropping the last handle does not close it, `stop` does.
#[derive(Clone)]
pub struct Socket(Rc<RefCell<Inner>>);

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Socket {
    /// Open a socket to the region `name` at `http_url` for pane `pane`, following `follows`,
    /// its client named `member_name`.
    pub fn open(
        pane: usize,
        name: &str,
        http_url: &str,
        follows: Follows,
        member_name: &str,
        dispatch: Callback<Action>,
        batcher: RenderBatcher,
    ) -> Socket {
        let session = (random() * 1e9) as u32;
        let inner = Inner {
            pane,
            http_url: http_url.trim_end_matches('/').to_owned(),
            url: platform::ws_url(http_url),
            dispatch,
            ws: None,
            opened: false,
            handlers: Vec::new(),
            attempt: 0,
            cursor: Cursor::default(),
            subscriptions: Subscriptions::new(follows),
            member_name: member_name.to_owned(),
            confirmed_name: None,
            batcher,
            outbox: Outbox::new(format!("{name}-{session:08x}")),
            pace: TokenBucket::full(SEND_RATE, js_sys::Date::now()),
            timers: Timers::default(),
            stopped: false,
        };
        let socket = Socket(Rc::new(RefCell::new(inner)));
        connect(&socket.0);
        socket
    }

    /// Close for good (the pane went away). Publishes still pending are forgotten.
    pub fn stop(&self) {
        let mut i = self.0.borrow_mut();
        i.stopped = true;
        i.timers = Timers::default();
        if let Some(ws) = i.ws.take() {
            ws.close();
        }
    }

    /// Give up the current attempt (or wait) and connect again now: the token changed.
    pub fn reconnect_now(&self) {
        {
            let mut i = self.0.borrow_mut();
            if i.stopped {
                return;
            }
            i.timers.retry = None;
            if let Some(ws) = i.ws.take() {
                ws.close();
            }
            i.outbox.disconnected();
        }
        connect(&self.0);
    }

    /// Go by `name` from now: a new connection (resumed where this one was) when it differs.
    pub fn rename(&self, name: &str) {
        {
            let mut i = self.0.borrow_mut();
            if i.member_name == name {
                return;
            }
            i.member_name = name.to_owned();
        }
        self.reconnect_now();
    }

    /// True when the region confirmed that this socket's client goes by `name`.
    pub fn named(&self, name: &str) -> bool {
        self.0.borrow().confirmed_name.as_deref() == Some(name)
    }

    /// Queue the publishes of `draft`; returns how many were queued, or why none was (the
    /// outbox is full).
    pub fn publish(&self, draft: &Draft) -> Result<u64, OutboxFull> {
        let queued = self.0.borrow_mut().outbox.push(draft)?;
        pump(&self.0);
        Ok(queued)
    }

    /// Follow `follows` from now: subscribed and unsubscribed on the open socket (or named
    /// by the next connection); a channel no longer followed forgets where it was.
    pub fn follow(&self, follows: Follows) {
        let mut i = self.0.borrow_mut();
        for gone in i.subscriptions.want(follows) {
            i.cursor.forget(&gone);
        }
        send_changes(&mut i);
    }

    /// True when the region confirmed that this socket follows every one of `channels`.
    pub fn follows_all(&self, channels: &[&str]) -> bool {
        self.0.borrow().subscriptions.confirmed(channels)
    }
}

/// Send the `subscribe`/`unsubscribe` frames that make the socket follow what is wanted,
/// if it is open (else its opening does).
fn send_changes(i: &mut Inner) {
    let Some(ws) = (i.ws.as_ref()).filter(|ws| ws.is_open()) else {
        return;
    };
    for frame in i.subscriptions.changes(&i.cursor) {
        // A socket that fails to send is closing: the next connection names every channel.
        ws.send(&frame.to_text());
    }
}

/// Run `f` on the inner state if it is still alive, then dispatch what it returns (outside
/// the borrow: the reducer may render synchronously).
fn with(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner) -> Vec<Action>) {
    let Some(rc) = weak.upgrade() else { return };
    let (dispatch, actions) = {
        let mut i = rc.borrow_mut();
        if i.stopped {
            return;
        }
        let actions = f(&mut i);
        (i.dispatch.clone(), actions)
    };
    for a in actions {
        dispatch.emit(a);
    }
}

/// Open a new socket: resumed at the cursor, with the tab's token; its handlers call back
/// through `weak` only, so a socket that outlives its pane does nothing.
fn connect(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let mut i = rc.borrow_mut();
    // Closures of earlier sockets are not running now: free them.
    i.handlers.clear();
    i.opened = false;
    let url = format!(
        "{}?{}",
        i.url,
        i.subscriptions.connect_query(&i.cursor, &i.member_name)
    );
    i.subscriptions.connecting();
    i.confirmed_name = None;
    let url = token::with_token(&url, token::get().as_deref());
    let w = weak.clone();
    let on_event = move |event: Event| match event {
        Event::Open => on_open(&w),
        Event::Frame(text, at) => on_message(&w, &text, at),
        Event::Closed => closed(&w),
        Event::Failed(why) => failed(&w, why),
    };
    match Transport::connect(&url, on_event) {
        Ok((ws, handler)) => {
            i.handlers.extend(handler);
            i.ws = Some(ws);
        }
        Err(why) => {
            drop(i);
            failed(&weak, why);
        }
    }
}

/// The socket could not be made: say why, then retry as after a close.
fn failed(weak: &Weak<RefCell<Inner>>, why: String) {
    with(weak, |i| {
        let msg = format!("cannot open {}: {why}", i.url);
        vec![Action::Notify(i.pane, Level::Error, msg)]
    });
    closed(weak);
}

/// The socket opened: the backoff starts over, the pane is told, channels chosen while it
/// connected are subscribed, what waits is sent.
fn on_open(weak: &Weak<RefCell<Inner>>) {
    with(weak, |i| {
        i.attempt = 0;
        i.opened = true;
        send_changes(i);
        vec![
            Action::Link(i.pane, Link::Connected),
            Action::Refused(i.pane, None),
        ]
    });
    if let Some(rc) = weak.upgrade() {
        pump(&rc);
    }
}

/// A frame arrived, stamped `at` by the socket's worker: it moves the cursor and the
/// outbox, then waits in the batcher for the next render; one that does not decode becomes
/// a notice.
fn on_message(weak: &Weak<RefCell<Inner>>, text: &str, at: Micros) {
    let frame = decode(text);
    let mut retry = false;
    with(weak, |i| match frame {
        Ok(frame) => {
            i.cursor.on_frame(&frame);
            i.subscriptions.on_frame(&frame);
            if let wire::ServerFrame::Welcome {
                member: Some(m), ..
            } = &frame
            {
                i.confirmed_name = Some(m.name.clone());
            }
            let reply = i.outbox.on_reply(&frame, js_sys::Date::now());
            if reply != outbox::Reply::None {
                retry = matches!(reply, outbox::Reply::Retry(_));
                i.batcher.publishes(i.pane, i.outbox.pending());
            }
            i.batcher.push(i.pane, frame, at);
            vec![]
        }
        Err(err) => vec![Action::Notify(i.pane, Level::Error, err.to_string())],
    });
    if retry {
        if let Some(rc) = weak.upgrade() {
            schedule_pump(&rc);
        }
    }
}

/// The socket closed (or could not open): hand over what arrived, then retry later. An
/// attempt that never opened may have been refused: the region is asked why.
fn closed(weak: &Weak<RefCell<Inner>>) {
    // What arrived before the close reaches the state before the link changes.
    let batcher = weak.upgrade().map(|rc| rc.borrow().batcher.clone());
    if let Some(batcher) = batcher {
        batcher.flush();
    }
    let mut probe = None;
    with(weak, |i| {
        i.ws = None;
        i.timers.pump = None;
        i.subscriptions.disconnected();
        i.outbox.disconnected();
        i.batcher.publishes(i.pane, i.outbox.pending());
        if !i.opened {
            probe = Some((i.pane, i.http_url.clone(), i.dispatch.clone()));
        }
        i.attempt += 1;
        let base = (250u64 << (i.attempt - 1).min(6)).min(10_000) as f64;
        let retry_ms = (base * (0.75 + 0.5 * random())) as u32;
        let w = weak.clone();
        i.timers.retry = Some(Timeout::new(retry_ms, move || {
            if let Some(rc) = w.upgrade() {
                if !rc.borrow().stopped {
                    connect(&rc);
                }
            }
        }));
        let link = Link::Reconnecting {
            attempt: i.attempt,
            retry_ms,
        };
        vec![Action::Link(i.pane, link)]
    });
    if let Some((pane, url, dispatch)) = probe {
        wasm_bindgen_futures::spawn_local(async move {
            // A region that cannot be reached says nothing: the link state tells that story.
            if let Ok(refusal) = platform::refusal(&url).await {
                dispatch.emit(Action::Refused(pane, refusal));
            }
        });
    }
}

/// Pump again when the next publish is due: now if some are queued, else when the earliest
/// backoff ends.
fn schedule_pump(rc: &Rc<RefCell<Inner>>) {
    let mut i = rc.borrow_mut();
    let wait = if i.outbox.has_queued() {
        Some(50.0)
    } else {
        (i.outbox.next_due()).map(|at| (at - js_sys::Date::now()).max(0.0) + 1.0)
    };
    let Some(wait) = wait else {
        i.timers.pump = None;
        return;
    };
    let w = Rc::downgrade(rc);
    i.timers.pump = Some(Timeout::new(wait as u32, move || {
        if let Some(rc) = w.upgrade() {
            pump(&rc);
        }
    }));
}

/// Send due publishes while the rate allows; come back later for the rest.
fn pump(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let mut open = false;
    with(&weak, |i| {
        i.timers.pump = None;
        let Some(ws) = (i.ws.as_ref()).filter(|ws| ws.is_open()) else {
            i.batcher.publishes(i.pane, i.outbox.pending());
            return vec![];
        };
        open = true;
        let now = js_sys::Date::now();
        i.outbox.promote(now);
        i.pace.refill(now);
        let mut sent = 0;
        while i.pace.ready() {
            let Some(p) = i.outbox.take() else {
                break;
            };
            if !ws.send(&p.frame) {
                i.outbox.unsent(p);
                break;
            }
            i.outbox.sent(p);
            i.pace.spend();
            sent += 1;
        }
        i.batcher.publishes(i.pane, i.outbox.pending());
        if sent > 0 {
            vec![Action::Sent(i.pane, sent)]
        } else {
            vec![]
        }
    });
    if open {
        schedule_pump(rc);
    }
}
