//! One component per file.

mod channel_bar;
mod event_item;
mod event_list;
mod header;
mod latency_summary;
mod notices;
mod pane_status;
mod preset_picker;
mod publish_form;
mod region_metrics;
mod region_pane;
mod scenario_bar;
mod settings_panel;
mod sim_controls;
mod timeline;
mod timeline_file;
mod timeline_row;
mod token_form;

pub use channel_bar::ChannelBar;
pub use event_item::EventItem;
pub use event_list::EventList;
pub use header::{broker_kinds, Header};
pub use latency_summary::{latency_figures, LatencySummary};
pub use notices::Notices;
pub use pane_status::PaneStatus;
pub use preset_picker::PresetPicker;
pub use publish_form::PublishForm;
pub use region_metrics::RegionMetrics;
pub use region_pane::RegionPane;
pub use scenario_bar::ScenarioBar;
pub use settings_panel::SettingsPanel;
pub use sim_controls::SimControls;
pub use timeline::{timeline_regions, Timeline, TimelineRegions};
pub use timeline_file::TimelineFile;
pub use timeline_row::TimelineRow;
pub use token_form::TokenForm;
