//! What can stop a command, worded for the person at the terminal.

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the estate is not valid:\n{0}")]
    Estate(String),
    #[error("the rules are not valid:\n{0}")]
    Rules(String),
    #[error("store: {0}")]
    Store(String),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// 2 for input that must be fixed (configuration, rules), 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Estate(_) | CliError::Rules(_) => 2,
            _ => 1,
        }
    }
}
