//! One error type for the whole core. Every message names the input it is about, so the CLI,
//! the wasm layer and the page can show it as it is.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A file could not be read as the format it claims to be.
    Parse { file: String, message: String },
    /// Inputs that are readable but do not fit together or with the options.
    Input { message: String },
    /// The caller asked to stop.
    Cancelled,
}

impl Error {
    pub fn parse(file: &str, message: impl Into<String>) -> Self {
        Error::Parse { file: file.to_string(), message: message.into() }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input { message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { file, message } => write!(f, "{file}: {message}"),
            Error::Input { message } => write!(f, "{message}"),
            Error::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
