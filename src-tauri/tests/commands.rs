//! The UI's commands through Tauri's IPC, on the mock runtime (no window, no display).

use multiregion_desktop::state::AppRegions;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

fn invoke(
    webview: &WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

/// `regions`, `broker_status` and a refused `set_redis_url` answer in the shapes the UI
/// codes against, and a refused URL leaves the app on its broker.
#[test]
fn commands_answer_in_the_ui_contract() {
    // Before the app starts: nothing else reads the environment concurrently.
    std::env::set_var("MULTIREGION_BROKER", "embedded");
    let mut app = multiregion_desktop::run_app(mock_builder())
        .build(mock_context(noop_assets()))
        .expect("build");
    // The setup hook (which starts the regions) runs on the event loop's first iteration.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("webview");

    let regions = invoke(&webview, "regions", json!({})).expect("regions");
    let names: Vec<&str> = regions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["as", "us", "eu"]);
    assert!(regions[0]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));

    let status = invoke(&webview, "broker_status", json!({})).expect("status");
    assert_eq!(status["kind"], "embedded");
    assert_eq!(status["url"], Value::Null);
    assert_eq!(status["private"], false);
    assert!(status["description"].as_str().unwrap().contains("Embedded"));

    let refused = invoke(
        &webview,
        "set_redis_url",
        json!({ "url": "redis://127.0.0.1:1" }),
    )
    .expect_err("refused");
    assert!(refused.as_str().unwrap().contains("redis://127.0.0.1:1"));
    assert_eq!(
        invoke(&webview, "broker_status", json!({})).expect("status"),
        status
    );
    assert_eq!(
        invoke(&webview, "regions", json!({})).expect("regions"),
        regions
    );

    let regions_state = app.state::<AppRegions>().inner().clone();
    tauri::async_runtime::block_on(async move { regions_state.0.lock().await.shutdown().await });
}
