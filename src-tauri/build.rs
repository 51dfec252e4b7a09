//! Generates the Tauri context from the config at the repository root.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .expect("tauri build step (is tauri.conf.json valid and ui/dist built?)");
}
