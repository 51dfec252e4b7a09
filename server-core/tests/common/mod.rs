//! The shared test kit (`testkit/`), under the name these tests use.
#![allow(unused_imports, unused_macros)]

pub use testkit::*;

/// [`testkit::with_both_brokers!`], so `#[macro_use] mod common;` keeps working.
macro_rules! with_both_brokers {
    ($($args:tt)*) => {
        testkit::with_both_brokers!($($args)*);
    };
}
