//! The timeline's file bar: export it as JSON or CSV, open a JSON export to look at later.

use crate::error::FileError;
use crate::export::{self, OpenError, OpenFailure, Opened, Starts};
use crate::hooks::use_app;
use crate::log::Log;
use crate::platform::{download, now_micros, read_file};
use crate::presence::Changes;
use crate::state::Action;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// `at` (Unix µs) as an ISO 8601 time, by the browser's `Date`.
fn iso(at: wire::Micros) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64 / 1000.0))
        .to_iso_string()
        .into()
}

/// Props of [`TimelineFile`].
#[derive(Properties, PartialEq)]
pub struct TimelineFileProps {
    /// The timeline shown (live, or the recording's).
    pub log: Log,
    /// Its joins and leaves.
    pub presence: Changes,
    /// Its regions, in pane order, with where their feeds started (when known).
    pub regions: Vec<(AttrValue, Option<Starts>)>,
    /// The recording shown instead of the live timeline, or why a file did not open.
    pub recording: Option<Result<Rc<Opened>, OpenError>>,
}

/// Offer `log` and `presence` (of the panes `regions`) as a file to download: CSV (events
/// only), or JSON.
fn save(
    log: &Log,
    presence: &Changes,
    regions: &[(AttrValue, Option<Starts>)],
    csv: bool,
) -> Result<(), FileError> {
    let names: Vec<String> = regions.iter().map(|(n, _)| n.to_string()).collect();
    let feeds: Option<Vec<Starts>> = regions.iter().map(|(_, s)| s.clone()).collect();
    let rec = export::record(log, &names, feeds, now_micros()).with_presence(presence);
    let stamp = (rec.exported_at / 1_000_000).to_string();
    if csv {
        download(
            &format!("timeline-{stamp}.csv"),
            "text/csv",
            &export::to_csv(&rec),
        )
    } else {
        let json = export::to_json(&rec);
        download(&format!("timeline-{stamp}.json"), "application/json", &json)
    }
}

/// Read `file` as a recording, or say why it is not one.
async fn open(file: &web_sys::File) -> Result<Rc<Opened>, OpenError> {
    read_file(file)
        .await
        .map_err(OpenFailure::from)
        .and_then(|text| Ok(export::from_json(&text)?))
        .map(|rec| Opened::new(file.name(), &rec))
        .map_err(|why| OpenError {
            file: file.name(),
            why,
        })
}

/// What is shown instead of the live timeline, with the way back: the recording, or why the
/// file did not open.
fn recording_bar(
    recording: Option<&Result<Rc<Opened>, OpenError>>,
    onlive: Callback<MouseEvent>,
) -> Html {
    match recording {
        Some(Ok(r)) => html! {
            <span class="recording" data-testid="recording">
                { format!("Viewing {} · {} event{}, exported {}", r.name, r.log.len(),
                    if r.log.len() == 1 { "" } else { "s" }, iso(r.exported_at)) }
                <button type="button" class="ghost" data-testid="back-to-live" onclick={onlive}>{ "Back to live" }</button>
            </span>
        },
        Some(Err(e)) => html! {
            <span class="notice error" data-testid="recording-error">{ e.to_string() }
                <button type="button" class="dismiss" onclick={onlive}>{ "×" }</button>
            </span>
        },
        None => html! {},
    }
}

/// "Export JSON", "Export CSV", "Open export…"; while a recording is shown, what it is and
/// "Back to live".
#[component]
pub fn TimelineFile(props: &TimelineFileProps) -> Html {
    let dispatch = use_app().dispatch;
    let error = use_state(|| None::<FileError>);
    let onsave = |csv: bool| {
        let (log, regions, error) = (props.log.clone(), props.regions.clone(), error.clone());
        let presence = props.presence.clone();
        Callback::from(move |_: MouseEvent| error.set(save(&log, &presence, &regions, csv).err()))
    };
    let onopen = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value(""); // the same file can be opened again
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.emit(Action::Recording(Some(open(&file).await)));
            });
        })
    };
    let onlive = dispatch.reform(|_: MouseEvent| Action::Recording(None));
    let shown = recording_bar(props.recording.as_ref(), onlive);
    html! {
        <div class="timeline-file">
            { shown }
            <button type="button" class="ghost" data-testid="export-json" onclick={onsave(false)}
                title="Every event with every hop, to open here again later">{ "Export JSON" }</button>
            <button type="button" class="ghost" data-testid="export-csv" onclick={onsave(true)}
                title="One line per event and region, for a spreadsheet">{ "Export CSV" }</button>
            <label class="ghost file-open" title="Open a JSON export to look at it">
                { "Open export…" }
                <input type="file" accept=".json,application/json" data-testid="open-export" onchange={onopen} />
            </label>
            if let Some(e) = &*error {
                <span class="notice error">{ format!("not exported: {e}") }</span>
            }
        </div>
    }
}
