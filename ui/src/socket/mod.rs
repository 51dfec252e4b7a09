//! One region's WebSocket connection: open, reconnect with backoff, resume with
//! `since`/`epoch`, publish with pacing. What the frames say is decoded in [`frames`].
//!
//! - **Resume.** The socket remembers the last offset it saw and the epoch it belongs to, and
//!   reconnects with `/ws?since=<offset>&epoch=<epoch>`: the server replays what was missed
//!   (or says `epoch` when the log was reset), so nothing is lost or doubled.
//! - **Backoff.** 250 ms doubling to 10 s, ±25 % jitter, reset once a connection opens.
//! - **Batching.** Frames are stamped with the browser's clock on arrival and go to the shared
//!   [`Inbox`], so a burst of events costs a few renders, not one each.
//! - **Publishing.** Publishes queue in an outbox (at most [`MAX_PENDING`] unacknowledged;
//!   beyond that `publish` refuses) and go out at most [`SEND_RATE`] per second, under the
//!   server's limit. Unacknowledged publishes are sent again after a reconnect with the same
//!   id, which the server stores once.

pub mod frames;

pub use frames::{decode, Cursor};

use crate::inbox::Inbox;
use crate::platform::{js_error, now_micros, random};
use crate::state::{Action, Level, Link};
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use wire::ServerFrame;
use yew::Callback;

/// Publishes sent per second at most (the server allows 1,000/s per connection).
const SEND_RATE: f64 = 800.0;
/// Publishes queued or awaiting their ack at most.
pub const MAX_PENDING: usize = 20_000;

type Handlers = (
    Closure<dyn FnMut()>,
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(CloseEvent)>,
);

struct Inner {
    pane: usize,
    name: String,
    url: String,
    dispatch: Callback<Action>,
    ws: Option<WebSocket>,
    /// Handlers of the current socket, and of closed ones (a closure must not be dropped
    /// while it runs, so old ones wait here until the next connect).
    handlers: Vec<Handlers>,
    attempt: u32,
    /// Where a reconnect resumes.
    cursor: Cursor,
    inbox: Inbox,
    outbox: VecDeque<(String, String)>,
    inflight: VecDeque<(String, String)>,
    tokens: f64,
    tokens_at: f64,
    timers: Timers,
    seq: u64,
    session: u32,
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
    /// Open a socket to the region `name` at `http_url` for pane `pane`.
    pub fn open(
        pane: usize,
        name: &str,
        http_url: &str,
        dispatch: Callback<Action>,
        inbox: Inbox,
    ) -> Socket {
        let inner = Inner {
            pane,
            name: name.into(),
            url: crate::platform::ws_url(http_url),
            dispatch,
            ws: None,
            handlers: Vec::new(),
            attempt: 0,
            cursor: Cursor::default(),
            inbox,
            outbox: VecDeque::new(),
            inflight: VecDeque::new(),
            tokens: SEND_RATE,
            tokens_at: js_sys::Date::now(),
            timers: Timers::default(),
            seq: 0,
            session: (random() * 1e9) as u32,
            stopped: false,
        };
        let socket = Socket(Rc::new(RefCell::new(inner)));
        connect(&socket.0);
        socket
    }

    /// Close for good (the pane went away).
    pub fn stop(&self) {
        let mut i = self.0.borrow_mut();
        i.stopped = true;
        i.timers = Timers::default();
        if let Some(ws) = i.ws.take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
    }

    /// Queue `count` publishes of `kind` with `text`; returns how many were queued.
    pub fn publish(&self, kind: &str, text: &str, count: u32) -> Result<u64, String> {
        let queued = {
            let mut i = self.0.borrow_mut();
            let room = MAX_PENDING.saturating_sub(i.outbox.len() + i.inflight.len());
            if room < count as usize {
                return Err(format!(
                    "{} publishes are still waiting to be sent or acknowledged; at most {MAX_PENDING} may be",
                    i.outbox.len() + i.inflight.len()
                ));
            }
            for n in 1..=count {
                i.seq += 1;
                let id = format!("{}-{:08x}-{}", i.name, i.session, i.seq);
                let payload = if count > 1 {
                    serde_json::json!({"text": text, "burst": format!("{n}/{count}")})
                } else {
                    serde_json::json!({ "text": text })
                };
                let frame = serde_json::json!({"type": "publish", "id": id, "kind": kind, "payload": payload});
                i.outbox.push_back((id, frame.to_string()));
            }
            count as u64
        };
        pump(&self.0);
        Ok(queued)
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

fn connect(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let mut i = rc.borrow_mut();
    // Closures of earlier sockets are not running now: free them.
    i.handlers.clear();
    let url = match i.cursor.query() {
        Some(q) => format!("{}?{q}", i.url),
        None => i.url.clone(),
    };
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(e) => {
            let msg = format!("cannot open {url}: {}", js_error(e));
            let (pane, dispatch) = (i.pane, i.dispatch.clone());
            drop(i);
            dispatch.emit(Action::Notify(pane, Level::Error, msg));
            closed(&weak);
            return;
        }
    };
    let w = weak.clone();
    let onopen = Closure::<dyn FnMut()>::new(move || {
        with(&w, |i| {
            i.attempt = 0;
            // Publishes not acknowledged on the old socket go again, first, same ids.
            while let Some(p) = i.inflight.pop_back() {
                i.outbox.push_front(p);
            }
            vec![Action::Link(i.pane, Link::Connected)]
        });
        if let Some(rc) = w.upgrade() {
            pump(&rc);
        }
    });
    let w = weak.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let at = now_micros();
        let Some(text) = e.data().as_string() else {
            return;
        };
        let frame = decode(&text);
        with(&w, |i| match frame {
            Ok(frame) => {
                i.cursor.on_frame(&frame);
                i.on_reply(&frame);
                i.inbox.push(i.pane, frame, at);
                vec![]
            }
            Err(err) => vec![Action::Notify(i.pane, Level::Error, err)],
        });
    });
    let w = weak.clone();
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| closed(&w));
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    i.handlers.push((onopen, onmessage, onclose));
    i.ws = Some(ws);
}

impl Inner {
    /// Keep the unacknowledged publishes up to date.
    fn on_reply(&mut self, frame: &ServerFrame) {
        if let ServerFrame::Ack { id, .. } | ServerFrame::Error { id: Some(id), .. } = frame {
            if let Some(pos) = self.inflight.iter().position(|(i, _)| i == id) {
                self.inflight.remove(pos);
            }
        }
    }
}

/// The socket closed (or could not open): hand over what arrived, then retry later.
fn closed(weak: &Weak<RefCell<Inner>>) {
    // What arrived before the close reaches the state before the link changes.
    let inbox = weak.upgrade().map(|rc| rc.borrow().inbox.clone());
    if let Some(inbox) = inbox {
        inbox.flush();
    }
    with(weak, |i| {
        i.ws = None;
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
}

/// Send queued publishes while the rate allows; come back later for the rest.
fn pump(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    with(&weak, |i| {
        i.timers.pump = None;
        let Some(ws) =
            i.ws.clone()
                .filter(|ws| ws.ready_state() == WebSocket::OPEN)
        else {
            return vec![];
        };
        let now = js_sys::Date::now();
        i.tokens = (i.tokens + (now - i.tokens_at) / 1000.0 * SEND_RATE).min(SEND_RATE);
        i.tokens_at = now;
        let mut sent = 0;
        while i.tokens >= 1.0 {
            let Some((id, frame)) = i.outbox.pop_front() else {
                break;
            };
            if ws.send_with_str(&frame).is_err() {
                i.outbox.push_front((id, frame));
                break;
            }
            i.inflight.push_back((id, frame));
            i.tokens -= 1.0;
            sent += 1;
        }
        if !i.outbox.is_empty() {
            let w = weak.clone();
            i.timers.pump = Some(Timeout::new(50, move || {
                if let Some(rc) = w.upgrade() {
                    pump(&rc);
                }
            }));
        }
        if sent > 0 {
            vec![Action::Sent(i.pane, sent)]
        } else {
            vec![]
        }
    });
}
