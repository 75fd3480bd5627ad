//! Development helpers shared by `xtask` and the integration tests. Never a dependency of the product.

pub mod helm;
pub mod idp;
pub mod ports;
pub mod postgres;
pub mod process;
