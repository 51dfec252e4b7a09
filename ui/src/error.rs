//! What can go wrong at the UI's edges, as data: one small enum per kind of call, each
//! variant reading (its `Display`) exactly as the page shows it.
//!
//! They live here, beneath the state, because the state holds them (a pane's failed
//! `/health`, a region list that did not load, a file that did not open): the pure reducer
//! keeps them without depending on [`crate::platform`], the edge that produces them. What
//! JavaScript or serde said is kept as its message ([`JsError`], `message` fields): the state
//! is cloned and compared for every render, and a `JsValue` means nothing natively.

use wire::ErrorCode;

/// What a JavaScript exception or rejection said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsError(pub String);

/// Why a request to a region (`fetch`) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Not in a browser window.
    #[error("no window")]
    NoWindow,
    /// The request got no answer: the region is down, or the browser would not send it.
    #[error("{url}: {browser}")]
    Unreachable {
        /// What was asked for.
        url: String,
        /// What the browser said.
        browser: JsError,
    },
    /// The browser failed to build the request or to read the answer.
    #[error(transparent)]
    Browser(#[from] JsError),
    /// `fetch` resolved with something that is not a `Response`.
    #[error("not a response")]
    NotAResponse,
    /// The region refused, with its error body (`{"type":"error","code":…}`).
    #[error("{code}: {message}")]
    Refused {
        /// The protocol's code.
        code: ErrorCode,
        /// The region's words.
        message: String,
    },
    /// A JSON request answered with a failing status and no error body.
    #[error("{url}: HTTP {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// A text request answered with another status than 200 and no error body.
    #[error("HTTP {status}: {body}")]
    StatusBody {
        /// The HTTP status.
        status: u16,
        /// The answer's body, trimmed.
        body: String,
    },
    /// The answer is not the JSON expected.
    #[error("{url}: {message}")]
    Unreadable {
        /// What was asked for.
        url: String,
        /// What serde said.
        message: String,
    },
    /// The request's body did not serialize.
    #[error("{0}")]
    Body(String),
}

/// Why a file could not be offered as a download, or read once picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not in a browser window.
    #[error("no window")]
    NoWindow,
    /// The window has no document.
    #[error("no document")]
    NoDocument,
    /// The browser refused a step (the blob, its URL, the link, reading the file).
    #[error(transparent)]
    Browser(#[from] JsError),
    /// The element made for the download is not a link.
    #[error("not an anchor")]
    NotAnAnchor,
    /// The picked file's contents are not text.
    #[error("the file is not text")]
    NotText,
}

/// Why a command of the desktop app (Tauri's `invoke`) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// The page is not running in the desktop app.
    #[error("not running in the desktop app")]
    NotDesktop,
    /// `__TAURI_INTERNALS__.invoke` is missing or not callable.
    #[error("__TAURI_INTERNALS__.invoke is not a function")]
    NoInvoke,
    /// Calling the command failed in JavaScript.
    #[error(transparent)]
    Call(JsError),
    /// The command ran and refused, with its message.
    #[error(transparent)]
    Rejected(JsError),
    /// The command's answer is not what the page expects.
    #[error("{command}: unexpected answer ({message})")]
    Unexpected {
        /// The command.
        command: String,
        /// What serde said.
        message: String,
    },
}

/// Why the region list could not be loaded: from the desktop app, or from `GET /regions`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionsError {
    /// The desktop app's `regions` command failed.
    #[error(transparent)]
    Desktop(#[from] ShellError),
    /// `GET /regions` failed.
    #[error(transparent)]
    Http(#[from] HttpError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_reads_as_the_page_showed_it() {
        let js = || JsError("Failed to fetch".into());
        let unreachable = HttpError::Unreachable {
            url: "http://h:1/health".into(),
            browser: js(),
        };
        assert_eq!(
            unreachable.to_string(),
            "http://h:1/health: Failed to fetch"
        );
        let refused = HttpError::Refused {
            code: ErrorCode::InvalidSim,
            message: "too long".into(),
        };
        assert_eq!(refused.to_string(), "invalid_sim: too long");
        let status = HttpError::Status {
            url: "/regions".into(),
            status: 502,
        };
        assert_eq!(status.to_string(), "/regions: HTTP 502");
        let body = HttpError::StatusBody {
            status: 500,
            body: "oops".into(),
        };
        assert_eq!(body.to_string(), "HTTP 500: oops");
        assert_eq!(
            RegionsError::from(ShellError::NotDesktop).to_string(),
            "not running in the desktop app"
        );
        assert_eq!(ShellError::Rejected(js()).to_string(), "Failed to fetch");
        assert_eq!(FileError::NotText.to_string(), "the file is not text");
    }
}
