//! One module per route.

mod home;
mod not_found;
mod sections;

pub use home::Home;
pub use not_found::NotFound;
pub use sections::{Admin, Audit, Deployments, Packages, Sources};
