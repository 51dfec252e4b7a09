//! The network preset picker: every region's simulated distance at once.

use web_sys::HtmlSelectElement;
use wire::sim::presets;
use yew::prelude::*;

/// Props of [`PresetPicker`].
#[derive(Properties, PartialEq)]
pub struct PresetPickerProps {
    /// The preset every region is on (`None`: they match none).
    pub current: Option<&'static str>,
    /// Put every region on this preset.
    pub onpick: Callback<String>,
}

/// What a preset means, for the picker.
fn describe(name: &str) -> String {
    match name {
        "off" => "off — one machine, µs to the broker".into(),
        "global" => "global — US 20 ms · EU 45 ms · AS 90 ms".into(),
        other => other.into(),
    }
}

/// The network preset of every region at once (`off` / `global`); "custom" while the regions
/// match none (a slider moved, a region cut off).
#[component]
pub fn PresetPicker(props: &PresetPickerProps) -> Html {
    let current = props.current;
    let onchange = props
        .onpick
        .reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value());
    html! {
        <label class="preset" title="Simulated distance between each region and the broker">
            <span class="muted">{ "Network" }</span>
            // Keyed by the preset: a new element each time it changes, because browsers stop
            // following the `selected` attribute once the user has picked an option.
            <select key={current.unwrap_or("custom")} data-testid="sim-preset"
                data-current={current.unwrap_or("custom")} {onchange}>
                if current.is_none() {
                    <option value="" selected=true disabled=true>{ "custom" }</option>
                }
                { for presets::NAMES.iter().map(|n| html! {
                    <option value={*n} selected={current == Some(*n)}>{ describe(n) }</option>
                }) }
            </select>
        </label>
    }
}
