//! The region token (`multiregion serve --token`), as the page keeps it.
//!
//! Taken from `?token=` in the page's URL when it opens, or typed into the page when a
//! region refuses it ([`crate::components::TokenForm`]). Kept in `sessionStorage`: for this
//! tab only, gone when it closes, never written to `localStorage` or a cookie. Sent on every
//! `/ws` (`?token=`) and `PUT /sim` (`Authorization: Bearer` and `?token=`). Regions started
//! without `--token` ignore it.

use crate::query;

/// The `sessionStorage` key.
const KEY: &str = "multiregion.token";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Keep the page URL's `?token=`, if it has one, for this tab, and take it out of the
/// address bar (so it is not copied along with the link, nor kept in the history; a reload
/// finds it in the tab's storage). Called once, before the sockets open.
pub fn adopt_from_page() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let Ok(search) = location.search() else {
        return;
    };
    if let Some(token) = from_query(&search) {
        set(&token);
        let rest = without_token(&search);
        let path = location.pathname().unwrap_or_default();
        let hash = location.hash().unwrap_or_default();
        if let Ok(history) = window.history() {
            let url = format!("{path}{rest}{hash}");
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
}

/// A query string (`?a=1&token=x`) without its `token` parameter (`?a=1`, or empty).
pub fn without_token(search: &str) -> String {
    let kept: Vec<&str> = (search.trim_start_matches('?').split('&'))
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token="))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

/// The token this tab holds, if any.
pub fn get() -> Option<String> {
    storage()?.get_item(KEY).ok()?.filter(|t| !t.is_empty())
}

/// Hold `token` for this tab (an empty one forgets it).
pub fn set(token: &str) {
    if let Some(s) = storage() {
        let _ = if token.is_empty() {
            s.remove_item(KEY)
        } else {
            s.set_item(KEY, token)
        };
    }
}

/// `url` with `token=<token>` added to its query, when `token` is some.
pub fn with_token(url: &str, token: Option<&str>) -> String {
    match token {
        Some(t) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}token={}", query::encode(t))
        }
        None => url.to_owned(),
    }
}

/// The `token` parameter of a query string (`?a=1&token=x`), percent-decoded.
pub fn from_query(search: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(query::decode)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_token_is_read_from_the_query_and_sent_encoded() {
        assert_eq!(from_query("?a=1&token=s%20e+c%2Fr"), Some("s e c/r".into()));
        assert_eq!(from_query("?token="), None);
        assert_eq!(from_query(""), None);
        assert_eq!(from_query("?token=50%"), Some("50%".into()));
        let url = with_token("ws://h:1/ws?since=3&epoch=e", Some("a b/c"));
        assert_eq!(url, "ws://h:1/ws?since=3&epoch=e&token=a%20b%2Fc");
        assert_eq!(
            with_token("http://h/sim", Some("t")),
            "http://h/sim?token=t"
        );
        assert_eq!(with_token("http://h/sim", None), "http://h/sim");
        assert_eq!(without_token("?a=1&token=x&b=2"), "?a=1&b=2");
        assert_eq!(without_token("?token=x"), "");
    }
}
