//! `multiregion-desktop`: the desktop app (thin over [`multiregion_desktop::run`]).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    multiregion_desktop::run();
}
