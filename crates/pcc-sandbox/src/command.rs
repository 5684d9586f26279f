//! Commands run inside a sandbox: what to run, and the handle on a running process.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use crate::error::{Result, SandboxError, Service};
use crate::provider::BoxFuture;

/// What to run: an argument vector, or a bash script the caller wrote.
#[derive(Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// A program and its arguments. For E2B it is quoted by [`crate::shell::join`] into the
    /// `bash -l -c` line envd runs; the local provider executes it directly.
    Argv(Vec<String>),
    /// A bash script, run with `bash -l -c` (E2B) or `bash -c` (local). Never build it by pasting
    /// user strings together: quote them with [`crate::shell::quote`], or pass them as
    /// environment variables or files.
    Shell(String),
}

/// A command to run in a sandbox.
///
/// `Debug` shows the environment's names only: values often carry credentials.
#[derive(Clone)]
pub struct Command {
    line: CommandLine,
    envs: BTreeMap<String, String>,
    cwd: Option<String>,
    user: Option<String>,
    timeout: Option<Duration>,
}

impl Command {
    /// A program and its arguments.
    pub fn argv<I, S>(argv: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command::from_line(CommandLine::Argv(argv.into_iter().map(Into::into).collect()))
    }

    /// A bash script (see [`CommandLine::Shell`] before passing anything but a constant).
    pub fn shell(script: impl Into<String>) -> Command {
        Command::from_line(CommandLine::Shell(script.into()))
    }

    fn from_line(line: CommandLine) -> Command {
        Command { line, envs: BTreeMap::new(), cwd: None, user: None, timeout: None }
    }

    /// Adds an environment variable (it wins over the sandbox's own).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Command {
        self.envs.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory (E2B: absolute or relative to the user's home; local: relative
    /// to the sandbox root).
    pub fn cwd(mut self, dir: impl Into<String>) -> Command {
        self.cwd = Some(dir.into());
        self
    }

    /// Runs as this sandbox user (E2B; default: the template's user). The local provider runs
    /// everything as the current user.
    pub fn user(mut self, user: impl Into<String>) -> Command {
        self.user = Some(user.into());
        self
    }

    /// Kills the process when it has run this long; the event stream then ends with
    /// [`crate::SandboxError::TimedOut`]. Without it the command may run as long as the sandbox.
    pub fn timeout(mut self, timeout: Duration) -> Command {
        self.timeout = Some(timeout);
        self
    }

    /// What runs.
    pub fn line(&self) -> &CommandLine {
        &self.line
    }

    /// The extra environment.
    pub fn envs(&self) -> &BTreeMap<String, String> {
        &self.envs
    }

    /// The working directory, if set.
    pub fn working_dir(&self) -> Option<&str> {
        self.cwd.as_deref()
    }

    /// The user, if set.
    pub fn run_as(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The timeout, if set (a zero duration counts as none).
    pub fn time_limit(&self) -> Option<Duration> {
        self.timeout.filter(|t| !t.is_zero())
    }
}

/// `Debug` shows the program and the argument count, or the script's length: arguments and
/// scripts can carry credentials.
impl fmt::Debug for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandLine::Argv(argv) => f
                .debug_struct("Argv")
                .field("program", &argv.first())
                .field("args", &argv.len().saturating_sub(1))
                .finish(),
            CommandLine::Shell(script) => f.debug_struct("Shell").field("bytes", &script.len()).finish(),
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("line", &self.line)
            .field("env_names", &self.envs.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("user", &self.user)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A signal for a running process (the two envd knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: ask it to stop.
    Term,
    /// SIGKILL: stop it now.
    Kill,
}

/// How a command ended. A non-zero code is a result, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code; -1 when the process was killed by a signal (as envd reports it).
    pub code: i32,
    /// False when a signal ended the process.
    pub exited: bool,
    /// The platform's description, e.g. `exit status 3` or `signal: killed`.
    pub status: String,
}

impl ExitStatus {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.exited && self.code == 0
    }
}

/// One piece of a running command's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandEvent {
    /// A chunk of standard output, in order.
    Stdout(Bytes),
    /// A chunk of standard error, in order.
    Stderr(Bytes),
    /// The process ended; always the last event.
    Exit(ExitStatus),
}

/// Sends signals to processes of one sandbox; each provider has its own.
pub(crate) trait Signaller: Send + Sync {
    fn signal(&self, pid: u32, signal: Signal) -> BoxFuture<'_, Result<()>>;
}

/// The events of a running command, in order. Ends after [`CommandEvent::Exit`] or an error.
pub(crate) type EventStream = Pin<Box<dyn Stream<Item = Result<CommandEvent>> + Send>>;

/// Kills or signals a process while another task consumes its output. Cheap to clone.
#[derive(Clone)]
pub struct ProcessKiller {
    pid: u32,
    signaller: Arc<dyn Signaller>,
}

impl ProcessKiller {
    /// Sends `signal` to the process.
    pub async fn signal(&self, signal: Signal) -> Result<()> {
        self.signaller.signal(self.pid, signal).await
    }

    /// Sends SIGKILL.
    pub async fn kill(&self) -> Result<()> {
        self.signal(Signal::Kill).await
    }

    /// The process id inside the sandbox.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl fmt::Debug for ProcessKiller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessKiller").field("pid", &self.pid).finish_non_exhaustive()
    }
}

/// A running command: its pid, its output as a stream of [`CommandEvent`]s, and the means to
/// stop it.
///
/// Dropping it stops reading, not the process (as with envd): kill it first if it must stop.
pub struct Process {
    events: EventStream,
    killer: ProcessKiller,
    service: Service,
    done: bool,
}

impl Process {
    pub(crate) fn new(pid: u32, events: EventStream, signaller: Arc<dyn Signaller>, service: Service) -> Process {
        Process { events, killer: ProcessKiller { pid, signaller }, service, done: false }
    }

    /// The process id inside the sandbox.
    pub fn pid(&self) -> u32 {
        self.killer.pid
    }

    /// A handle that can signal the process from another task.
    pub fn killer(&self) -> ProcessKiller {
        self.killer.clone()
    }

    /// Sends `signal` to the process.
    pub async fn signal(&self, signal: Signal) -> Result<()> {
        self.killer.signal(signal).await
    }

    /// Sends SIGKILL.
    pub async fn kill(&self) -> Result<()> {
        self.killer.kill().await
    }

    /// The next event; `None` after the last one.
    pub async fn next_event(&mut self) -> Option<Result<CommandEvent>> {
        self.next().await
    }

    /// Reads to the end, keeping at most `limit` bytes of each of stdout and stderr (the rest
    /// is read and dropped, and the `*_truncated` flag set).
    pub async fn collect(mut self, limit: usize) -> Result<CommandOutput> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let (mut stdout_truncated, mut stderr_truncated) = (false, false);
        while let Some(event) = self.next().await {
            match event? {
                CommandEvent::Stdout(chunk) => keep(&mut stdout, &chunk, limit, &mut stdout_truncated),
                CommandEvent::Stderr(chunk) => keep(&mut stderr, &chunk, limit, &mut stderr_truncated),
                CommandEvent::Exit(status) => {
                    return Ok(CommandOutput { stdout, stderr, stdout_truncated, stderr_truncated, status });
                }
            }
        }
        Err(SandboxError::Protocol {
            service: self.service,
            message: "the command's output ended without an exit status".into(),
        })
    }

    /// Waits for the end, dropping the output.
    pub async fn wait(self) -> Result<ExitStatus> {
        Ok(self.collect(0).await?.status)
    }
}

fn keep(buf: &mut Vec<u8>, chunk: &[u8], limit: usize, truncated: &mut bool) {
    let room = limit.saturating_sub(buf.len());
    if chunk.len() > room {
        *truncated = true;
    }
    buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
}

impl Stream for Process {
    type Item = Result<CommandEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = self.events.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(CommandEvent::Exit(_))) | Some(Err(_)) | None) = &polled {
            self.done = true;
        }
        polled
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process").field("pid", &self.killer.pid).field("done", &self.done).finish_non_exhaustive()
    }
}

/// A finished command's output, bounded by the limit given to [`Process::collect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Standard output (at most the limit).
    pub stdout: Vec<u8>,
    /// Standard error (at most the limit).
    pub stderr: Vec<u8>,
    /// Whether stdout went past the limit.
    pub stdout_truncated: bool,
    /// Whether stderr went past the limit.
    pub stderr_truncated: bool,
    /// How it ended.
    pub status: ExitStatus,
}

/// Splits a byte stream into lines (for `claude -p --output-format stream-json`, one JSON
/// document per line), holding at most one line in memory.
#[derive(Debug)]
pub struct LineSplitter {
    buf: BytesMut,
    max_line: usize,
}

impl LineSplitter {
    /// A splitter that cuts lines longer than `max_line` bytes into pieces of that size, so a
    /// runaway line cannot grow memory without bound.
    pub fn new(max_line: usize) -> LineSplitter {
        LineSplitter { buf: BytesMut::new(), max_line: max_line.max(1) }
    }

    /// Feeds a chunk; returns the lines it completed, without their `\n` (or `\r\n`).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.buf.extend_from_slice(&rest[..i]);
            rest = &rest[i + 1..];
            let mut line = self.buf.split().freeze();
            if line.last() == Some(&b'\r') {
                line.truncate(line.len() - 1);
            }
            self.cut_long(&mut lines, line);
        }
        self.buf.extend_from_slice(rest);
        while self.buf.len() > self.max_line {
            lines.push(self.buf.split_to(self.max_line).freeze());
        }
        lines
    }

    fn cut_long(&self, lines: &mut Vec<Bytes>, mut line: Bytes) {
        while line.len() > self.max_line {
            lines.push(line.split_to(self.max_line));
        }
        lines.push(line);
    }

    /// The last line when the stream did not end with a newline.
    pub fn finish(self) -> Option<Bytes> {
        (!self.buf.is_empty()).then(|| self.buf.freeze())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_arguments_and_scripts() {
        let shown = format!("{:?}", Command::argv(["curl", "-H", "token-secret-1"]));
        assert!(shown.contains("curl") && shown.contains("args: 2") && !shown.contains("token-secret-1"), "{shown}");
        let shown = format!("{:?}", Command::shell("export T=token-secret-2"));
        assert!(!shown.contains("token-secret-2") && shown.contains("bytes: 23"), "{shown}");
    }

    #[test]
    fn lines_across_chunks() {
        let mut s = LineSplitter::new(1024);
        assert!(s.push(b"{\"a\":").is_empty());
        assert_eq!(s.push(b"1}\n{\"b\":2}\r\n{\"c\""), vec![Bytes::from("{\"a\":1}"), Bytes::from("{\"b\":2}")]);
        assert_eq!(s.push(b":3}\n\n"), vec![Bytes::from("{\"c\":3}"), Bytes::new()]);
        assert!(s.push(b"tail").is_empty());
        assert_eq!(s.finish(), Some(Bytes::from("tail")));
    }

    #[test]
    fn long_lines_are_cut() {
        let mut s = LineSplitter::new(4);
        assert_eq!(s.push(b"abcdefghij"), vec![Bytes::from("abcd"), Bytes::from("efgh")]);
        assert_eq!(s.push(b"k\n"), vec![Bytes::from("ijk")]);
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn debug_hides_env_values() {
        let c = Command::argv(["claude", "-p"]).env("ANTHROPIC_API_KEY", "sk-ant-planted").cwd("/w");
        let text = format!("{c:?}");
        assert!(text.contains("ANTHROPIC_API_KEY"));
        assert!(!text.contains("sk-ant-planted"), "{text}");
    }

    #[test]
    fn collect_caps_output() {
        let mut buf = Vec::new();
        let mut t = false;
        keep(&mut buf, b"hello", 3, &mut t);
        keep(&mut buf, b"world", 3, &mut t);
        assert_eq!(buf, b"hel");
        assert!(t);
    }
}
