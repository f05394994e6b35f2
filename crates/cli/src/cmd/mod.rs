//! One module per subcommand.

pub mod bench;
pub mod bench_export;
pub mod bench_gis;
pub mod bench_import;
pub mod bench_ledger;
pub mod bench_nodes;
pub mod bench_pulses;
pub mod bench_report;
pub mod demo;
pub mod eval;
pub mod evidence_files;
pub mod export;
pub mod import;
pub mod init;
pub mod keygen;
pub mod migrate;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod status;
pub mod submit;
pub mod user;
pub mod verify;
pub mod witness;
