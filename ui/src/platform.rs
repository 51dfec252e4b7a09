//! The browser and the desktop shell, seen from Rust: clock, HTTP, Tauri commands.
//!
//! These call into JavaScript, so they only work in the browser (wasm32); the crate still
//! compiles natively so that the pure state can be unit-tested with `cargo test`. What fails
//! here fails as one of the typed errors of [`crate::error`].

use crate::error::{FileError, HttpError, JsError, RegionsError, ShellError};
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
pub fn js_error(e: JsValue) -> JsError {
    if let Some(s) = e.as_string() {
        return JsError(s);
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return JsError(err.message().into());
    }
    JsError(
        js_sys::JSON::stringify(&e)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_else(|| "unknown error".into()),
    )
}

/// `fetch(url)` rejected: the request got no answer.
fn unreachable(url: &str) -> impl FnOnce(JsValue) -> HttpError + '_ {
    move |e| HttpError::Unreachable {
        url: url.to_owned(),
        browser: js_error(e),
    }
}

/// GET `url` and decode its JSON body.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, HttpError> {
    let window = web_sys::window().ok_or(HttpError::NoWindow)?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(unreachable(url))?;
    decode(url, resp).await
}

/// GET `url` and decode its JSON body, timed: also when the page sent the request and when
/// its answer's head arrived (page clock, µs; before reading the body, so reading it does not
/// widen the window the server's clock was read in).
pub async fn get_json_timed<T: DeserializeOwned>(
    url: &str,
) -> (Result<T, HttpError>, Micros, Micros) {
    let sent = now_micros();
    let Some(window) = web_sys::window() else {
        return (Err(HttpError::NoWindow), sent, now_micros());
    };
    let resp = JsFuture::from(window.fetch_with_str(url)).await;
    let received = now_micros();
    let result = match resp {
        Ok(resp) => decode(url, resp).await,
        Err(e) => Err(unreachable(url)(e)),
    };
    (result, sent, received)
}

/// GET `url` with the tab's token (as `?token=`, which needs no CORS preflight) and return
/// the body as text; any status but 200 is an error that reads as the server's error frame
/// says (`unauthorized: …`), else as the status and body.
pub async fn get_text(url: &str) -> Result<String, HttpError> {
    let window = web_sys::window().ok_or(HttpError::NoWindow)?;
    let url = crate::token::with_token(url, crate::token::get().as_deref());
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(unreachable(&url))?
        .dyn_into()
        .map_err(|_| HttpError::NotAResponse)?;
    let text = text_of(&resp).await?;
    if resp.status() == 200 {
        return Ok(text);
    }
    Err(refused(&text).unwrap_or_else(|| HttpError::StatusBody {
        status: resp.status(),
        body: text.trim().to_owned(),
    }))
}

/// PUT `body` as JSON to `url` and decode the JSON answer. A refusal reads as the server's
/// error frame says (`invalid_sim: …`), else as its HTTP status. The tab's token, if any, goes
/// as `Authorization: Bearer` and as `?token=` (a region accepts either).
pub async fn put_json<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, HttpError> {
    let body = serde_json::to_string(body).map_err(|e| HttpError::Body(e.to_string()))?;
    let resp = put(url, &body).await?;
    decode(url, resp).await
}

/// PUT `body` (JSON) to `url` with the tab's token; the raw answer.
async fn put(url: &str, body: &str) -> Result<JsValue, HttpError> {
    let window = web_sys::window().ok_or(HttpError::NoWindow)?;
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
        .map_err(unreachable(&url))
}

/// Offer `text` as a file download named `name` (a Blob behind a temporary link).
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), FileError> {
    let window = web_sys::window().ok_or(FileError::NoWindow)?;
    let document = window.document().ok_or(FileError::NoDocument)?;
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_error)?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| FileError::NotAnAnchor)?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url).map_err(|e| js_error(e).into())
}

/// The text of a file the person picked.
pub async fn read_file(file: &web_sys::File) -> Result<String, FileError> {
    let text = JsFuture::from(file.text()).await.map_err(js_error)?;
    text.as_string().ok_or(FileError::NotText)
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
pub async fn refusal(url: &str) -> Result<Option<Refusal>, HttpError> {
    let resp: web_sys::Response = put(&format!("{url}/sim"), "not json: a probe of the guard")
        .await?
        .dyn_into()
        .map_err(js_error)?;
    Ok(Refusal::from_status(resp.status()))
}

/// The body of `resp` as text.
async fn text_of(resp: &web_sys::Response) -> Result<String, JsError> {
    let text = JsFuture::from(resp.text().map_err(js_error)?)
        .await
        .map_err(js_error)?;
    Ok(text.as_string().unwrap_or_default())
}

/// The region's refusal, if `body` is its error frame.
fn refused(body: &str) -> Option<HttpError> {
    match serde_json::from_str::<wire::ServerFrame>(body) {
        Ok(wire::ServerFrame::Error { code, message, .. }) => {
            Some(HttpError::Refused { code, message })
        }
        _ => None,
    }
}

/// The JSON body of a fetch answer, or what went wrong.
async fn decode<T: DeserializeOwned>(url: &str, resp: JsValue) -> Result<T, HttpError> {
    let resp: web_sys::Response = resp.dyn_into().map_err(js_error)?;
    let text = text_of(&resp).await?;
    if !resp.ok() {
        return Err(refused(&text).unwrap_or_else(|| HttpError::Status {
            url: url.to_owned(),
            status: resp.status(),
        }));
    }
    serde_json::from_str(&text).map_err(|e| HttpError::Unreadable {
        url: url.to_owned(),
        message: e.to_string(),
    })
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
/// A rejected command yields the message it rejected with ([`ShellError::Rejected`]).
pub async fn invoke<T: DeserializeOwned>(
    cmd: &str,
    args: Option<serde_json::Value>,
) -> Result<T, ShellError> {
    let t = tauri_internals().ok_or(ShellError::NotDesktop)?;
    let call = |e| ShellError::Call(js_error(e));
    let f: Function = Reflect::get(&t, &"invoke".into())
        .map_err(call)?
        .dyn_into()
        .map_err(|_| ShellError::NoInvoke)?;
    let promise = match args {
        Some(a) => {
            let a = js_sys::JSON::parse(&a.to_string()).map_err(call)?;
            f.call2(&t, &cmd.into(), &a)
        }
        None => f.call1(&t, &cmd.into()),
    }
    .map_err(call)?;
    let value = JsFuture::from(Promise::from(promise))
        .await
        .map_err(|e| ShellError::Rejected(js_error(e)))?;
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "null".into());
    serde_json::from_str(&text).map_err(|e| ShellError::Unexpected {
        command: cmd.to_owned(),
        message: e.to_string(),
    })
}

/// The regions to connect to: the desktop app's `regions` command, else `GET /regions`.
pub async fn regions() -> Result<Vec<wire::RegionInfo>, RegionsError> {
    if in_tauri() {
        Ok(invoke("regions", None).await?)
    } else {
        Ok(get_json("/regions").await?)
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
