pub mod cli;
pub mod project;
pub mod scripted;
