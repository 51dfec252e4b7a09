//! Entry point: render [`ui::app::App`] into the page.
fn main() {
    yew::Renderer::<ui::app::App>::new().render();
}
