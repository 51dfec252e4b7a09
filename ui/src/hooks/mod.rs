//! Hooks: the effects that connect the pure state to the network and the clock.

mod use_app;
mod use_broker_status;
mod use_health;
mod use_now;
mod use_region_socket;
mod use_regions;
mod use_scenario;
mod use_sim;

pub use use_app::use_app;
pub use use_broker_status::use_broker_status;
pub use use_health::use_health;
pub use use_now::use_now;
pub use use_region_socket::use_region_socket;
pub use use_regions::use_regions;
pub use use_scenario::use_scenario;
pub use use_sim::use_sim;
