//! The `provenance` command: parses the command line and hands over to the
//! library. Logs go to stderr; stdout carries only what a command prints for
//! its user (URLs, tokens).

fn main() -> std::process::ExitCode {
    provenance::cli::main()
}
