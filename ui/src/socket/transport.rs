//! A region's WebSocket, run in a dedicated worker, so that each frame is stamped the moment
//! it arrives, however busy the page's main thread is.
//!
//! The page's "delivered" marks are when its socket got each frame. A WebSocket of the page
//! itself is read on the main thread: while that thread runs the reducer and renders a burst
//! (100 rows into three panes and the timeline), arriving frames wait unread, and were
//! stamped up to ~200 ms after a plain client of the same region had them (issue 22). The
//! worker does nothing but hold the socket: it stamps every text frame on arrival
//! (`performance.timeOrigin + performance.now()`, the same wall-anchored clock, and the same
//! resolution, as the page's own stamps) and posts it on with its stamp; sends go the other
//! way. Order is kept both ways (a worker's messages are delivered in order).
//!
//! One worker per connection attempt: [`Transport::close`] asks it to close its socket, and a
//! worker whose socket closed ends itself. Where no worker can be started (a webview that
//! refuses a worker from a `blob:` URL), the socket is the page's own, stamped on the main
//! thread as before: late while the page is busy, but working.

use crate::platform::now_micros;
use js_sys::{Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, MessageEvent, Url, WebSocket, Worker};
use wire::Micros;

/// The worker: open the socket it is given, stamp and post every text frame, send what it is
/// sent while open, close when told; end once its socket closed.
const WORKER_JS: &str = r#"
let ws = null;
onmessage = (e) => {
  const m = e.data;
  if (m.t === 'open') {
    try {
      ws = new WebSocket(m.url);
    } catch (err) {
      postMessage({ t: 'failed', message: String(err && err.message || err) });
      close();
      return;
    }
    ws.onopen = () => postMessage({ t: 'open' });
    ws.onmessage = (ev) => {
      const at = performance.timeOrigin + performance.now();
      if (typeof ev.data === 'string') postMessage({ t: 'frame', at, text: ev.data });
    };
    ws.onclose = () => { postMessage({ t: 'closed' }); close(); };
  } else if (m.t === 'send') {
    if (ws && ws.readyState === 1) ws.send(m.text);
  } else if (m.t === 'close') {
    if (ws && ws.readyState < 2) ws.close(); else close();
  }
};
"#;

/// What the worker reports.
#[derive(Debug)]
pub enum Event {
    /// The socket opened.
    Open,
    /// A text frame, stamped on arrival (the page's clock), µs.
    Frame(String, Micros),
    /// The socket closed (or never opened).
    Closed,
    /// The socket could not be made (a malformed URL); it is closed.
    Failed(String),
}

/// The handlers of one attempt's socket: kept until no event can call them any more.
pub type Handler = Vec<Closure<dyn FnMut(JsValue)>>;

/// Where the socket runs.
enum Runs {
    /// In its worker.
    Worker(Worker),
    /// On the page's main thread (no worker could be started).
    Page(WebSocket),
}

/// One connection attempt's socket, in its worker.
pub struct Transport {
    runs: Runs,
    open: std::rc::Rc<std::cell::Cell<bool>>,
}

thread_local! {
    /// The worker script's object URL, made once per page.
    static SCRIPT: Result<String, String> = script_url();
    /// A worker failed to start here (its script refused after it was made): every later
    /// socket runs on the page.
    static NO_WORKERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn script_url() -> Result<String, String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_JS));
    let opts = BlobPropertyBag::new();
    opts.set_type("text/javascript");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(js_text)?;
    Url::create_object_url_with_blob(&blob).map_err(js_text)
}

fn js_text(e: JsValue) -> String {
    crate::platform::js_error(e).to_string()
}

fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn post(worker: &Worker, pairs: &[(&str, &str)]) {
    let m = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&m, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    // A worker that ended (its socket closed) ignores messages; nothing to report.
    let _ = worker.post_message(&m);
}

/// What one worker message reports; `open` follows the socket's state.
fn event_of(data: &JsValue, open: &std::cell::Cell<bool>) -> Event {
    match field(data, "t").as_string().as_deref() {
        Some("frame") => {
            let text = field(data, "text").as_string().unwrap_or_default();
            let at =
                (field(data, "at").as_f64()).map_or_else(now_micros, |ms| (ms * 1000.0) as Micros);
            Event::Frame(text, at)
        }
        Some("open") => {
            open.set(true);
            Event::Open
        }
        Some("failed") => {
            open.set(false);
            Event::Failed(field(data, "message").as_string().unwrap_or_default())
        }
        _ => {
            open.set(false);
            Event::Closed
        }
    }
}

impl Transport {
    /// Open `url` in a new worker (or, where none can be started, on the page); `on_event`
    /// hears what happens to it. Returns the transport and its handlers (the caller keeps
    /// them alive until the next attempt), or why no socket could be made.
    pub fn connect(
        url: &str,
        on_event: impl FnMut(Event) + 'static,
    ) -> Result<(Transport, Handler), String> {
        let worker = SCRIPT
            .with(|s| s.clone())
            .and_then(|s| Worker::new(&s).map_err(js_text));
        let open = std::rc::Rc::new(std::cell::Cell::new(false));
        let on_event = std::rc::Rc::new(std::cell::RefCell::new(on_event));
        let Ok(worker) = worker else {
            return Transport::on_page(url, open, on_event);
        };
        let (flag, on_error) = (open.clone(), on_event.clone());
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let data = e.unchecked_into::<MessageEvent>().data();
            let event = event_of(&data, &flag);
            (on_event.borrow_mut())(event);
        });
        // The script did not load (a webview's policy): this attempt fails, the next ones
        // run on the page.
        let onerror = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            NO_WORKERS.with(|n| n.set(true));
            (on_error.borrow_mut())(Event::Failed("no worker for the socket".into()));
        });
        worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        post(&worker, &[("t", "open"), ("url", url)]);
        let runs = Runs::Worker(worker);
        Ok((Transport { runs, open }, vec![handler, onerror]))
    }

    /// The fallback: the page's own WebSocket, frames stamped when the main thread reads them.
    fn on_page<F: FnMut(Event) + 'static>(
        url: &str,
        open: std::rc::Rc<std::cell::Cell<bool>>,
        on_event: std::rc::Rc<std::cell::RefCell<F>>,
    ) -> Result<(Transport, Handler), String> {
        let ws = WebSocket::new(url).map_err(js_text)?;
        let (f1, f2, f3) = (on_event.clone(), on_event.clone(), on_event);
        let (o1, o3) = (open.clone(), open.clone());
        let onopen = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            o1.set(true);
            (f1.borrow_mut())(Event::Open);
        });
        let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let at = now_micros();
            if let Some(text) = e.unchecked_into::<MessageEvent>().data().as_string() {
                (f2.borrow_mut())(Event::Frame(text, at));
            }
        });
        let onclose = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            o3.set(false);
            (f3.borrow_mut())(Event::Closed);
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        let runs = Runs::Page(ws);
        Ok((Transport { runs, open }, vec![onopen, onmessage, onclose]))
    }

    /// True while the socket is open.
    pub fn is_open(&self) -> bool {
        self.open.get()
    }

    /// Send `text` if the socket is open; false when it is not (a send to a socket closing
    /// meanwhile is lost, as with any WebSocket: the outbox retries it by id).
    pub fn send(&self, text: &str) -> bool {
        if !self.is_open() {
            return false;
        }
        match &self.runs {
            Runs::Worker(w) => {
                post(w, &[("t", "send"), ("text", text)]);
                true
            }
            Runs::Page(ws) => ws.send_with_str(text).is_ok(),
        }
    }

    /// Close the socket and stop hearing from it (nothing more is reported).
    pub fn close(&self) {
        self.open.set(false);
        match &self.runs {
            Runs::Worker(w) => {
                w.set_onmessage(None);
                w.set_onerror(None);
                post(w, &[("t", "close")]);
            }
            Runs::Page(ws) => {
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
                let _ = ws.close();
            }
        }
    }
}
