//! One module per route.

mod audit;
mod home;
mod not_found;
mod sections;

pub use audit::Audit;
pub use home::Home;
pub use not_found::NotFound;
pub use sections::{Admin, Deployments, Packages, Sources};
