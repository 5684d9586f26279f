//! Running the agent as a child: stdio inherited, signals forwarded, exit code passed back.
//!
//! SIGINT, SIGTERM and SIGHUP are caught so the supervisor survives them and can release the
//! session after the agent exits. A signal sent to the supervisor by another process is forwarded
//! to the agent; a SIGINT from the terminal (sent by the kernel to the whole foreground process
//! group) already reached the agent, so it is not sent twice: Claude Code treats a second Ctrl-C
//! as "exit".

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

/// The exit code a shell would report: the code, or 128 + signal.
pub fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return (code & 0xff) as u8;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return (128 + (sig & 0x7f)) as u8;
        }
    }
    1
}

fn forward(child: i32, signal: i32) {
    let (Some(pid), Some(sig)) =
        (rustix::process::Pid::from_raw(child), rustix::process::Signal::from_named_raw(signal))
    else {
        return;
    };
    if let Err(e) = rustix::process::kill_process(pid, sig) {
        tracing::debug!(child, signal, error = %e, "could not forward signal");
    }
}

/// Run `program args` in `cwd` with `envs` added; `on_spawn` gets the child's PID. Returns the
/// child's exit status, or the spawn error.
pub fn run_agent(
    program: &OsString,
    args: &[OsString],
    cwd: &Path,
    envs: &[(&str, OsString)],
    on_spawn: impl FnOnce(u32),
) -> std::io::Result<ExitStatus> {
    let child_pid = Arc::new(AtomicI32::new(0));
    // Catch the signals before the child exists, so there is no moment they could kill us.
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    let pid_for_thread = child_pid.clone();
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            let child = pid_for_thread.load(Ordering::SeqCst);
            if child <= 0 {
                continue;
            }
            let from_terminal = origin.signal == SIGINT && matches!(origin.cause, Cause::Kernel);
            if !from_terminal {
                forward(child, origin.signal);
            }
        }
    });
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(cwd);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let result = cmd.spawn().and_then(|mut child| {
        child_pid.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
        on_spawn(child.id());
        child.wait()
    });
    handle.close();
    let _ = forwarder.join();
    result
}
