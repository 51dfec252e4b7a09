//! The browser and the desktop shell, seen from Rust: clock, HTTP, Tauri commands.
//!
//! These call into JavaScript, so they only work in the browser (wasm32); the crate still
//! compiles natively so that the pure state can be unit-tested with `cargo test`.

use crate::refusal::Refusal;
use js_sys::{Function, Promise, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wire::Micros;

/// The browser's clock in Unix microseconds (`performance.timeOrigin + now()`).
pub fn now_micros() -> Micros {
    thread_local! {
        // Looked up once: this runs for every frame received.
        static PERF: Option<(web_sys::Performance, f64)> = web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| { let origin = p.time_origin(); (p, origin) });
    }
    PERF.with(|p| match p {
        Some((p, origin)) => ((origin + p.now()) * 1000.0) as Micros,
        None => (js_sys::Date::now() * 1000.0) as Micros,
    })
}

/// Run `f` with the page's clock (µs) in the next animation frame: after the state updates
/// and renders queued now, just before the browser paints them. Does nothing without a window.
pub fn next_frame(f: impl FnOnce(Micros) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let cb = wasm_bindgen::closure::Closure::once_into_js(move |_: f64| f(now_micros()));
    let _ = window.request_animation_frame(cb.unchecked_ref());
}

/// The page clock's resolution, µs: the smallest step `performance.now()` takes (browsers
/// coarsen it, from 5 µs to 1 ms, against timing attacks). Sampled for about 2 ms; `None`
/// without a `performance` clock.
pub fn clock_resolution() -> Option<f64> {
    let perf = web_sys::window()?.performance()?;
    let start = perf.now();
    let (mut last, mut best) = (start, f64::MAX);
    while last - start < 2.0 {
        let t = perf.now();
        if t > last {
            best = best.min(t - last);
            last = t;
        }
    }
    (best < f64::MAX).then_some(best * 1000.0)
}

/// `Math.random()`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Resolve after `ms` milliseconds (`setTimeout`).
pub async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// What a JavaScript exception or rejection says.
pub fn js_error(e: JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    js_sys::JSON::stringify(&e)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// GET `url` and decode its JSON body.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{url}: {}", js_error(e)))?;
    decode(url, resp).await
}

/// GET `url` and decode its JSON body, timed: also when the page sent the request and when
/// its answer's head arrived (page clock, µs; before reading the body, so reading it does not
/// widen the window the server's clock was read in).
pub async fn get_json_timed<T: DeserializeOwned>(url: &str) -> (Result<T, String>, Micros, Micros) {
    let sent = now_micros();
    let Some(window) = web_sys::window() else {
        return (Err("no window".into()), sent, now_micros());
    };
    let resp = JsFuture::from(window.fetch_with_str(url)).await;
    let received = now_micros();
    let result = match resp {
        Ok(resp) => decode(url, resp).await,
        Err(e) => Err(format!("{url}: {}", js_error(e))),
    };
    (result, sent, received)
}

/// GET `url` with the tab's token (as `?token=`, which needs no CORS preflight) and return
/// the body as text; any status but 200 is an error that reads as the server's error frame
/// says (`unauthorized: …`), else as the status and body.
pub async fn get_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let url = crate::token::with_token(url, crate::token::get().as_deref());
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(|e| format!("{url}: {}", js_error(e)))?
        .dyn_into()
        .map_err(|_| "not a response".to_owned())?;
    let text = JsFuture::from(resp.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    if resp.status() == 200 {
        return Ok(text);
    }
    match serde_json::from_str::<wire::ServerFrame>(&text) {
        Ok(wire::ServerFrame::Error { code, message, .. }) => {
            Err(format!("{}: {message}", code.as_str()))
        }
        _ => Err(format!("HTTP {}: {}", resp.status(), text.trim())),
    }
}

/// PUT `body` as JSON to `url` and decode the JSON answer. A refusal reads as the server's
/// error frame says (`invalid_sim: …`), else as its HTTP status. The tab's token, if any, goes
/// as `Authorization: Bearer` and as `?token=` (a region accepts either).
pub async fn put_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, String> {
    let body = serde_json::to_string(body).map_err(|e| e.to_string())?;
    let resp = put(url, &body).await?;
    decode(url, resp).await
}

/// PUT `body` (JSON) to `url` with the tab's token; the raw answer.
async fn put(url: &str, body: &str) -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let token = crate::token::get();
    let init = web_sys::RequestInit::new();
    init.set_method("PUT");
    init.set_body(&JsValue::from_str(body));
    let headers = js_sys::Object::new();
    Reflect::set(&headers, &"content-type".into(), &"application/json".into()).map_err(js_error)?;
    if let Some(t) = &token {
        let bearer = JsValue::from_str(&format!("Bearer {t}"));
        Reflect::set(&headers, &"authorization".into(), &bearer).map_err(js_error)?;
    }
    init.set_headers(&headers);
    let url = crate::token::with_token(url, token.as_deref());
    JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|e| format!("{url}: {}", js_error(e)))
}

/// Offer `text` as a file download named `name` (a Blob behind a temporary link).
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_error)?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_owned())?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url).map_err(js_error)
}

/// The text of a file the person picked.
pub async fn read_file(file: &web_sys::File) -> Result<String, String> {
    let text = JsFuture::from(file.text()).await.map_err(js_error)?;
    text.as_string()
        .ok_or_else(|| "the file is not text".into())
}

/// Ask region `url` whether it refuses this page, and why; `Ok(None)` when it does not.
///
/// Why this probe: a refused WebSocket upgrade gives the page no HTTP status (the browser
/// reports only a close, code 1006), and a plain `GET /ws` is refused for lacking the upgrade
/// headers before the token is looked at (and sends no CORS headers, so the page could not
/// read it anyway). `PUT /sim` is guarded exactly as `/ws` is (origin, then token;
/// docs/protocol.md), answers with CORS headers, and a body that is not JSON is refused with
/// `400 invalid_sim` only after the guard passed, changing nothing. So `401` means the token,
/// `403` the origin, anything else that neither is the reason the socket closed.
pub async fn refusal(url: &str) -> Result<Option<Refusal>, String> {
    let resp: web_sys::Response = put(&format!("{url}/sim"), "not json: a probe of the guard")
        .await?
        .dyn_into()
        .map_err(js_error)?;
    Ok(Refusal::from_status(resp.status()))
}

/// The JSON body of a fetch answer, or what went wrong.
async fn decode<T: DeserializeOwned>(url: &str, resp: JsValue) -> Result<T, String> {
    let resp: web_sys::Response = resp.dyn_into().map_err(js_error)?;
    let text = JsFuture::from(resp.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    if !resp.ok() {
        return Err(match serde_json::from_str::<wire::ServerFrame>(&text) {
            Ok(wire::ServerFrame::Error { code, message, .. }) => format!("{code}: {message}"),
            _ => format!("{url}: HTTP {}", resp.status()),
        });
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
}

/// `window.__TAURI_INTERNALS__`, when running inside the desktop app.
fn tauri_internals() -> Option<JsValue> {
    let window = web_sys::window()?;
    let t = Reflect::get(&window, &"__TAURI_INTERNALS__".into()).ok()?;
    (!t.is_undefined() && !t.is_null()).then_some(t)
}

/// True inside the desktop app.
pub fn in_tauri() -> bool {
    tauri_internals().is_some()
}

/// Call the desktop app's command `cmd` with `args` (a JSON object) and decode its answer.
/// A rejected command yields the message it rejected with.
pub async fn invoke<T: DeserializeOwned>(
    cmd: &str,
    args: Option<serde_json::Value>,
) -> Result<T, String> {
    let t = tauri_internals().ok_or("not running in the desktop app")?;
    let f: Function = Reflect::get(&t, &"invoke".into())
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "__TAURI_INTERNALS__.invoke is not a function".to_owned())?;
    let promise = match args {
        Some(a) => {
            let a = js_sys::JSON::parse(&a.to_string()).map_err(js_error)?;
            f.call2(&t, &cmd.into(), &a)
        }
        None => f.call1(&t, &cmd.into()),
    }
    .map_err(js_error)?;
    let value = JsFuture::from(Promise::from(promise))
        .await
        .map_err(js_error)?;
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "null".into());
    serde_json::from_str(&text).map_err(|e| format!("{cmd}: unexpected answer ({e})"))
}

/// The regions to connect to: the desktop app's `regions` command, else `GET /regions`.
pub async fn regions() -> Result<Vec<wire::RegionInfo>, String> {
    if in_tauri() {
        invoke("regions", None).await
    } else {
        get_json("/regions").await
    }
}

/// `http://host:port` → `ws://host:port/ws` (and https → wss).
pub fn ws_url(http: &str) -> String {
    let base = http.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{base}"),
    };
    format!("{base}/ws")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ws_urls_follow_the_http_scheme() {
        assert_eq!(
            super::ws_url("http://127.0.0.1:4000"),
            "ws://127.0.0.1:4000/ws"
        );
        assert_eq!(super::ws_url("https://x.example/"), "wss://x.example/ws");
    }
}
