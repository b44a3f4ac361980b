//! Coded errors: every failure a spell author sees is `area.kind: message`,
//! with the spell file and line where one is known.
//!
//! The codes are the stable part: scripts match on them, so a code never
//! changes meaning. Messages say what to do next.

use std::fmt;

macro_rules! codes {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// Every error code in use. [`ErrorCode::as_str`] gives the text scripts see.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $(#[doc = $doc] $variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text,)* }
            }

            pub fn doc(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }

            pub fn parse(text: &str) -> Option<ErrorCode> {
                match text { $($text => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    ValueInvalid => "value.invalid", "a value that cannot cross the bridge (cycle, function, non-string key, too deep, not finite)";
    ArgsInvalid => "args.invalid", "a bridge function got arguments of the wrong shape";
    LlmConfig => "llm.config", "no usable provider or model for a model call";
    LlmHttp => "llm.http", "the provider answered with an HTTP error";
    LlmTimeout => "llm.timeout", "the provider did not answer in time";
    LlmRateLimited => "llm.rate_limited", "the provider refused for rate limits (HTTP 429)";
    LlmBadReply => "llm.bad_reply", "the reply could not be parsed or did not match the schema";
    LlmBudget => "llm.budget", "the call would pass max_llm_calls or max_tokens";
    ToolNotFound => "tool.not_found", "no tool of that name";
    ToolFailed => "tool.failed", "a tool raised an error";
    AgentMaxSteps => "agent.max_steps", "an agent used all its steps without a final reply";
    SandboxDenied => "sandbox.denied", "the spell tried something outside its capabilities";
    HttpFailed => "http.failed", "an HTTP request could not be made or did not finish (connection, timeout, too many redirects)";
    HttpTooLarge => "http.too_large", "an HTTP response body was bigger than max_bytes";
    McpStart => "mcp.start", "an MCP server would not start, or did not finish its handshake in time";
    McpFailed => "mcp.failed", "an MCP server exited, wrote something that is not MCP, or refused a request";
    McpTimeout => "mcp.timeout", "an MCP server did not answer a request in time";
    LimitInstructions => "limit.instructions", "the spell ran more instructions than [limits] instructions allows";
    LimitMemory => "limit.memory", "the spell used more memory than [limits] memory_mb allows";
    LimitTime => "limit.time", "the spell ran longer than [limits] timeout_secs allows";
    LimitDepth => "limit.depth", "the spell nested calls deeper than [limits] call_depth allows";
    Cancelled => "cancelled", "the spell was stopped from outside";
    ReplayMiss => "replay.miss", "a replayed run made a request the cassette does not hold";
    StateIo => "state.io", "the state database could not be read or written";
    HistoryCorrupt => "history.corrupt", "the run history database is damaged or is not llmspell's";
    HistoryIo => "history.io", "the run history could not be read or written (a full disk, permissions)";
    HistoryNoRun => "history.no_run", "no kept run has that id";
    HookFailed => "hook.failed", "a hook raised an error, which cancelled the call";
    DebugUnsupported => "debug.unsupported", "the debugger cannot do that at this pause (a frame the engine cannot reach, a local it cannot set)";
    SpellSyntax => "spell.syntax", "the spell does not parse";
    SpellError => "spell.error", "the spell raised an error of its own";
    SpellIo => "spell.io", "the spell file could not be read";
    ConfigInvalid => "config.invalid", "llmspell.toml or a command-line option is wrong";
    Internal => "internal", "llmspell hit a bug of its own; the spell stopped and the host went on";
}

impl ErrorCode {
    /// Errors that stop the spell whatever it does: its own `pcall` or
    /// `try/catch` cannot swallow them.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorCode::LimitInstructions
                | ErrorCode::LimitMemory
                | ErrorCode::LimitTime
                | ErrorCode::LimitDepth
                | ErrorCode::Cancelled
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a spell file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A coded error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub location: Option<Location>,
    /// The script value this error began as, when script code threw it.
    pub thrown: Option<Thrown>,
}

/// Equal when they say the same: the value a script threw is the
/// engine's business, not part of what the error says.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message && self.location == other.location
    }
}

/// A value a script threw (a callback a bridge called), kept by the engine
/// that ran it. When the error reaches script code in that engine again (the
/// caller's `catch`), the script gets the very value that was thrown, or,
/// where a bridge gave the error a code of its own (`tool.failed`,
/// `hook.failed`), an error of that code whose `cause` is the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thrown {
    /// Unique in the process, so no engine mistakes another's value for its own.
    pub id: u64,
    pub as_cause: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            location: None,
            thrown: None,
        }
    }

    /// This error stands for `inner`, which a script threw: the script's
    /// value goes along as this error's cause.
    pub fn wrapping(mut self, inner: &Error) -> Self {
        self.thrown = inner.thrown.map(|t| Thrown {
            as_cause: true,
            ..t
        });
        self
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        if self.location.is_none() {
            self.location = location;
        }
        self
    }

    pub fn args(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::ArgsInvalid, message)
    }

    /// An error raised by script code. A message that starts with a known
    /// code (a caught bridge error raised again) keeps that code.
    pub fn from_script(text: &str) -> Self {
        if let Some((code, rest)) = text.split_once(": ") {
            if let Some(code) = ErrorCode::parse(code) {
                return Error::new(code, rest);
            }
        }
        Error::new(ErrorCode::SpellError, text)
    }

    /// The error and its place, as the command line prints it.
    pub fn report(&self) -> String {
        match &self.location {
            Some(loc) => format!("{self}\n  --> {loc}"),
            None => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_again_bridge_error_keeps_its_code() {
        let e = Error::from_script("state.io: disk full");
        assert_eq!(e.code, ErrorCode::StateIo);
        assert_eq!(e.message, "disk full");
        let e = Error::from_script("nope: not a code");
        assert_eq!(e.code, ErrorCode::SpellError);
        assert_eq!(e.message, "nope: not a code");
    }

    #[test]
    fn every_code_parses_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
    }
}
