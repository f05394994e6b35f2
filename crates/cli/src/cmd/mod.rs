//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod init;
pub mod serve;
pub mod submit;
pub mod verify;
