//! The `seatkeeper` command: argument parsing and wiring only; the work is
//! done by the library (see `cli` for the commands, options and exit codes).

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
