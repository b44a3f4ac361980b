pub mod cli;
pub mod scripted;
